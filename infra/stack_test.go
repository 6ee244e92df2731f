package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/deployed"
	"github.com/stageflow/stageflow/shared/lambdaenv"
)

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tp         **template
		protection bool
		deletion   string
	}{
		{"defaults", &defaults, true, "Retain"},
		{"deletion protection off", &custom, false, "Delete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := tmpl(t, tc.tp)
			r := tp.one(t, "AWS::DynamoDB::Table")
			p := props(r)
			if p["BillingMode"] != "PAY_PER_REQUEST" {
				t.Errorf("BillingMode = %v, want on-demand (PAY_PER_REQUEST)", p["BillingMode"])
			}
			if get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
				t.Errorf("point-in-time recovery is not enabled: %v", p["PointInTimeRecoverySpecification"])
			}
			if ttl := p["TimeToLiveSpecification"]; get(ttl, "AttributeName") != "ttl" || get(ttl, "Enabled") != true {
				t.Errorf("TimeToLiveSpecification = %v, want enabled on ttl", ttl)
			}
			if p["DeletionProtectionEnabled"] != tc.protection {
				t.Errorf("DeletionProtectionEnabled = %v, want %v", p["DeletionProtectionEnabled"], tc.protection)
			}
			if r["DeletionPolicy"] != tc.deletion || r["UpdateReplacePolicy"] != tc.deletion {
				t.Errorf("DeletionPolicy, UpdateReplacePolicy = %v, %v; want %s", r["DeletionPolicy"], r["UpdateReplacePolicy"], tc.deletion)
			}
		})
	}
}

// TestTableKeys pins the key design of shared/store/dynamo (its README's
// table): the table's keys and each index's keys and projection.
func TestTableKeys(t *testing.T) {
	p := props(tmpl(t, &defaults).one(t, "AWS::DynamoDB::Table"))
	keySchema := func(v any) string {
		var out []string
		for _, k := range list(v) {
			out = append(out, fmt.Sprintf("%v:%v", get(k, "AttributeName"), get(k, "KeyType")))
		}
		return strings.Join(out, " ")
	}
	if got := keySchema(p["KeySchema"]); got != "pk:HASH sk:RANGE" {
		t.Errorf("KeySchema = %s, want pk:HASH sk:RANGE", got)
	}
	types := map[string]any{}
	for _, d := range list(p["AttributeDefinitions"]) {
		types[fmt.Sprint(get(d, "AttributeName"))] = get(d, "AttributeType")
	}
	for _, a := range []string{"pk", "sk", "g1pk", "g1sk", "g2pk", "g2sk", "g3pk", "g3sk"} {
		if types[a] != "S" {
			t.Errorf("attribute %s has type %v, want S (every key is a string)", a, types[a])
		}
	}
	if len(types) != 8 {
		t.Errorf("attribute definitions %v, want the 8 key attributes only", types)
	}
	want := map[string]string{
		"list":  "g1pk:HASH g1sk:RANGE INCLUDE [created eid listing lupd mode name pname ptype pver start status summary tdetail ttype updated ver]",
		"queue": "g2pk:HASH g2sk:RANGE KEYS_ONLY []",
		"due":   "g3pk:HASH g3sk:RANGE KEYS_ONLY []",
	}
	got := map[string]string{}
	for _, g := range list(p["GlobalSecondaryIndexes"]) {
		var nonKey []string
		for _, a := range list(get(g, "Projection", "NonKeyAttributes")) {
			nonKey = append(nonKey, fmt.Sprint(a))
		}
		sort.Strings(nonKey)
		got[fmt.Sprint(get(g, "IndexName"))] = fmt.Sprintf("%s %v %v", keySchema(get(g, "KeySchema")), get(g, "Projection", "ProjectionType"), nonKey)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("global secondary indexes:\n got %v\nwant %v", got, want)
	}
}

