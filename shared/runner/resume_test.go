package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// ---------------------------------------------------------------------------
// Resume after a crash.

// crash writes what a process that died would leave: an execution whose
// first wave was started and saved, the runs of the actions in handed given
// a log location (as the runner records before calling the provider), none
// of them ever completed.
func crash(t *testing.T, dir string, p pipeline.Pipeline, handed ...string) string {
	t.Helper()
	st := openStore(t, dir)
	defer st.Close()
	createPipeline(t, st, p)
	env := testEnv()
	e, err := engine.New(env.NewID(), p.Name, 1, p, nil, engine.Trigger{Type: "StartPipelineExecution"}, env.Now())
	if err != nil {
		t.Fatal(err)
	}
	e, _, err = st.CreateExecution(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	d := engine.Advance(e, env)
	if len(d.Wave) == 0 {
		t.Fatal("no action started")
	}
	for i := range e.Actions {
		r := &e.Actions[i]
		for _, name := range handed {
			if r.Action == name {
				r.LogLocation = filepath.Join(dir, "logs", e.ID, r.ID+".log")
				if err := os.MkdirAll(filepath.Dir(r.LogLocation), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(r.LogLocation, []byte("[Container] Running command sleep 600\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := st.UpdateExecution(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func TestResume(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stages []pipeline.Stage
		handed []string
		// afterResume checks the state Resume saved and may act on it.
		afterResume func(t *testing.T, s *system, e *engine.Execution)
		want        engine.Status
		check       func(t *testing.T, s *system, e *engine.Execution)
	}{
		{
			name: "a build running at crash time is failed as interrupted",
			stages: []pipeline.Stage{
				stage("Build", action("Long", commandsType, 1, run("sleep 600"))),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo never"))),
			},
			handed: []string{"Long"},
			want:   engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Build", "Long")
				if r.Status != engine.Failed || r.ErrorCode != engine.CodeInterrupted || !strings.Contains(r.ErrorMessage, "interrupted") {
					t.Errorf("Long: %s %s %q", r.Status, r.ErrorCode, r.ErrorMessage)
				}
				if !strings.Contains(e.StatusSummary, "interrupted") {
					t.Errorf("summary %q", e.StatusSummary)
				}
				notStarted(t, e, "Deploy")
			},
		},
		{
			name: "an approval waiting at crash time still waits and can be approved",
			stages: []pipeline.Stage{
				stage("Release", action("Approve", manualType, 1)),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo deployed"))),
			},
			handed: []string{"Approve"},
			afterResume: func(t *testing.T, s *system, e *engine.Execution) {
				wantStatus(t, "execution after resume", e.Status, engine.InProgress)
				r := latest(t, e, "Release", "Approve")
				wantStatus(t, "approval after resume", r.Status, engine.InProgress)
				if err := s.runner.Complete(t.Context(), e.ID, r.ID, approval.Result(approval.Approved, "ok", "alice")); err != nil {
					t.Fatal(err)
				}
			},
			want: engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if log := readLog(t, latest(t, e, "Deploy", "Deploy")); !strings.Contains(log, "deployed") {
					t.Errorf("Deploy's log:\n%s", log)
				}
			},
		},
		{
			name: "a custom job out at crash time still waits for its worker",
			stages: []pipeline.Stage{
				stage("Build", action("Tool", customType, 1)),
			},
			handed: []string{"Tool"},
			afterResume: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Build", "Tool")
				wantStatus(t, "Tool after resume", r.Status, engine.InProgress)
				if err := s.runner.Complete(t.Context(), e.ID, r.ID, engine.Result{Status: engine.Succeeded}); err != nil {
					t.Fatal(err)
				}
			},
			want: engine.Succeeded,
		},
		{
			name: "a resumable run handed over is not run again; it waits for its token",
			stages: []pipeline.Stage{
				stage("Build", action("Waits", actiontest.ResumableType, 1, config(actiontest.ConfigResult, actiontest.Wait))),
			},
			handed: []string{"Waits"},
			afterResume: func(t *testing.T, s *system, e *engine.Execution) {
				if n := len(s.scripted.Started()); n != 0 {
					t.Errorf("Resume called the provider %d times for a resumable run", n)
				}
				r := latest(t, e, "Build", "Waits")
				wantStatus(t, "Waits after resume", r.Status, engine.InProgress)
				if err := s.runner.Complete(t.Context(), e.ID, r.ID, engine.Result{Status: engine.Succeeded, Summary: "by token"}); err != nil {
					t.Fatal(err)
				}
			},
			want: engine.Succeeded,
		},
		{
			name: "a non-resumable run handed over is failed as interrupted, not run again",
			stages: []pipeline.Stage{
				stage("Build", scripted("Scripted", 1)),
			},
			handed: []string{"Scripted"},
			want:   engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if r := latest(t, e, "Build", "Scripted"); r.ErrorCode != engine.CodeInterrupted {
					t.Errorf("Scripted: %s %q", r.ErrorCode, r.ErrorMessage)
				}
				if n := len(s.scripted.Started()); n != 0 {
					t.Errorf("Resume called the provider %d times for an interrupted run", n)
				}
			},
		},
		{
			name: "a scripted run never handed over is started once",
			stages: []pipeline.Stage{
				stage("Build", scripted("Fresh", 1, actiontest.ConfigOutputVariables, "v=1")),
			},
			want: engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if n := s.scripted.StartedFor("Build", "Fresh"); n != 1 {
					t.Errorf("Fresh started %d times, want once", n)
				}
				if v := latest(t, e, "Build", "Fresh").OutputVariables["v"]; v != "1" {
					t.Errorf("Fresh's output variable v = %q", v)
				}
			},
		},
		{
			name: "a run never handed to its provider is started",
			stages: []pipeline.Stage{
				stage("Build", action("Build", commandsType, 1, run("echo resumed build"))),
			},
			want: engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if log := readLog(t, latest(t, e, "Build", "Build")); !strings.Contains(log, "resumed build") {
					t.Errorf("Build's log:\n%s", log)
				}
			},
		},
		{
			name: "in one group, the interrupted run fails the stage once the restarted one ends",
			stages: []pipeline.Stage{
				stage("Build",
					action("Running", commandsType, 1, run("sleep 600")),
					action("Waiting", commandsType, 1, run("echo restarted"))),
			},
			handed: []string{"Running"},
			want:   engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				wantStatus(t, "Waiting", latest(t, e, "Build", "Waiting").Status, engine.Succeeded)
				r := latest(t, e, "Build", "Running")
				if r.ErrorCode != engine.CodeInterrupted {
					t.Errorf("Running: %s %q", r.ErrorCode, r.ErrorMessage)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			id := crash(t, dir, declaration(t, "P", tc.stages...), tc.handed...)

			s := newSystem(t, dir)
			n, err := s.runner.Resume(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("resumed %d executions, want 1", n)
			}
			if tc.afterResume != nil {
				tc.afterResume(t, s, s.get(t, id))
			}
			final := s.wait(t, id)
			if final.Status != tc.want {
				t.Fatalf("execution %s, want %s: %s", final.Status, tc.want, s.describe(t, id))
			}
			if tc.check != nil {
				tc.check(t, s, s.get(t, id))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Close.

// TestCloseWaitsForRunningActions: Close lets the running action end and
// records its result, starts nothing new, and a later runner resumes the
// execution from there.
func TestCloseWaitsForRunningActions(t *testing.T) {
	dir := t.TempDir()
	s := newSystem(t, dir)
	p := declaration(t, "P",
		stage("Build", scripted("Gated", 1, actiontest.ConfigGate, "gated")),
		stage("Deploy", scripted("After", 1)))
	createPipeline(t, s.store, p)
	e := s.start(t, p.Name, nil, "")
	s.scripted.WaitStarted(t, 1, patience)

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), patience)
		defer cancel()
		closed <- s.runner.Close(ctx)
	}()
	for deadline := time.Now().Add(patience); !s.runner.Closing(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Close never began")
		}
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an action was running", err)
	default:
	}
	s.scripted.Release("gated")
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("Close did not return after the running action ended")
	}

	now := s.get(t, e.ID)
	wantStatus(t, "Gated", latest(t, now, "Build", "Gated").Status, engine.Succeeded)
	wantStatus(t, "execution after Close", now.Status, engine.InProgress)
	after := latest(t, now, "Deploy", "After")
	if after.Status != engine.InProgress || fileExists(after.LogLocation) || s.scripted.StartedFor("Deploy", "After") != 0 {
		t.Fatalf("the next action was handed to a provider while closing: %s, log %q", after.Status, after.LogLocation)
	}

	// A new process picks it up, once this one has let go of the store.
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := newSystem(t, dir)
	if _, err := s2.runner.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	final := s2.wait(t, e.ID)
	wantStatus(t, "execution after resume", final.Status, engine.Succeeded)
	if n := s2.scripted.StartedFor("Deploy", "After"); n != 1 {
		t.Errorf("After was started %d times after the restart, want once", n)
	}
}

