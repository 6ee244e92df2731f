package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/runner"
	"github.com/stageflow/stageflow/shared/service"
)

func capped(n int) func(*runner.Config) {
	return func(c *runner.Config) { c.MaxParallelActions = n }
}

// wide is a one-stage pipeline of n parallel machine-bound scripted actions
// (M1…Mn) waiting on gate, plus the given other actions.
func wide(t *testing.T, name string, n int, gate string, others ...pipeline.Action) pipeline.Pipeline {
	var acts []pipeline.Action
	for i := range n {
		acts = append(acts, actiontest.TypedAction(actiontest.MachineType, fmt.Sprintf("M%d", i+1), 1, actiontest.ConfigGate, gate))
	}
	return declaration(t, name, stage("Wide", append(acts, others...)...))
}

// queuedRuns returns the runs of e in progress that show the queued summary.
func queuedRuns(e *engine.Execution) (queued, running int) {
	for _, r := range e.Actions {
		switch {
		case r.Status != engine.InProgress:
		case r.Summary == engine.QueuedSummary:
			queued++
		default:
			running++
		}
	}
	return queued, running
}

func TestSlotsCapParallelActions(t *testing.T) {
	s := newSystem(t, "", capped(2))
	// Two actions that take no slot (not machine-bound) run beside them.
	p := wide(t, "wide", 10, "g",
		actiontest.TypedAction(actiontest.Type, "Light1", 1, actiontest.ConfigGate, "g"),
		actiontest.TypedAction(actiontest.Type, "Light2", 1, actiontest.ConfigGate, "g"))
	createPipeline(t, s.store, p)
	e := s.start(t, "wide", nil, "")

	s.scripted.WaitStarted(t, 4, patience) // 2 slots + the 2 light ones
	e = s.waitFor(t, e.ID, "8 runs queued", func(e *engine.Execution) bool {
		q, _ := queuedRuns(e)
		return q == 8
	})
	if _, running := queuedRuns(e); running != 4 {
		t.Errorf("%d runs in progress without the queued summary, want 4: %s", running, s.describe(t, e.ID))
	}
	for _, r := range e.Actions {
		queued := r.Summary == engine.QueuedSummary
		if queued && (r.Type != actiontest.MachineType || fileExists(r.LogLocation)) {
			t.Errorf("%s is queued but is of type %s or has a log", r.Action, r.Type.Provider)
		}
	}
	// API users see it: GetPipelineState's latestExecution.summary.
	state, err := s.svc.GetPipelineState(service.LocalCaller(t.Context(), "test"), "wide")
	if err != nil {
		t.Fatal(err)
	}
	shown := 0
	for _, as := range state.StageStates[0].ActionStates {
		if le := as.LatestExecution; le != nil && le.Status == "InProgress" && le.Summary == engine.QueuedSummary {
			shown++
		}
	}
	if shown != 8 {
		t.Errorf("GetPipelineState shows %d actions queued, want 8", shown)
	}

	s.scripted.Release("g")
	e = s.wait(t, e.ID)
	wantStatus(t, "execution", e.Status, engine.Succeeded)
	if got := s.scripted.Peak(actiontest.MachineType); got != 2 {
		t.Errorf("at most %d machine-bound actions ran at once, want 2", got)
	}
	if got := s.scripted.Peak(actiontest.Type); got != 2 {
		t.Errorf("at most %d other actions ran at once, want 2 (they take no slot)", got)
	}
	for _, r := range e.Actions {
		if r.Status != engine.Succeeded || r.Summary != "" {
			t.Errorf("%s: %s, summary %q", r.Action, r.Status, r.Summary)
		}
	}
}

func TestSlotsSharedAcrossExecutions(t *testing.T) {
	s := newSystem(t, "", capped(3))
	p := wide(t, "wide", 4, "g")
	p.ExecutionMode = pipeline.ModeParallel // five executions at once in one stage
	createPipeline(t, s.store, p)
	var ids []string
	for range 5 {
		ids = append(ids, s.start(t, "wide", nil, "").ID)
	}
	s.scripted.WaitStarted(t, 3, patience)
	s.scripted.Release("g")
	for _, id := range ids {
		wantStatus(t, "execution", s.wait(t, id).Status, engine.Succeeded)
	}
	if got, n := s.scripted.Peak(actiontest.MachineType), len(s.scripted.Started()); got != 3 || n != 20 {
		t.Errorf("peak %d (want 3) of %d runs (want 20)", got, n)
	}
	// Nothing accumulates under work/: every run's directory, and every
	// ended execution's folder, is gone once the runs have returned.
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := s.runner.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(filepath.Join(s.dir, "work")); err != nil || len(left) != 0 {
		t.Errorf("work/ holds %d entries after 20 runs (%v)", len(left), err)
	}
}

func TestSlotsAbandonQueued(t *testing.T) {
	s := newSystem(t, "", capped(1))
	createPipeline(t, s.store, wide(t, "wide", 4, "never"))
	e := s.start(t, "wide", nil, "")
	s.scripted.WaitStarted(t, 1, patience)
	s.waitFor(t, e.ID, "3 runs queued", func(e *engine.Execution) bool { q, _ := queuedRuns(e); return q == 3 })

	if err := s.runner.Stop(t.Context(), e.ID, true, "enough", ""); err != nil {
		t.Fatal(err)
	}
	e = s.wait(t, e.ID)
	wantStatus(t, "execution", e.Status, engine.Stopped)
	for _, r := range e.Actions {
		if r.Status != engine.Abandoned || r.Summary != "" {
			t.Errorf("%s: %s, summary %q; want Abandoned without a summary", r.Action, r.Status, r.Summary)
		}
	}
	// The queued runs never start, and nothing is left waiting: Close
	// returns at once.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.runner.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := len(s.scripted.Started()); n != 1 {
		t.Errorf("%d runs were handed to the provider, want 1", n)
	}
}

