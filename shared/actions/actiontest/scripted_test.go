package actiontest

import (
	"context"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
)

func job(kv ...string) *actions.Job {
	a := Action("A", 1, kv...)
	return &actions.Job{Run: engine.ActionRun{Stage: "S", Action: a.Name, Type: a.ActionTypeID, Configuration: a.Configuration}, Action: a, Log: io.Discard}
}

func TestScriptedResults(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   []string
		want *engine.Result
	}{
		{"default", nil, &engine.Result{Status: engine.Succeeded}},
		{"variables as pairs", []string{ConfigOutputVariables, "a=1,b=x=y", ConfigSummary, "done"},
			&engine.Result{Status: engine.Succeeded, Summary: "done", OutputVariables: map[string]string{"a": "1", "b": "x=y"}}},
		{"variables as JSON", []string{ConfigOutputVariables, `{"k":"v"}`},
			&engine.Result{Status: engine.Succeeded, OutputVariables: map[string]string{"k": "v"}}},
		{"failed, defaults", []string{ConfigResult, Failed},
			&engine.Result{Status: engine.Failed, ErrorCode: engine.CodeJobFailed, ErrorMessage: "scripted failure"}},
		{"failed, given", []string{ConfigResult, Failed, ConfigErrorCode, "Boom", ConfigErrorMessage, "it broke"},
			&engine.Result{Status: engine.Failed, ErrorCode: "Boom", ErrorMessage: "it broke"}},
		{"wait", []string{ConfigResult, Wait}, nil},
		{"delay then succeed", []string{ConfigDelay, "1ms"}, &engine.Result{Status: engine.Succeeded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := New().Run(t.Context(), job(tc.kv...)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, kv := range [][]string{
		{ConfigResult, "Maybe"}, {ConfigDelay, "soon"}, {ConfigOutputVariables, "novalue"}, {ConfigOutputVariables, "{bad"},
	} {
		if got := New().Run(t.Context(), job(kv...)); got == nil || got.ErrorCode != engine.CodeConfigurationError {
			t.Errorf("%v: result %+v, want a configuration error", kv, got)
		}
	}
}

func TestScriptedGate(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan *engine.Result, 2)
	go func() { done <- s.Run(t.Context(), job(ConfigGate, "g")) }()
	go func() { done <- s.Run(ctx, job(ConfigGate, "never")) }()
	s.WaitStarted(t, 2, 10*time.Second)
	select {
	case r := <-done:
		t.Fatalf("a gated run returned before its gate opened: %+v", r)
	default:
	}
	s.Release("g")
	s.Release("g")
	if r := <-done; r.Status != engine.Succeeded {
		t.Errorf("released run: %+v", r)
	}
	cancel()
	if r := <-done; r.Status != engine.Failed || r.ErrorCode != engine.CodeInterrupted {
		t.Errorf("canceled run: %+v", r)
	}
	if n := s.StartedFor("S", "A"); n != 2 {
		t.Errorf("StartedFor = %d, want 2", n)
	}
}
