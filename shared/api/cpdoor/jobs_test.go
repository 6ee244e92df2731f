package cpdoor_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/service"
)

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
