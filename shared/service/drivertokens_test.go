package service_test

import (
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// The drivers' tokens (a Step Functions task token can end its task) stay in
// the store and never reach a caller: not in the execution record, not in
// a watch, not after a reload.
func TestDriverTokensAreNotShown(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc, st := srv.Service, srv.System.Store
	ctx := service.LocalCaller(t.Context(), "test")
	createPipeline(t, svc, pipeline.Pipeline{Name: "tokens", Stages: []pipeline.Stage{
		{Name: "Gate", Actions: []pipeline.Action{{Name: "Approve", ActionTypeID: manualApproval}}},
	}})
	started, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "tokens"})
	if err != nil {
		t.Fatal(err)
	}
	waitingRun(t, srv, started.ID, "Gate", "Approve")
	e, err := st.GetExecution(t.Context(), started.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.ParkToken = "park-secret"
	for i := range e.Actions {
		e.Actions[i].CallbackToken = "task-secret"
	}
	if err := st.UpdateExecution(t.Context(), e); err != nil {
		t.Fatal(err)
	}

	shown, err := svc.Execution(ctx, "tokens", started.ID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := svc.WatchExecution(ctx, "tokens", started.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	reloaded, err := w.Reload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		park string
		runs []string
	}{
		{"Execution", shown.ParkToken, callbackTokens(shown.Actions)},
		{"WatchExecution", w.Execution.ParkToken, callbackTokens(w.Execution.Actions)},
		{"Reload", reloaded.ParkToken, callbackTokens(reloaded.Actions)},
	} {
		if c.park != "" || len(c.runs) > 0 {
			t.Errorf("%s shows driver tokens: park %q, runs %q", c.what, c.park, c.runs)
		}
	}
	kept, err := st.GetExecution(t.Context(), started.ID)
	if err != nil {
		t.Fatal(err)
	}
	if kept.ParkToken != "park-secret" || len(callbackTokens(kept.Actions)) != len(kept.Actions) {
		t.Errorf("the store lost the tokens: park %q, runs %q", kept.ParkToken, callbackTokens(kept.Actions))
	}
}

func callbackTokens(runs []engine.ActionRun) []string {
	var out []string
	for _, r := range runs {
		if r.CallbackToken != "" {
			out = append(out, r.CallbackToken)
		}
	}
	return out
}
