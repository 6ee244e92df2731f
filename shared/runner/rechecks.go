package runner

import (
	"github.com/stageflow/stageflow/shared/engine"
)

// Rechecks: an execution whose stage condition waits for a time (a closed
// deployment window) is continued then — one timer per execution, the
// latest time asked for replacing an earlier one; never a poll. After a
// restart, Resume steps the execution, which asks again.

// recheck is an armed recheck timer.
type recheck struct {
	id   *struct{} // identity: a timer that fires after it was replaced does nothing
	stop func()
}

// armRecheck continues e at d.RecheckAt, if it asks for one.
func (r *Runner) armRecheck(e *engine.Execution, d engine.Decision) {
	if d.Terminal || d.RecheckAt.IsZero() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if old, ok := r.rechecks[e.ID]; ok {
		old.stop()
	}
	id, me := e.ID, new(struct{})
	stop := r.timeouts.after(max(d.RecheckAt.Sub(r.env.Now()), 0), func() {
		r.mu.Lock()
		cur, ok := r.rechecks[id]
		if !ok || cur.id != me || r.closed {
			r.mu.Unlock()
			return
		}
		delete(r.rechecks, id)
		r.wg.Add(1) // under r.mu, before Close can see closed and wait
		r.mu.Unlock()
		defer r.wg.Done()
		if err := r.Continue(r.ctx, id); err != nil {
			r.log.Error("evaluating a stage condition again", "execution", id, "err", err)
		}
	})
	r.rechecks[id] = recheck{id: me, stop: stop}
}

// stopRechecks stops every recheck timer (Close).
func (r *Runner) stopRechecks() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, rc := range r.rechecks {
		rc.stop()
		delete(r.rechecks, id)
	}
}
