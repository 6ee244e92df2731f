package runner

import (
	"context"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
)

// Slots: a runner with MaxParallelActions runs at most that many action runs
// of machine-bound providers (actions.MachineBound: Commands, CodeBuild) at
// once. A run of such a provider takes a slot before it is handed over (its
// log file created, its provider called) and gives it back as soon as its
// provider returns, before its completion is recorded, so that the next
// action of the same execution does not queue behind its own predecessor.
// The runs of a wave that find no free slot are queued: one write marks
// them all with engine.QueuedSummary, and each clears its own mark when it
// gets a slot. Waiting runs take the slots in the order they asked (a
// channel's senders are served first come, first served). Runs of other
// providers (approvals, custom jobs) take no slot.
//
// A queued run has not been handed over: Close leaves it InProgress without a
// log file, so Resume starts it (and queues it again) after a restart; a stop
// with abandon cancels its context and it ends without running. The action's
// timeout starts when its provider runs it: queue time does not count, as a
// CodeBuild build's timeout does not count the time the build was queued.

// slotted is a run of this runner and its context, registered in running.
type slotted struct {
	ctx context.Context
	run engine.ActionRun
}

// needsSlot reports whether run must take a slot before it runs.
func (r *Runner) needsSlot(run engine.ActionRun) bool {
	if r.slots == nil {
		return false
	}
	p, err := r.providers.Lookup(run.Type)
	return err == nil && actions.OccupiesMachine(p)
}

// tryAcquire takes a free slot, if there is one.
func (r *Runner) tryAcquire() bool {
	select {
	case r.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// release gives a slot back.
func (r *Runner) release() { <-r.slots }

// queue records the queued runs of one wave of e in one write, then starts a
// goroutine for each that waits for a slot. Each run is registered in
// running and counted in wg already.
func (r *Runner) queue(e *engine.Execution, queued []slotted) {
	ids := make([]string, len(queued))
	for i, q := range queued {
		ids[i] = q.run.ID
	}
	r.log.Info("actions queued: waiting for a slot", "execution", e.ID, "runs", len(ids), "maxParallelActions", cap(r.slots))
	ctx := context.WithoutCancel(r.ctx)
	marked := true
	if err := r.stepErr(ctx, e.ID, engine.Queued(ids, true, r.env.Now())); err != nil {
		// They still run when they get their slot; only the mark is lost.
		r.log.Error("recording queued actions", "execution", e.ID, "err", err)
		marked = false
	}
	for _, q := range queued {
		go func() {
			defer r.wg.Done()
			defer r.finished(q.run.ID)
			r.waitForSlot(q.ctx, e, q.run, marked)
		}()
	}
}

// waitForSlot waits for a slot and runs the action; it gives up when the
// run's context ends (abandoned) or the runner closes.
func (r *Runner) waitForSlot(ctx context.Context, e *engine.Execution, run engine.ActionRun, marked bool) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return
	case <-r.closing:
		return
	}
	// A stop with abandon cancels the runs of the execution one by one
	// under r.mu (cancelAbandoned), and the slot this run just got may be
	// the one an abandoned run gave back in the middle of that loop: wait
	// for the loop to end before looking at the context.
	r.mu.Lock()
	//lint:ignore SA2001 an empty critical section: a barrier behind cancelAbandoned
	r.mu.Unlock()
	if ctx.Err() != nil || r.Closing() {
		r.release()
		return
	}
	if marked {
		r.unqueue(e, run)
	}
	r.runAction(ctx, e, run, r.release)
}

// unqueue clears the queued mark of a run that got its slot.
func (r *Runner) unqueue(e *engine.Execution, run engine.ActionRun) {
	bg := context.WithoutCancel(r.ctx)
	if err := r.stepErr(bg, e.ID, engine.Queued([]string{run.ID}, false, r.env.Now())); err != nil {
		r.log.Error("recording the start of a queued action", "execution", e.ID, "action", run.Action, "err", err)
	}
}
