package deployed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/seal/kms/kmstest"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// signedCodePipeline is an API Gateway event of the open CodePipeline route
// (POST /) signed for codepipeline with a key, as the AWS CLI signs.
func signedCodePipeline(t *testing.T, op, body, keyID, secret string, at time.Time) events.APIGatewayV2HTTPRequest {
	t.Helper()
	const host = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
	r, err := http.NewRequest("POST", "https://"+host+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "CodePipeline_20150709."+op)
	sum := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), "codepipeline", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{"host": host}
	for k := range r.Header {
		headers[strings.ToLower(k)] = r.Header.Get(k)
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /", RawPath: "/", Headers: headers, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "POST /", AccountID: "123456789012", APIID: "a1b2c3d4e5", DomainName: host, Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/", Protocol: "HTTP/1.1", SourceIP: "192.0.2.40"},
		},
	}
}

// TestDeployedAccessControl runs the api function's wiring on DynamoDB
// Local with a KMS stand-in: a key made by the service (its secret sealed
// by KMS) signs the unchanged CodePipeline protocol at the open route and
// gets its policy; policies attached to a role narrow its sessions, and
// those attached to a console group its users.
func TestDeployedAccessControl(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:9")
	fake := kmstest.NewFake(testKeyARN)
	kmsSrv := httptest.NewServer(fake)
	defer kmsSrv.Close()
	t.Setenv("AWS_ENDPOINT_URL_KMS", kmsSrv.URL)
	c := dynamotest.Client(t)
	sys, err := Open(context.Background(), Config{
		Table: dynamotest.NewTable(t, c), ArtifactBucket: "artifacts", Region: "us-east-1", Account: "123456789012",
		StateMachineARN:  "arn:aws:states:us-east-1:123456789012:stateMachine:Stageflow-executions",
		DynamoDBEndpoint: dynamotest.Endpoint(t), KMSKeyARN: testKeyARN, UserPoolID: testPool,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewHandler(api.Config{Service: sys.Service})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httpadapter.NewV2(sys.Gateway.GatewayCallers(h)).ProxyWithContext

	admin := service.LocalCaller(t.Context(), "test")
	key, err := sys.Service.CreateAccessKey(admin, service.CreateAccessKeyInput{User: "ci", Policies: []store.AttachedPolicy{{Name: auth.ReadOnlyAccess}}})
	if err != nil {
		t.Fatal(err)
	}
	const deployer = "arn:aws:iam::123456789012:role/StageflowDeployer"
	denyStart := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"codepipeline:StartPipelineExecution","Resource":"arn:aws:codepipeline:us-east-1:123456789012:release"}]}`
	if err := sys.Service.PutPrincipalPolicies(admin, deployer, []store.AttachedPolicy{{Name: auth.FullAccess}, {Name: "NoReleaseStarts", Document: denyStart}}); err != nil {
		t.Fatal(err)
	}
	if err := sys.Service.PutPrincipalPolicies(admin, testPoolARN+"/group/Testers", []store.AttachedPolicy{{Name: auth.ReadOnlyAccess}}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	roleSession := readEvent(t, "testdata/gateway.rest-assumed-role.json") // GET /v1/pipelines/release
	startRelease := roleSession
	startRelease.RouteKey, startRelease.RawPath, startRelease.Body = "POST /v1/pipelines/{name}/executions", "/v1/pipelines/release/executions", "{}"
	startRelease.Headers = map[string]string{"content-type": "application/json", "host": roleSession.Headers["host"]}
	startRelease.RequestContext.RouteKey = startRelease.RouteKey
	startRelease.RequestContext.HTTP.Method, startRelease.RequestContext.HTTP.Path = "POST", startRelease.RawPath
	tampered := signedCodePipeline(t, "ListPipelines", "{}", key.AccessKeyID, key.SecretAccessKey, now)
	tampered.Body = `{"nextToken":"x"}`
	tests := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		want   string // in the body
	}{
		{"a key of the server signs for codepipeline: its read-only policy lists", signedCodePipeline(t, "ListPipelines", "{}", key.AccessKeyID, key.SecretAccessKey, now), http.StatusOK, `"pipelines"`},
		{"… but may not delete", signedCodePipeline(t, "DeletePipeline", `{"name":"release"}`, key.AccessKeyID, key.SecretAccessKey, now), http.StatusForbidden, "AccessDeniedException"},
		{"a wrong secret", signedCodePipeline(t, "ListPipelines", "{}", key.AccessKeyID, "wrong"+key.SecretAccessKey, now), http.StatusForbidden, "InvalidSignatureException"},
		{"a signature 20 minutes old", signedCodePipeline(t, "ListPipelines", "{}", key.AccessKeyID, key.SecretAccessKey, now.Add(-20*time.Minute)), http.StatusForbidden, ""},
		{"a tampered body", tampered, http.StatusForbidden, ""},
		{"an IAM user's key at the open route", signedCodePipeline(t, "ListPipelines", "{}", "AKIAIOSFODNN7EXAMPLE", "secret", now), http.StatusForbidden, ""},
		{"a role session with the role's policies reads", roleSession, http.StatusNotFound, "PipelineNotFoundException"},
		{"… and may not start release (the role's Deny)", startRelease, http.StatusForbidden, "explicit deny"},
		{"a console user of a group with a stored policy", consoleGroups(readEvent(t, "testdata/gateway.console-jwt.json"), "[Testers]"), http.StatusOK, `"pipelines"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := proxy(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || !strings.Contains(res.Body, tt.want) {
				t.Errorf("status %d, body %s; want %d with %q", res.StatusCode, res.Body, tt.status, tt.want)
			}
		})
	}
	// The secret was sealed once and opened once: the cache served the
	// other verifications.
	calls := strings.Join(fake.Calls(), " ")
	if strings.Count(calls, "TrentService.Encrypt") != 1 || strings.Count(calls, "TrentService.Decrypt") > 1 {
		t.Errorf("KMS calls %s; want one Encrypt and at most one Decrypt", calls)
	}
}
