package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
)

// lockWrite is one atomic update of a pipeline's stage locks: the record as
// loaded and changed, and the other executions the decisions changed (the
// stepping execution itself is written by its caller).
type lockWrite struct {
	ls     LockStore
	env    Env
	now    time.Time
	locks  *PipelineLocks
	orig   []byte
	own    *Execution
	others map[string]*Execution
	order  []string
}

func loadLocks(ctx context.Context, ls LockStore, pipelineName string, env Env) (*lockWrite, error) {
	l, err := ls.GetPipelineLocks(ctx, pipelineName)
	if err != nil {
		return nil, fmt.Errorf("loading the stage locks of pipeline %s: %w", pipelineName, err)
	}
	orig, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	env.Gated = true
	return &lockWrite{ls: ls, env: env, now: env.Now().UTC(), locks: l, orig: orig, others: map[string]*Execution{}}, nil
}

// dirty reports whether the write changes more than the own execution.
func (w *lockWrite) dirty() bool {
	if len(w.order) > 0 {
		return true
	}
	cur, err := json.Marshal(w.locks)
	return err != nil || string(cur) != string(w.orig)
}

// writes lists every record of the write: own first.
func (w *lockWrite) writes(own *Execution) []*Execution {
	out := []*Execution{own}
	for _, id := range w.order {
		out = append(out, w.others[id])
	}
	return out
}

func (w *lockWrite) changedOthers() []*Execution {
	var out []*Execution
	for _, id := range w.order {
		out = append(out, w.others[id])
	}
	return out
}

// other loads (once) another execution of the write; it is written with
// the write once marked changed (touch).
func (w *lockWrite) other(ctx context.Context, id string) (*Execution, error) {
	if w.own != nil && id == w.own.ID {
		return w.own, nil
	}
	if e := w.others[id]; e != nil {
		return e, nil
	}
	e, err := w.ls.GetExecution(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("loading execution %s named by the stage locks of pipeline %s: %w", id, w.locks.Pipeline, err)
	}
	w.others[id] = e
	return e, nil
}

// touch marks another execution changed: it is written with the write.
func (w *lockWrite) touch(e *Execution) {
	if e == w.own || slices.Contains(w.order, e.ID) {
		return
	}
	w.order = append(w.order, e.ID)
}

// decide settles the stepping execution e's request to enter a stage (and
// its end) with the locks, and what that does to the others.
func (w *lockWrite) decide(ctx context.Context, e *Execution, d Decision) (Decision, error) {
	for guard := 0; d.Enter != ""; guard++ {
		if guard > len(e.Stages) {
			return d, errs.Of(errs.Internal, errs.KindNone, "execution %s: entering stages did not settle", e.ID)
		}
		stage := d.Enter
		res, err := Enter(w.locks, Arrival{ExecutionID: e.ID, Mode: e.Pipeline.EffectiveExecutionMode(), Lane: e.Lane, Started: e.StartTime, Stage: stage}, w.now)
		if err != nil {
			return d, err
		}
		for _, id := range res.Superseded {
			if err := w.end(ctx, id, Superseded, fmt.Sprintf("superseded by the more recent execution %s, which waits to enter stage %q", e.ID, stage)); err != nil {
				return d, err
			}
		}
		if err := w.resume(ctx, res.Resume); err != nil {
			return d, err
		}
		switch res.Outcome {
		case Entered:
			env := w.env
			env.Admitted = stage
			d = Advance(e, env)
		case Waits:
			if e.Wait == nil || e.Wait.Stage != stage || e.Wait.Reason != res.Reason {
				e.Wait = &Wait{Stage: stage, Reason: res.Reason, Since: w.now}
			}
			d = Decision{Status: e.Status, Wait: e.Wait}
		case Overtaken:
			e.Wait = nil
			d = finish(e, Superseded, fmt.Sprintf("superseded: a more recent execution waits to enter stage %q", stage), w.now)
		}
	}
	if d.Terminal {
		if err := w.resume(ctx, End(w.locks, e.ID, w.now).Resume); err != nil {
			return d, err
		}
	}
	return d, nil
}

