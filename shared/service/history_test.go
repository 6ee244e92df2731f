package service_test

import (
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TestOldExecutionsStayReachable: on a PARALLEL pipeline whose history is
// longer than a store page, GetPipelineState finds each stage's latest
// execution however old, ListActionExecutions pages through every run, and
// an approval of an old execution is decided, by its token or without one.
func TestOldExecutionsStayReachable(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc := srv.Service
	ctx := service.LocalCaller(t.Context(), "test")
	p := pipeline.Pipeline{Name: "deep", PipelineType: pipeline.TypeV2, ExecutionMode: "PARALLEL", Stages: []pipeline.Stage{
		{Name: "Gate", Actions: []pipeline.Action{{Name: "Approve", ActionTypeID: manualApproval}}},
		{Name: "Second", Actions: []pipeline.Action{{Name: "Again", ActionTypeID: manualApproval}}},
	}}
	createPipeline(t, svc, p)
	// The oldest execution goes past Gate; 30 newer ones wait there.
	var ids []string
	for i := range 31 {
		e, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "deep"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
		waitingRun(t, srv, e.ID, "Gate", "Approve")
		if i == 0 {
			if _, err := svc.PutApprovalResult(ctx, service.ApprovalInput{PipelineName: "deep", Stage: "Gate", Action: "Approve",
				ExecutionID: e.ID, Status: "Approved", Summary: "first"}); err != nil {
				t.Fatal(err)
			}
			waitingRun(t, srv, e.ID, "Second", "Again")
		}
	}

	state, err := svc.GetPipelineState(ctx, "deep")
	if err != nil {
		t.Fatal(err)
	}
	if le := state.StageStates[1].LatestExecution; le == nil || le.PipelineExecutionID != ids[0] {
		t.Fatalf("stage Second's latest execution %+v, want %s", le, ids[0])
	}

	seen := map[string]bool{}
	token, pages := "", 0
	for {
		out, err := svc.ListActionExecutions(ctx, "deep", service.ActionExecutionFilter{}, 7, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out.ActionExecutionDetails {
			if seen[d.ActionExecutionID] {
				t.Fatalf("action execution %s listed twice", d.ActionExecutionID)
			}
			seen[d.ActionExecutionID] = true
		}
		pages++
		if token = out.NextToken; token == "" {
			break
		}
	}
	if len(seen) != 32 || pages != 5 {
		t.Fatalf("listed %d action executions in %d pages, want 32 in 5", len(seen), pages)
	}

	tests := []struct {
		name      string
		execution string // whose approval is decided
		stage     string
		action    string
		byToken   bool
	}{
		{"without token, the one execution waiting", ids[0], "Second", "Again", false},
		{"by token, an execution older than a page", ids[1], "Gate", "Approve", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := service.ApprovalInput{PipelineName: "deep", Stage: tt.stage, Action: tt.action, Status: "Approved", Summary: tt.name}
			if tt.byToken {
				in.Token = waitingRun(t, srv, tt.execution, tt.stage, tt.action).Token
			}
			if _, err := svc.PutApprovalResult(ctx, in); err != nil {
				t.Fatal(err)
			}
			e, err := srv.System.Store.GetExecution(ctx, tt.execution)
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := e.LatestRun(tt.stage, tt.action); r.Status != engine.Succeeded {
				t.Fatalf("approval %s", r.Status)
			}
		})
	}
}

// manualApproval is the action type of manual approvals.
var manualApproval = pipeline.ActionTypeID{Category: "Approval", Owner: "AWS", Provider: "Manual", Version: "1"}

// waitingRun waits until the execution's run of stage/action is in progress.
func waitingRun(t *testing.T, srv *apitest.Server, id, stage, action string) *engine.ActionRun {
	t.Helper()
	var run *engine.ActionRun
	eventually(t, stage+"/"+action+" of "+id+" waiting", func() bool {
		e, err := srv.System.Store.GetExecution(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := e.LatestRun(stage, action)
		run = r
		return ok && r.Status == engine.InProgress
	})
	return run
}

// eventually waits up to 10 seconds for done to hold.
func eventually(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// createPipeline stores a pipeline as a local caller.
func createPipeline(t *testing.T, svc *service.Service, p pipeline.Pipeline) {
	t.Helper()
	if _, err := svc.CreatePipeline(service.LocalCaller(t.Context(), "test"), p, nil); err != nil {
		t.Fatal(err)
	}
}
