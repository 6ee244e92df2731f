package runner_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/runner"
	"github.com/stageflow/stageflow/shared/service"
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
// ns/step is per engine.Step: N+1 steps run N actions (the first starts the
// execution), so a one-action pipeline pays two steps for its action.
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
	actions, steps := 0, 0
	// Executions are created outside the timed region, in batches: stopping
	// the timer reads the memory statistics, which stops the world, too
	// costly to do around every execution.
	var ready []*engine.Execution
	for b.Loop() {
		if len(ready) == 0 {
			b.StopTimer()
			for range createBatch {
				e, err := engine.New(env.NewID(), p.Name, 1, p, nil, engine.Trigger{Type: "Benchmark"}, env.Now())
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := st.CreateExecution(ctx, e); err != nil {
					b.Fatal(err)
				}
				ready = append(ready, e)
			}
			b.StartTimer()
		}
		e := ready[0]
		ready = ready[1:]

		_, d, err := engine.Step(ctx, st, e.ID, nil, env)
		steps++
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
			steps++
			if d.Terminal && final.Status != engine.Succeeded {
				b.Fatalf("execution %s", final.Status)
			}
		}
	}
	if actions != b.N*n {
		b.Fatalf("%d actions completed, want %d", actions, b.N*n)
	}
	perAction := float64(b.Elapsed().Nanoseconds()) / float64(actions)
	b.ReportMetric(perAction, "ns/action")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/step")
	// The same machine's floor, measured in this run: one conditional UPDATE
	// of a small row in a SQLite file with the store's pragmas.
	base := baselineWrite(b, filepath.Join(dir, "baseline.db"))
	b.ReportMetric(perAction/base, "x-baseline-write")
	b.ReportMetric(perAction/float64(targetPerAction.Nanoseconds()), "x-target")
}

// createBatch is how many executions the benchmark creates at a time.
const createBatch = 64

// targetPerAction is the goal for one action's full cycle.
const targetPerAction = 100 * time.Microsecond

// baselineWrite returns the mean ns of one versioned UPDATE of a 100-byte row
// in a WAL SQLite file with synchronous=NORMAL, the store's settings.
func baselineWrite(b *testing.B, path string) float64 {
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, version INTEGER, body TEXT)`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`INSERT OR REPLACE INTO t VALUES ('x', 0, ?)`, strings.Repeat("b", 100)); err != nil {
		b.Fatal(err)
	}
	st, err := db.Prepare(`UPDATE t SET body = ?, version = version + 1 WHERE id = 'x' AND version = ?`)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 2000
	start := time.Now()
	for i := range n {
		if _, err := st.Exec(strings.Repeat("c", 100), i); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// BenchmarkSlots compares whole action cycles through the runner (Begin,
// each action's goroutine, provider call, completion) without a cap and
// under a cap that is never reached: the slot a machine-bound action takes
// and gives back must cost nothing measurable beside the store's writes.
// The pipeline is one stage of 10 sequential machine-bound scripted actions
// that succeed at once.
func BenchmarkSlots(b *testing.B) {
	for _, c := range []struct {
		name string
		max  int
	}{{"cap=none", 0}, {"cap=64", 64}} {
		b.Run(c.name, func(b *testing.B) { benchmarkSlots(b, c.max) })
	}
}

func benchmarkSlots(b *testing.B, maxParallel int) {
	const n = 10
	dir := b.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "stageflow.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := b.Context()
	env := testEnv()
	reg := actions.NewRegistry(nil)
	actiontest.Register(reg)
	r := runner.New(runner.Config{Store: st, Providers: reg, Env: env, DataDir: dir, MaxParallelActions: maxParallel})
	defer r.Close(context.Background())
	svc := service.New(service.Config{Store: st, Driver: r, Now: env.Now, NewID: env.NewID})

	acts := make([]pipeline.Action, n)
	for i := range acts {
		acts[i] = actiontest.TypedAction(actiontest.MachineType, fmt.Sprintf("Step%d", i+1), i+1)
	}
	p := pipeline.Pipeline{Name: "Bench", Stages: []pipeline.Stage{{Name: "Build", Actions: acts}}}
	if err := st.CreatePipeline(ctx, &store.Pipeline{Name: p.Name, Declaration: p}); err != nil {
		b.Fatal(err)
	}
	lctx := service.LocalCaller(ctx, "bench")
	b.ReportAllocs()
	runs := 0
	for b.Loop() {
		e, err := svc.StartExecution(lctx, service.StartInput{PipelineName: p.Name})
		if err != nil {
			b.Fatal(err)
		}
		final, err := r.Wait(ctx, e.ID)
		if err != nil {
			b.Fatal(err)
		}
		if final.Status != engine.Succeeded {
			b.Fatalf("execution %s", final.Status)
		}
		runs += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(runs), "ns/action")
}
