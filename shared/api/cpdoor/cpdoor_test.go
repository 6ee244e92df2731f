package cpdoor_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/stageflow/stageflow/shared/api/apierr"
	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// testRoleArn is a service role for the declarations: the API definition
// requires roleArn (so the SDK does), and Stageflow keeps it without using it.
const testRoleArn = "arn:aws:iam::000000000000:role/stageflow-test"

// waitTimeout bounds every wait for an execution to reach a state.
const waitTimeout = 30 * time.Second

func newClient(t *testing.T, srv *apitest.Server) *codepipeline.Client {
	t.Helper()
	return codepipeline.New(codepipeline.Options{
		BaseEndpoint:     aws.String(srv.URL),
		Region:           "us-east-1",
		Credentials:      srv.Credentials(),
		RetryMaxAttempts: 1, // a failure shows at once instead of being retried
	})
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// eventually calls check until it reports done, backing off from 5ms to
// 200ms between calls, and fails the test at the deadline.
func eventually(t *testing.T, what string, check func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	pause := 5 * time.Millisecond
	for {
		done, err := check()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not done after %v", what, waitTimeout)
		}
		time.Sleep(pause)
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// apiErrorCode returns the exception name of an SDK error.
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	if got := apiErrorCode(err); got != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func commandsType() *types.ActionTypeId {
	return &types.ActionTypeId{Category: types.ActionCategoryCompute, Owner: types.ActionOwnerAws, Provider: aws.String("Commands"), Version: aws.String("1")}
}

func approvalType() *types.ActionTypeId {
	return &types.ActionTypeId{Category: types.ActionCategoryApproval, Owner: types.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")}
}

func workerType(provider string) *types.ActionTypeId {
	return &types.ActionTypeId{Category: types.ActionCategoryDeploy, Owner: types.ActionOwnerCustom, Provider: aws.String(provider), Version: aws.String("1")}
}

func createWorkerType(t *testing.T, ctx context.Context, cp *codepipeline.Client, provider string) {
	t.Helper()
	out, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: types.ActionCategoryDeploy, Provider: aws.String(provider), Version: aws.String("1"),
		ConfigurationProperties: []types.ActionConfigurationProperty{
			{Name: aws.String("Greeting"), Required: false, Key: false, Secret: false, Description: aws.String("what to say")},
		},
		InputArtifactDetails:  &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 5},
		OutputArtifactDetails: &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 1},
	})
	if err != nil {
		t.Fatalf("CreateCustomActionType: %v", err)
	}
	if id := out.ActionType.Id; aws.ToString(id.Provider) != provider || id.Owner != types.ActionOwnerCustom {
		t.Fatalf("CreateCustomActionType returned %+v", id)
	}
}

// pollJob polls for a job of the type until one arrives (at the deadline the
// test fails).
func pollJob(t *testing.T, ctx context.Context, cp *codepipeline.Client, typ *types.ActionTypeId) types.Job {
	t.Helper()
	var job types.Job
	eventually(t, "a job of "+aws.ToString(typ.Provider), func() (bool, error) {
		out, err := cp.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: typ, MaxBatchSize: aws.Int32(1)})
		if err != nil {
			return false, err
		}
		if len(out.Jobs) == 0 {
			return false, nil
		}
		if len(out.Jobs) > 1 {
			return false, fmt.Errorf("asked for one job, got %d", len(out.Jobs))
		}
		job = out.Jobs[0]
		return true, nil
	})
	return job
}

func acknowledge(t *testing.T, ctx context.Context, cp *codepipeline.Client, job types.Job) {
	t.Helper()
	out, err := cp.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: job.Id, Nonce: job.Nonce})
	if err != nil {
		t.Fatalf("AcknowledgeJob: %v", err)
	}
	if out.Status != types.JobStatusInProgress {
		t.Fatalf("AcknowledgeJob: status %q, want InProgress", out.Status)
	}
}

// waitExecution waits until the execution reaches want; any other terminal
// status fails the test.
func waitExecution(t *testing.T, ctx context.Context, cp *codepipeline.Client, name, id string, want types.PipelineExecutionStatus) *types.PipelineExecution {
	t.Helper()
	var pe *types.PipelineExecution
	eventually(t, fmt.Sprintf("execution %s to be %s", id, want), func() (bool, error) {
		out, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String(name), PipelineExecutionId: aws.String(id)})
		if err != nil {
			return false, err
		}
		pe = out.PipelineExecution
		switch pe.Status {
		case want:
			return true, nil
		case types.PipelineExecutionStatusInProgress, types.PipelineExecutionStatusStopping:
			return false, nil
		}
		return false, fmt.Errorf("execution ended %s (%s)", pe.Status, aws.ToString(pe.StatusSummary))
	})
	return pe
}

// approvalToken waits until the approval action waits and returns its token.
func approvalToken(t *testing.T, ctx context.Context, cp *codepipeline.Client, name, stage, action, executionID string) string {
	t.Helper()
	token := ""
	eventually(t, "approval "+action+" to wait", func() (bool, error) {
		out, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(name)})
		if err != nil {
			return false, err
		}
		for _, st := range out.StageStates {
			if aws.ToString(st.StageName) != stage || st.LatestExecution == nil || aws.ToString(st.LatestExecution.PipelineExecutionId) != executionID {
				continue
			}
			for _, as := range st.ActionStates {
				if aws.ToString(as.ActionName) == action && as.LatestExecution != nil && as.LatestExecution.Token != nil {
					token = *as.LatestExecution.Token
					return true, nil
				}
			}
		}
		return false, nil
	})
	return token
}

