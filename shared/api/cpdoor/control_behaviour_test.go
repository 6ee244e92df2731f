package cpdoor_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
)

// TestSDKExecutionControlBehaviour drives transitions, a stage retry and a
// rollback through the AWS SDK and checks what CodePipeline's API shows of
// them: inboundTransitionState and inboundExecution in GetPipelineState, the
// execution waiting and going on, retryStageMetadata, a ROLLBACK execution
// with its rollbackMetadata and trigger, and the refusals in CodePipeline's
// exception names.
func TestSDKExecutionControlBehaviour(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-control"
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &types.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String(testRoleArn), PipelineType: types.PipelineTypeV2, ExecutionMode: types.ExecutionModeQueued,
		Stages: []types.StageDeclaration{
			{Name: aws.String("Build"), Actions: []types.ActionDeclaration{{Name: aws.String("Make"), ActionTypeId: commandsType(), Commands: []string{"true"}}}},
			{Name: aws.String("Deploy"), Actions: []types.ActionDeclaration{{Name: aws.String("Gate"), ActionTypeId: approvalType()}}},
		},
	}}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	deploy := func() types.StageState {
		t.Helper()
		out, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("GetPipelineState: %v", err)
		}
		return out.StageStates[1]
	}
	decide := func(id string, status types.ApprovalStatus) {
		t.Helper()
		token := approvalToken(t, ctx, cp, name, "Deploy", "Gate", id)
		if _, err := cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String(name), StageName: aws.String("Deploy"),
			ActionName: aws.String("Gate"), Token: aws.String(token), Result: &types.ApprovalResult{Status: status, Summary: aws.String("by the test")}}); err != nil {
			t.Fatalf("PutApprovalResult: %v", err)
		}
	}

	// A disabled transition holds the execution in front of Deploy.
	if _, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: aws.String(name), StageName: aws.String("Deploy"),
		TransitionType: types.StageTransitionTypeInbound, Reason: aws.String("release freeze")}); err != nil {
		t.Fatalf("DisableStageTransition: %v", err)
	}
	ts := deploy().InboundTransitionState
	if ts == nil || ts.Enabled || aws.ToString(ts.DisabledReason) != "release freeze" || aws.ToString(ts.LastChangedBy) != apitest.AdminPrincipal || ts.LastChangedAt == nil {
		t.Fatalf("inboundTransitionState after disabling: %+v", ts)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	first := aws.ToString(started.PipelineExecutionId)
	eventually(t, "the execution to wait at the disabled transition", func() (bool, error) {
		in := deploy().InboundExecution
		return in != nil && aws.ToString(in.PipelineExecutionId) == first && in.Status == types.StageExecutionStatusInProgress, nil
	})
	if _, err := cp.EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: aws.String(name), StageName: aws.String("Deploy"),
		TransitionType: types.StageTransitionTypeInbound}); err != nil {
		t.Fatalf("EnableStageTransition: %v", err)
	}
	if ts := deploy().InboundTransitionState; ts == nil || !ts.Enabled {
		t.Fatalf("inboundTransitionState after enabling: %+v", ts)
	}

	// Rejected, then retried: the stage runs again and the execution succeeds.
	decide(first, types.ApprovalStatusRejected)
	waitExecution(t, ctx, cp, name, first, types.PipelineExecutionStatusFailed)
	_, err = cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String(name), StageName: aws.String("Build"),
		PipelineExecutionId: aws.String(first), RetryMode: types.StageRetryModeFailedActions})
	wantAPIError(t, err, "StageNotRetryableException")
	retried, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String(name), StageName: aws.String("Deploy"),
		PipelineExecutionId: aws.String(first), RetryMode: types.StageRetryModeFailedActions})
	if err != nil || aws.ToString(retried.PipelineExecutionId) != first {
		t.Fatalf("RetryStageExecution: %v, %v", retried, err)
	}
	decide(first, types.ApprovalStatusApproved)
	waitExecution(t, ctx, cp, name, first, types.PipelineExecutionStatusSucceeded)
	if m := deploy().RetryStageMetadata; m == nil || aws.ToInt32(m.ManualStageRetryAttempt) != 1 || m.LatestRetryTrigger != types.RetryTriggerManualStageRetry {
		t.Errorf("retryStageMetadata %+v", m)
	}

	// A second release, then a rollback of Deploy to the first.
	second, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	decide(aws.ToString(second.PipelineExecutionId), types.ApprovalStatusApproved)
	waitExecution(t, ctx, cp, name, aws.ToString(second.PipelineExecutionId), types.PipelineExecutionStatusSucceeded)
	rb, err := cp.RollbackStage(ctx, &codepipeline.RollbackStageInput{PipelineName: aws.String(name), StageName: aws.String("Deploy"), TargetPipelineExecutionId: aws.String(first)})
	if err != nil {
		t.Fatalf("RollbackStage: %v", err)
	}
	rollback := aws.ToString(rb.PipelineExecutionId)
	decide(rollback, types.ApprovalStatusApproved)
	pe := waitExecution(t, ctx, cp, name, rollback, types.PipelineExecutionStatusSucceeded)
	if pe.ExecutionType != types.ExecutionTypeRollback || pe.RollbackMetadata == nil || aws.ToString(pe.RollbackMetadata.RollbackTargetPipelineExecutionId) != first ||
		pe.Trigger == nil || pe.Trigger.TriggerType != types.TriggerTypeManualRollback {
		t.Errorf("the rollback execution: type %q, metadata %+v, trigger %+v", pe.ExecutionType, pe.RollbackMetadata, pe.Trigger)
	}
	list, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
	if err != nil {
		t.Fatalf("ListPipelineExecutions: %v", err)
	}
	if s := list.PipelineExecutionSummaries[0]; aws.ToString(s.PipelineExecutionId) != rollback || s.ExecutionType != types.ExecutionTypeRollback || s.RollbackMetadata == nil {
		t.Errorf("the newest summary: %+v", s)
	}
	if acts := actionExecutions(t, ctx, cp, name, rollback); len(acts) != 1 {
		t.Errorf("the rollback ran %d actions, want only Deploy's", len(acts))
	}

	// Refusals.
	for _, tt := range []struct {
		what, code string
		call       func() error
	}{
		{"an outbound transition", "ValidationException", func() error {
			_, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: aws.String(name), StageName: aws.String("Build"),
				TransitionType: types.StageTransitionTypeOutbound, Reason: aws.String("no")})
			return err
		}},
		{"an unknown stage", "StageNotFoundException", func() error {
			_, err := cp.EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: aws.String(name), StageName: aws.String("Nope"),
				TransitionType: types.StageTransitionTypeInbound})
			return err
		}},
		{"an unknown pipeline", "PipelineNotFoundException", func() error {
			_, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: aws.String("nope"), StageName: aws.String("Build"),
				TransitionType: types.StageTransitionTypeInbound, Reason: aws.String("no")})
			return err
		}},
		{"a retry of an older execution", "NotLatestPipelineExecutionException", func() error {
			_, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String(name), StageName: aws.String("Deploy"),
				PipelineExecutionId: aws.String(first), RetryMode: types.StageRetryModeAllActions})
			return err
		}},
		{"a rollback to an unknown execution", "PipelineExecutionNotFoundException", func() error {
			_, err := cp.RollbackStage(ctx, &codepipeline.RollbackStageInput{PipelineName: aws.String(name), StageName: aws.String("Deploy"),
				TargetPipelineExecutionId: aws.String("0b4a9c8e-1f1e-4c43-9d55-3f1c2b7a6e01")})
			return err
		}},
		{"a condition override", "ConditionNotOverridableException", func() error {
			_, err := cp.OverrideStageCondition(ctx, &codepipeline.OverrideStageConditionInput{PipelineName: aws.String(name), StageName: aws.String("Deploy"),
				PipelineExecutionId: aws.String(first), ConditionType: types.ConditionTypeBeforeEntry})
			return err
		}},
	} {
		t.Run(tt.what, func(t *testing.T) { wantAPIError(t, tt.call(), tt.code) })
	}
}

