package main

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/deployed"
	"github.com/stageflow/stageflow/shared/seal/kms"
)

// TestSecretsKey: a symmetric key rotated by KMS, whose key policy is the
// only one (no statement lets the account's IAM policies use the key),
// lets the account manage it and only the api function's role encrypt and
// decrypt, with Stageflow's encryption context; no IAM policy of the
// template grants its use to anyone else; kept with the table.
func TestSecretsKey(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tp       **template
		deletion string
	}{
		{"defaults", &defaults, "Retain"},
		{"deletion protection off", &custom, "Delete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := tmpl(t, tc.tp)
			r := tp.one(t, "AWS::KMS::Key")
			if tp.name(keyOf(tp, r)) != "SecretsKey" {
				t.Errorf("the KMS key is %s, want SecretsKey", tp.name(keyOf(tp, r)))
			}
			p := props(r)
			if p["EnableKeyRotation"] != true {
				t.Errorf("EnableKeyRotation = %v, want true", p["EnableKeyRotation"])
			}
			if spec := p["KeySpec"]; spec != nil && spec != "SYMMETRIC_DEFAULT" {
				t.Errorf("KeySpec = %v, want a symmetric key", spec)
			}
			if r["DeletionPolicy"] != tc.deletion {
				t.Errorf("DeletionPolicy = %v, want %s", r["DeletionPolicy"], tc.deletion)
			}
			statements := list(get(p, "KeyPolicy", "Statement"))
			got := map[string]string{}
			for _, st := range statements {
				if get(st, "Effect") != "Allow" || tp.text(get(st, "Resource")) != "*" {
					t.Errorf("key policy statement %v: want an Allow on the key (*)", st)
				}
				var actions []string
				for _, a := range list(get(st, "Action")) {
					actions = append(actions, fmt.Sprint(a))
				}
				sort.Strings(actions)
				got[tp.text(get(st, "Principal", "AWS"))] = strings.Join(actions, " ")
				if slices.Contains(actions, "kms:Decrypt") {
					cond := get(st, "Condition")
					if tp.text(get(cond, "ForAllValues:StringEquals", "kms:EncryptionContextKeys")) != `["`+kms.ContextKey+`"]` &&
						tp.text(get(cond, "ForAllValues:StringEquals", "kms:EncryptionContextKeys")) != kms.ContextKey ||
						get(cond, "Null", "kms:EncryptionContextKeys") != "false" {
						t.Errorf("the key's use is not bound to Stageflow's encryption context: %v", cond)
					}
				}
			}
			admin := slices.Clone(keyAdminActions)
			sort.Strings(admin)
			want := map[string]string{
				"arn:${AWS::Partition}:iam::${AWS::AccountId}:root": strings.Join(admin, " "),
				"ApiRole.Arn":     "kms:Decrypt kms:Encrypt",
				"WebhookRole.Arn": "kms:Decrypt", // it opens secrets, never seals
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("key policy (principal: actions):\n got %v\nwant %v", got, want)
			}
			for _, a := range admin {
				if a == "kms:Encrypt" || a == "kms:Decrypt" || strings.Contains(a, "GenerateDataKey") || strings.Contains(a, "ReEncrypt") || a == "kms:CreateGrant" {
					t.Errorf("the account may %s: only the api and webhook functions may use the key", a)
				}
			}
			// No IAM policy grants a KMS action (the key policy names the role).
			for path, pol := range tp.ofType("AWS::IAM::Policy") {
				for _, st := range list(get(props(pol), "PolicyDocument", "Statement")) {
					for _, a := range list(get(st, "Action")) {
						if strings.HasPrefix(fmt.Sprint(a), "kms:") {
							t.Errorf("policy %s grants %v", path, a)
						}
					}
				}
			}
		})
	}
}

// keyOf returns the logical ID of a resource of the template.
func keyOf(tp *template, r map[string]any) string {
	for id, x := range tp.Resources {
		if reflect.ValueOf(x).Pointer() == reflect.ValueOf(r).Pointer() {
			return id
		}
	}
	return ""
}