func actionExecutions(t *testing.T, ctx context.Context, cp *codepipeline.Client, name, executionID string) map[string]types.ActionExecutionDetail {
	t.Helper()
	out, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{
		PipelineName: aws.String(name), Filter: &types.ActionExecutionFilter{PipelineExecutionId: aws.String(executionID)},
	})
	if err != nil {
		t.Fatalf("ListActionExecutions: %v", err)
	}
	byName := map[string]types.ActionExecutionDetail{}
	for _, d := range out.ActionExecutionDetails {
		if aws.ToString(d.PipelineExecutionId) != executionID {
			t.Errorf("ListActionExecutions: row of execution %s", aws.ToString(d.PipelineExecutionId))
		}
		byName[aws.ToString(d.StageName)+"/"+aws.ToString(d.ActionName)] = d
	}
	return byName
}

// workerPipeline builds, commands, a custom action, an approval and commands again.
func workerPipeline(name string) *types.PipelineDeclaration {
	return &types.PipelineDeclaration{
		Name:    aws.String(name),
		RoleArn: aws.String(testRoleArn),
		Stages: []types.StageDeclaration{
			{Name: aws.String("Build"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Make"), ActionTypeId: commandsType(), Namespace: aws.String("make"),
				Commands: []string{
					"mkdir -p site",
					"echo '<h1>hello</h1>' > site/index.html",
					"echo 'body{}' > site/style.css",
					"export GREETING=hello-from-make",
				},
				OutputVariables: []string{"GREETING"},
				OutputArtifacts: []types.OutputArtifact{{Name: aws.String("Site"), Files: []string{"site/**/*"}}},
			}}},
			{Name: aws.String("Deploy"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Worker"), ActionTypeId: workerType("StageflowTestWorker"), Namespace: aws.String("worker"),
				InputArtifacts: []types.InputArtifact{{Name: aws.String("Site")}},
				Configuration:  map[string]string{"Greeting": "#{make.GREETING} (execution #{codepipeline.PipelineExecutionId})"},
			}}},
			{Name: aws.String("Approve"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Gate"), ActionTypeId: approvalType(),
				Configuration: map[string]string{"CustomData": "deployed #{worker.RESULT}?"},
			}}},
			{Name: aws.String("Report"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Echo"), ActionTypeId: commandsType(), Namespace: aws.String("report"),
				Commands: []string{
					"echo worker said #{worker.RESULT}",
					"export ECHOED='#{worker.RESULT}'",
				},
				OutputVariables: []string{"ECHOED"},
			}}},
		},
	}
}

