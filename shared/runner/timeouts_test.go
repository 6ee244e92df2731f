package runner_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/runner"
)

// fakeTimers is the runner's timer source in these tests: it records every
// timer armed, and the test fires one when it likes.
type fakeTimers struct {
	mu   sync.Mutex
	list []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (c *fakeTimers) after(d time.Duration, f func()) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{d: d, f: f}
	c.list = append(c.list, tm)
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		tm.stopped = true
	}
}

// wait returns the armed timers once there are n.
func (c *fakeTimers) wait(t *testing.T, n int) []*fakeTimer {
	t.Helper()
	var list []*fakeTimer
	eventually(t, "timers to be armed", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		list = append([]*fakeTimer(nil), c.list...)
		return len(list) >= n
	})
	return list
}

func (c *fakeTimers) isStopped(tm *fakeTimer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return tm.stopped
}

func withTimers(c *fakeTimers) func(*runner.Config) {
	return func(cfg *runner.Config) { cfg.After = c.after }
}

func timeoutMinutes(n int) opt { return func(a *pipeline.Action) { a.TimeoutInMinutes = &n } }

// near reports whether a timer's duration is want, give or take the time
// the test took between the run's start and its arming.
func near(got, want time.Duration) bool { return got <= want && got > want-5*time.Second }

// TestTimeoutFailsTheRun: an approval with timeoutInMinutes gets a timer of
// that length; when it fires the run and the execution end Failed with
// CodeTimedOut and a summary saying what timed out, and the next stage never
// starts. A build that times out has its process killed: the run ends
// TimedOut (not Interrupted) and Close does not wait for it.
func TestTimeoutFailsTheRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		act     pipeline.Action
		want    time.Duration
		message string
	}{
		{"approval with timeoutInMinutes", action("Approve", manualType, 1, timeoutMinutes(5)), 5 * time.Minute,
			"timed out after 5 minutes without a result (the action's timeoutInMinutes)"},
		{"approval: 7 days", action("Approve", manualType, 1), 7 * 24 * time.Hour,
			"timed out after 7 days without a result (the default timeout of a manual approval; timeoutInMinutes sets another)"},
		{"a running build", action("Approve", commandsType, 1, run("sleep 600"), timeoutMinutes(7)), 7 * time.Minute,
			"timed out after 7 minutes without a result (the action's timeoutInMinutes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeTimers{}
			s := newSystem(t, "", withTimers(clock))
			p := declaration(t, "P", stage("Release", tc.act), stage("Deploy", action("Deploy", commandsType, 1, run("echo never"))))
			createPipeline(t, s.store, p)
			e := s.start(t, p.Name, nil, "")
			if tc.act.ActionTypeID == commandsType {
				s.waitRunning(t, e.ID, "Release", "Approve", "sleep 600")
			}
			tm := clock.wait(t, 1)[0]
			if !near(tm.d, tc.want) {
				t.Fatalf("timer of %s, want %s", tm.d, tc.want)
			}
			tm.f()
			final := s.wait(t, e.ID)
			wantStatus(t, "execution", final.Status, engine.Failed)
			r := latest(t, final, "Release", "Approve")
			if r.Status != engine.Failed || r.ErrorCode != engine.CodeTimedOut || r.ErrorMessage != tc.message {
				t.Fatalf("run %s %s %q, want Failed TimedOut %q", r.Status, r.ErrorCode, r.ErrorMessage, tc.message)
			}
			if want := `action "Approve" in stage "Release" failed: ` + tc.message; !strings.Contains(final.StatusSummary, tc.message) {
				t.Errorf("summary %q, want %q", final.StatusSummary, want)
			}
			notStarted(t, final, "Deploy")
		})
	}
}

// TestTimeoutAfterTheEnd: a run that ended before its timeout has its timer
// stopped, and a timer that fires anyway (it raced the end) changes nothing.
func TestTimeoutAfterTheEnd(t *testing.T) {
	clock := &fakeTimers{}
	s := newSystem(t, "", withTimers(clock))
	p := declaration(t, "P", stage("Release", action("Approve", manualType, 1, timeoutMinutes(5))))
	createPipeline(t, s.store, p)
	e := s.start(t, p.Name, nil, "")
	tm := clock.wait(t, 1)[0]
	r := latest(t, s.get(t, e.ID), "Release", "Approve")
	if err := s.runner.Complete(t.Context(), e.ID, r.ID, approval.Result(approval.Approved, "ok", "alice")); err != nil {
		t.Fatal(err)
	}
	ended := s.wait(t, e.ID)
	wantStatus(t, "execution", ended.Status, engine.Succeeded)
	if !clock.isStopped(tm) {
		t.Error("the timer of a run that ended was not stopped")
	}
	tm.f()
	after := s.get(t, e.ID)
	if after.Version != ended.Version || latest(t, after, "Release", "Approve").Status != engine.Succeeded {
		t.Fatalf("a late timeout changed the execution: version %d→%d, %s", ended.Version, after.Version, s.describe(t, e.ID))
	}
}

// TestResumeArmsTheTimeLeft: after a restart, an approval still waiting gets
// a timer for the time left until its deadline, counted from the run's
// start; one whose deadline passed while no process ran fails at once.
func TestResumeArmsTheTimeLeft(t *testing.T) {
	for _, tc := range []struct {
		name string
		ago  time.Duration
		want time.Duration
	}{
		{"an hour into two", time.Hour, time.Hour},
		{"past its deadline", 3 * time.Hour, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := declaration(t, "P", stage("Release", action("Approve", manualType, 1, timeoutMinutes(120))))
			id := crash(t, dir, p, "Approve")
			st := openStore(t, dir)
			e, err := st.GetExecution(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			for i := range e.Actions {
				e.Actions[i].StartTime = time.Now().UTC().Add(-tc.ago)
			}
			if err := st.UpdateExecution(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			st.Close()

			clock := &fakeTimers{}
			s := newSystem(t, dir, withTimers(clock))
			if _, err := s.runner.Resume(t.Context()); err != nil {
				t.Fatal(err)
			}
			tm := clock.wait(t, 1)[0]
			if tc.want > 0 && !near(tm.d, tc.want) || tc.want == 0 && tm.d != 0 {
				t.Fatalf("timer of %s after the restart, want %s", tm.d, tc.want)
			}
			wantStatus(t, "approval after resume", latest(t, s.get(t, id), "Release", "Approve").Status, engine.InProgress)
			tm.f()
			final := s.wait(t, id)
			if r := latest(t, final, "Release", "Approve"); r.Status != engine.Failed || r.ErrorCode != engine.CodeTimedOut {
				t.Fatalf("approval %s %s %q", r.Status, r.ErrorCode, r.ErrorMessage)
			}
		})
	}
}

// TestRealTimers: without an injected source the runner's timers are
// time.AfterFunc's; an approval whose deadline passed before the restart
// times out at once.
func TestRealTimers(t *testing.T) {
	dir := t.TempDir()
	p := declaration(t, "P", stage("Release", action("Approve", manualType, 1, timeoutMinutes(5))))
	id := crash(t, dir, p, "Approve")
	st := openStore(t, dir)
	e, err := st.GetExecution(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	e.Actions[0].StartTime = time.Now().UTC().Add(-time.Hour)
	if err := st.UpdateExecution(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s := newSystem(t, dir)
	if _, err := s.runner.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := latest(t, s.wait(t, id), "Release", "Approve"); r.ErrorCode != engine.CodeTimedOut {
		t.Fatalf("approval %s %s %q", r.Status, r.ErrorCode, r.ErrorMessage)
	}
}
