package sfn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// AdvanceInput is the event of the advance function: the state between the
// steps (Advance), or the Park task's payload (ParkToken set).
type AdvanceInput struct {
	ExecutionID string `json:"executionId"`
	// Ended is the Wave state's result: how each Dispatch task ended.
	Ended     []Ended `json:"ended,omitempty"`
	ParkToken string  `json:"parkToken,omitempty"`
}

// Ended is how one iteration of the Wave ended: the task output sent by
// Complete, or {runId, timedOut} when the task timed out.
type Ended struct {
	RunID    string        `json:"runId"`
	Status   engine.Status `json:"status,omitempty"`
	TimedOut bool          `json:"timedOut,omitempty"`
}

// AdvanceOutput is what Advance returns, the state the Route choice reads.
type AdvanceOutput struct {
	ExecutionID string     `json:"executionId"`
	Next        string     `json:"next"`
	Wave        []WaveItem `json:"wave"`
	// ParkSeconds bounds the Park that follows (next park; 0 otherwise, and
	// always present: the state machine selects it): the time until
	// a stage condition asks to be evaluated again, at most
	// ParkTimeoutSeconds.
	ParkSeconds int `json:"parkSeconds"`
}

// WaveItem is one action run of the wave: the input of its Dispatch task.
type WaveItem struct {
	ExecutionID    string `json:"executionId"`
	RunID          string `json:"runId"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
}

// DispatchInput is the event of the dispatch function.
type DispatchInput struct {
	ExecutionID string `json:"executionId"`
	RunID       string `json:"runId"`
	TaskToken   string `json:"taskToken"`
}

// HandleAdvance is the advance function's handler: Park for a Park task's
// payload, Advance otherwise.
func (d *Driver) HandleAdvance(ctx context.Context, in AdvanceInput) (AdvanceOutput, error) {
	if in.ParkToken != "" {
		return AdvanceOutput{ExecutionID: in.ExecutionID, Next: NextPark, Wave: []WaveItem{}}, d.Park(ctx, in.ExecutionID, in.ParkToken)
	}
	return d.Advance(ctx, in)
}

// Advance is the engine's step for the state machine: it fails the runs
// whose Dispatch task timed out, advances the execution through the store
// (engine.Step), and returns what to do next — the wave (every action run
// in progress, which the engine has just started), park (nothing in
// progress, not ended) or done.
func (d *Driver) Advance(ctx context.Context, in AdvanceInput) (AdvanceOutput, error) {
	out := AdvanceOutput{ExecutionID: in.ExecutionID, Wave: []WaveItem{}}
	if in.ExecutionID == "" {
		return out, errs.Of(errs.Validation, errs.KindNone, "advance: the event names no executionId")
	}
	var timedOut []string
	for _, x := range in.Ended {
		if x.TimedOut {
			timedOut = append(timedOut, x.RunID)
		}
	}
	ev := func(e *engine.Execution) error {
		for _, id := range timedOut {
			run, ok := e.Run(id)
			if !ok || run.Status != engine.InProgress {
				continue // its result arrived meanwhile
			}
			res := engine.TimedOut(run)
			if err := engine.Complete(id, res, d.env.Now())(e); err != nil && !errs.Is(err, errs.InvalidState) {
				return err
			}
		}
		return nil
	}
	e, dec, err := engine.Step(ctx, d.store, in.ExecutionID, ev, d.env)
	if errs.Is(err, errs.NotFound) {
		// Deleted with its pipeline (which abandons it first): nothing is left to drive.
		d.log.Info("execution gone; the state machine ends", "execution", in.ExecutionID)
		out.Next = NextDone
		return out, nil
	}
	if err != nil {
		return out, err
	}
	d.changed(e)
	d.propagate(ctx, dec)
	if dec.Terminal {
		out.Next = NextDone
		return out, nil
	}
	for run := range e.EveryRun() {
		if run.Status == engine.InProgress {
			out.Wave = append(out.Wave, WaveItem{ExecutionID: e.ID, RunID: run.ID, TimeoutSeconds: timeoutSeconds(run, d.env.Now())})
		}
	}
	if len(out.Wave) == 0 {
		out.Next = NextPark
		out.ParkSeconds = ParkTimeoutSeconds
		if !dec.RecheckAt.IsZero() {
			out.ParkSeconds = min(ParkTimeoutSeconds, max(1, int(math.Ceil(dec.RecheckAt.Sub(d.env.Now()).Seconds()))))
		}
	} else {
		out.Next = NextWave
	}
	return out, nil
}

// timeoutSeconds is how long the state machine waits for a run's result:
// the time left until its engine.Deadline, in whole seconds rounded up, at
// least one (a run past its deadline times out at once and Advance fails it).
func timeoutSeconds(run *engine.ActionRun, now time.Time) int {
	left := engine.Deadline(run).Sub(now)
	secs := int((left + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// Park keeps the Park task's token on the execution, to be sent by
// Continue; when the execution is not parked any more (Continue came first,
// or it ended) it sends the token at once instead.
func (d *Driver) Park(ctx context.Context, executionID, token string) error {
	if executionID == "" {
		return errs.Of(errs.Validation, errs.KindNone, "park: the event names no executionId")
	}
	wake := false
	err := d.update(ctx, executionID, func(e *engine.Execution) (bool, error) {
		if !parked(e) {
			wake = true
			return false, nil
		}
		e.ParkToken = token
		return true, nil
	})
	if err != nil {
		return err
	}
	if wake {
		return d.send(ctx, token, []TaskOutput{})
	}
	return nil
}

// Dispatch starts one action run with its task token: it keeps the token
// on the run (so that Complete can send it), then hands the run to its
// provider. A provider that leaves the run waiting (approvals, custom
// actions served by job workers) ends the call; a result a provider returns
// at once (a failure, usually) is recorded with Complete. A run that has
// ended already (a result came before, or it was abandoned) gets its token
// sent at once.
func (d *Driver) Dispatch(ctx context.Context, in DispatchInput) error {
	if in.ExecutionID == "" || in.RunID == "" || in.TaskToken == "" {
		return errs.Of(errs.Validation, errs.KindNone, "dispatch: the event needs executionId, runId and taskToken")
	}
	var run engine.ActionRun
	var action pipeline.Action
	var pipelineName string
	ended := false
	err := d.update(ctx, in.ExecutionID, func(e *engine.Execution) (bool, error) {
		r, ok := e.Run(in.RunID)
		if !ok {
			return false, errs.Of(errs.NotFound, errs.KindActionExecution, "execution %s has no action run %s", in.ExecutionID, in.RunID)
		}
		run, pipelineName, ended = *r, e.PipelineName, r.Status.Terminal()
		action, _ = e.ActionOf(r)
		if ended || r.CallbackToken == in.TaskToken {
			return false, nil
		}
		r.CallbackToken = in.TaskToken
		return true, nil
	})
	if err != nil {
		return err
	}
	if ended {
		return d.send(ctx, in.TaskToken, TaskOutput{RunID: run.ID, Status: run.Status})
	}
	run.CallbackToken = ""
	res := d.start(ctx, pipelineName, in.ExecutionID, run, action)
	if res == nil {
		return nil // the result arrives through Complete
	}
	if res.Status != engine.Succeeded && res.ErrorMessage == "" {
		res.ErrorMessage = fmt.Sprintf("%s failed", run.Action)
	}
	err = d.Complete(ctx, in.ExecutionID, run.ID, *res)
	if errs.Is(err, errs.InvalidState) {
		return nil // it ended meanwhile (abandoned)
	}
	return err
}

// start hands a run to its provider.
func (d *Driver) start(ctx context.Context, pipelineName, executionID string, run engine.ActionRun, action pipeline.Action) (res *engine.Result) {
	defer func() {
		if p := recover(); p != nil {
			res = actions.Failed(engine.CodeJobFailed, "the provider of %s crashed: %v", run.Type, p)
		}
	}()
	if d.providers == nil {
		return actions.Failed("ConfigurationError", "no action providers are configured")
	}
	p, err := d.providers.Lookup(run.Type)
	if err != nil {
		return actions.Failed("ConfigurationError", "%v", err)
	}
	job := &actions.Job{
		PipelineName: pipelineName, ExecutionID: executionID, Run: run, Action: action,
		Log: logWriter{d: d, executionID: executionID, runID: run.ID}, Artifacts: d.artifacts,
	}
	return p.Run(ctx, job)
}

// logWriter sends what a provider writes to its log to the driver's logger
// (CloudWatch Logs, deployed).
type logWriter struct {
	d                  *Driver
	executionID, runID string
}

func (w logWriter) Write(p []byte) (int, error) {
	w.d.log.Info("action log", "execution", w.executionID, "run", w.runID, "text", string(p))
	return len(p), nil
}

// ErrNotYet is in the message of action types the deployed Stageflow cannot
// run yet.
var ErrNotYet = errors.New("is not run by the deployed Stageflow yet")