// TestSDKCustomActionWorkerFlow drives a whole execution with the AWS SDK
// for Go v2 only: a Commands action, a custom action served by a job worker
// loop written against the SDK, a manual approval and a final Commands
// action echoing the worker's output variable.
func TestSDKCustomActionWorkerFlow(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-worker-flow"

	createWorkerType(t, ctx, cp, "StageflowTestWorker")
	created, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: workerPipeline(name)})
	if err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	if v := aws.ToInt32(created.Pipeline.Version); v != 1 {
		t.Errorf("CreatePipeline: version %d, want 1", v)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	execID := aws.ToString(started.PipelineExecutionId)

	// The job worker: poll, check, acknowledge, succeed.
	job := pollJob(t, ctx, cp, workerType("StageflowTestWorker"))
	data := job.Data
	if got, want := data.ActionConfiguration.Configuration["Greeting"], "hello-from-make (execution "+execID+")"; got != want {
		t.Errorf("job configuration Greeting = %q, want %q (resolved)", got, want)
	}
	if pc := data.PipelineContext; aws.ToString(pc.PipelineName) != name || aws.ToString(pc.Stage.Name) != "Deploy" ||
		aws.ToString(pc.Action.Name) != "Worker" || aws.ToString(pc.PipelineExecutionId) != execID {
		t.Errorf("job pipeline context = %+v", pc)
	}
	if len(data.InputArtifacts) != 1 || aws.ToString(data.InputArtifacts[0].Name) != "Site" {
		t.Fatalf("job input artifacts = %+v", data.InputArtifacts)
	}
	loc := data.InputArtifacts[0].Location
	if loc == nil || loc.Type != types.ArtifactLocationTypeS3 || loc.S3Location == nil ||
		aws.ToString(loc.S3Location.BucketName) == "" || aws.ToString(loc.S3Location.ObjectKey) == "" {
		t.Fatalf("job input artifact location = %+v", loc)
	}
	if c := data.ArtifactCredentials; c == nil || !strings.HasPrefix(aws.ToString(c.AccessKeyId), service.JobKeyPrefix) ||
		aws.ToString(c.SecretAccessKey) == "" || aws.ToString(c.SessionToken) == "" {
		t.Errorf("job artifact credentials = %+v", c)
	}
	// The nonce is no ID others can read.
	if n := aws.ToString(job.Nonce); len(n) < 22 || n == aws.ToString(data.PipelineContext.Action.ActionExecutionId) || n == aws.ToString(job.Id) {
		t.Errorf("job nonce %q (action execution %s, job %s)", n, aws.ToString(data.PipelineContext.Action.ActionExecutionId), aws.ToString(job.Id))
	}
	// The location names a real artifact: the zip the Commands action made.
	f, size, err := srv.System.Artifacts.Open(ctx, artifacts.Location{Bucket: *loc.S3Location.BucketName, Key: *loc.S3Location.ObjectKey})
	if err != nil {
		t.Fatalf("the input artifact's location holds no artifact: %v", err)
	}
	f.Close()
	if size == 0 {
		t.Errorf("the input artifact is empty")
	}
	acknowledge(t, ctx, cp, job)
	details, err := cp.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: job.Id})
	if err != nil {
		t.Fatalf("GetJobDetails: %v", err)
	}
	if aws.ToString(details.JobDetails.Id) != aws.ToString(job.Id) || details.JobDetails.Data.ActionConfiguration.Configuration["Greeting"] == "" {
		t.Errorf("GetJobDetails = %+v", details.JobDetails)
	}
	if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId:            job.Id,
		OutputVariables:  map[string]string{"RESULT": "deployed-42"},
		ExecutionDetails: &types.ExecutionDetails{Summary: aws.String("deployed 2 files"), ExternalExecutionId: aws.String("worker-run-1")},
	}); err != nil {
		t.Fatalf("PutJobSuccessResult: %v", err)
	}
	// A finished job cannot be finished again.
	_, err = cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: job.Id})
	wantAPIError(t, err, "InvalidJobStateException")

	// The approval.
	token := approvalToken(t, ctx, cp, name, "Approve", "Gate", execID)
	approved, err := cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{
		PipelineName: aws.String(name), StageName: aws.String("Approve"), ActionName: aws.String("Gate"), Token: aws.String(token),
		Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("looks good")},
	})
	if err != nil {
		t.Fatalf("PutApprovalResult: %v", err)
	}
	if approved.ApprovedAt == nil || time.Since(*approved.ApprovedAt) > time.Minute {
		t.Errorf("PutApprovalResult: approvedAt = %v", approved.ApprovedAt)
	}
	_, err = cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{
		PipelineName: aws.String(name), StageName: aws.String("Approve"), ActionName: aws.String("Gate"), Token: aws.String(token),
		Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("again")},
	})
	wantAPIError(t, err, "ApprovalAlreadyCompletedException")

	pe := waitExecution(t, ctx, cp, name, execID, types.PipelineExecutionStatusSucceeded)
	if aws.ToString(pe.PipelineName) != name || aws.ToInt32(pe.PipelineVersion) != 1 {
		t.Errorf("GetPipelineExecution = %+v", pe)
	}

	// Every action, with its inputs and outputs.
	acts := actionExecutions(t, ctx, cp, name, execID)
	for _, key := range []string{"Build/Make", "Deploy/Worker", "Approve/Gate", "Report/Echo"} {
		d, ok := acts[key]
		if !ok {
			t.Errorf("ListActionExecutions has no %s; it has %v", key, mapKeys(acts))
			continue
		}
		if d.Status != types.ActionExecutionStatusSucceeded {
			t.Errorf("%s: status %s", key, d.Status)
		}
	}
	if len(acts) != 4 {
		t.Errorf("ListActionExecutions: %d actions, want 4", len(acts))
	}
	if d := acts["Build/Make"]; d.Output == nil || d.Output.OutputVariables["GREETING"] != "hello-from-make" || len(d.Output.OutputArtifacts) != 1 {
		t.Errorf("Build/Make output = %+v", d.Output)
	}
	if d := acts["Deploy/Worker"]; d.Output == nil || d.Output.OutputVariables["RESULT"] != "deployed-42" ||
		d.Output.ExecutionResult == nil || aws.ToString(d.Output.ExecutionResult.ExternalExecutionId) != "worker-run-1" {
		t.Errorf("Deploy/Worker output = %+v", d.Output)
	} else if d.Input == nil || !strings.HasPrefix(d.Input.ResolvedConfiguration["Greeting"], "hello-from-make") || d.Input.Configuration["Greeting"] == d.Input.ResolvedConfiguration["Greeting"] {
		t.Errorf("Deploy/Worker input = %+v", d.Input)
	}
	if d := acts["Approve/Gate"]; aws.ToString(d.UpdatedBy) != apitest.AdminPrincipal {
		t.Errorf("Approve/Gate updated by %q, want the caller's verified principal %q", aws.ToString(d.UpdatedBy), apitest.AdminPrincipal)
	}
	echo := acts["Report/Echo"]
	if echo.Output == nil || echo.Output.OutputVariables["ECHOED"] != "deployed-42" {
		t.Errorf("Report/Echo output = %+v", echo.Output)
	}
	logData, err := os.ReadFile(srv.System.Runner.LogPath(execID, aws.ToString(echo.ActionExecutionId)))
	if err != nil {
		t.Errorf("the log of Report/Echo: %v", err)
	} else if !strings.Contains(string(logData), "worker said deployed-42") {
		t.Errorf("the log of Report/Echo does not show the echo:\n%s", logData)
	}

	// The state names who approved.
	state, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("GetPipelineState: %v", err)
	}
	if len(state.StageStates) != 4 {
		t.Fatalf("GetPipelineState: %d stages", len(state.StageStates))
	}
	gate := state.StageStates[2].ActionStates[0].LatestExecution
	if gate == nil || aws.ToString(gate.LastUpdatedBy) != apitest.AdminPrincipal || gate.Token != nil {
		t.Errorf("GetPipelineState Gate = %+v", gate)
	}

	list, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
	if err != nil {
		t.Fatalf("ListPipelineExecutions: %v", err)
	}
	if len(list.PipelineExecutionSummaries) != 1 || aws.ToString(list.PipelineExecutionSummaries[0].PipelineExecutionId) != execID ||
		list.PipelineExecutionSummaries[0].Status != types.PipelineExecutionStatusSucceeded {
		t.Errorf("ListPipelineExecutions = %+v", list.PipelineExecutionSummaries)
	}

	// Action types: the custom one and the built-ins, by owner.
	custom, err := cp.ListActionTypes(ctx, &codepipeline.ListActionTypesInput{ActionOwnerFilter: types.ActionOwnerCustom})
	if err != nil {
		t.Fatalf("ListActionTypes: %v", err)
	}
	if len(custom.ActionTypes) != 1 || aws.ToString(custom.ActionTypes[0].Id.Provider) != "StageflowTestWorker" ||
		len(custom.ActionTypes[0].ActionConfigurationProperties) != 1 {
		t.Errorf("ListActionTypes(Custom) = %+v", custom.ActionTypes)
	}
	builtin, err := cp.ListActionTypes(ctx, &codepipeline.ListActionTypesInput{ActionOwnerFilter: types.ActionOwnerAws})
	if err != nil {
		t.Fatalf("ListActionTypes: %v", err)
	}
	for _, at := range builtin.ActionTypes {
		if at.Id.Owner != types.ActionOwnerAws {
			t.Errorf("ListActionTypes(AWS) lists %+v", at.Id)
		}
	}
	if _, err := cp.DeleteCustomActionType(ctx, &codepipeline.DeleteCustomActionTypeInput{
		Category: types.ActionCategoryDeploy, Provider: aws.String("StageflowTestWorker"), Version: aws.String("1"),
	}); err != nil {
		t.Fatalf("DeleteCustomActionType: %v", err)
	}
	_, err = cp.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: workerType("StageflowTestWorker")})
	wantAPIError(t, err, "ActionTypeNotFoundException")
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func singleWorkerPipeline(name, provider string) *types.PipelineDeclaration {
	return &types.PipelineDeclaration{
		Name:    aws.String(name),
		RoleArn: aws.String(testRoleArn),
		Stages: []types.StageDeclaration{
			{Name: aws.String("Prepare"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Hello"), ActionTypeId: commandsType(), Commands: []string{"echo preparing"},
			}}},
			{Name: aws.String("Work"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Job"), ActionTypeId: workerType(provider), Namespace: aws.String("job"),
				Configuration: map[string]string{"Greeting": "hi"},
			}}},
		},
	}
}

