package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

// maxLockCost is the target of BenchmarkStageLocks: an execution that takes
// a QUEUED stage lock at every stage costs at most this many times one that
// takes none (the same steps on a store without locks).
const maxLockCost = 3.0

// plainStore hides a store's stage locks: Step runs every execution as it
// did before execution modes existed (no lock read or write).
type plainStore struct{ s *sqlite.Store }

func (p plainStore) GetExecution(ctx context.Context, id string) (*engine.Execution, error) {
	return p.s.GetExecution(ctx, id)
}
func (p plainStore) UpdateExecution(ctx context.Context, e *engine.Execution) error {
	return p.s.UpdateExecution(ctx, e)
}

// BenchmarkStageLocks drives executions of a 5-stage QUEUED pipeline (one
// action a stage, completed at once) through engine.Step on the SQLite file
// store, with its stage locks (a lock read and an atomic write of the lock
// record and the execution at every stage entry and at the end) and without
// (baseline, same run), and reports the ratio.
func BenchmarkStageLocks(b *testing.B) {
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "stageflow.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := b.Context()
	env := engine.Env{Now: func() time.Time { return time.Now().UTC() }, NewID: uuid.NewString}
	one := 1
	var stages []pipeline.Stage
	for i := range 5 {
		stages = append(stages, pipeline.Stage{Name: fmt.Sprint("S", i), Actions: []pipeline.Action{{Name: "A", RunOrder: &one,
			ActionTypeID: pipeline.ActionTypeID{Category: pipeline.CategoryApproval, Owner: pipeline.OwnerAWS, Provider: "Manual", Version: "1"}}}})
	}
	p := pipeline.Pipeline{Name: "bench", PipelineType: pipeline.TypeV2, ExecutionMode: pipeline.ModeQueued, Stages: stages}
	if err := st.CreatePipeline(ctx, &store.Pipeline{Name: "bench", Declaration: p}); err != nil {
		b.Fatal(err)
	}
	drive := func(es engine.ExecutionStore) time.Duration {
		start := time.Now()
		for range b.N {
			e, err := engine.New(uuid.NewString(), "bench", 1, p, nil, engine.Trigger{Type: "StartPipelineExecution"}, env.Now())
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := st.CreateExecution(ctx, e); err != nil {
				b.Fatal(err)
			}
			_, d, err := engine.Step(ctx, es, e.ID, nil, env)
			for err == nil && !d.Terminal {
				if len(d.Wave) != 1 {
					b.Fatalf("wave of %d runs (waiting: %+v)", len(d.Wave), d.Wait)
				}
				_, d, err = engine.Step(ctx, es, e.ID, engine.Complete(d.Wave[0].ID, engine.Result{Status: engine.Succeeded}, env.Now()), env)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.ResetTimer()
	locked := drive(st)
	plain := drive(plainStore{st})
	b.StopTimer()
	ratio := float64(locked) / float64(plain)
	b.ReportMetric(float64(locked.Nanoseconds())/float64(b.N*len(stages)), "ns/stage-locked")
	b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N*len(stages)), "ns/stage-plain")
	b.ReportMetric(ratio, "locked/plain")
	if b.N >= 20 && ratio > maxLockCost {
		b.Errorf("stage locks make an execution cost %.2f× one without, more than the %.1f× target", ratio, maxLockCost)
	}
}
