package runner

import (
	"context"
	"sync"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
)

// Timeouts: the runner enforces the engine's action timeouts
// (engine.ActionTimeout: the action's timeoutInMinutes, else the default of
// its type) with one timer per run, never by polling. A run's timer is armed
// when its provider is handed the run (a run queued for a slot starts its
// timeout when it gets the slot, as a CodeBuild build's timeout does not count
// its time in the queue) and, after a restart, by Resume for a run that still
// waits on its token (an approval, a custom job), with the time left until
// its engine.Deadline. When the timer fires and the run is still in
// progress, the runner completes it through the engine as Failed with
// engine.CodeTimedOut (engine.TimedOut's message), cancels the provider's
// context (a build is killed), and advances the execution. A timer is
// stopped as soon as a saved state shows its run ended, and Close stops them
// all: Resume arms them again in the next process.

// AfterFunc calls f in its own goroutine once d has passed, unless the
// returned stop is called first; time.AfterFunc is the default.
type AfterFunc func(d time.Duration, f func()) (stop func())

func realAfter(d time.Duration, f func()) func() {
	t := time.AfterFunc(d, f)
	return func() { t.Stop() }
}

// timers are the armed timeouts of a runner's runs.
type timers struct {
	after AfterFunc
	mu    sync.Mutex
	// armed maps an execution ID to its runs' IDs, each to the stop
	// function of its timer.
	armed  map[string]map[string]func()
	closed bool
	// firing counts the timeouts being recorded, which Close waits for.
	firing sync.WaitGroup
}

func newTimers(after AfterFunc) *timers {
	if after == nil {
		after = realAfter
	}
	return &timers{after: after, armed: map[string]map[string]func(){}}
}

// armTimeout arms the timeout of a run of execution executionID to fire at
// deadline (at once if it has passed). A run armed already keeps its timer.
func (r *Runner) armTimeout(executionID string, run *engine.ActionRun, deadline time.Time) {
	tm := r.timeouts
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.closed {
		return
	}
	runs := tm.armed[executionID]
	if runs == nil {
		runs = map[string]func(){}
		tm.armed[executionID] = runs
	}
	if _, ok := runs[run.ID]; ok {
		return
	}
	runID := run.ID
	runs[runID] = tm.after(max(deadline.Sub(r.env.Now()), 0), func() { r.timedOut(executionID, runID) })
}

// disarmEnded stops the timers of e's runs that have ended.
func (r *Runner) disarmEnded(e *engine.Execution) {
	tm := r.timeouts
	tm.mu.Lock()
	defer tm.mu.Unlock()
	runs := tm.armed[e.ID]
	for runID, stop := range runs {
		if run, ok := e.Run(runID); !ok || run.Status != engine.InProgress {
			stop()
			delete(runs, runID)
		}
	}
	if len(runs) == 0 {
		delete(tm.armed, e.ID)
	}
}

// take forgets a run's timer that has fired; false when the runner is
// closing (its timeout is left for the next process).
func (tm *timers) take(executionID, runID string) bool {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.closed {
		return false
	}
	if runs := tm.armed[executionID]; runs != nil {
		delete(runs, runID)
		if len(runs) == 0 {
			delete(tm.armed, executionID)
		}
	}
	tm.firing.Add(1)
	return true
}

// close stops every timer and waits for the timeouts being recorded.
func (tm *timers) close() {
	tm.mu.Lock()
	tm.closed = true
	for _, runs := range tm.armed {
		for _, stop := range runs {
			stop()
		}
	}
	tm.armed = map[string]map[string]func(){}
	tm.mu.Unlock()
	tm.firing.Wait()
}

// timedOut fails a run whose timeout has passed, if it is still in
// progress, and cancels its provider.
func (r *Runner) timedOut(executionID, runID string) {
	if !r.timeouts.take(executionID, runID) {
		return
	}
	defer r.timeouts.firing.Done()
	ev := func(e *engine.Execution) error {
		run, ok := e.Run(runID)
		if !ok || run.Status != engine.InProgress {
			// Ended meanwhile: Complete refuses, and nothing is saved.
			return engine.Complete(runID, engine.Result{}, r.env.Now())(e)
		}
		return engine.Complete(runID, engine.TimedOut(run), r.env.Now())(e)
	}
	e, d, err := r.step(context.WithoutCancel(r.ctx), executionID, ev)
	if err != nil {
		if !errs.Is(err, errs.InvalidState) && !errs.Is(err, errs.NotFound) {
			r.log.Error("recording an action's timeout", "execution", executionID, "run", runID, "err", err)
		}
		return
	}
	if run, ok := e.Run(runID); ok {
		r.log.Info("action timed out", "execution", executionID, "action", run.Action, "message", run.ErrorMessage)
	}
	r.mu.Lock()
	cancel := r.running[runID]
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.after(e, d)
}
