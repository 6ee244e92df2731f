package service_test

import (
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TestDeletePipelineEndsItsHistory: DeletePipeline stops the executions in
// progress (abandoned), and a pipeline created later under the same name
// starts with an empty history, its client request tokens free again.
func TestDeletePipelineEndsItsHistory(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc := srv.Service
	ctx := service.LocalCaller(t.Context(), "test")
	p := pipeline.Pipeline{Name: "gone", Stages: []pipeline.Stage{{Name: "Gate", Actions: []pipeline.Action{{Name: "Approve", ActionTypeID: manualApproval}}}}}
	createPipeline(t, svc, p)
	old, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "gone", ClientRequestToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	waitingRun(t, srv, old.ID, "Gate", "Approve")
	changes, cancel := srv.System.Events.Subscribe(old.ID)
	defer cancel()
	if _, err := svc.DeletePipeline(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-changes:
		if e.Status != engine.Stopped {
			t.Fatalf("the execution of the deleted pipeline is %s, want Stopped", e.Status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deleting the pipeline did not stop its execution")
	}
	createPipeline(t, svc, p)
	again, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "gone", ClientRequestToken: "tok"})
	if err != nil || again.ID == old.ID {
		t.Fatalf("start with the old token: %v, %v; want a new execution", again, err)
	}
	waitingRun(t, srv, again.ID, "Gate", "Approve")
	tests := []struct {
		name  string
		count func() (int, error)
	}{
		{"ListPipelineExecutions", func() (int, error) {
			out, err := svc.ListExecutions(ctx, "gone", "", 0, "")
			if err != nil {
				return 0, err
			}
			return len(out.PipelineExecutionSummaries), nil
		}},
		{"ListActionExecutions", func() (int, error) {
			out, err := svc.ListActionExecutions(ctx, "gone", service.ActionExecutionFilter{}, 0, "")
			if err != nil {
				return 0, err
			}
			return len(out.ActionExecutionDetails), nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := tt.count()
			if err != nil || n != 1 {
				t.Fatalf("%d rows, %v; want only the new execution's", n, err)
			}
		})
	}
	if _, err := svc.GetExecution(ctx, "gone", old.ID); err == nil {
		t.Fatal("the deleted pipeline's execution is still shown under the name")
	}
}