// resume clears the wait of executions handed a stage; their driver
// continues them once the write is saved.
func (w *lockWrite) resume(ctx context.Context, rs []Resume) error {
	for _, r := range rs {
		o, err := w.other(ctx, r.ExecutionID)
		if err != nil {
			return err
		}
		if o.Status.Terminal() {
			// Ended meanwhile without giving up its place (a record
			// written by another writer's mistake, or a crash): it must
			// not hold the stage. Hand it on.
			if err := w.resume(ctx, End(w.locks, o.ID, w.now).Resume); err != nil {
				return err
			}
			continue
		}
		o.Wait = nil
		w.touch(o)
	}
	return nil
}

// end ends a waiting execution at once with status (Superseded,
// Cancelled) and gives up what it held.
func (w *lockWrite) end(ctx context.Context, id string, status Status, summary string) error {
	o, err := w.other(ctx, id)
	if err != nil || o.Status.Terminal() {
		return err
	}
	w.touch(o)
	o.Wait = nil
	for i := range o.Stages {
		if o.Stages[i].Status == InProgress {
			o.Stages[i].Status = status
			o.Stages[i].EndTime = w.now
		}
	}
	for r := range o.EveryRun() {
		if r.Status == InProgress {
			// None should run (a waiting execution is between stages);
			// never leave one running on an ended execution.
			r.Status, r.ErrorCode, r.ErrorMessage, r.EndTime, r.LastUpdateTime = Abandoned, CodeAbandoned, "the execution ended ("+string(status)+")", w.now, w.now
		}
	}
	o.LastUpdateTime = w.now
	finish(o, status, summary, w.now)
	return w.resume(ctx, End(w.locks, id, w.now).Resume)
}

// cancelAfterActions asks an execution to end Cancelled once its running
// actions have ended (at once when none runs).
func (w *lockWrite) cancelAfterActions(ctx context.Context, id, reason string) error {
	o, err := w.other(ctx, id)
	if err != nil || o.Status.Terminal() || (o.Stop != nil && o.Stop.Cancel) {
		return err
	}
	w.touch(o)
	if o.Stop == nil {
		o.Stop = &StopRequest{Reason: reason, At: w.now, Cancel: true}
	} else {
		stop := *o.Stop
		stop.Cancel = true
		o.Stop = &stop
	}
	if d := Advance(o, w.env); d.Terminal {
		return w.resume(ctx, End(w.locks, id, w.now).Resume)
	}
	return nil
}

// LockOp changes a pipeline's stage locks record (DisableTransition,
// EnableTransition, PipelineUpdated) and says what that does to executions.
type LockOp func(l *PipelineLocks, now time.Time) (Effects, error)

// Effects are what a LockOp decided for executions.
type Effects struct {
	Resume []Resume
	// Cancel are waiting executions to end Cancelled now; CancelAfter
	// are executions to end Cancelled once their running actions end.
	Cancel, CancelAfter []string
	// Reason is the summary of the cancellations.
	Reason string
}

// Control applies op to the stage locks of a pipeline and its effects to
// the executions it names, in one atomic write (retrying from the load on a
// conflict), and returns the executions it changed, for the driver to
// resume or publish as for Decision.Changed.
func Control(ctx context.Context, ls LockStore, pipelineName string, env Env, op LockOp) ([]*Execution, error) {
	return control(ctx, ls, pipelineName, env, op, true)
}