func TestFunctions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tp        **template
		retention float64
	}{
		{"defaults", &defaults, 30},
		{"custom", &custom, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := tmpl(t, tc.tp)
			fns := tp.ofType("AWS::Lambda::Function")
			if got := keys(fns); !reflect.DeepEqual(got, []string{"Advance", "Api", "Dispatch", "Provider", "Webhook"}) {
				t.Fatalf("functions %v, want Advance, Api, Dispatch, Provider, Webhook", got)
			}
			for _, spec := range []functionSpec{apiSpec, advanceSpec, dispatchSpec, providerSpec, webhookSpec} {
				p := props(fns[spec.ID])
				checks := []struct {
					what string
					got  any
					want any
				}{
					{"Runtime", p["Runtime"], "provided.al2023"},
					{"Architectures", p["Architectures"], []any{"arm64"}},
					{"Handler", p["Handler"], "bootstrap"},
					{"MemorySize", p["MemorySize"], spec.MemoryMB},
					{"Timeout", p["Timeout"], spec.TimeoutSeconds},
					{"Role", tp.text(p["Role"]), spec.ID + "Role.Arn"},
					{"LoggingConfig.LogGroup", tp.text(get(p, "LoggingConfig", "LogGroup")), "ref(" + spec.ID + "Logs)"},
					{"log retention", props(tp.byPath(t, spec.ID+"Logs"))["RetentionInDays"], tc.retention},
				}
				for _, c := range checks {
					if !reflect.DeepEqual(c.got, c.want) {
						t.Errorf("function %s: %s = %#v, want %#v", spec.Name, c.what, c.got, c.want)
					}
				}
				// The code is the asset of the function's folder.
				if get(p, "Code", "S3Bucket") == nil || get(p, "Code", "S3Key") == nil {
					t.Errorf("function %s: Code = %v, want an S3 asset", spec.Name, p["Code"])
				}
			}
		})
	}
	// The log groups go with the stack's data.
	if got := tmpl(t, &defaults).byPath(t, "ApiLogs")["DeletionPolicy"]; got != "Retain" {
		t.Errorf("ApiLogs DeletionPolicy = %v with deletion protection, want Retain", got)
	}
	if got := tmpl(t, &custom).byPath(t, "ApiLogs")["DeletionPolicy"]; got != "Delete" {
		t.Errorf("ApiLogs DeletionPolicy = %v without deletion protection, want Delete", got)
	}
}

// TestFunctionEnvironment checks each function's environment: exactly the
// variables of shared/lambdaenv it needs, each naming the right resource.
// consoleDomainURL is the user pool domain's URL as the template says it.
const consoleDomainURL = "https://ref(ConsoleUsersConsoleDomain).auth.${AWS::Region}.amazoncognito.com"

func TestFunctionEnvironment(t *testing.T) {
	tp := tmpl(t, &defaults)
	common := map[string]string{
		lambdaenv.Table:          "ref(Store)",
		lambdaenv.ArtifactBucket: "ref(Artifacts)",
	}
	api := map[string]string{
		lambdaenv.StateMachineARN: "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:Stageflow-executions",
		lambdaenv.ArtifactRoleARN: "ArtifactAccessRole.Arn",
		lambdaenv.Account:         "${AWS::AccountId}",
		lambdaenv.KMSKeyARN:       "SecretsKey.Arn",
		lambdaenv.UserPoolID:      "ref(ConsoleUsers)",
		// PutWebhook's URLs start with the HTTP API's endpoint.
		lambdaenv.WebhookBaseURL: "HttpApi.ApiEndpoint",
		// The console signs in at the user pool's domain, with its client.
		lambdaenv.ConsoleDomain:   consoleDomainURL,
		lambdaenv.ConsoleClientID: "ref(ConsoleUsersConsoleClient)",
	}
	for k, v := range common {
		api[k] = v
	}
	webhook := map[string]string{lambdaenv.StateMachineARN: api[lambdaenv.StateMachineARN], lambdaenv.Account: "${AWS::AccountId}",
		lambdaenv.KMSKeyARN: "SecretsKey.Arn"}
	for k, v := range common {
		webhook[k] = v
	}
	provider := map[string]string{lambdaenv.StateMachineARN: api[lambdaenv.StateMachineARN], lambdaenv.Account: "${AWS::AccountId}"}
	for k, v := range common {
		provider[k] = v
	}
	want := map[string]map[string]string{"Api": api, "Advance": common, "Dispatch": common, "Provider": provider, "Webhook": webhook}
	// What the functions read (shared/deployed) is all there.
	for id, reads := range map[string][]string{"Api": deployed.APIEnv, "Advance": deployed.HandlerEnv, "Dispatch": deployed.HandlerEnv,
		"Provider": deployed.ProviderEnv, "Webhook": deployed.WebhookEnv} {
		for _, v := range reads {
			if _, ok := want[id][v]; !ok {
				t.Errorf("function %s reads %s, which the test does not expect infra to set", id, v)
			}
		}
	}
	for id, vars := range want {
		got := map[string]string{}
		env, _ := get(props(tp.byPath(t, id)), "Environment", "Variables").(obj)
		for k, v := range env {
			got[k] = tp.text(v)
		}
		if !reflect.DeepEqual(got, vars) {
			t.Errorf("function %s environment:\n got %v\nwant %v", id, got, vars)
		}
	}
}

