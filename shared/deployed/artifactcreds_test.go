package deployed

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions/custom"
	"github.com/stageflow/stageflow/shared/artifacts/sts/ststest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// Deployed, a job worker's artifactCredentials are a session of the
// artifact access role limited to the job's objects (the STS call reaches a
// loopback stand-in through the SDK's endpoint setting); when STS refuses,
// the poll fails and the job goes back to the queue, not lost.
func TestJobsGetSessionsOfTheArtifactRole(t *testing.T) {
	fake := &ststest.Fake{}
	stsSrv := httptest.NewServer(fake)
	defer stsSrv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:9")
	t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)
	c := dynamotest.Client(t)
	sys, err := Open(context.Background(), Config{
		Table: dynamotest.NewTable(t, c), ArtifactBucket: "artifacts", Region: "us-east-1", Account: "123456789012",
		StateMachineARN:  "arn:aws:states:us-east-1:123456789012:stateMachine:Stageflow-executions",
		ArtifactRoleARN:  "arn:aws:iam::123456789012:role/Stageflow-ArtifactAccess",
		DynamoDBEndpoint: dynamotest.Endpoint(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := service.LocalCaller(t.Context(), "test")
	typ := pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Worker", Version: "1"}
	if _, err := sys.Service.CreateCustomActionType(ctx, service.CustomActionTypeInput{Category: typ.Category, Provider: typ.Provider,
		Version: typ.Version, InputArtifactDetails: service.ArtifactDetails{MaximumCount: 1}, OutputArtifactDetails: service.ArtifactDetails{MaximumCount: 1}}); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(custom.JobData{Stage: "Build", Action: "Compile",
		InputArtifacts:  []engine.ArtifactRef{{Name: "Src", Bucket: "artifacts", Key: "app/Src/in.zip"}},
		OutputArtifacts: []engine.ArtifactRef{{Name: "Bin", Bucket: "artifacts", Key: "app/Bin/out.zip"}}})
	// The jobs' execution, with their runs in progress.
	now := time.Now().UTC()
	exec := &engine.Execution{ID: "33333333-3333-4333-8333-333333333333", PipelineName: "app", PipelineVersion: 1,
		Pipeline: pipeline.Pipeline{Name: "app", Stages: []pipeline.Stage{{Name: "Build", Actions: []pipeline.Action{{Name: "Compile", ActionTypeID: typ}}}}},
		Status:   engine.InProgress, Trigger: engine.Trigger{Type: "StartPipelineExecution"},
		Stages: []engine.StageState{{Name: "Build", Status: engine.InProgress}}, StartTime: now, LastUpdateTime: now}
	for _, id := range []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"} {
		exec.Actions = append(exec.Actions, engine.ActionRun{ID: "run-" + id, Stage: "Build", Action: "Compile", Attempt: 1,
			Type: typ, Status: engine.InProgress, Token: id, StartTime: now, LastUpdateTime: now})
	}
	if _, _, err := sys.Store.CreateExecution(ctx, exec); err != nil {
		t.Fatal(err)
	}
	newJob := func(id string) {
		t.Helper()
		if err := sys.Store.CreateJob(ctx, &store.Job{ID: id, Nonce: "1", ActionTypeID: typ, PipelineName: "app", Data: data,
			ExecutionID: exec.ID, ActionRunID: "run-" + id,
			Deadline: time.Now().Add(20 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}

	newJob("11111111-1111-4111-8111-111111111111")
	jobs, err := sys.Service.PollForJobs(ctx, typ, 1)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("poll: %v, %d jobs", err, len(jobs))
	}
	cr := jobs[0].Data.ArtifactCredentials
	if cr == nil || cr.AccessKeyID != "ASIATESTKEY" || cr.SessionToken != "token" {
		t.Fatalf("artifactCredentials %+v, want the STS session", cr)
	}
	call := fake.Calls()[0]
	if call["RoleArn"] != "arn:aws:iam::123456789012:role/Stageflow-ArtifactAccess" ||
		!strings.Contains(call["Policy"], "arn:aws:s3:::artifacts/app/Src/in.zip") ||
		!strings.Contains(call["Policy"], "arn:aws:s3:::artifacts/app/Bin/out.zip") {
		t.Errorf("AssumeRole %v", call)
	}
	if d := call["DurationSeconds"]; d != "1200" && d != "1199" {
		t.Errorf("DurationSeconds %s, want the 20 minutes to the job's deadline", d)
	}

	fake.Fail = true
	newJob("22222222-2222-4222-8222-222222222222")
	if _, err := sys.Service.PollForJobs(ctx, typ, 1); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("poll with STS refusing: %v", err)
	}
	j, err := sys.Store.GetJob(ctx, "22222222-2222-4222-8222-222222222222")
	if err != nil || j.Status != store.JobQueued {
		t.Fatalf("the job after the failed poll: %+v, %v; want it queued again", j, err)
	}
	fake.Fail = false
	if jobs, err := sys.Service.PollForJobs(ctx, typ, 1); err != nil || len(jobs) != 1 || jobs[0].ID != "22222222-2222-4222-8222-222222222222" {
		t.Fatalf("the job is not handed out again: %v %+v", err, jobs)
	}
}