// TestConsoleUserPool: the console's user pool admits only the users an
// administrator makes, its client is a browser's (no secret, SRP), and its
// groups are deployed.ConsoleGroups.
func TestConsoleUserPool(t *testing.T) {
	tp := tmpl(t, &defaults)
	pool := props(tp.byPath(t, "ConsoleUsers"))
	if get(pool, "AdminCreateUserConfig", "AllowAdminCreateUserOnly") != true {
		t.Errorf("AdminCreateUserConfig = %v, want no self sign-up", pool["AdminCreateUserConfig"])
	}
	if pool["MfaConfiguration"] != "OPTIONAL" || get(pool, "Policies", "PasswordPolicy", "MinimumLength") != 12.0 {
		t.Errorf("MFA %v, password policy %v; want optional MFA, 12 characters at least", pool["MfaConfiguration"], get(pool, "Policies", "PasswordPolicy"))
	}
	if pool["DeletionProtection"] != "ACTIVE" {
		t.Errorf("DeletionProtection = %v, want ACTIVE with deletion protection on", pool["DeletionProtection"])
	}
	client := props(tp.one(t, "AWS::Cognito::UserPoolClient"))
	flows := tp.text(client["ExplicitAuthFlows"])
	if client["GenerateSecret"] != false || !strings.Contains(flows, "ALLOW_USER_SRP_AUTH") || strings.Contains(flows, "ALLOW_USER_PASSWORD_AUTH") ||
		tp.text(client["UserPoolId"]) != "ref(ConsoleUsers)" {
		t.Errorf("client secret %v, flows %s, pool %s; want a browser's client of the pool (SRP, no secret)", client["GenerateSecret"], flows, tp.text(client["UserPoolId"]))
	}
	// The hosted UI: the authorization-code grant only (the console adds
	// PKCE), the console's scopes, back to the console at the API's URL.
	const consoleURL = "HttpApi.ApiEndpoint/console/"
	urls := func(v any) string {
		var out []string
		for _, u := range list(v) {
			out = append(out, tp.text(u))
		}
		return strings.Join(out, " ")
	}
	if tp.text(client["AllowedOAuthFlows"]) != `["code"]` || client["AllowedOAuthFlowsUserPoolClient"] != true ||
		tp.text(client["AllowedOAuthScopes"]) != `["openid","email","profile"]` ||
		urls(client["CallbackURLs"]) != consoleURL || urls(client["LogoutURLs"]) != consoleURL ||
		tp.text(client["SupportedIdentityProviders"]) != `["COGNITO"]` || client["EnableTokenRevocation"] != true {
		t.Errorf("client OAuth: flows %s (%v), scopes %s, callbacks %s, logout %s, providers %s, revocation %v; want the code grant to %s",
			tp.text(client["AllowedOAuthFlows"]), client["AllowedOAuthFlowsUserPoolClient"], tp.text(client["AllowedOAuthScopes"]),
			urls(client["CallbackURLs"]), urls(client["LogoutURLs"]), tp.text(client["SupportedIdentityProviders"]), client["EnableTokenRevocation"], consoleURL)
	}
	// The domain: a prefix of the stack's name and account, or the one
	// configured.
	if d := props(tp.one(t, "AWS::Cognito::UserPoolDomain")); tp.text(d["Domain"]) != "stageflow-${AWS::AccountId}" || tp.text(d["UserPoolId"]) != "ref(ConsoleUsers)" {
		t.Errorf("domain %s of %s, want stageflow-${AWS::AccountId} of the pool", tp.text(d["Domain"]), tp.text(d["UserPoolId"]))
	}
	if d := props(tmpl(t, &custom).one(t, "AWS::Cognito::UserPoolDomain")); d["Domain"] != "stageflow-dev-console" {
		t.Errorf("domain %v with the prefix stageflow-dev-console configured", d["Domain"])
	}
	var groups, want []string
	for _, g := range tp.ofType("AWS::Cognito::UserPoolGroup") {
		p := props(g)
		groups = append(groups, fmt.Sprint(p["GroupName"]))
		if tp.text(p["UserPoolId"]) != "ref(ConsoleUsers)" || p["RoleArn"] != nil {
			t.Errorf("group %v of %s with role %v; want a group of the pool with no IAM role", p["GroupName"], tp.text(p["UserPoolId"]), p["RoleArn"])
		}
	}
	for _, g := range deployed.ConsoleGroups {
		want = append(want, g.Name)
	}
	sort.Strings(groups)
	sort.Strings(want)
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("groups %v, want %v", groups, want)
	}
}
