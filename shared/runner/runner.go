// Package runner is the local driver of the engine: it starts executions,
// runs each wave of action runs in goroutines through their providers, feeds
// every completion back through engine.Step, and on start resumes every
// execution the store still has in progress.
package runner

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
)

// Store is what the runner needs of the store.
type Store interface {
	engine.ExecutionStore
	ListActiveExecutions(ctx context.Context) ([]string, error)
}

// Runner drives executions on this machine.
type Runner struct {
	store     Store
	providers *actions.Registry
	artifacts actions.Artifacts
	env       engine.Env
	dataDir   string
	log       *slog.Logger

	// OnChange, when set, is called after every saved change of an
	// execution with a copy of the new state. It must not block for long.
	OnChange func(e *engine.Execution)

	mu      sync.Mutex
	waiters map[string][]chan *engine.Execution
	// running maps the ID of every action run handed to a provider by this
	// runner, or queued for a slot, and not yet returned, to the cancel
	// function of its context.
	running map[string]context.CancelFunc
	// closed is set by Close: no more action runs are dispatched; closing
	// is closed then, which ends the waits of queued runs.
	closed  bool
	closing chan struct{}
	// slots holds a token for every machine-bound run under way (nil: no
	// cap); see slots.go.
	slots chan struct{}
	// keepFailed is how long the work directory of a run that did not
	// succeed is kept (see workdirs.go).
	keepFailed time.Duration
	// lingering holds ended executions whose work folder was not empty
	// when they ended (a run still removing its directory, or one kept):
	// the run that empties it removes it (see workdirs.go).
	lingering map[string]struct{}
	wg        sync.WaitGroup
	// stepping serializes this runner's steps of one execution (striped by
	// ID): they would only conflict and retry otherwise (see step).
	stepping [64]sync.Mutex
	ctx      context.Context
	cancel   context.CancelFunc
	// timeouts holds the armed action timeouts (see timeouts.go).
	timeouts *timers
	// rechecks are the armed timers of executions whose stage condition
	// waits for a time (rechecks.go), under mu.
	rechecks map[string]recheck
}

// Config configures a Runner.
type Config struct {
	Store     Store
	Providers *actions.Registry
	Artifacts actions.Artifacts
	Env       engine.Env
	// DataDir holds logs/ and work/ for action runs.
	DataDir string
	Logger  *slog.Logger
	// MaxParallelActions caps the runs of machine-bound providers
	// (actions.MachineBound) under way at once; the others wait in a queue.
	// Zero means no cap.
	MaxParallelActions int
	// KeepFailedWork is how long the work directory of a run that did not
	// succeed is kept for the user to look at before PruneWork removes it;
	// zero removes it when the run ends, as for a run that succeeded.
	KeepFailedWork time.Duration
	// After arms the action timeouts (see timeouts.go); nil: time.AfterFunc.
	After AfterFunc
}

// New makes a runner. Close stops it.
func New(cfg Config) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Runner{
		store: cfg.Store, providers: cfg.Providers, artifacts: cfg.Artifacts, env: cfg.Env,
		dataDir: cfg.DataDir, log: lg, waiters: map[string][]chan *engine.Execution{},
		running: map[string]context.CancelFunc{}, closing: make(chan struct{}),
		keepFailed: cfg.KeepFailedWork, lingering: map[string]struct{}{}, rechecks: map[string]recheck{},
		ctx: ctx, cancel: cancel,
	}
	if cfg.MaxParallelActions > 0 {
		r.slots = make(chan struct{}, cfg.MaxParallelActions)
	}
	r.timeouts = newTimers(cfg.After)
	if r.env.LogLocation == nil {
		r.env.LogLocation = r.LogPath
	}
	return r
}

// Begin drives a newly created execution from its first step (the
// service creates the record). The first wave starts in goroutines.
func (r *Runner) Begin(ctx context.Context, executionID string) error {
	return r.stepErr(context.WithoutCancel(ctx), executionID, nil)
}

// Continue advances an execution that waits on something other than its own
// actions (a stage lock, a disabled transition) and dispatches what the
// engine decides; for one that is not waiting it is a plain step.
func (r *Runner) Continue(ctx context.Context, executionID string) error {
	return r.stepErr(context.WithoutCancel(ctx), executionID, nil)
}

// Apply applies an event to an execution that is going on (a stage
// condition overridden) and dispatches what the engine decides.
func (r *Runner) Apply(ctx context.Context, executionID string, ev engine.Event) error {
	return r.stepErr(context.WithoutCancel(ctx), executionID, ev)
}

