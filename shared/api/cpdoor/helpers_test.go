package cpdoor_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/stageflow/stageflow/shared/api/apitest"
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
