package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
)

// API is what the driver and its handlers need of Step Functions; the SDK's
// *sfn.Client satisfies it.
type API interface {
	StartExecution(ctx context.Context, in *awssfn.StartExecutionInput, opts ...func(*awssfn.Options)) (*awssfn.StartExecutionOutput, error)
	StopExecution(ctx context.Context, in *awssfn.StopExecutionInput, opts ...func(*awssfn.Options)) (*awssfn.StopExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *awssfn.SendTaskSuccessInput, opts ...func(*awssfn.Options)) (*awssfn.SendTaskSuccessOutput, error)
}

var _ API = (*awssfn.Client)(nil)

// Config configures a Driver.
type Config struct {
	// Store holds the executions (the handlers and the Driver share it).
	Store engine.ExecutionStore
	// API is Step Functions.
	API API
	// StateMachineARN is the state machine of Definition. Begin and Stop
	// with abandon need it; the advance and dispatch functions, which the
	// state machine names, do not (so they need not name it back).
	StateMachineARN string
	// Providers start action runs in Dispatch (Providers() is the
	// deployed registry).
	Providers *actions.Registry
	// Artifacts is handed to providers (nil: none).
	Artifacts actions.Artifacts
	Env       engine.Env
	Logger    *slog.Logger
	// OnChange, when set, is called after every change the driver saves.
	OnChange func(e *engine.Execution)
}

// Driver is the Step Functions driver: the service's Driver (Begin,
// Complete, Stop, Continue) and the handlers of the advance and dispatch
// functions (Advance, Dispatch, Park).
//
// Where the tokens live: a Dispatch task's token on its action run
// (engine.ActionRun.CallbackToken), the Park task's token on the execution
// (engine.Execution.ParkToken). Results are always written to the store
// first and the token sent after, so a failed SendTaskSuccess loses nothing
// (the task's timeout ends the wait and Advance finds the result recorded),
// and a duplicate or late completion is harmless: the engine refuses to end
// a run twice, and a token sent twice is refused by Step Functions, which
// the driver ignores.
type Driver struct {
	store     engine.ExecutionStore
	api       API
	machine   string
	execPref  string // the execution ARN of a name is execPref + name
	providers *actions.Registry
	artifacts actions.Artifacts
	env       engine.Env
	log       *slog.Logger
	onChange  func(e *engine.Execution)
}

// stateMachineARN is arn:<partition>:states:<region>:<account>:stateMachine:<name>.
var stateMachineARN = regexp.MustCompile(`^arn:[a-z-]+:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$`)