// TestSDKAutomatedRollback: a stage whose onFailure result is ROLLBACK rolls
// back by itself when it fails: a ROLLBACK execution of trigger
// AutomatedRollback re-runs it with the last successful execution's
// variables. A first failure with nothing to roll back to starts nothing.
func TestSDKAutomatedRollback(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-autorollback"
	worker := workerType("AutoRollbackWorker")
	if _, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{Category: worker.Category, Provider: worker.Provider, Version: worker.Version,
		InputArtifactDetails: &types.ArtifactDetails{}, OutputArtifactDetails: &types.ArtifactDetails{},
		ConfigurationProperties: []types.ActionConfigurationProperty{{Name: aws.String("Release"), Required: false, Key: false, Secret: false}}}); err != nil {
		t.Fatalf("CreateCustomActionType: %v", err)
	}
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &types.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String(testRoleArn), PipelineType: types.PipelineTypeV2,
		Variables: []types.PipelineVariableDeclaration{{Name: aws.String("RELEASE"), DefaultValue: aws.String("r0")}},
		Stages: []types.StageDeclaration{
			{Name: aws.String("Build"), Actions: []types.ActionDeclaration{{Name: aws.String("Make"), ActionTypeId: commandsType(), Commands: []string{"true"}}}},
			{Name: aws.String("Deploy"), Actions: []types.ActionDeclaration{{Name: aws.String("Ship"), ActionTypeId: worker,
				Configuration: map[string]string{"Release": "#{variables.RELEASE}"}}},
				OnFailure: &types.FailureConditions{Result: types.ResultRollback}},
		},
	}}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	// work takes the next Deploy job and succeeds or fails it; it returns
	// the release the job was given.
	work := func(succeed bool) (release, execution string) {
		t.Helper()
		var job types.Job
		eventually(t, "a Deploy job", func() (bool, error) {
			out, err := cp.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: worker, MaxBatchSize: aws.Int32(1)})
			if err != nil || len(out.Jobs) == 0 {
				return false, err
			}
			job = out.Jobs[0]
			return true, nil
		})
		if _, err := cp.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: job.Id, Nonce: job.Nonce}); err != nil {
			t.Fatalf("AcknowledgeJob: %v", err)
		}
		var err error
		if succeed {
			_, err = cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: job.Id})
		} else {
			_, err = cp.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{JobId: job.Id,
				FailureDetails: &types.FailureDetails{Type: types.FailureTypeJobFailed, Message: aws.String("the deploy broke")}})
		}
		if err != nil {
			t.Fatalf("job result: %v", err)
		}
		return job.Data.ActionConfiguration.Configuration["Release"], aws.ToString(job.Data.PipelineContext.PipelineExecutionId)
	}
	start := func(release string) string {
		t.Helper()
		out, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name),
			Variables: []types.PipelineVariable{{Name: aws.String("RELEASE"), Value: aws.String(release)}}})
		if err != nil {
			t.Fatalf("StartPipelineExecution: %v", err)
		}
		return aws.ToString(out.PipelineExecutionId)
	}
	executions := func() []types.PipelineExecutionSummary {
		t.Helper()
		out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
		if err != nil {
			t.Fatalf("ListPipelineExecutions: %v", err)
		}
		return out.PipelineExecutionSummaries
	}

	// Nothing succeeded yet: the failure rolls nothing back.
	first := start("r1")
	work(false)
	waitExecution(t, ctx, cp, name, first, types.PipelineExecutionStatusFailed)
	second := start("r2")
	if rel, _ := work(true); rel != "r2" {
		t.Fatalf("the second release deployed %q", rel)
	}
	waitExecution(t, ctx, cp, name, second, types.PipelineExecutionStatusSucceeded)
	if n := len(executions()); n != 2 {
		t.Fatalf("%d executions; the first failure started a rollback with nothing to roll back to", n)
	}

	// r3 fails: Deploy rolls back to r2.
	third := start("r3")
	work(false)
	waitExecution(t, ctx, cp, name, third, types.PipelineExecutionStatusFailed)
	rel, rollback := work(true)
	if rel != "r2" || rollback == third || rollback == second {
		t.Fatalf("the rollback deployed %q in execution %s", rel, rollback)
	}
	pe := waitExecution(t, ctx, cp, name, rollback, types.PipelineExecutionStatusSucceeded)
	if pe.ExecutionType != types.ExecutionTypeRollback || pe.Trigger == nil || pe.Trigger.TriggerType != types.TriggerTypeAutomatedRollback ||
		pe.RollbackMetadata == nil || aws.ToString(pe.RollbackMetadata.RollbackTargetPipelineExecutionId) != second {
		t.Fatalf("the automated rollback: type %q, trigger %+v, metadata %+v", pe.ExecutionType, pe.Trigger, pe.RollbackMetadata)
	}
	if n := len(executions()); n != 4 {
		t.Errorf("%d executions, want 4 (one rollback)", n)
	}
}
