package main

// The stack's IAM: every role's grants, no wildcard action, who each
// role trusts and who may invoke the provider.

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// statement is one IAM policy statement as text: its effect, its action and
// its resources (a statement with several actions is one per action).
type statement struct{ Action, Resource string }

// grants collects the statements of every policy attached to a role (by
// construct path), sorted, and fails on any managed policy.
func (tp *template) grants(t *testing.T, role string) []statement {
	t.Helper()
	r := props(tp.byPath(t, role))
	if r["ManagedPolicyArns"] != nil || r["Policies"] != nil {
		t.Errorf("role %s has managed or inline policies %v %v; every grant goes through its own policy", role, r["ManagedPolicyArns"], r["Policies"])
	}
	var out []statement
	for _, pol := range tp.ofType("AWS::IAM::Policy") {
		p := props(pol)
		attached := false
		for _, ref := range list(p["Roles"]) {
			attached = attached || tp.text(ref) == "ref("+role+")"
		}
		if !attached {
			continue
		}
		for _, st := range list(get(p, "PolicyDocument", "Statement")) {
			if get(st, "Effect") != "Allow" {
				t.Errorf("role %s: a %v statement", role, get(st, "Effect"))
			}
			var res []string
			for _, r := range list(get(st, "Resource")) {
				res = append(res, tp.text(r))
			}
			for _, a := range list(get(st, "Action")) {
				out = append(out, statement{fmt.Sprint(a), strings.Join(res, " ")})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Action != out[j].Action {
			return out[i].Action < out[j].Action
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

// TestGrants lists every permission of every role: each function's, the
// artifact access role's and the state machine's, exactly.
func TestGrants(t *testing.T) {
	tp := tmpl(t, &defaults)
	const (
		table      = "Store.Arn Store.Arn/index/*"
		machine    = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:Stageflow-executions"
		executions = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:Stageflow-executions:*"
	)
	store := func(logs string) []statement {
		return []statement{
			{"dynamodb:DeleteItem", table}, {"dynamodb:GetItem", table}, {"dynamodb:PutItem", table}, {"dynamodb:Query", table},
			{"dynamodb:UpdateItem", table},
			{"logs:CreateLogStream", logs + ".Arn"}, {"logs:PutLogEvents", logs + ".Arn"},
		}
	}
	with := func(base []statement, more ...statement) []statement {
		out := append(slices.Clone(base), more...)
		sort.Slice(out, func(i, j int) bool {
			if out[i].Action != out[j].Action {
				return out[i].Action < out[j].Action
			}
			return out[i].Resource < out[j].Resource
		})
		return out
	}
	want := map[string][]statement{
		"ApiRole": with(store("ApiLogs"),
			statement{"states:SendTaskSuccess", machine}, statement{"states:StartExecution", machine},
			statement{"states:StopExecution", executions}, statement{"sts:AssumeRole", "ArtifactAccessRole.Arn"}),
		"AdvanceRole":  with(store("AdvanceLogs"), statement{"states:SendTaskSuccess", machine}),
		"DispatchRole": with(store("DispatchLogs"), statement{"states:SendTaskSuccess", machine}),
		"ProviderRole": with(store("ProviderLogs"),
			statement{"states:SendTaskSuccess", machine}, statement{"states:StartExecution", machine},
			statement{"states:StopExecution", executions}),
		// No StopExecution, no artifact role: it starts executions only
		// (its KMS use is in the key's policy: TestSecretsKey).
		"WebhookRole": with(store("WebhookLogs"),
			statement{"states:SendTaskSuccess", machine}, statement{"states:StartExecution", machine}),
		"ArtifactAccessRole": with(nil,
			statement{"s3:AbortMultipartUpload", "Artifacts.Arn/*"}, statement{"s3:DeleteObject", "Artifacts.Arn/*"},
			statement{"s3:GetObject", "Artifacts.Arn/*"}, statement{"s3:ListMultipartUploadParts", "Artifacts.Arn/*"},
			statement{"s3:PutObject", "Artifacts.Arn/*"}),
		// Log delivery for the state machine's logging: these actions take no
		// resource but "*" (CDK's grant for LoggingConfiguration).
		"ExecutionsRole": with(nil,
			statement{"lambda:InvokeFunction", "Advance.Arn Advance.Arn:*"}, statement{"lambda:InvokeFunction", "Dispatch.Arn Dispatch.Arn:*"},
			statement{"logs:CreateLogDelivery", "*"}, statement{"logs:DeleteLogDelivery", "*"}, statement{"logs:DescribeLogGroups", "*"},
			statement{"logs:DescribeResourcePolicies", "*"}, statement{"logs:GetLogDelivery", "*"}, statement{"logs:ListLogDeliveries", "*"},
			statement{"logs:PutResourcePolicy", "*"}, statement{"logs:UpdateLogDelivery", "*"}),
	}
	roles := tp.ofType("AWS::IAM::Role")
	if !reflect.DeepEqual(keys(roles), keys(want)) {
		t.Fatalf("roles %v, want %v", keys(roles), keys(want))
	}
	for role, w := range want {
		if got := tp.grants(t, role); !reflect.DeepEqual(got, w) {
			t.Errorf("role %s may:\n%s\nwant:\n%s", role, fmtStatements(got), fmtStatements(w))
		}
	}
}

func fmtStatements(ss []statement) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "  %s on %s\n", s.Action, s.Resource)
	}
	return b.String()
}

// TestNoWildcardActions checks every action of every policy in the template
// (identity policies, trust policies, the bucket policy) for a wildcard.
// The one kind allowed is the bucket policy's Deny of s3:* without TLS,
// which must cover every action.
func TestNoWildcardActions(t *testing.T) {
	tp := tmpl(t, &defaults)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case obj:
			if acts, ok := v["Action"]; ok && v["Effect"] != nil {
				for _, a := range list(acts) {
					if strings.Contains(fmt.Sprint(a), "*") && v["Effect"] != "Deny" {
						t.Errorf("%s: an Allow of the wildcard action %v", path, a)
					}
				}
			}
			for k, x := range v {
				walk(path+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
	}
	for id, r := range tp.Resources {
		walk(tp.name(id), r)
	}
}

// TestArtifactRoleTrust checks that only the api function's role may
// assume the artifact access role, and for an hour at most.
func TestArtifactRoleTrust(t *testing.T) {
	tp := tmpl(t, &defaults)
	p := props(tp.byPath(t, "ArtifactAccessRole"))
	sts := list(get(p, "AssumeRolePolicyDocument", "Statement"))
	if len(sts) != 1 {
		t.Fatalf("trust policy %v, want one statement", sts)
	}
	st := sts[0]
	if get(st, "Action") != "sts:AssumeRole" || get(st, "Effect") != "Allow" || tp.text(get(st, "Principal", "AWS")) != "ApiRole.Arn" {
		t.Errorf("trust %v %v for %s, want Allow sts:AssumeRole for ApiRole.Arn", get(st, "Effect"), get(st, "Action"), tp.text(get(st, "Principal", "AWS")))
	}
	if p["MaxSessionDuration"] != 3600.0 {
		t.Errorf("MaxSessionDuration = %v, want 3600", p["MaxSessionDuration"])
	}
	for _, fn := range []string{"ApiRole", "AdvanceRole", "DispatchRole", "ProviderRole"} {
		st := list(get(props(tp.byPath(t, fn)), "AssumeRolePolicyDocument", "Statement"))
		if len(st) != 1 || get(st[0], "Principal", "Service") != "lambda.amazonaws.com" {
			t.Errorf("role %s trusts %v, want lambda.amazonaws.com only", fn, st)
		}
	}
}

// TestProviderPermission: only CloudFormation, for stacks of the stack's
// own account, may invoke the provider.
func TestProviderPermission(t *testing.T) {
	tp := tmpl(t, &defaults)
	perms := tp.ofType("AWS::Lambda::Permission")
	var found []obj
	for _, r := range perms {
		if p := props(r); tp.text(p["FunctionName"]) == "Provider.Arn" {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d permissions on the provider, want 1", len(found))
	}
	p := found[0]
	if p["Principal"] != "cloudformation.amazonaws.com" || p["Action"] != "lambda:InvokeFunction" || tp.text(p["SourceAccount"]) != "${AWS::AccountId}" {
		t.Errorf("the provider's permission: %v", p)
	}
}
