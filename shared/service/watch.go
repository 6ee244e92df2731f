package service

import (
	"context"
	"sync"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
)

// Watch is an execution and a subscription to its changes, for the
// streaming operations (server-sent events, log following).
type Watch struct {
	// Execution is the state when the watch began.
	Execution *engine.Execution
	// Changes delivers newer states as the driver saves them; nil when the
	// service has no Events hub (then Reload is the only way to learn of
	// changes).
	Changes <-chan *engine.Execution

	svc     *Service
	cancel  func()
	secrets secretProps // masked in every state the watch hands out
}

// Reload reads the execution's current state (the watch was authorized
// when it began).
func (w *Watch) Reload(ctx context.Context) (*engine.Execution, error) {
	e, err := w.svc.store.GetExecution(ctx, w.Execution.ID)
	if err != nil {
		return nil, err
	}
	return w.secrets.maskExecution(e.WithoutDriverTokens()), nil
}

// Close ends the subscription.
func (w *Watch) Close() {
	if w.cancel != nil {
		w.cancel()
	}
}

// watch subscribes to an execution before reading it, so that no change
// between the read and the subscription is missed.
func (s *Service) watch(ctx context.Context, name, id string, subscribe bool) (*Watch, error) {
	w := &Watch{svc: s}
	if subscribe && s.events != nil {
		w.Changes, w.cancel = s.events.Subscribe(id)
	}
	e, err := s.execution(ctx, name, id)
	if err != nil {
		w.Close()
		return nil, err
	}
	if w.secrets, err = s.secretsOf(ctx, &e.Pipeline); err != nil {
		w.Close()
		return nil, err
	}
	w.Execution = w.secrets.maskExecution(e.WithoutDriverTokens())
	w.maskChanges()
	return w, nil
}

// maskChanges relays the subscription's states with their secrets masked
// (the hub hands out the records as the driver saved them). The relay ends
// when the subscription's channel closes or the watch is closed.
func (w *Watch) maskChanges() {
	if len(w.secrets) == 0 || w.Changes == nil {
		return
	}
	src, out, done := w.Changes, make(chan *engine.Execution, 1), make(chan struct{})
	cancel := w.cancel
	var once sync.Once
	w.cancel = func() {
		once.Do(func() {
			close(done)
			cancel()
		})
	}
	go func() {
		defer close(out)
		for e := range src {
			select {
			case out <- w.secrets.maskExecution(e):
			case <-done:
				return
			}
		}
	}()
	w.Changes = out
}

// WatchExecution begins watching an execution of a pipeline.
func (s *Service) WatchExecution(ctx context.Context, name, id string) (*Watch, error) {
	if err := s.authorize(ctx, OpWatchExecution, s.PipelineArn(name)); err != nil {
		return nil, err
	}
	return s.watch(ctx, name, id, true)
}

// ActionLog finds the action run whose log is asked for; with follow, the
// returned watch also delivers the execution's changes. The log itself is
// the driver's (a file at the run's LogLocation locally).
func (s *Service) ActionLog(ctx context.Context, name, id, runID string, follow bool) (*Watch, *engine.ActionRun, error) {
	if err := s.authorize(ctx, OpGetActionLogs, s.PipelineArn(name)); err != nil {
		return nil, nil, err
	}
	w, err := s.watch(ctx, name, id, follow)
	if err != nil {
		return nil, nil, err
	}
	run, ok := w.Execution.Run(runID)
	if !ok {
		w.Close()
		return nil, nil, errs.Of(errs.NotFound, errs.KindActionExecution, "execution %s has no action run %q", id, runID)
	}
	return w, run, nil
}