// executionName is what Step Functions accepts as an execution's name (and
// every execution ID Stageflow makes, a UUID, is one).
var executionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// New makes a Driver.
func New(cfg Config) (*Driver, error) {
	if cfg.Store == nil || cfg.API == nil {
		return nil, errors.New("sfn: the driver needs a store and a Step Functions client")
	}
	if cfg.StateMachineARN != "" && !stateMachineARN.MatchString(cfg.StateMachineARN) {
		return nil, fmt.Errorf("sfn: %q is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)", cfg.StateMachineARN)
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	prefix := strings.Replace(cfg.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":"
	if cfg.Env.Now == nil {
		cfg.Env.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Env.NewID == nil {
		cfg.Env.NewID = uuid.NewString
	}
	return &Driver{
		store: cfg.Store, api: cfg.API, machine: cfg.StateMachineARN, execPref: prefix,
		providers: cfg.Providers, artifacts: cfg.Artifacts, env: cfg.Env, log: lg, onChange: cfg.OnChange,
	}, nil
}

// ExecutionARN is the ARN of the state machine execution that first drove
// the pipeline execution with the given ID (the execution is named after
// it).
func (d *Driver) ExecutionARN(executionID string) string { return d.execPref + executionID }

// MachineARN is the ARN of the state machine execution of e's current
// drive (ExecutionARN until a stage retry drives an ended execution again).
func (d *Driver) MachineARN(e *engine.Execution) string { return d.execPref + machineName(e) }

// machineName names the state machine execution of the current drive of e:
// its ID, and after a restart (a stage retry of an ended execution) the ID
// and the restart's number, since Step Functions never reuses a name.
func machineName(e *engine.Execution) string {
	if e.Restarts == 0 {
		return e.ID
	}
	return fmt.Sprintf("%s-r%d", e.ID, e.Restarts)
}

// errNoMachine is the error of Begin and Stop without a state machine.
var errNoMachine = errors.New("sfn: the driver was configured without a state machine ARN")

// Input is the state machine's input for a pipeline execution.
type Input struct {
	ExecutionID string `json:"executionId"`
}

// Begin takes the first step of a new execution (entering its first stage
// through the stage locks, so that executions take their places in the
// order they were started) and starts the state machine execution named
// after it, which dispatches what that step started. Starting it again is
// harmless: Step Functions returns the running one for the same name and
// input.
func (d *Driver) Begin(ctx context.Context, executionID string) error {
	if d.machine == "" {
		return errNoMachine
	}
	if !executionName.MatchString(executionID) {
		return errs.Of(errs.Validation, errs.KindNone, "execution ID %q cannot name a Step Functions execution (1 to 80 of A-Z a-z 0-9 - _)", executionID)
	}
	e, dec, err := engine.Step(ctx, d.store, executionID, nil, d.env)
	if err != nil {
		return err
	}
	d.changed(e)
	d.propagate(ctx, dec)
	return d.startMachine(ctx, e)
}

// startMachine starts the state machine execution of e's current drive.
func (d *Driver) startMachine(ctx context.Context, e *engine.Execution) error {
	in, _ := json.Marshal(Input{ExecutionID: e.ID})
	_, err := d.api.StartExecution(ctx, &awssfn.StartExecutionInput{
		StateMachineArn: aws.String(d.machine), Name: aws.String(machineName(e)), Input: aws.String(string(in)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("starting the state machine for execution %s: %w", e.ID, err)
	}
	return nil
}

// Apply applies an event to an execution that is going on (a stage
// condition overridden): its step; the task tokens of the runs it ended
// are sent, and a parked execution is woken to advance.
func (d *Driver) Apply(ctx context.Context, executionID string, ev engine.Event) error {
	before, err := d.store.GetExecution(ctx, executionID)
	if err != nil {
		return err
	}
	e, dec, err := engine.Step(ctx, d.store, executionID, ev, d.env)
	if err != nil {
		return err
	}
	d.changed(e)
	d.propagate(ctx, dec)
	for run := range before.EveryRun() {
		if run.Status != engine.InProgress {
			continue
		}
		if err := d.sendRun(ctx, e, run.ID); err != nil {
			return err
		}
	}
	return d.wake(ctx, e, true)
}

// Retry applies an event that drives an ended execution again (a stage
// retry): its step, then a new state machine execution for the new drive.
func (d *Driver) Retry(ctx context.Context, executionID string, ev engine.Event) error {
	if d.machine == "" {
		return errNoMachine
	}
	e, dec, err := engine.Step(ctx, d.store, executionID, ev, d.env)
	if err != nil {
		return err
	}
	d.changed(e)
	d.propagate(ctx, dec)
	return d.startMachine(ctx, e)
}

// Control applies a change of a pipeline's stage locks (a transition
// disabled or enabled, the pipeline updated) and resumes or ends the
// executions it changed.
func (d *Driver) Control(ctx context.Context, pipelineName string, op engine.LockOp) error {
	ls, ok := d.store.(engine.LockStore)
	if !ok {
		return errs.New(errs.Unsupported, "this store keeps no stage locks")
	}
	changed, err := engine.Control(ctx, ls, pipelineName, d.env, op)
	if err != nil {
		return err
	}
	d.propagate(ctx, engine.Decision{Changed: changed})
	return nil
}

// propagate publishes the other executions a step changed and gets their
// state machines going: an ended one's Park task is ended (its machine
// then ends), a resumed one is continued. Failures are logged, not
// returned: the step is saved, and the record says what to do.
func (d *Driver) propagate(ctx context.Context, dec engine.Decision) {
	for _, c := range dec.Changed {
		d.changed(c)
		var err error
		switch {
		case c.Status.Terminal():
			err = d.wake(ctx, c, true)
		case c.Wait == nil:
			err = d.Continue(ctx, c.ID)
		}
		if err != nil {
			d.log.Error("resuming an execution the stage locks changed", "execution", c.ID, "err", err)
		}
	}
}

// Complete records the end of an action run in the store (advancing the
// execution, as the local runner does), then sends the run's task token so
// that its Dispatch task ends. For a run that had ended already it sends
// the token again (making good a send that failed before) and returns the
// engine's InvalidState error, as the local runner does.
func (d *Driver) Complete(ctx context.Context, executionID, runID string, res engine.Result) error {
	e, dec, err := engine.Step(ctx, d.store, executionID, engine.Complete(runID, res, d.env.Now()), d.env)
	if err != nil {
		if errs.Is(err, errs.InvalidState) && e != nil {
			if serr := d.sendRun(ctx, e, runID); serr != nil {
				d.log.Warn("sending the task token of an ended run again", "execution", executionID, "run", runID, "err", serr)
			}
		}
		return err
	}
	d.changed(e)
	d.propagate(ctx, dec)
	if err := d.sendRun(ctx, e, runID); err != nil {
		return err
	}
	return d.wake(ctx, e, false)
}

// Stop records the stop request; with abandon it also stops the state
// machine execution (its waiting Dispatch tasks with it). Without abandon
// the running actions finish and the loop ends through Advance.
func (d *Driver) Stop(ctx context.Context, executionID string, abandon bool, reason, by string) error {
	e, dec, err := engine.Step(ctx, d.store, executionID, engine.RequestStop(abandon, reason, by, d.env.Now()), d.env)
	if err != nil {
		return err
	}
	d.changed(e)
	d.propagate(ctx, dec)
	if abandon {
		if d.machine == "" {
			return errNoMachine
		}
		cause := reason
		if cause == "" {
			cause = "StopPipelineExecution with abandon"
		}
		_, err := d.api.StopExecution(ctx, &awssfn.StopExecutionInput{
			ExecutionArn: aws.String(d.execPref + machineName(e)), Error: aws.String("Abandoned"), Cause: aws.String(truncate(cause, 32768)),
		})
		var missing *types.ExecutionDoesNotExist
		if err != nil && !errors.As(err, &missing) {
			return fmt.Errorf("stopping the state machine of execution %s: %w", executionID, err)
		}
		return nil
	}
	return d.wake(ctx, e, false)
}

// Continue advances an execution that waits on something other than its
// own actions and sends its Park token, so that the state machine advances
// it again and dispatches what the engine decides. A no-op for an
// execution that is not parked (it has no Park token).
func (d *Driver) Continue(ctx context.Context, executionID string) error {
	e, dec, err := engine.Step(ctx, d.store, executionID, nil, d.env)
	if err != nil {
		return err
	}
	d.changed(e)
	d.propagate(ctx, dec)
	return d.wake(ctx, e, true)
}

func (d *Driver) changed(e *engine.Execution) {
	if d.onChange != nil {
		d.onChange(e)
	}
}

// TaskOutput is what a Dispatch task ends with: the run and how it ended
// (identifiers only; the result itself is in the store).
type TaskOutput struct {
	RunID  string        `json:"runId"`
	Status engine.Status `json:"status"`
}

// sendRun sends the task token of an ended run, if it has one.
func (d *Driver) sendRun(ctx context.Context, e *engine.Execution, runID string) error {
	run, ok := e.Run(runID)
	if !ok || run.CallbackToken == "" || !run.Status.Terminal() {
		return nil // Dispatch has not kept a token yet: it sends when it finds the run ended
	}
	return d.send(ctx, run.CallbackToken, TaskOutput{RunID: run.ID, Status: run.Status})
}

// send ends the task of token with output. A task that has ended already
// (timed out, its execution stopped, the token sent before) is no error.
func (d *Driver) send(ctx context.Context, token string, output any) error {
	out, err := json.Marshal(output)
	if err != nil {
		return err
	}
	_, err = d.api.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(out))})
	if taskClosed(err) {
		d.log.Info("task already closed", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("sending a task token: %w", err)
	}
	return nil
}

// taskClosed reports whether err says the token's task is over.
func taskClosed(err error) bool {
	var gone *types.TaskDoesNotExist
	var timedOut *types.TaskTimedOut
	var invalid *types.InvalidToken
	return errors.As(err, &gone) || errors.As(err, &timedOut) || errors.As(err, &invalid)
}

// parked reports whether an execution waits on something other than its
// actions: not ended, and no action run in progress.
func parked(e *engine.Execution) bool {
	if e.Status.Terminal() {
		return false
	}
	for r := range e.EveryRun() {
		if r.Status == engine.InProgress {
			return false
		}
	}
	return true
}

// wake sends the Park token of e, if it has one and e is parked no more
// (always with force), then clears it. Sending comes first: a token sent
// and not cleared is refused by Step Functions the next time, which is
// harmless; a token cleared and not sent would leave the execution parked.
func (d *Driver) wake(ctx context.Context, e *engine.Execution, force bool) error {
	token := e.ParkToken
	if token == "" || (!force && parked(e)) {
		return nil
	}
	if err := d.send(ctx, token, []TaskOutput{}); err != nil {
		return err
	}
	return d.update(ctx, e.ID, func(e *engine.Execution) (bool, error) {
		if e.ParkToken != token {
			return false, nil
		}
		e.ParkToken = ""
		return true, nil
	})
}

// update applies change to the stored execution and saves it with a
// version check, from a fresh read after a conflict. change returns false
// to save nothing.
func (d *Driver) update(ctx context.Context, id string, change func(e *engine.Execution) (bool, error)) error {
	for attempt := 0; ; attempt++ {
		e, err := d.store.GetExecution(ctx, id)
		if err != nil {
			return err
		}
		save, err := change(e)
		if err != nil || !save {
			return err
		}
		err = d.store.UpdateExecution(ctx, e)
		if err == nil {
			d.changed(e)
			return nil
		}
		if !errs.Is(err, errs.Conflict) || attempt >= engine.MaxConflictRetries {
			return fmt.Errorf("saving execution %s: %w", id, err)
		}
	}
}

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