func TestSlotsCloseLeavesQueuedForResume(t *testing.T) {
	dir := t.TempDir()
	s := newSystem(t, dir, capped(1))
	createPipeline(t, s.store, wide(t, "wide", 3, "g"))
	e := s.start(t, "wide", nil, "")
	s.scripted.WaitStarted(t, 1, patience)
	s.waitFor(t, e.ID, "2 runs queued", func(e *engine.Execution) bool { q, _ := queuedRuns(e); return q == 2 })

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		closed <- s.runner.Close(ctx)
	}()
	eventually(t, "the runner to close", s.runner.Closing)
	s.scripted.Release("g") // the running action ends; the queued ones must not start
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := len(s.scripted.Started()); n != 1 {
		t.Fatalf("%d runs were handed to the provider after Close, want 1", n)
	}
	e = s.get(t, e.ID)
	if q, _ := queuedRuns(e); q != 2 {
		t.Fatalf("%d runs left queued, want 2: %s", q, s.describe(t, e.ID))
	}
	s.store.Close()

	// After a restart, Resume starts them, still one at a time.
	s2 := newSystem(t, dir, capped(1))
	s2.scripted.Release("g")
	if _, err := s2.runner.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	e = s2.wait(t, e.ID)
	wantStatus(t, "execution", e.Status, engine.Succeeded)
	if n, peak := len(s2.scripted.Started()), s2.scripted.Peak(actiontest.MachineType); n != 2 || peak != 1 {
		t.Errorf("after the restart %d runs started (want 2), at most %d at once (want 1)", n, peak)
	}
	for _, r := range e.Actions {
		if r.Summary != "" {
			t.Errorf("%s: summary %q left", r.Action, r.Summary)
		}
	}
}

// TestWorkDirectories: a run's work directory goes when the run succeeds,
// stays after a failure for KeepFailedWork (by the runner's clock), and
// PruneWork removes it then.
func TestWorkDirectories(t *testing.T) {
	dir := t.TempDir()
	var now atomic.Int64 // the runner's clock, in Unix nanoseconds
	now.Store(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC).UnixNano())
	s := newSystem(t, dir, func(c *runner.Config) {
		c.KeepFailedWork = time.Hour
		c.Env.Now = func() time.Time { return time.Unix(0, now.Load()).UTC() }
	})
	createPipeline(t, s.store, declaration(t, "pair", stage("Only",
		action("Good", commandsType, 1, run("echo ok > ok.txt")),
		action("Bad", commandsType, 1, run("echo half > half.txt", "exit 1")))))
	e := s.wait(t, s.start(t, "pair", nil, "").ID)
	wantStatus(t, "execution", e.Status, engine.Failed)
	// The work directories go once the providers have returned, maybe just
	// after the execution ended: Close waits for that.
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := s.runner.Close(ctx); err != nil {
		t.Fatal(err)
	}
	good, bad := latest(t, e, "Only", "Good"), latest(t, e, "Only", "Bad")
	workOf := func(r *engine.ActionRun) string { return filepath.Join(dir, "work", e.ID, r.ID) }
	if fileExists(workOf(good)) {
		t.Errorf("the work directory of the action that succeeded is still there")
	}
	if !fileExists(workOf(bad)) {
		t.Fatalf("the work directory of the failed action is gone")
	}
	if n, err := s.runner.PruneWork(t.Context()); err != nil || n != 0 {
		t.Fatalf("PruneWork within KeepFailedWork: %d removed, %v", n, err)
	}
	now.Add(int64(time.Hour + time.Second))
	if n, err := s.runner.PruneWork(t.Context()); err != nil || n != 2 { // the run's and the execution's
		t.Fatalf("PruneWork after KeepFailedWork: %d removed (want 2), %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "work", e.ID)); !os.IsNotExist(err) {
		t.Errorf("the execution's work folder: %v", err)
	}
	for _, r := range []*engine.ActionRun{good, bad} {
		if !fileExists(r.LogLocation) {
			t.Errorf("the log of %s is gone", r.Action)
		}
	}
}

// TestSlotsManyShortActions: the completions of a wide wave and the queued
// runs getting their slots all write the one execution at once; every one
// of them must land (none may give up after too many conflicts), round
// after round.
func TestSlotsManyShortActions(t *testing.T) {
	s := newSystem(t, "", capped(4))
	var acts []pipeline.Action
	for i := range 20 {
		acts = append(acts, actiontest.TypedAction(actiontest.MachineType, fmt.Sprintf("A%d", i), 1))
	}
	createPipeline(t, s.store, declaration(t, "fan", stage("S", acts...)))
	for round := range 10 {
		e := s.start(t, "fan", nil, "")
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, err := s.runner.Wait(ctx, e.ID)
		cancel()
		if err != nil {
			t.Fatalf("round %d: %v: %s", round, err, s.describe(t, e.ID))
		}
	}
}
