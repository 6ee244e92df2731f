package engine

import (
	"context"
	"fmt"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// ExecutionStore is the narrow store interface the engine needs.
// UpdateExecution must write only when the stored Version equals e.Version,
// return an errs.Conflict error otherwise, and set e.Version to the new value
// on success.
type ExecutionStore interface {
	GetExecution(ctx context.Context, id string) (*Execution, error)
	UpdateExecution(ctx context.Context, e *Execution) error
}

// LockStore is an ExecutionStore that also keeps the stage locks of
// pipelines (store.Store's contract: GetPipelineLocks returns an empty
// record of Version 0 for a pipeline without one; UpdateLocks writes the
// record and the executions in one atomic write, each with its version
// check). Step runs execution modes and transitions only with one.
type LockStore interface {
	ExecutionStore
	GetPipelineLocks(ctx context.Context, pipeline string) (*PipelineLocks, error)
	UpdateLocks(ctx context.Context, locks *PipelineLocks, executions []*Execution) error
}

// MaxConflictRetries bounds Step's retries on version conflicts.
const MaxConflictRetries = 20

// Event changes an execution before it is advanced (an action's completion,
// a stop request, …). It returns an error to abort the step without saving.
type Event func(e *Execution) error

// Step loads an execution, applies the event (nil: none), advances it and
// saves it with a version check, retrying from the load when another writer
// got there first. Both drivers call it for every change of an execution.
//
// With a LockStore, Advance stops in front of every stage and Step decides
// with the pipeline's stage locks (see locks.go): the execution enters, is
// parked (Decision.Wait) or is superseded; an execution that ends gives up
// what it holds. What that does to other executions (handed a stage,
// superseded, cancelled) is written with it in one atomic write and
// returned in Decision.Changed for the driver to resume or publish.
func Step(ctx context.Context, st ExecutionStore, id string, ev Event, env Env) (*Execution, Decision, error) {
	ls, locking := st.(LockStore)
	env.Gated = locking
	for attempt := 0; ; attempt++ {
		e, err := st.GetExecution(ctx, id)
		if err != nil {
			return nil, Decision{}, err
		}
		before := e.Version
		wasTerminal, wasWaiting := e.Status.Terminal(), e.Wait != nil
		if ev != nil {
			if err := ev(e); err != nil {
				return e, Decision{}, err
			}
		}
		d := Advance(e, env)
		var w *lockWrite
		if locking && (d.Enter != "" || (d.Terminal && !wasTerminal && (wasWaiting || takesLocks(e)))) {
			w, err = loadLocks(ctx, ls, e.PipelineName, env)
			if err != nil {
				return nil, Decision{}, err
			}
			w.own = e
			if d, err = w.decide(ctx, e, d); err != nil {
				return nil, Decision{}, err
			}
		}
		e.Version = before
		if w == nil || !w.dirty() {
			err = st.UpdateExecution(ctx, e)
		} else {
			err = ls.UpdateLocks(ctx, w.locks, w.writes(e))
		}
		if err == nil {
			if w != nil {
				d.Changed = w.changedOthers()
			}
			return e, d, nil
		}
		if !errs.Is(err, errs.Conflict) || attempt >= MaxConflictRetries {
			return nil, Decision{}, fmt.Errorf("saving execution %s: %w", id, err)
		}
		if ctx.Err() != nil {
			return nil, Decision{}, ctx.Err()
		}
	}
}

// takesLocks reports whether an execution holds the stages it is in.
func takesLocks(e *Execution) bool {
	return e.Pipeline.EffectiveExecutionMode() != pipeline.ModeParallel
}