// Retry applies an event that drives an ended execution again (a stage
// retry) and dispatches what the engine decides.
func (r *Runner) Retry(ctx context.Context, executionID string, ev engine.Event) error {
	r.mu.Lock()
	delete(r.lingering, executionID) // it is going on again: its folder is in use
	r.mu.Unlock()
	return r.stepErr(context.WithoutCancel(ctx), executionID, ev)
}

// Control applies a change of a pipeline's stage locks (a transition
// disabled or enabled, the pipeline updated) and resumes or publishes the
// executions it changed.
func (r *Runner) Control(ctx context.Context, pipelineName string, op engine.LockOp) error {
	ls, ok := r.store.(engine.LockStore)
	if !ok {
		return errs.New(errs.Unsupported, "this store keeps no stage locks")
	}
	changed, err := engine.Control(context.WithoutCancel(ctx), ls, pipelineName, r.env, op)
	if err != nil {
		return err
	}
	r.others(changed)
	return nil
}

// others publishes the executions a step or a Control changed besides its
// own: the ended ones end here, the resumed ones continue in the
// background.
func (r *Runner) others(changed []*engine.Execution) {
	for _, c := range changed {
		if c.Status.Terminal() {
			r.after(c, engine.Decision{Status: c.Status, Terminal: true})
			continue
		}
		if r.OnChange != nil {
			r.OnChange(c)
		}
		if c.Wait != nil {
			continue // still waiting (a cancellation after its actions, say)
		}
		r.mu.Lock()
		closed := r.closed
		if !closed {
			r.wg.Add(1)
		}
		r.mu.Unlock()
		if closed {
			continue // Resume continues it at the next start
		}
		go func(id string) {
			defer r.wg.Done()
			if err := r.Continue(r.ctx, id); err != nil {
				r.log.Error("resuming an execution handed a stage", "execution", id, "err", err)
			}
		}(c.ID)
	}
}

// Complete reports the end of an action run (a job worker's result, an
// approval) and advances its execution.
func (r *Runner) Complete(ctx context.Context, executionID, runID string, res engine.Result) error {
	return r.stepErr(ctx, executionID, engine.Complete(runID, res, r.env.Now()))
}

// Stop asks an execution to stop, for by (who asked, or ""): abandon
// stops at once, otherwise the running actions finish first.
func (r *Runner) Stop(ctx context.Context, executionID string, abandon bool, reason, by string) error {
	return r.stepErr(ctx, executionID, engine.RequestStop(abandon, reason, by, r.env.Now()))
}

// Resume picks up every execution left in progress: runs whose provider can
// resume keep waiting on their token, runs never handed to a provider (no
// log location) are started, the others are failed as interrupted; then each
// execution advances. Runs this runner is running itself are left alone.
func (r *Runner) Resume(ctx context.Context) (int, error) {
	ids, err := r.store.ListActiveExecutions(ctx)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		e, err := r.store.GetExecution(ctx, id)
		if err != nil {
			return 0, err
		}
		var interrupted []string
		var restart []engine.ActionRun
		for rp := range e.EveryRun() {
			run := *rp
			if run.Status != engine.InProgress || r.isRunning(run.ID) {
				continue
			}
			if !r.handedOver(e.ID, &run) {
				// Never handed to its provider: start it now.
				restart = append(restart, run)
				continue
			}
			p, err := r.providers.Lookup(run.Type)
			if err == nil && p.Resumable() {
				r.armTimeout(e.ID, &run, engine.Deadline(&run))
				continue
			}
			interrupted = append(interrupted, run.ID)
		}
		ev := func(e *engine.Execution) error {
			for _, runID := range interrupted {
				res := engine.Result{Status: engine.Failed, ErrorCode: engine.CodeInterrupted, ErrorMessage: "interrupted: Stageflow stopped while this action was running"}
				if err := engine.Complete(runID, res, r.env.Now())(e); err != nil && !errs.Is(err, errs.InvalidState) {
					return err
				}
			}
			return nil
		}
		r.log.Info("resuming execution", "execution", id, "pipeline", e.PipelineName, "interrupted", len(interrupted), "restarted", len(restart))
		e, d, err := r.step(ctx, id, ev)
		if err != nil {
			return 0, err
		}
		for _, run := range restart {
			// The step may have ended it (a stop with abandon).
			if cur, ok := e.Run(run.ID); ok && cur.Status == engine.InProgress {
				d.Wave = append(d.Wave, *cur)
			}
		}
		r.after(e, d)
	}
	return len(ids), nil
}

