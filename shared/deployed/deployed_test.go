package deployed

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/lambdaenv"
	"github.com/stageflow/stageflow/shared/seal/kms/kmstest"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

const testKeyARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// consoleGroups is ev with the groups claim of its token set.
func consoleGroups(ev events.APIGatewayV2HTTPRequest, claim string) events.APIGatewayV2HTTPRequest {
	ev.RequestContext.Authorizer.JWT.Claims["cognito:groups"] = claim
	return ev
}

// unauthorized is ev as if its route had no authorizer.
func unauthorized(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	ev.RequestContext.Authorizer = nil
	return ev
}

func TestFromEnv(t *testing.T) {
	full := map[string]string{
		lambdaenv.Table: "t", lambdaenv.ArtifactBucket: "b", lambdaenv.StateMachineARN: "arn:sm",
		lambdaenv.Account: "123456789012", lambdaenv.ArtifactRoleARN: "arn:role", "AWS_REGION": "eu-west-1",
		lambdaenv.KMSKeyARN: "arn:key", lambdaenv.UserPoolID: "eu-west-1_Pool",
	}
	lookup := func(env map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
	got, err := FromEnv(lookup(full), APIEnv)
	want := Config{Table: "t", ArtifactBucket: "b", StateMachineARN: "arn:sm", Account: "123456789012", Region: "eu-west-1",
		ArtifactRoleARN: "arn:role", KMSKeyARN: "arn:key", UserPoolID: "eu-west-1_Pool"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("FromEnv(api) = %+v, %v; want %+v", got, err, want)
	}
	// advance and dispatch need neither the state machine nor the account.
	handler := map[string]string{lambdaenv.Table: "t", lambdaenv.ArtifactBucket: "b"}
	if _, err := FromEnv(lookup(handler), HandlerEnv); err != nil {
		t.Errorf("FromEnv(handler): %v", err)
	}
	_, err = FromEnv(lookup(handler), APIEnv)
	for _, v := range []string{lambdaenv.StateMachineARN, lambdaenv.Account, lambdaenv.KMSKeyARN, lambdaenv.UserPoolID} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("FromEnv(api) with only the table and bucket: %v, want an error naming %s", err, v)
		}
	}
}

// TestAPIGatewayEvents runs the api function's wiring (Open with access
// control on, APIHandler: api.NewHandler behind GatewayCallers, the v2
// adapter) against
// DynamoDB Local and sends it API Gateway HTTP API events of both doors and
// every kind of route. Only reads: nothing here reaches Step Functions,
// whose endpoint points at a closed loopback port besides.
func TestAPIGatewayEvents(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:9")
	kmsSrv := httptest.NewServer(kmstest.NewFake(testKeyARN))
	defer kmsSrv.Close()
	t.Setenv("AWS_ENDPOINT_URL_KMS", kmsSrv.URL)
	c := dynamotest.Client(t)
	cfg := Config{
		Table: dynamotest.NewTable(t, c), ArtifactBucket: "artifacts", Region: "us-east-1", Account: "123456789012",
		StateMachineARN:  "arn:aws:states:us-east-1:123456789012:stateMachine:Stageflow-executions",
		DynamoDBEndpoint: dynamotest.Endpoint(t), KMSKeyARN: testKeyARN, UserPoolID: testPool,
	}
	sys, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The api function's handler, as functions/api builds it.
	h, err := sys.APIHandler(nil)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httpadapter.NewV2(h).ProxyWithContext
	iam := &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
		AccountID: "123456789012", UserARN: "arn:aws:iam::123456789012:user/release-engineer"}}
	event := func(method, path string, headers map[string]string, body string) events.APIGatewayV2HTTPRequest {
		route := path
		if strings.HasPrefix(path, "/v1/pipelines/") {
			route = "/v1/pipelines/{name}"
		}
		return events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: method + " " + route, RawPath: path, Headers: headers, Body: body,
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RouteKey: method + " " + route, Authorizer: iam,
				DomainName: "abc123.execute-api.us-east-1.amazonaws.com", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "192.0.2.1"},
			},
		}
	}
	cp := func(op string) map[string]string {
		return map[string]string{"content-type": "application/x-amz-json-1.1", "x-amz-target": "CodePipeline_20150709." + op}
	}
	tests := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		body   string // a member of the JSON answer
	}{
		{"REST list", event("GET", "/v1/pipelines", nil, ""), http.StatusOK, "pipelines"},
		{"REST missing pipeline", event("GET", "/v1/pipelines/nope", nil, ""), http.StatusNotFound, "error"},
		{"CodePipeline ListPipelines", event("POST", "/", cp("ListPipelines"), "{}"), http.StatusOK, "pipelines"},
		{"CodePipeline GetPipeline of none", event("POST", "/", cp("GetPipeline"), `{"name":"nope"}`), http.StatusBadRequest, "__type"},
		{"CodePipeline's IAM route", readEvent(t, "testdata/gateway.codepipeline-iam-route.json"), http.StatusOK, "pipelines"},
		{"REST as a role session", readEvent(t, "testdata/gateway.rest-assumed-role.json"), http.StatusNotFound, "error"},
		// Nobody verified these callers: denied.
		{"CodePipeline's open route, a signature nobody checked", readEvent(t, "testdata/gateway.codepipeline-open-route.json"), http.StatusForbidden, "__type"},
		{"REST without the gateway's authorization", unauthorized(event("GET", "/v1/pipelines", map[string]string{"x-stageflow-user": "admin"}, "")), http.StatusForbidden, "error"},
		// A console user of the read-only and approvers groups lists; one
		// of groups with no policy may not.
		{"console, read-only group", readEvent(t, "testdata/gateway.console-jwt.json"), http.StatusOK, "pipelines"},
		{"console, groups without policies", consoleGroups(readEvent(t, "testdata/gateway.console-jwt.json"), "[Testers]"), http.StatusForbidden, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := proxy(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
				t.Fatalf("status %d, body %q is not a JSON object: %v", res.StatusCode, res.Body, err)
			}
			if _, ok := body[tt.body]; res.StatusCode != tt.status || !ok {
				t.Errorf("status %d, body %s; want %d with %q", res.StatusCode, res.Body, tt.status, tt.body)
			}
		})
	}
}