// TestSDKJobContinuation: PutJobSuccessResult with a continuation token puts
// the job back in the queue; the next poll hands it out again with the
// token, and a final PutJobSuccessResult ends the action.
func TestSDKJobContinuation(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-continuation"
	createWorkerType(t, ctx, cp, "StageflowLongJob")
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: singleWorkerPipeline(name, "StageflowLongJob")}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	execID := aws.ToString(started.PipelineExecutionId)

	first := pollJob(t, ctx, cp, workerType("StageflowLongJob"))
	if first.Data.ContinuationToken != nil {
		t.Errorf("a first job carries continuation token %q", *first.Data.ContinuationToken)
	}
	acknowledge(t, ctx, cp, first)
	// Output variables belong to the call that ends the job.
	_, err = cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId: first.Id, ContinuationToken: aws.String("step-2"), OutputVariables: map[string]string{"A": "b"},
	})
	wantAPIError(t, err, "ValidationException")
	if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId: first.Id, ContinuationToken: aws.String("step-2"),
		ExecutionDetails: &types.ExecutionDetails{Summary: aws.String("half way"), PercentComplete: aws.Int32(50)},
	}); err != nil {
		t.Fatalf("PutJobSuccessResult with a continuation token: %v", err)
	}

	second := pollJob(t, ctx, cp, workerType("StageflowLongJob"))
	if aws.ToString(second.Id) != aws.ToString(first.Id) {
		t.Errorf("the continued job has ID %s, want %s", aws.ToString(second.Id), aws.ToString(first.Id))
	}
	if got := aws.ToString(second.Data.ContinuationToken); got != "step-2" {
		t.Errorf("the continued job carries continuation token %q, want step-2", got)
	}
	// The first nonce is spent, and so are the first round's artifact
	// credentials.
	if aws.ToString(first.Nonce) == aws.ToString(second.Nonce) {
		t.Errorf("the continued job kept its nonce %q", aws.ToString(first.Nonce))
	}
	if a, b := first.Data.ArtifactCredentials, second.Data.ArtifactCredentials; aws.ToString(a.SecretAccessKey) == aws.ToString(b.SecretAccessKey) {
		t.Error("the continued job kept its artifact secret")
	}
	_, err = cp.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: second.Id, Nonce: first.Nonce})
	wantAPIError(t, err, "InvalidNonceException")
	acknowledge(t, ctx, cp, second)
	if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId: second.Id, OutputVariables: map[string]string{"STEPS": "2"},
	}); err != nil {
		t.Fatalf("PutJobSuccessResult: %v", err)
	}
	waitExecution(t, ctx, cp, name, execID, types.PipelineExecutionStatusSucceeded)
	if d := actionExecutions(t, ctx, cp, name, execID)["Work/Job"]; d.Output == nil || d.Output.OutputVariables["STEPS"] != "2" {
		t.Errorf("Work/Job output = %+v", d.Output)
	}
}

// TestSDKJobFailure: PutJobFailureResult fails the action and the execution
// with the worker's message.
func TestSDKJobFailure(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-failure"
	const message = "the deploy target 10.0.0.7 is unreachable"
	createWorkerType(t, ctx, cp, "StageflowFailingJob")
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: singleWorkerPipeline(name, "StageflowFailingJob")}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	execID := aws.ToString(started.PipelineExecutionId)
	job := pollJob(t, ctx, cp, workerType("StageflowFailingJob"))
	acknowledge(t, ctx, cp, job)
	if _, err := cp.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
		JobId:          job.Id,
		FailureDetails: &types.FailureDetails{Type: types.FailureTypeJobFailed, Message: aws.String(message), ExternalExecutionId: aws.String("run-9")},
	}); err != nil {
		t.Fatalf("PutJobFailureResult: %v", err)
	}
	waitExecution(t, ctx, cp, name, execID, types.PipelineExecutionStatusFailed)
	d := actionExecutions(t, ctx, cp, name, execID)["Work/Job"]
	if d.Status != types.ActionExecutionStatusFailed || d.Output == nil || d.Output.ExecutionResult == nil ||
		d.Output.ExecutionResult.ErrorDetails == nil || aws.ToString(d.Output.ExecutionResult.ErrorDetails.Message) != message {
		t.Errorf("Work/Job = %s %+v", d.Status, d.Output)
	}
	state, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("GetPipelineState: %v", err)
	}
	ae := state.StageStates[1].ActionStates[0].LatestExecution
	if ae == nil || ae.ErrorDetails == nil || aws.ToString(ae.ErrorDetails.Message) != message || aws.ToString(ae.ErrorDetails.Code) != "JobFailed" {
		t.Errorf("GetPipelineState Work/Job = %+v", ae)
	}
	_, err = cp.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
		JobId: job.Id, FailureDetails: &types.FailureDetails{Type: types.FailureTypeJobFailed, Message: aws.String("again")},
	})
	wantAPIError(t, err, "InvalidJobStateException")
}

