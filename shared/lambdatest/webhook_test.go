package lambdatest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stageflow/stageflow/shared/deployed"
	"github.com/stageflow/stageflow/shared/lambdatest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/seal/kms/kmstest"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// sampleWebhookSecret is the SecretToken the webhook-fn.v1-* samples are
// signed with (events/README.md), and sampleURLID the webhook URL ID they
// name, which the test replaces with the one PutWebhook made.
const (
	sampleWebhookSecret = "stageflow-sample-webhook-secret"
	sampleURLID         = "sample-webhook-url-id"
)

// webhookSamples are the webhook function's samples, each with the status
// it is answered and whether it starts an execution.
var webhookSamples = map[string]struct {
	status int
	starts bool
}{
	"webhook-fn.v1-good-signature.json":        {http.StatusOK, true},
	"webhook-fn.v1-bad-signature.json":         {http.StatusForbidden, false},
	"webhook-fn.connection-bad-signature.json": {http.StatusForbidden, false},
}

// readWebhookSample reads a sample, checks it decodes strictly as an API
// Gateway v2 event of one of the webhook function's open routes (no
// authorizer in its context) and returns it.
func readWebhookSample(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: not an API Gateway v2 event: %v", name, err)
	}
	routes := map[string]bool{"POST /webhooks/v1/{id}": true, "POST /webhooks/connections/{connectionId}": true}
	if ev.Version != "2.0" || ev.RequestContext.HTTP.Method != "POST" || ev.RawPath != ev.RequestContext.HTTP.Path ||
		ev.RouteKey != ev.RequestContext.RouteKey || !routes[ev.RouteKey] || ev.RequestContext.Authorizer != nil {
		t.Fatalf("%s: version, method, path or route key inconsistent, or an authorizer on an open route", name)
	}
	return ev
}