func control(ctx context.Context, ls LockStore, pipelineName string, env Env, op LockOp, batching bool) ([]*Execution, error) {
	for attempt := 0; ; attempt++ {
		w, err := loadLocks(ctx, ls, pipelineName, env)
		if err != nil {
			return nil, err
		}
		eff, err := op(w.locks, w.now)
		if err != nil {
			return nil, err
		}
		if err := w.resume(ctx, eff.Resume); err != nil {
			return nil, err
		}
		for _, id := range eff.Cancel {
			if err := w.end(ctx, id, Cancelled, "cancelled: "+eff.Reason); err != nil {
				return nil, err
			}
		}
		for _, id := range eff.CancelAfter {
			if err := w.cancelAfterActions(ctx, id, eff.Reason); err != nil {
				return nil, err
			}
		}
		if !w.dirty() {
			return nil, nil
		}
		err = ls.UpdateLocks(ctx, w.locks, w.changedOthers())
		if err == nil {
			return w.changedOthers(), nil
		}
		if batching && errs.Is(err, errs.LimitExceeded) && len(eff.Cancel)+len(eff.CancelAfter) > controlBatch {
			// More executions than one atomic write of the store takes
			// (DynamoDB: 100 items): cancel them in batches, each its own
			// atomic write, then apply the op to what is left.
			done, err := cancelInBatches(ctx, ls, pipelineName, env, eff)
			if err != nil {
				return done, err
			}
			rest, err := control(ctx, ls, pipelineName, env, op, false)
			return append(done, rest...), err
		}
		if !errs.Is(err, errs.Conflict) || attempt >= MaxConflictRetries {
			return nil, fmt.Errorf("saving the stage locks of pipeline %s: %w", pipelineName, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// Disable, Enable and Updated are the LockOps of DisableStageTransition,
// EnableStageTransition and UpdatePipeline.
func Disable(stage, reason, by string) LockOp {
	return func(l *PipelineLocks, now time.Time) (Effects, error) {
		return Effects{}, DisableTransition(l, stage, reason, by, now)
	}
}

// Enable is EnableStageTransition's LockOp: the waiters go on, or are
// cancelled when the transition was disabled too long.
func Enable(stage string) LockOp {
	return func(l *PipelineLocks, now time.Time) (Effects, error) {
		r := EnableTransition(l, stage, now)
		return Effects{Resume: r.Resume, Cancel: r.Expired,
			Reason: fmt.Sprintf("the transition into stage %q was disabled for more than %d days", stage, int(TransitionResumeLimit.Hours()/24))}, nil
	}
}

// Updated is UpdatePipeline's LockOp (CodePipeline's rules for the
// executions of a pipeline whose declaration changes).
func Updated() LockOp {
	return func(l *PipelineLocks, now time.Time) (Effects, error) {
		r := PipelineUpdated(l)
		return Effects{Cancel: r.CancelNow, CancelAfter: r.CancelAfterActions, Reason: "the pipeline was updated"}, nil
	}
}

// controlBatch is how many executions one batch of cancelInBatches changes:
// with the locks record and what the cancellations hand on, well within
// DynamoDB's 100 items of a transaction.
const controlBatch = 40

// cancelInBatches carries out the cancellations of eff a batch at a time:
// each batch takes its executions out of the locks record and cancels them
// in one atomic write.
func cancelInBatches(ctx context.Context, ls LockStore, pipelineName string, env Env, eff Effects) ([]*Execution, error) {
	var changed []*Execution
	for len(eff.Cancel)+len(eff.CancelAfter) > 0 {
		var now, after []string
		n := min(len(eff.Cancel), controlBatch)
		now, eff.Cancel = eff.Cancel[:n], eff.Cancel[n:]
		m := min(len(eff.CancelAfter), controlBatch-n)
		after, eff.CancelAfter = eff.CancelAfter[:m], eff.CancelAfter[m:]
		batch := func(l *PipelineLocks, at time.Time) (Effects, error) {
			for _, id := range now {
				End(l, id, at) // a waiter: nothing to hand on
			}
			return Effects{Cancel: now, CancelAfter: after, Reason: eff.Reason}, nil
		}
		got, err := control(ctx, ls, pipelineName, env, batch, false)
		changed = append(changed, got...)
		if err != nil {
			return changed, err
		}
	}
	return changed, nil
}