// TestSDKStopPipelineExecution abandons an execution waiting for approval.
func TestSDKStopPipelineExecution(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-stop"
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &types.PipelineDeclaration{
		Name:    aws.String(name),
		RoleArn: aws.String(testRoleArn),
		Stages: []types.StageDeclaration{
			{Name: aws.String("Build"), Actions: []types.ActionDeclaration{{Name: aws.String("Make"), ActionTypeId: commandsType(), Commands: []string{"true"}}}},
			{Name: aws.String("Approve"), Actions: []types.ActionDeclaration{{Name: aws.String("Gate"), ActionTypeId: approvalType()}}},
		},
	}}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name), ClientRequestToken: aws.String("stop-test-1")})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	execID := aws.ToString(started.PipelineExecutionId)
	// The same client request token starts nothing new.
	again, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name), ClientRequestToken: aws.String("stop-test-1")})
	if err != nil || aws.ToString(again.PipelineExecutionId) != execID {
		t.Errorf("StartPipelineExecution with the same clientRequestToken: %v, %v", again, err)
	}
	approvalToken(t, ctx, cp, name, "Approve", "Gate", execID)
	stopped, err := cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{
		PipelineName: aws.String(name), PipelineExecutionId: aws.String(execID), Abandon: true, Reason: aws.String("no longer needed"),
	})
	if err != nil {
		t.Fatalf("StopPipelineExecution: %v", err)
	}
	if aws.ToString(stopped.PipelineExecutionId) != execID {
		t.Errorf("StopPipelineExecution returned %q", aws.ToString(stopped.PipelineExecutionId))
	}
	pe := waitExecution(t, ctx, cp, name, execID, types.PipelineExecutionStatusStopped)
	if !strings.Contains(aws.ToString(pe.StatusSummary), "no longer needed") {
		t.Errorf("status summary %q does not give the reason", aws.ToString(pe.StatusSummary))
	}
	_, err = cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String(name), PipelineExecutionId: aws.String(execID)})
	wantAPIError(t, err, "PipelineExecutionNotStoppableException")
}

// TestSDKTagsAndVersions: tags round trip; UpdatePipeline makes version 2
// and version 1 stays readable; delete.
func TestSDKTagsAndVersions(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-tags"
	decl := &types.PipelineDeclaration{
		Name:    aws.String(name),
		RoleArn: aws.String(testRoleArn),
		Stages: []types.StageDeclaration{
			{Name: aws.String("One"), Actions: []types.ActionDeclaration{{Name: aws.String("A"), ActionTypeId: commandsType(), Commands: []string{"echo one"}}}},
			{Name: aws.String("Two"), Actions: []types.ActionDeclaration{{Name: aws.String("B"), ActionTypeId: commandsType(), Commands: []string{"echo two"}}}},
		},
	}
	created, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: decl, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	if err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	if len(created.Tags) != 1 {
		t.Errorf("CreatePipeline returned tags %+v", created.Tags)
	}
	got, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("GetPipeline: %v", err)
	}
	arn := aws.ToString(got.Metadata.PipelineArn)
	if arn != "arn:aws:codepipeline:us-east-1:000000000000:"+name || got.Metadata.Created == nil {
		t.Errorf("GetPipeline metadata = %+v", got.Metadata)
	}
	tags := func() map[string]string {
		t.Helper()
		out, err := cp.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("ListTagsForResource: %v", err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if m := tags(); len(m) != 1 || m["team"] != "core" {
		t.Errorf("tags after create = %v", m)
	}
	if _, err := cp.TagResource(ctx, &codepipeline.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if m := tags(); len(m) != 2 || m["env"] != "dev" {
		t.Errorf("tags after TagResource = %v", m)
	}
	if _, err := cp.UntagResource(ctx, &codepipeline.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	if m := tags(); len(m) != 1 || m["env"] != "dev" {
		t.Errorf("tags after UntagResource = %v", m)
	}
	_, err = cp.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:codepipeline:us-east-1:000000000000:nope")})
	wantAPIError(t, err, "ResourceNotFoundException")

	// Update, then read both versions.
	decl.Stages[0].Actions[0].Commands = []string{"echo one, updated"}
	updated, err := cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: decl})
	if err != nil {
		t.Fatalf("UpdatePipeline: %v", err)
	}
	if v := aws.ToInt32(updated.Pipeline.Version); v != 2 {
		t.Errorf("UpdatePipeline: version %d, want 2", v)
	}
	v1, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name), Version: aws.Int32(1)})
	if err != nil {
		t.Fatalf("GetPipeline version 1: %v", err)
	}
	if aws.ToInt32(v1.Pipeline.Version) != 1 || v1.Pipeline.Stages[0].Actions[0].Commands[0] != "echo one" {
		t.Errorf("GetPipeline version 1 = version %d, commands %v", aws.ToInt32(v1.Pipeline.Version), v1.Pipeline.Stages[0].Actions[0].Commands)
	}
	latest, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)})
	if err != nil || aws.ToInt32(latest.Pipeline.Version) != 2 || latest.Pipeline.Stages[0].Actions[0].Commands[0] != "echo one, updated" {
		t.Errorf("GetPipeline latest = %+v, %v", latest, err)
	}
	_, err = cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name), Version: aws.Int32(3)})
	wantAPIError(t, err, "PipelineVersionNotFoundException")
	list, err := cp.ListPipelines(ctx, &codepipeline.ListPipelinesInput{})
	if err != nil || len(list.Pipelines) != 1 || aws.ToInt32(list.Pipelines[0].Version) != 2 {
		t.Errorf("ListPipelines = %+v, %v", list, err)
	}

	// Paging through ListPipelines with the SDK's paginator.
	for i := range 3 {
		d := *decl
		d.Name = aws.String(fmt.Sprintf("sdk-page-%d", i))
		if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &d}); err != nil {
			t.Fatalf("CreatePipeline: %v", err)
		}
	}
	var names []string
	pages := codepipeline.NewListPipelinesPaginator(cp, &codepipeline.ListPipelinesInput{MaxResults: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListPipelines page: %v", err)
		}
		if len(page.Pipelines) > 2 {
			t.Errorf("a page of %d pipelines with maxResults 2", len(page.Pipelines))
		}
		for _, p := range page.Pipelines {
			names = append(names, aws.ToString(p.Name))
		}
	}
	if len(names) != 4 {
		t.Errorf("paging listed %v", names)
	}

	if _, err := cp.DeletePipeline(ctx, &codepipeline.DeletePipelineInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("DeletePipeline: %v", err)
	}
	_, err = cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)})
	wantAPIError(t, err, "PipelineNotFoundException")
}

