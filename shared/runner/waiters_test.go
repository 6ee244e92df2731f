package runner

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

// TestWaitForgetsItsWaiter: a Wait that gives up, or finds the execution
// already ended, leaves no channel behind (a server calls Wait for many
// executions over its life).
func TestWaitForgetsItsWaiter(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stageflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := New(Config{Store: st, Providers: actions.NewRegistry(nil), DataDir: t.TempDir()})
	defer r.Close(t.Context())

	one := 1
	p := pipeline.Pipeline{Name: "P", Stages: []pipeline.Stage{{Name: "S", Actions: []pipeline.Action{{
		Name: "A", RunOrder: &one, ActionTypeID: pipeline.ActionTypeID{Category: "Approval", Owner: "AWS", Provider: "Manual", Version: "1"},
	}}}}}
	for _, tc := range []struct {
		name   string
		status engine.Status
		giveUp bool // wait with a canceled context
	}{
		{"given up", engine.InProgress, true},
		{"already ended", engine.Succeeded, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := engine.New("exec-"+string(tc.status), p.Name, 1, p, nil, engine.Trigger{Type: "test"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			e.Status = tc.status
			if _, _, err := st.CreateExecution(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				ctx, cancel := context.WithCancel(t.Context())
				if tc.giveUp {
					cancel()
				}
				if _, err := r.Wait(ctx, e.ID); (err != nil) != tc.giveUp {
					t.Errorf("Wait: %v", err)
				}
				cancel()
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if n := len(r.waiters); n != 0 {
				t.Errorf("%d executions still have waiters", n)
			}
		})
	}
}