// TestWebhookFunction runs the webhook bootstrap under the emulator on
// DynamoDB Local, with a KMS stand-in holding the key the secrets are
// sealed with and a Step Functions stand-in that counts the executions
// started: a pipeline, a GITHUB_HMAC webhook and a connection seeded
// through the deployed service on the same table, each sample is answered
// with its status, and only the well-signed ones start an execution (in the
// store and on the state machine).
func TestWebhookFunction(t *testing.T) {
	rie(t)
	var starts atomic.Int32
	sfnAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".StartExecution") {
			starts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"executionArn": "arn:aws:states:us-east-1:000000000000:execution:stageflow:x", "startDate": 1}`)
	}))
	defer sfnAPI.Close()
	fake := kmstest.NewFake(lambdatest.LocalKMSKeyARN)
	kmsSrv := httptest.NewServer(fake)
	defer kmsSrv.Close()

	// The seeding system: the deployed service of this process on the
	// function's table, KMS and Step Functions.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL_SFN": sfnAPI.URL, "AWS_ENDPOINT_URL_KMS": kmsSrv.URL, "AWS_ENDPOINT_URL_STS": sfnAPI.URL} {
		t.Setenv(k, v)
	}
	c := dynamotest.Client(t)
	table := dynamotest.NewTable(t, c)
	env := lambdatest.Env(table, dynamotest.Endpoint(t), sfnAPI.URL)
	env["AWS_ENDPOINT_URL_KMS"] = kmsSrv.URL
	sys, err := deployed.Open(t.Context(), deployed.Config{
		Table: table, ArtifactBucket: lambdatest.LocalBucket, StateMachineARN: lambdatest.LocalStateMachineARN,
		Region: lambdatest.LocalRegion, Account: lambdatest.LocalAccount, DynamoDBEndpoint: dynamotest.Endpoint(t),
		KMSKeyARN: lambdatest.LocalKMSKeyARN,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := service.WithoutFirstExecution(service.LocalCaller(t.Context(), "test"))
	conn, err := sys.Service.CreateConnection(ctx, service.CreateConnectionInput{Name: "acme", ID: "acme", Remote: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"name": "app", "pipelineType": "V2", "stages": [
	 {"name": "Source", "actions": [{"name": "Src",
	   "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
	   "configuration": {"ConnectionArn": "` + conn.Arn + `", "FullRepositoryId": "acme/app", "BranchName": "main"},
	   "outputArtifacts": [{"name": "Code"}]}]},
	 {"name": "Build", "actions": [{"name": "Check",
	   "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	   "inputArtifacts": [{"name": "Code"}], "commands": ["true"]}]}],
	 "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "Src",
	   "push": [{"branches": {"includes": ["main"]}}]}}]}`
	d, err := pipeline.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Service.CreatePipeline(ctx, d.Pipeline, nil); err != nil {
		t.Fatal(err)
	}
	hook, err := sys.Service.PutWebhook(ctx, service.WebhookDefinition{
		Name: "app-push", TargetPipeline: "app", TargetAction: "Src",
		Filters:        []service.WebhookFilterRule{{JSONPath: "$.ref", MatchEquals: "refs/heads/{BranchName}"}},
		Authentication: service.WebhookGitHubHMAC, AuthenticationConfiguration: service.WebhookAuthConfiguration{SecretToken: sampleWebhookSecret},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	urlID := hook.URL[strings.LastIndex(hook.URL, "/")+1:]
	if urlID == "" || urlID == sampleURLID {
		t.Fatalf("webhook URL %q", hook.URL)
	}
	executions := func() int {
		out, err := sys.Service.ListExecutions(ctx, "app", "", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(out.PipelineExecutionSummaries)
	}
	if n, s := executions(), starts.Load(); n != 0 || s != 0 {
		t.Fatalf("seeding started %d executions (%d on the state machine)", n, s)
	}

	fn := emulator(t, "webhook", env)
	// The bad signatures first, then the good ones; the connection's good
	// case is its bad sample signed with the connection's trigger secret,
	// which is made with the connection (no sample can know it).
	type step struct {
		file   string
		resign bool
		status int
		starts bool
	}
	var steps []step
	for _, name := range []string{"webhook-fn.v1-bad-signature.json", "webhook-fn.connection-bad-signature.json", "webhook-fn.v1-good-signature.json"} {
		steps = append(steps, step{name, false, webhookSamples[name].status, webhookSamples[name].starts})
	}
	steps = append(steps, step{"webhook-fn.connection-bad-signature.json", true, http.StatusOK, true})
	for _, want := range steps {
		name := want.file
		ev := readWebhookSample(t, name)
		if want.resign {
			name += " signed with the connection's secret"
			mac := hmac.New(sha256.New, []byte(conn.TriggerSecret))
			mac.Write([]byte(ev.Body))
			ev.Headers["x-hub-signature-256"] = "sha256=" + hex.EncodeToString(mac.Sum(nil))
		}
		if ev.RouteKey == "POST /webhooks/v1/{id}" {
			ev.RawPath = strings.Replace(ev.RawPath, sampleURLID, urlID, 1)
			ev.RequestContext.HTTP.Path = ev.RawPath
			ev.PathParameters["id"] = urlID
		}
		in, _ := json.Marshal(ev)
		beforeN, beforeS := executions(), starts.Load()
		out, err := fn.Invoke(t.Context(), in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var res events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%s: the answer is no API Gateway v2 response: %v: %s", name, err, out)
		}
		if res.StatusCode != want.status || res.Headers["Content-Type"] != "application/json" {
			t.Errorf("%s: %d (%s) %s; want %d", name, res.StatusCode, res.Headers["Content-Type"], res.Body, want.status)
		}
		started := 0
		if want.starts {
			started = 1
			if !strings.Contains(res.Body, `"pipelineExecutionId"`) {
				t.Errorf("%s: the answer names no execution: %s", name, res.Body)
			}
		}
		if n, s := executions()-beforeN, starts.Load()-beforeS; n != started || int(s) != started {
			t.Errorf("%s: started %d executions (%d on the state machine), want %d", name, n, s, started)
		}
	}
	if calls := fake.Calls(); len(calls) == 0 {
		t.Error("the function opened no secret with KMS")
	}
}
