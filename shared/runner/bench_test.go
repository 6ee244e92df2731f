package runner_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

// BenchmarkActionCycle measures what the runner pays per action on the
// SQLite file store, shell time excluded: the engine.Step that starts an
// action (advance + persist; for the first action the step of Start, for the
// others the completion step of the action before) and the engine.Step that
// completes it (apply + advance + persist). The pipeline is one stage of N
// sequential actions (runOrder 1..N). The engine records each run's log
// location when it creates the run (Env.LogLocation), as the runner has it
// do, so there is no other write per action.
//
// ns/op is per execution (N actions); ns/action is the figure to compare.
func BenchmarkActionCycle(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("actions=%d", n), func(b *testing.B) { benchmarkCycle(b, n) })
	}
}

func benchmarkCycle(b *testing.B, n int) {
	dir := b.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "stageflow.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := b.Context()
	env := testEnv()
	logDir := filepath.Join(dir, "logs")
	env.LogLocation = func(executionID, runID string) string { return filepath.Join(logDir, executionID, runID+".log") }

	acts := make([]pipeline.Action, n)
	for i := range acts {
		ro := i + 1
		acts[i] = pipeline.Action{
			Name: fmt.Sprintf("Step%d", ro), ActionTypeID: commandsType, RunOrder: &ro,
			Commands: []string{fmt.Sprintf("echo step %d", ro)},
		}
	}
	p := pipeline.Pipeline{Name: "Bench", Stages: []pipeline.Stage{{Name: "Build", Actions: acts}}}
	if probs := pipeline.Validate(&p); len(probs) > 0 {
		b.Fatal(probs)
	}
	if err := st.CreatePipeline(ctx, &store.Pipeline{Name: p.Name, Declaration: p}); err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	actions := 0
	for b.Loop() {
		b.StopTimer()
		e, err := engine.New(env.NewID(), p.Name, 1, p, nil, engine.Trigger{Type: "Benchmark"}, env.Now())
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := st.CreateExecution(ctx, e); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		_, d, err := engine.Step(ctx, st, e.ID, nil, env)
		if err != nil {
			b.Fatal(err)
		}
		for !d.Terminal {
			if len(d.Wave) != 1 {
				b.Fatalf("wave of %d runs, want 1", len(d.Wave))
			}
			run := d.Wave[0]
			var final *engine.Execution
			final, d, err = engine.Step(ctx, st, e.ID, engine.Complete(run.ID, engine.Result{Status: engine.Succeeded}, env.Now()), env)
			if err != nil {
				b.Fatal(err)
			}
			actions++
			if d.Terminal && final.Status != engine.Succeeded {
				b.Fatalf("execution %s", final.Status)
			}
		}
	}
	if actions != b.N*n {
		b.Fatalf("%d actions completed, want %d", actions, b.N*n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(actions), "ns/action")
}
