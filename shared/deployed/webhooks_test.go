package deployed

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/lambdaenv"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/seal/kms/kmstest"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// TestWebhookEnv: the webhook function needs the table, the bucket, the
// state machine, the account and the secrets key, and nothing of the
// console or the artifact role; the webhook base URL is optional for
// every function.
func TestWebhookEnv(t *testing.T) {
	env := map[string]string{
		lambdaenv.Table: "t", lambdaenv.ArtifactBucket: "b", lambdaenv.StateMachineARN: "arn:sm",
		lambdaenv.Account: "123456789012", lambdaenv.KMSKeyARN: "arn:key", "AWS_REGION": "eu-west-1",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got, err := FromEnv(lookup, WebhookEnv)
	want := Config{Table: "t", ArtifactBucket: "b", StateMachineARN: "arn:sm", Account: "123456789012", KMSKeyARN: "arn:key", Region: "eu-west-1"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("FromEnv(webhook) = %+v, %v; want %+v", got, err, want)
	}
	env[lambdaenv.WebhookBaseURL] = " https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com "
	if got, err := FromEnv(lookup, WebhookEnv); err != nil || got.WebhookBaseURL != "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com" {
		t.Errorf("FromEnv with the base URL: %q, %v", got.WebhookBaseURL, err)
	}
	delete(env, lambdaenv.KMSKeyARN)
	if _, err := FromEnv(lookup, WebhookEnv); err == nil || !strings.Contains(err.Error(), lambdaenv.KMSKeyARN) {
		t.Errorf("FromEnv(webhook) without the key: %v, want an error naming %s", err, lambdaenv.KMSKeyARN)
	}
}

// TestWebhookURLsStartWithTheBaseURL: deployed, PutWebhook answers a URL on
// the configured base (the HTTP API's endpoint, where the webhook function
// serves it), whatever host the request came by.
func TestWebhookURLsStartWithTheBaseURL(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:9")
	kmsSrv := httptest.NewServer(kmstest.NewFake(testKeyARN))
	defer kmsSrv.Close()
	t.Setenv("AWS_ENDPOINT_URL_KMS", kmsSrv.URL)
	const base = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
	c := dynamotest.Client(t)
	sys, err := Open(t.Context(), Config{
		Table: dynamotest.NewTable(t, c), ArtifactBucket: "artifacts", Region: "us-east-1", Account: "123456789012",
		StateMachineARN:  "arn:aws:states:us-east-1:123456789012:stateMachine:Stageflow-executions",
		DynamoDBEndpoint: dynamotest.Endpoint(t), KMSKeyARN: testKeyARN, WebhookBaseURL: base + "/",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := service.WithBaseURL(service.WithoutFirstExecution(service.LocalCaller(t.Context(), "test")), "http://other.example")
	d, err := pipeline.Load([]byte(`{"name": "app", "stages": [
	 {"name": "Source", "actions": [{"name": "Src", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
	   "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "outputArtifacts": [{"name": "Code"}]}]},
	 {"name": "Build", "actions": [{"name": "Check", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	   "inputArtifacts": [{"name": "Code"}], "commands": ["true"]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Service.CreatePipeline(ctx, d.Pipeline, nil); err != nil {
		t.Fatal(err)
	}
	w, err := sys.Service.PutWebhook(ctx, service.WebhookDefinition{Name: "hook", TargetPipeline: "app", TargetAction: "Src",
		Filters: []service.WebhookFilterRule{{JSONPath: "$.ref"}}, Authentication: service.WebhookUnauthenticated}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(w.URL, base+service.WebhookPath)
	if !ok || id == "" || strings.Contains(id, "/") {
		t.Errorf("webhook URL %q, want %s%s<id>", w.URL, base, service.WebhookPath)
	}
}