func TestStateMachine(t *testing.T) {
	tp := tmpl(t, &defaults)
	p := props(tp.one(t, "AWS::StepFunctions::StateMachine"))
	if p["StateMachineName"] != "Stageflow-executions" || p["StateMachineType"] != "STANDARD" {
		t.Errorf("StateMachineName, StateMachineType = %v, %v; want Stageflow-executions, STANDARD", p["StateMachineName"], p["StateMachineType"])
	}
	if got := tmpl(t, &custom); got != nil {
		if n := props(got.one(t, "AWS::StepFunctions::StateMachine"))["StateMachineName"]; n != "StageflowDev-executions" {
			t.Errorf("the custom stack's state machine is named %v, want StageflowDev-executions", n)
		}
	}
	subst := map[string]string{}
	for k, v := range p["DefinitionSubstitutions"].(obj) {
		subst[k] = tp.text(v)
	}
	if want := map[string]string{substAdvance: "Advance.Arn", substDispatch: "Dispatch.Arn"}; !reflect.DeepEqual(subst, want) {
		t.Errorf("DefinitionSubstitutions = %v, want %v", subst, want)
	}
	def, ok := p["DefinitionString"].(string)
	if !ok {
		t.Fatalf("DefinitionString = %#v, want the definition as one string", p["DefinitionString"])
	}
	// Every placeholder in the definition is substituted.
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9]+)\}`).FindAllStringSubmatch(def, -1) {
		if _, ok := subst[m[1]]; !ok {
			t.Errorf("the definition's placeholder %s has no substitution", m[0])
		}
	}
	var asl struct {
		StartAt string
		States  map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(def), &asl); err != nil {
		t.Fatalf("DefinitionString is not JSON: %v", err)
	}
	if asl.StartAt != "Advance" || !reflect.DeepEqual(keys(asl.States), []string{"Advance", "Done", "HandlerFailed", "Park", "Route", "Wave"}) {
		t.Errorf("StartAt %s, states %v; want Advance and the loop Advance, Route, Wave, Park, Done, HandlerFailed", asl.StartAt, keys(asl.States))
	}
	// The Task states call the functions by their placeholders.
	calls := map[string]string{}
	var walk func(states map[string]json.RawMessage)
	walk = func(states map[string]json.RawMessage) {
		for name, raw := range states {
			var s struct {
				Resource      string
				Parameters    struct{ FunctionName string }
				ItemProcessor *struct{ States map[string]json.RawMessage }
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("state %s: %v", name, err)
			}
			if s.Resource != "" {
				calls[name] = s.Resource + " " + s.Parameters.FunctionName
			}
			if s.ItemProcessor != nil {
				walk(s.ItemProcessor.States)
			}
		}
	}
	walk(asl.States)
	wantCalls := map[string]string{
		"Advance":  "arn:aws:states:::lambda:invoke ${AdvanceFunctionArn}",
		"Park":     "arn:aws:states:::lambda:invoke.waitForTaskToken ${AdvanceFunctionArn}",
		"Dispatch": "arn:aws:states:::lambda:invoke.waitForTaskToken ${DispatchFunctionArn}",
	}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("Task states:\n got %v\nwant %v", calls, wantCalls)
	}
	if lvl := get(p, "LoggingConfiguration", "Level"); lvl != "ERROR" {
		t.Errorf("LoggingConfiguration.Level = %v, want ERROR", lvl)
	}
	if data := get(p, "LoggingConfiguration", "IncludeExecutionData"); data != false {
		t.Errorf("LoggingConfiguration.IncludeExecutionData = %v, want false", data)
	}
	if got := tp.text(p["RoleArn"]); got != "ExecutionsRole.Arn" {
		t.Errorf("RoleArn = %s, want the state machine's own role", got)
	}
}

func TestHTTPAPI(t *testing.T) {
	tp := tmpl(t, &defaults)
	if p := props(tp.one(t, "AWS::ApiGatewayV2::Api")); p["ProtocolType"] != "HTTP" {
		t.Errorf("ProtocolType = %v, want HTTP (an HTTP API)", p["ProtocolType"])
	}
	// Two integrations: the api function's and the webhook function's,
	// both AWS_PROXY with payload 2.0.
	integrations := map[string]string{} // construct path → function
	for id, r := range tp.ofType("AWS::ApiGatewayV2::Integration") {
		integ := props(r)
		if integ["IntegrationType"] != "AWS_PROXY" || integ["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration %s: %v %v, want AWS_PROXY, payload 2.0", id, integ["IntegrationType"], integ["PayloadFormatVersion"])
		}
		integrations[id] = tp.text(integ["IntegrationUri"])
	}
	if got := slices.Sorted(maps.Values(integrations)); !reflect.DeepEqual(got, []string{"Api.Arn", "Webhook.Arn"}) {
		t.Errorf("integrations of %v, want the api and webhook functions", got)
	}
	// Every route: its key and how it is authorized.
	routes := map[string]string{}
	for path, r := range tp.ofType("AWS::ApiGatewayV2::Route") {
		p := props(r)
		key := fmt.Sprint(p["RouteKey"])
		auth := fmt.Sprint(p["AuthorizationType"])
		if id := p["AuthorizerId"]; id != nil {
			auth += " " + tp.text(id)
		}
		if sc := p["AuthorizationScopes"]; sc != nil {
			auth += " " + tp.text(sc)
		}
		routes[key] = auth
		fn := "Api.Arn"
		if slices.Contains(webhookRoutes, key) {
			fn = "Webhook.Arn"
		}
		target, ok := strings.CutPrefix(tp.text(p["Target"]), "integrations/ref(")
		if !ok || integrations[strings.TrimSuffix(target, ")")] != fn {
			t.Errorf("route %s (%s): Target = %s, want the integration of %s", key, path, tp.text(p["Target"]), fn)
		}
	}
	// Access tokens only (an ID token carries no scope).
	const console = `JWT ref(HttpApiConsoleAuthorizer) ["openid","aws.cognito.signin.user.admin"]`
	want := map[string]string{
		"POST /":             "NONE", // open: Stageflow verifies the signature against its own keys
		"POST /codepipeline": "AWS_IAM",
		// open: the webhook function verifies each request's signature
		"POST /webhooks/v1/{id}":                    "NONE",
		"POST /webhooks/connections/{connectionId}": "NONE",
	}
	for _, r := range rest.Patterns() {
		want[r] = "AWS_IAM"
		method, path, _ := strings.Cut(r, " ")
		want[method+" /console"+path] = console
	}
	// The console's page, assets and sign-in configuration: open, static.
	// (GET /console answers /console/ too: API Gateway ignores a trailing slash.)
	for _, r := range []string{"GET /", "GET /console", "GET /console/config.json", "GET /console/assets/{proxy+}"} {
		want[r] = "NONE"
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes:\n got %v\nwant %v", routes, want)
	}
	for _, r := range []string{"POST /v1/pipelines/{name}/executions", "GET /v1/pipelines/{name}/executions/{id}"} {
		if routes[r] != "AWS_IAM" || routes[strings.Replace(r, " /v1", " /console/v1", 1)] != console {
			t.Errorf("route %s: %q and under /console %q; want IAM, and the console's JWT authorizer", r, routes[r], routes[strings.Replace(r, " /v1", " /console/v1", 1)])
		}
	}
	// The console's authorizer takes the user pool's tokens for its client.
	a := props(tp.one(t, "AWS::ApiGatewayV2::Authorizer"))
	if a["AuthorizerType"] != "JWT" || tp.text(a["IdentitySource"]) != `["$request.header.Authorization"]` ||
		tp.text(get(a, "JwtConfiguration", "Issuer")) != "https://cognito-idp.${AWS::Region}.amazonaws.com/ref(ConsoleUsers)" ||
		fmt.Sprint(len(list(get(a, "JwtConfiguration", "Audience")))) != "1" || tp.text(list(get(a, "JwtConfiguration", "Audience"))[0]) != "ref(ConsoleUsersConsoleClient)" {
		t.Errorf("authorizer %v, want JWT of the console's user pool and client", a)
	}
	if st := props(tp.one(t, "AWS::ApiGatewayV2::Stage")); st["StageName"] != "$default" || st["AutoDeploy"] != true {
		t.Errorf("stage %v (auto deploy %v), want $default, deployed automatically", st["StageName"], st["AutoDeploy"])
	}
	// API Gateway may invoke the api and webhook functions, and no other
	// (the provider's permission is CloudFormation's: TestProviderPermission).
	for path, r := range tp.ofType("AWS::Lambda::Permission") {
		p := props(r)
		if tp.text(p["FunctionName"]) == "Provider.Arn" && p["Principal"] == "cloudformation.amazonaws.com" {
			continue
		}
		if fn := tp.text(p["FunctionName"]); p["Principal"] != "apigateway.amazonaws.com" || fn != "Api.Arn" && fn != "Webhook.Arn" || p["Action"] != "lambda:InvokeFunction" {
			t.Errorf("permission %s: %v may %v %s", path, p["Principal"], p["Action"], tp.text(p["FunctionName"]))
		}
	}
}

func TestArtifactBucket(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tp       **template
		rules    string
		deletion string
	}{
		{"defaults", &defaults, "abort-incomplete-uploads:abort after 1 days; expire-artifacts:expire after 90 days", "Retain"},
		{"artifacts kept", &custom, "abort-incomplete-uploads:abort after 1 days", "Delete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := tmpl(t, tc.tp)
			r := tp.one(t, "AWS::S3::Bucket")
			p := props(r)
			if alg := get(list(get(p, "BucketEncryption", "ServerSideEncryptionConfiguration"))[0], "ServerSideEncryptionByDefault", "SSEAlgorithm"); alg != "AES256" {
				t.Errorf("encryption %v, want AES256 (S3-managed keys)", alg)
			}
			block := p["PublicAccessBlockConfiguration"].(obj)
			for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				if block[k] != true {
					t.Errorf("PublicAccessBlockConfiguration.%s = %v, want true", k, block[k])
				}
			}
			if own := get(list(get(p, "OwnershipControls", "Rules"))[0], "ObjectOwnership"); own != "BucketOwnerEnforced" {
				t.Errorf("ObjectOwnership = %v, want BucketOwnerEnforced (no ACLs)", own)
			}
			var rules []string
			for _, rule := range list(get(p, "LifecycleConfiguration", "Rules")) {
				s := fmt.Sprint(get(rule, "Id")) + ":"
				if d := get(rule, "AbortIncompleteMultipartUpload", "DaysAfterInitiation"); d != nil {
					s += fmt.Sprintf("abort after %v days", d)
				}
				if d := get(rule, "ExpirationInDays"); d != nil {
					s += fmt.Sprintf("expire after %v days", d)
				}
				if get(rule, "Status") != "Enabled" {
					s += " (disabled)"
				}
				rules = append(rules, s)
			}
			if got := strings.Join(rules, "; "); got != tc.rules {
				t.Errorf("lifecycle rules %q, want %q", got, tc.rules)
			}
			if r["DeletionPolicy"] != tc.deletion {
				t.Errorf("DeletionPolicy = %v, want %s", r["DeletionPolicy"], tc.deletion)
			}
			// TLS only: the bucket policy denies every request without TLS,
			// and with TLS older than 1.2.
			denies := map[string]bool{}
			for _, st := range list(get(props(tp.one(t, "AWS::S3::BucketPolicy")), "PolicyDocument", "Statement")) {
				if get(st, "Effect") == "Deny" && get(st, "Action") == "s3:*" && get(st, "Principal", "AWS") == "*" {
					cond, _ := json.Marshal(get(st, "Condition"))
					denies[string(cond)] = true
				}
			}
			for _, c := range []string{`{"Bool":{"aws:SecureTransport":"false"}}`, `{"NumericLessThan":{"s3:TlsVersion":1.2}}`} {
				if !denies[c] {
					t.Errorf("the bucket policy has no Deny of s3:* for %s (has %v)", c, keys(denies))
				}
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	tp := tmpl(t, &defaults)
	got := map[string]string{}
	for k, o := range tp.Outputs {
		got[k] = tp.text(o["Value"])
	}
	want := map[string]string{
		outAPIURL:          "https://ref(HttpApi).execute-api.${AWS::Region}.${AWS::URLSuffix}/",
		outTable:           "ref(Store)",
		outBucket:          "ref(Artifacts)",
		outStateMachine:    "ref(Executions)",
		outArtifactRoleARN: "ArtifactAccessRole.Arn",
		outUserPool:        "ref(ConsoleUsers)",
		outUserPoolClient:  "ref(ConsoleUsersConsoleClient)",
		outConsoleURL:      "HttpApi.ApiEndpoint/console/",
		outConsoleSignIn:   consoleDomainURL,
		outSecretsKey:      "SecretsKey.Arn",
		outProvider:        "Provider.Arn",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outputs:\n got %v\nwant %v", got, want)
	}
	if got := tp.text(get(tp.Outputs[outProvider], "Export", "Name")); got != "StageflowPipelineProvider" {
		t.Errorf("the provider's ServiceToken is exported as %q, want StageflowPipelineProvider", got)
	}
}