// Wait blocks until the execution ends and returns its final state.
func (r *Runner) Wait(ctx context.Context, executionID string) (*engine.Execution, error) {
	ch := make(chan *engine.Execution, 1)
	r.mu.Lock()
	r.waiters[executionID] = append(r.waiters[executionID], ch)
	r.mu.Unlock()
	defer r.dropWaiter(executionID, ch)
	// It may have ended before we registered.
	if e, err := r.store.GetExecution(ctx, executionID); err != nil {
		return nil, err
	} else if e.Status.Terminal() {
		return e, nil
	}
	select {
	case e := <-ch:
		return e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dropWaiter unregisters a waiter that did not get its execution through
// the channel (it ended before, or the wait was given up).
func (r *Runner) dropWaiter(executionID string, ch chan *engine.Execution) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keep []chan *engine.Execution
	for _, w := range r.waiters[executionID] {
		if w != ch {
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		delete(r.waiters, executionID)
	} else {
		r.waiters[executionID] = keep
	}
}

// Closing reports whether Close has been called: from then on no action run
// is handed to a provider.
func (r *Runner) Closing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Close stops dispatching and waits for the running actions to end, up to
// ctx's deadline; then it cancels those still running (their runs end as
// interrupted) and waits for their goroutines. Action runs that become due
// after Close began, and runs queued for a slot, stay InProgress in the store
// without a log file, never handed to a provider: Resume starts them.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.closing)
	}
	r.mu.Unlock()
	r.timeouts.close()
	r.stopRechecks()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		r.cancel()
		return nil
	case <-ctx.Done():
		r.cancel()
		<-done
		return ctx.Err()
	}
}

// step is engine.Step under the lock of the execution's stripe. The store's
// version check keeps steps of one execution from losing each other's
// changes, at the price of a retry for every conflict; concurrent steps of
// this runner (the completions of a wave, queued runs getting their slots)
// would otherwise retry in lockstep, and a step could lose the race more
// often than engine.MaxConflictRetries allows and fail. Writers in other
// processes (none with the embedded store) are still met by the version
// check.
func (r *Runner) step(ctx context.Context, id string, ev engine.Event) (*engine.Execution, engine.Decision, error) {
	h := fnv.New32a()
	h.Write([]byte(id))
	mu := &r.stepping[h.Sum32()%uint32(len(r.stepping))]
	mu.Lock()
	defer mu.Unlock()
	return engine.Step(ctx, r.store, id, ev, r.env)
}

func (r *Runner) stepErr(ctx context.Context, id string, ev engine.Event) error {
	e, d, err := r.step(ctx, id, ev)
	if err != nil {
		return err
	}
	r.after(e, d)
	return nil
}

// after publishes a saved state and dispatches its wave.
func (r *Runner) after(e *engine.Execution, d engine.Decision) {
	defer r.others(d.Changed)
	r.disarmEnded(e)
	r.armRecheck(e, d)
	if r.OnChange != nil {
		r.OnChange(e)
	}
	if e.Stop != nil && e.Stop.Abandon {
		r.cancelAbandoned(e)
	}
	if d.Terminal {
		r.mu.Lock()
		ws := r.waiters[e.ID]
		delete(r.waiters, e.ID)
		r.mu.Unlock()
		for _, ch := range ws {
			ch <- e
		}
		r.log.Info("execution ended", "execution", e.ID, "pipeline", e.PipelineName, "status", e.Status)
		r.removeExecutionWork(e.ID)
		return
	}
	if queued := r.dispatch(e, d.Wave); len(queued) > 0 {
		r.queue(e, queued)
	}
}

// dispatch starts the runs of a wave that need no slot or find one free, and
// registers the others, which it returns for queue.
func (r *Runner) dispatch(e *engine.Execution, wave []engine.ActionRun) (queued []slotted) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		if len(wave) > 0 {
			r.log.Info("closing: action runs left for Resume", "execution", e.ID, "runs", len(wave))
		}
		return nil
	}
	for _, run := range wave {
		slot := r.needsSlot(run)
		if slot && !r.tryAcquire() {
			ctx, cancel := context.WithCancel(r.ctx)
			r.running[run.ID] = cancel
			r.wg.Add(1)
			queued = append(queued, slotted{ctx: ctx, run: run})
			continue
		}
		release := func() {}
		if slot {
			release = r.release
		}
		ctx, cancel := context.WithCancel(r.ctx)
		r.running[run.ID] = cancel
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.finished(run.ID)
			if run.Summary == engine.QueuedSummary {
				// Queued before a restart, and a slot is free now.
				r.unqueue(e, run)
			}
			r.runAction(ctx, e, run, release)
		}()
	}
	return queued
}

