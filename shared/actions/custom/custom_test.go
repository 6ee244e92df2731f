package custom

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

type jobs struct{ created []*store.Job }

func (j *jobs) CreateJob(_ context.Context, job *store.Job) error {
	j.created = append(j.created, job)
	return nil
}

// TestJobDeadlineIsTheRunsTimeout: a job times out when the engine times out
// its run (engine.Deadline): engine.CustomActionTimeout after the run's start
// for a custom action that declares no timeoutInMinutes, or the declared
// minutes.
func TestJobDeadlineIsTheRunsTimeout(t *testing.T) {
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	typ := pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Tool", Version: "1"}
	for _, tc := range []struct {
		minutes int
		want    time.Duration
	}{{0, engine.CustomActionTimeout}, {30, 30 * time.Minute}, {2000, 2000 * time.Minute}} {
		st := &jobs{}
		p := &Provider{Store: st, Now: func() time.Time { return start.Add(time.Second) }}
		run := engine.ActionRun{ID: "r", Token: "tok", Type: typ, TimeoutInMinutes: tc.minutes, StartTime: start}
		if res := p.Run(t.Context(), &actions.Job{Run: run, Log: io.Discard}); res != nil {
			t.Fatalf("Run: %+v", res)
		}
		if len(st.created) != 1 {
			t.Fatalf("%d jobs created", len(st.created))
		}
		if got := st.created[0].Deadline; !got.Equal(start.Add(tc.want)) || !got.Equal(engine.Deadline(&run)) {
			t.Errorf("%d minutes: deadline %s, want %s", tc.minutes, got, start.Add(tc.want))
		}
	}
}