// ---- bad input on the door, with raw net/http ----

type rawResponse struct {
	status             int
	header             http.Header
	body               []byte
	errorType, message string
}

func rawCall(t *testing.T, client *http.Client, url, method, target, contentType string, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := rawResponse{status: resp.StatusCode, header: resp.Header, body: data}
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil {
		r.errorType, r.message = e.Type, e.Message
	}
	return r
}

const target = cpdoor.TargetPrefix

func TestCodePipelineBadInput(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	url := srv.URL + "/"
	call := func(op, body string) rawResponse {
		return rawCall(t, srv.Client(), url, http.MethodPost, target+op, cpdoor.ContentType, []byte(body))
	}
	// Fixtures: a pipeline with an approval.
	const fixture = `{"pipeline": {"name": "bad-input", "stages": [
		{"name": "Build", "actions": [{"name": "Make", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]},
		{"name": "Approve", "actions": [{"name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}}`
	if r := call("CreatePipeline", fixture); r.status != 200 {
		t.Fatalf("CreatePipeline fixture: %d %s", r.status, r.body)
	}
	const unknownUUID = "0b4a9c8e-1f1e-4c43-9d55-3f1c2b7a6e01"
	big := `{"name": "` + strings.Repeat("x", cpdoor.MaxRequestBytes) + `"}`

	cases := []struct {
		name               string
		method, target, ct string
		path               string
		body               string
		wantStatus         int
		wantType           string
		wantInMessage      string
	}{
		{name: "malformed JSON", target: target + "ListPipelines", body: `{"maxResults": `, wantStatus: 400, wantType: "SerializationException", wantInMessage: "malformed JSON"},
		{name: "not an object", target: target + "ListPipelines", body: `[1, 2]`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "must be an object, got an array"},
		{name: "trailing data", target: target + "ListPipelines", body: `{} {}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "line 1, column 4: unexpected data after the JSON document"},
		{name: "unknown operation", target: target + "FlyToTheMoon", body: `{}`, wantStatus: 400, wantType: "UnknownOperationException", wantInMessage: "FlyToTheMoon"},
		{name: "target of another service", target: "Logs_20140328.PutLogEvents", body: `{}`, wantStatus: 400, wantType: "UnknownOperationException", wantInMessage: "Logs_20140328.PutLogEvents"},
		{name: "missing target", target: "", body: `{}`, wantStatus: 400, wantType: "UnknownOperationException", wantInMessage: "X-Amz-Target"},
		{name: "GET /", method: http.MethodGet, target: "", wantStatus: 405, wantType: "UnknownOperationException", wantInMessage: "POST"},
		{name: "another path", path: "/favicon.ico", method: http.MethodGet, wantStatus: 404, wantType: "UnknownOperationException", wantInMessage: "/favicon.ico"},
		{name: "unimplemented operation", target: target + "PutThirdPartyJobSuccessResult", body: `{}`, wantStatus: 400, wantType: "UnsupportedOperationException", wantInMessage: "PutThirdPartyJobSuccessResult"},
		{name: "wrong content type", target: target + "ListPipelines", ct: "text/plain", body: `{}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "Content-Type"},
		{name: "wrong type: string for integer", target: target + "ListPipelines", body: `{"maxResults": "ten"}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: `maxResults: must be an integer, got the string "ten"`},
		{name: "wrong type: fraction for integer", target: target + "ListPipelines", body: `{"maxResults": 1.5}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "maxResults: must be a whole number, got 1.5"},
		{name: "wrong type: nested", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Approve", "actionName": "Gate", "token": "t", "result": {"status": "Approved", "summary": 7}}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "result.summary: must be a string, got the number 7"},
		{name: "wrong type: pipeline", target: target + "CreatePipeline", body: `{"pipeline": "yes"}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "pipeline"},
		{name: "unknown field", target: target + "GetPipeline", body: `{"name": "bad-input", "nmae": "x"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `nmae: unknown field "nmae" (did you mean "name"?)`},
		{name: "field in the wrong case", target: target + "GetPipeline", body: `{"Name": "bad-input"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `2 validation errors detected: Name: unknown field "Name" (did you mean "name"?); name: is required`},
		{name: "missing required member", target: target + "GetPipeline", body: `{}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "1 validation error detected: name: is required"},
		{name: "null required member", target: target + "GetPipelineState", body: `{"name": null}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "name: is required"},
		{name: "integer below minimum", target: target + "ListPipelines", body: `{"maxResults": 0}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "maxResults: must be 1..1000, got 0"},
		{name: "bad name pattern", target: target + "GetPipeline", body: `{"name": "no spaces allowed"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `name: "no spaces allowed" may only contain letters, digits and . @ _ -`},
		{name: "enum", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Approve", "actionName": "Gate", "token": "` + unknownUUID + `", "result": {"status": "Maybe", "summary": ""}}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `1 validation error detected: result.status: must be one of Approved, Rejected, got "Maybe"`},
		{name: "malformed approval token", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Approve", "actionName": "Gate", "token": "t", "result": {"status": "Approved", "summary": ""}}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `token: "t" must be an ID of the form`},
		{name: "malformed execution ID", target: target + "GetPipelineExecution", body: `{"pipelineName": "bad-input", "pipelineExecutionId": "exec-1"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `pipelineExecutionId: "exec-1" must be an ID of the form`},
		{name: "malformed job ID", target: target + "AcknowledgeJob", body: `{"jobId": "job-1", "nonce": "1"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `jobId: "job-1" must be an ID of the form`},
		{name: "repeated member", target: target + "GetPipeline", body: `{"name": "bad-input", "name": "other"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `name: key "name" appears more than once in the object`},
		{name: "null in a list", target: target + "UntagResource", body: `{"resourceArn": "arn:aws:codepipeline:us-east-1:000000000000:bad-input", "tagKeys": [null]}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "tagKeys[0]: must not be null"},
		{name: "tag key too long", target: target + "UntagResource", body: `{"resourceArn": "arn:aws:codepipeline:us-east-1:000000000000:bad-input", "tagKeys": ["` + strings.Repeat("k", 129) + `"]}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "tagKeys[0]: must be 1..128 characters long, got 129"},
		{name: "several problems", target: target + "PutJobFailureResult", body: `{"failureDetails": {"type": "Oops"}}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "3 validation errors detected: failureDetails.type: must be one of JobFailed, "},
		{name: "oversize body", target: target + "GetPipeline", body: big, wantStatus: 413, wantType: "RequestEntityTooLargeException", wantInMessage: "limit"},
		{name: "unknown pipeline", target: target + "GetPipeline", body: `{"name": "nope"}`, wantStatus: 400, wantType: "PipelineNotFoundException", wantInMessage: "nope"},
		{name: "unknown pipeline version", target: target + "GetPipeline", body: `{"name": "bad-input", "version": 9}`, wantStatus: 400, wantType: "PipelineVersionNotFoundException"},
		{name: "create duplicate", target: target + "CreatePipeline", body: fixture, wantStatus: apierr.Describe(errs.Of(errs.Conflict, errs.KindPipeline, ""), apierr.CodePipeline).Status, wantType: "PipelineNameInUseException", wantInMessage: "bad-input"},
		{name: "invalid structure", target: target + "CreatePipeline", body: `{"pipeline": {"name": "broken", "stages": [
			{"name": "Only", "actions": [{"name": "Use", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"], "inputArtifacts": [{"name": "Nowhere"}]}]}]}}`,
			wantStatus: 400, wantType: "InvalidStructureException", wantInMessage: "stages[0]"},
		{name: "invalid structure: unknown member inside", target: target + "UpdatePipeline", body: `{"pipeline": {"name": "bad-input", "stagez": []}}`, wantStatus: 400, wantType: "InvalidStructureException", wantInMessage: "stagez"},
		{name: "update unknown pipeline", target: target + "UpdatePipeline", body: `{"pipeline": {"name": "nope", "stages": [
			{"name": "A", "actions": [{"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]},
			{"name": "B", "actions": [{"name": "B", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}]}}`,
			wantStatus: 400, wantType: "PipelineNotFoundException"},
		{name: "bad approval token", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Approve", "actionName": "Gate", "token": "` + unknownUUID + `", "result": {"status": "Approved", "summary": "ok"}}`, wantStatus: 400, wantType: "InvalidApprovalTokenException"},
		{name: "approval of unknown stage", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Nope", "actionName": "Gate", "token": "` + unknownUUID + `", "result": {"status": "Approved", "summary": "ok"}}`, wantStatus: 400, wantType: "StageNotFoundException"},
		{name: "unknown job: acknowledge", target: target + "AcknowledgeJob", body: `{"jobId": "` + unknownUUID + `", "nonce": "1"}`, wantStatus: 400, wantType: "JobNotFoundException"},
		{name: "unknown job: details", target: target + "GetJobDetails", body: `{"jobId": "` + unknownUUID + `"}`, wantStatus: 400, wantType: "JobNotFoundException"},
		{name: "unknown job: success", target: target + "PutJobSuccessResult", body: `{"jobId": "` + unknownUUID + `"}`, wantStatus: 400, wantType: "JobNotFoundException"},
		{name: "unknown execution", target: target + "GetPipelineExecution", body: `{"pipelineName": "bad-input", "pipelineExecutionId": "` + unknownUUID + `"}`, wantStatus: 400, wantType: "PipelineExecutionNotFoundException"},
		{name: "unknown action type", target: target + "PollForJobs", body: `{"actionTypeId": {"category": "Build", "owner": "Custom", "provider": "Nobody", "version": "1"}}`, wantStatus: 400, wantType: "ActionTypeNotFoundException"},
		{name: "bad next token", target: target + "ListPipelines", body: `{"nextToken": "garbage"}`, wantStatus: 400, wantType: "InvalidNextTokenException"},
		{name: "undeclared variable", target: target + "StartPipelineExecution", body: `{"name": "bad-input", "variables": [{"name": "NOPE", "value": "1"}]}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "NOPE"},
		{name: "unsupported filter", target: target + "ListPipelineExecutions", body: `{"pipelineName": "bad-input", "filter": {"succeededInStage": {"stageName": "Build"}}}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "succeededInStage"},
		{name: "unknown tag resource", target: target + "TagResource", body: `{"resourceArn": "arn:aws:codepipeline:us-east-1:000000000000:nope", "tags": []}`, wantStatus: 400, wantType: "ResourceNotFoundException"},
		{name: "empty body is {}", target: target + "ListPipelines", body: ``, wantStatus: 200},
		{name: "application/json", target: target + "ListPipelines", ct: "application/json", body: `{}`, wantStatus: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			ct := tc.ct
			if ct == "" && method == http.MethodPost {
				ct = cpdoor.ContentType
			}
			u := url
			if tc.path != "" {
				u = srv.URL + tc.path
			}
			r := rawCall(t, srv.Client(), u, method, tc.target, ct, []byte(tc.body))
			if r.status >= 500 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if r.status != tc.wantStatus || r.errorType != tc.wantType {
				t.Fatalf("got %d %q (%s), want %d %q", r.status, r.errorType, truncate(string(r.body), 300), tc.wantStatus, tc.wantType)
			}
			if got := r.header.Get("X-Amzn-Requestid"); got == "" {
				t.Errorf("no x-amzn-RequestId header")
			}
			if ct := r.header.Get("Content-Type"); ct != cpdoor.ContentType {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.wantType != "" {
				if got := r.header.Get("X-Amzn-Errortype"); got != tc.wantType {
					t.Errorf("x-amzn-ErrorType %q, want %q", got, tc.wantType)
				}
				if !strings.Contains(r.message, tc.wantInMessage) {
					t.Errorf("message %q does not contain %q", r.message, tc.wantInMessage)
				}
			}
		})
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// TestCodePipelineRequestLog: one structured line per request, with the
// operation, status and duration, and neither the body nor credentials.
func TestCodePipelineRequestLog(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, nil))
	srv := apitest.NewServer(t, apitest.WithLogger(logger))
	door := srv.HTTP

	req, _ := http.NewRequest(http.MethodPost, door.URL+"/", strings.NewReader(`{"name": "secret-body-value"}`))
	req.Header.Set("X-Amz-Target", target+"GetPipeline")
	req.Header.Set("Content-Type", cpdoor.ContentType)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	door.Close() // the log line is written before the response completes; Close waits for the handler

	mu.Lock()
	out := buf.String()
	mu.Unlock()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %d:\n%s", len(lines), out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if rec["operation"] != "GetPipeline" || rec["status"] != float64(400) || rec["exception"] != "PipelineNotFoundException" || rec["duration"] == nil || rec["requestId"] == nil {
		t.Errorf("log record = %v", rec)
	}
	for _, secret := range []string{"secret-body-value", srv.Admin.SecretAccessKey, "Signature=", "AWS4-HMAC-SHA256"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %q:\n%s", secret, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestCallerAccessKeyID(t *testing.T) {
	for _, tc := range []struct{ auth, want string }{
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/codepipeline/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "AKIDEXAMPLE"},
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/codepipeline/aws4_request,SignedHeaders=host,Signature=abc", "AKIDEXAMPLE"},
		{"", service.Anonymous},
		{"Basic dXNlcjpwYXNz", service.Anonymous},
		{"AWS4-HMAC-SHA256 Credential=../../etc/20150830/x", service.Anonymous},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := cpdoor.CallerAccessKeyID(r); got != tc.want {
			t.Errorf("CallerAccessKeyID(%q) = %q, want %q", tc.auth, got, tc.want)
		}
	}
}

// TestCodePipelineOperationsMatchAPIDefinition checks the door against
// botocore's copy of the API definition, when botocore is installed: every
// operation is implemented or answers UnsupportedOperationException, and
// the door names no operation the definition lacks.
func TestCodePipelineOperationsMatchAPIDefinition(t *testing.T) {
	path := botocoreDefinition(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		Metadata   struct{ TargetPrefix string }
		Operations map[string]json.RawMessage
	}
	if err := json.NewDecoder(zr).Decode(&def); err != nil {
		t.Fatal(err)
	}
	if def.Metadata.TargetPrefix+"." != cpdoor.TargetPrefix {
		t.Errorf("target prefix %q, the definition's is %q", cpdoor.TargetPrefix, def.Metadata.TargetPrefix)
	}
	known := map[string]bool{}
	for _, n := range append(cpdoor.Operations(), cpdoor.UnsupportedOperations()...) {
		if _, ok := def.Operations[n]; !ok {
			t.Errorf("the door names %s, which the API definition does not have", n)
		}
		if known[n] {
			t.Errorf("%s is both implemented and unsupported", n)
		}
		known[n] = true
	}
	for n := range def.Operations {
		if !known[n] {
			t.Errorf("the API definition's %s is neither implemented nor listed as unsupported", n)
		}
	}
}

func botocoreDefinition(t *testing.T) string {
	t.Helper()
	const rel = "data/codepipeline/2015-07-09/service-2.json.gz"
	if py, err := exec.LookPath("python3"); err == nil {
		out, err := exec.Command(py, "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
		if err == nil {
			p := filepath.Join(strings.TrimSpace(string(out)), rel)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Skip("botocore is not installed (python3 -c 'import botocore' fails); cannot read the API definition")
	return ""
}

// ---- the AWS CLI ----

// TestAWSCLIRoundTrip runs scripts/cli-roundtrip.sh, which drives the AWS
// CLI against a test server.
func TestAWSCLIRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI round trip takes half a minute (each aws call starts Python)")
	}
	for _, tool := range []string{"aws", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH; the AWS CLI round trip needs the AWS CLI and jq", tool)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.NewServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, filepath.Join(root, "scripts", "cli-roundtrip.sh"))
	cmd.Dir = root
	noFiles := t.TempDir() // the machine's ~/.aws files must not matter
	cmd.Env = append(os.Environ(),
		"STAGEFLOW_ENDPOINT="+srv.URL,
		"AWS_CONFIG_FILE="+filepath.Join(noFiles, "config"),
		"STAGEFLOW_CREDENTIALS="+filepath.Join(srv.DataDir, "credentials"),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("cli-roundtrip.sh:\n%s", out)
	if err != nil {
		t.Fatalf("cli-roundtrip.sh failed: %v", err)
	}
}