// finished forgets a run whose provider has returned.
func (r *Runner) finished(runID string) {
	r.mu.Lock()
	cancel := r.running[runID]
	delete(r.running, runID)
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (r *Runner) isRunning(runID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.running[runID]
	return ok
}

// cancelAbandoned cancels the context of every run of e that was abandoned
// while its provider was still at work, so that its build is killed rather
// than left running after the execution stopped.
func (r *Runner) cancelAbandoned(e *engine.Execution) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for run := range e.EveryRun() {
		if cancel, ok := r.running[run.ID]; ok && run.Status == engine.Abandoned {
			r.log.Info("abandoning action", "execution", e.ID, "action", run.Action)
			cancel()
		}
	}
}

// handedOver reports whether a run was handed to its provider: the runner
// creates the run's log file just before it does.
func (r *Runner) handedOver(executionID string, run *engine.ActionRun) bool {
	_, err := os.Stat(r.LogPath(executionID, run.ID))
	return err == nil
}

// LogPath is where the log of an action run is kept.
func (r *Runner) LogPath(executionID, runID string) string {
	return filepath.Join(r.dataDir, "logs", executionID, runID+".log")
}

// runAction runs one action run through its provider and reports its end.
// ctx is the run's own context: canceled when the runner closes or the run
// is abandoned. release gives the run's slot back; it is called as soon as
// the provider has returned.
func (r *Runner) runAction(ctx context.Context, e *engine.Execution, run engine.ActionRun, release func()) {
	r.armTimeout(e.ID, &run, r.env.Now().Add(engine.ActionTimeout(&run)))
	res := r.execute(ctx, e, run)
	release()
	if res == nil {
		r.endWork(e.ID, run, nil)
		return // the result arrives through the run's token
	}
	if res.LogLocation == "" {
		res.LogLocation = r.LogPath(e.ID, run.ID)
	}
	// Completion must not be lost because the runner is closing: use a
	// context that outlives cancellation. The work directory goes after
	// the completion, so that the next action does not wait for it.
	ended, d, err := r.step(context.WithoutCancel(r.ctx), e.ID, engine.Complete(run.ID, *res, r.env.Now()))
	if err == nil {
		r.after(ended, d)
	} else if !errs.Is(err, errs.InvalidState) {
		r.log.Error("recording action result", "execution", e.ID, "action", run.Action, "err", err)
	}
	r.endWork(e.ID, run, res)
	if (err == nil && d.Terminal) || r.isLingering(e.ID) {
		// The last run of an ended execution to go takes its folder along.
		r.removeExecutionWork(e.ID)
	}
}

func (r *Runner) execute(ctx context.Context, e *engine.Execution, run engine.ActionRun) (res *engine.Result) {
	defer func() {
		if p := recover(); p != nil {
			res = actions.Failed("JobFailed", "the provider of %s crashed: %v", run.Type, p)
		}
	}()
	logPath := r.LogPath(e.ID, run.ID)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return actions.Failed("JobFailed", "creating the log folder: %v", err)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return actions.Failed("JobFailed", "creating the log: %v", err)
	}
	defer logFile.Close()
	p, err := r.providers.Lookup(run.Type)
	if err != nil {
		return actions.Failed("ConfigurationError", "%v", err)
	}
	workDir := r.workDir(e.ID, run.ID)
	if err := r.makeWorkDir(workDir); err != nil {
		return actions.Failed("JobFailed", "creating the work folder: %v", err)
	}
	action, ok := e.ActionOf(&run)
	if !ok {
		return actions.Failed("ConfigurationError", "execution %s has no action for run %s", e.ID, run.ID)
	}
	job := &actions.Job{
		PipelineName: e.PipelineName,
		ExecutionID:  e.ID,
		Run:          run,
		Action:       action,
		WorkDir:      workDir,
		Log:          logFile,
		Artifacts:    r.artifacts,
	}
	res = p.Run(ctx, job)
	if res != nil && res.Status != engine.Succeeded && res.ErrorMessage == "" {
		res.ErrorMessage = fmt.Sprintf("%s failed", run.Action)
	}
	if res != nil && errors.Is(ctx.Err(), context.Canceled) && res.Status != engine.Succeeded {
		res.ErrorCode = engine.CodeInterrupted
	}
	return res
}
