package engine

import (
	"context"
	"fmt"

	"github.com/stageflow/stageflow/shared/errs"
)

// ExecutionStore is the narrow store interface the engine needs.
// UpdateExecution must write only when the stored Version equals e.Version,
// return an errs.Conflict error otherwise, and set e.Version to the new value
// on success.
type ExecutionStore interface {
	GetExecution(ctx context.Context, id string) (*Execution, error)
	UpdateExecution(ctx context.Context, e *Execution) error
}

// MaxConflictRetries bounds Step's retries on version conflicts.
const MaxConflictRetries = 20

// Event changes an execution before it is advanced (an action's completion,
// a stop request, …). It returns an error to abort the step without saving.
type Event func(e *Execution) error

// Step loads an execution, applies the event (nil: none), advances it and
// saves it with a version check, retrying from the load when another writer
// got there first. Both drivers call it for every change of an execution.
func Step(ctx context.Context, st ExecutionStore, id string, ev Event, env Env) (*Execution, Decision, error) {
	for attempt := 0; ; attempt++ {
		e, err := st.GetExecution(ctx, id)
		if err != nil {
			return nil, Decision{}, err
		}
		before := e.Version
		if ev != nil {
			if err := ev(e); err != nil {
				return e, Decision{}, err
			}
		}
		d := Advance(e, env)
		e.Version = before
		err = st.UpdateExecution(ctx, e)
		if err == nil {
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