// TestCloseDeadline: when the deadline passes, Close cancels the contexts of
// the running actions and their runs end as interrupted (that a build is
// killed on cancellation is the commands provider's test).
func TestCloseDeadline(t *testing.T) {
	s := newSystem(t, "")
	p := declaration(t, "P", stage("Build", scripted("Long", 1, actiontest.ConfigGate, "never")))
	createPipeline(t, s.store, p)
	e := s.start(t, p.Name, nil, "")
	s.scripted.WaitStarted(t, 1, patience)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.runner.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want the deadline error", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Close took %s: the build was not killed", d)
	}
	final := s.get(t, e.ID)
	r := latest(t, final, "Build", "Long")
	if r.Status != engine.Failed || r.ErrorCode != engine.CodeInterrupted {
		t.Errorf("Long: %s %s %q", r.Status, r.ErrorCode, r.ErrorMessage)
	}
	wantStatus(t, "execution", final.Status, engine.Failed)
}

func TestWait(t *testing.T) {
	s := newSystem(t, "")
	p := declaration(t, "P", stage("Build", scripted("Gated", 1, actiontest.ConfigGate, "gated")))
	createPipeline(t, s.store, p)
	e := s.start(t, p.Name, nil, "")

	// Giving up a wait is an error of its context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.runner.Wait(ctx, e.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a canceled context: %v", err)
	}
	// Several waiters all get the end.
	results := make(chan *engine.Execution, 3)
	for range 3 {
		go func() {
			ctx, cancel := context.WithTimeout(t.Context(), patience)
			defer cancel()
			e, err := s.runner.Wait(ctx, e.ID)
			if err != nil {
				t.Error(err)
			}
			results <- e
		}()
	}
	s.scripted.Release("gated")
	for range 3 {
		if got := <-results; got == nil || got.Status != engine.Succeeded {
			t.Errorf("a waiter got %+v", got)
		}
	}
	// Waiting for an ended execution returns it at once.
	wantStatus(t, "ended execution", s.wait(t, e.ID).Status, engine.Succeeded)
	// An unknown execution is an error.
	if _, err := s.runner.Wait(t.Context(), "no-such-execution"); err == nil {
		t.Error("Wait for an unknown execution succeeded")
	}
}

// fileExists reports whether the runner created a file: it creates a run's
// log just before handing the run to its provider.
func fileExists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}
