package service_test

import (
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TestAbandonedJobsLeaveTheQueue: after StopPipelineExecution with abandon,
// the abandoned action's job reaches no worker, whether it was still queued
// or a worker held it already, and a late result is InvalidJobState.
func TestAbandonedJobsLeaveTheQueue(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc := srv.Service
	ctx := service.LocalCaller(t.Context(), "test")
	typ := pipeline.ActionTypeID{Category: "Deploy", Owner: "Custom", Provider: "Stopped", Version: "1"}
	if _, err := svc.CreateCustomActionType(ctx, apiCustomType(typ)); err != nil {
		t.Fatal(err)
	}
	p := pipeline.Pipeline{Name: "stopped", Stages: []pipeline.Stage{{Name: "S", Actions: []pipeline.Action{
		{Name: "Work", ActionTypeID: typ},
	}}}}
	createPipeline(t, svc, p)
	tests := []struct {
		name      string
		pollFirst bool // a worker took the job before the stop
	}{
		{"a job still queued", false},
		{"a job a worker holds", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			started, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "stopped"})
			if err != nil {
				t.Fatal(err)
			}
			jobID := waitForJobID(t, srv, started.ID)
			if tt.pollFirst {
				got, err := svc.PollForJobs(ctx, typ, 10)
				if err != nil || len(got) != 1 || got[0].ID != jobID {
					t.Fatalf("poll before the stop: %v, %v", got, err)
				}
			}
			if err := svc.StopExecution(ctx, "stopped", started.ID, true, "no longer needed"); err != nil {
				t.Fatal(err)
			}
			ended, err := srv.System.Runner.Wait(ctx, started.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The caller who stopped it is recorded.
			if ended.Stop == nil || ended.Stop.By != "test" || ended.Stop.Reason != "no longer needed" {
				t.Fatalf("the stop request: %+v, want by test", ended.Stop)
			}
			got, err := svc.PollForJobs(ctx, typ, 10)
			if err != nil || len(got) != 0 {
				t.Fatalf("poll after the stop: %d jobs, %v; want none", len(got), err)
			}
			err = svc.PutJobSuccessResult(ctx, jobID, apiJobSuccess())
			if e, ok := errs.As(err); !ok || e.Code != errs.InvalidState || e.Kind != errs.KindJobState {
				t.Fatalf("late result: %v, want InvalidJobState", err)
			}
		})
	}
}

// waitForJobID waits until the execution's job is queued and returns its ID.
func waitForJobID(t *testing.T, srv *apitest.Server, executionID string) string {
	t.Helper()
	token := waitingRun(t, srv, executionID, "S", "Work").Token
	eventually(t, "job "+token+" queued", func() bool {
		_, err := srv.System.Store.GetJob(t.Context(), token)
		return err == nil
	})
	return token
}
