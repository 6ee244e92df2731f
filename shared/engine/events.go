package engine

import (
	"maps"
	"slices"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// New makes the record of a new execution of a pipeline version. Variables
// are the declared defaults overridden by the given values; a value for an
// undeclared variable, or a declared variable without default and without a
// value, is a Validation error.
func New(id, pipelineName string, version int, p pipeline.Pipeline, overrides map[string]string, trig Trigger, now time.Time) (*Execution, error) {
	vars := map[string]string{}
	declared := map[string]bool{}
	for _, v := range p.Variables {
		declared[v.Name] = true
		if v.DefaultValue != nil {
			vars[v.Name] = *v.DefaultValue
		}
	}
	var problems []errs.Problem
	for k, v := range overrides {
		if !declared[k] {
			problems = append(problems, errs.Problem{Path: "variables." + k, Message: "the pipeline declares no variable of this name"})
			continue
		}
		vars[k] = v
	}
	for _, v := range p.Variables {
		if _, ok := vars[v.Name]; !ok {
			problems = append(problems, errs.Problem{Path: "variables." + v.Name, Message: "the variable has no default value, so a value must be given"})
		}
	}
	if len(problems) > 0 {
		return nil, errs.Invalid("cannot start the execution", problems)
	}
	now = now.UTC()
	e := &Execution{
		ID:              id,
		PipelineName:    pipelineName,
		PipelineVersion: version,
		Pipeline:        p,
		Status:          InProgress,
		Trigger:         trig,
		Variables:       vars,
		StartTime:       now,
		LastUpdateTime:  now,
		Lane:            LaneOf(&p, vars),
	}
	for _, s := range p.Stages {
		e.Stages = append(e.Stages, StageState{Name: s.Name})
	}
	return e, nil
}

// stageIndex is the index of the named stage in the execution.
func (e *Execution) stageIndex(name string) (int, bool) {
	for i := range e.Stages {
		if e.Stages[i].Name == name {
			return i, true
		}
	}
	return -1, false
}

// Run returns the action run with the given ID.
func (e *Execution) Run(id string) (*ActionRun, bool) {
	for r := range e.EveryRun() {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}

// RunByToken returns the action run holding the completion token.
func (e *Execution) RunByToken(token string) (*ActionRun, bool) {
	for i := range e.Actions {
		if e.Actions[i].Token == token {
			return &e.Actions[i], true
		}
	}
	return nil, false
}

// LatestRun returns the latest attempt of the named action, if it ran.
func (e *Execution) LatestRun(stage, action string) (*ActionRun, bool) {
	var found *ActionRun
	for i := range e.Actions {
		r := &e.Actions[i]
		if r.Stage == stage && r.Action == action && (found == nil || r.Attempt > found.Attempt) {
			found = r
		}
	}
	return found, found != nil
}

// Complete is the event of an action run's end. Completing a run that has
// already ended is an InvalidState error, so a late or repeated completion
// changes nothing.
func Complete(runID string, res Result, now time.Time) Event {
	return func(e *Execution) error {
		r, ok := e.Run(runID)
		if !ok {
			return errs.Of(errs.NotFound, errs.KindActionExecution, "execution %s has no action run %s", e.ID, runID)
		}
		if r.Status != InProgress {
			return errs.Of(errs.InvalidState, errs.KindActionExecution, "action %q of execution %s has already ended (%s)", r.Action, e.ID, r.Status)
		}
		status := res.Status
		if status != Succeeded && status != Abandoned {
			status = Failed
		}
		now = now.UTC()
		r.Status = status
		r.Summary = res.Summary
		r.ErrorCode = res.ErrorCode
		r.ErrorMessage = res.ErrorMessage
		if status == Failed && r.ErrorCode == "" {
			r.ErrorCode = CodeJobFailed
		}
		if res.OutputVariables != nil {
			r.OutputVariables = maps.Clone(res.OutputVariables)
		}
		if res.ExternalExecutionID != "" {
			r.ExternalExecutionID = res.ExternalExecutionID
		}
		if res.ExternalExecutionURL != "" {
			r.ExternalExecutionURL = res.ExternalExecutionURL
		}
		if res.LogLocation != "" {
			r.LogLocation = res.LogLocation
		}
		if res.CurrentRevision != nil {
			rev := *res.CurrentRevision
			rev.Created = rev.Created.UTC()
			r.CurrentRevision = &rev
			if status == Succeeded && len(r.OutputArtifacts) > 0 {
				// A new slice: the run's own may be shared with copies of
				// the execution.
				outs := slices.Clone(r.OutputArtifacts)
				for i := range outs {
					outs[i].Revision = rev.ID
				}
				r.OutputArtifacts = outs
			}
		}
		r.UpdatedBy = res.UpdatedBy
		r.EndTime = now
		r.LastUpdateTime = now
		return nil
	}
}

// RequestStop is the event of StopPipelineExecution, asked for by by (a
// principal, or "" when none is known). Stopping an execution
// that has ended is an InvalidState error; a second request may turn a
// "stop and wait" into "stop and abandon", never the other way.
func RequestStop(abandon bool, reason, by string, now time.Time) Event {
	return func(e *Execution) error {
		if e.Status.Terminal() {
			return errs.Of(errs.InvalidState, errs.KindNotStoppable, "execution %s has already ended (%s)", e.ID, e.Status)
		}
		if e.Stop != nil && (e.Stop.Abandon || !abandon) {
			return errs.Of(errs.Conflict, errs.KindDuplicatedStop, "execution %s is already stopping", e.ID)
		}
		e.Stop = &StopRequest{Abandon: abandon, Reason: reason, At: now.UTC(), By: by}
		return nil
	}
}

// QueuedSummary is the Summary of an action run that waits for a slot of
// the local driver (an InProgress run whose Summary is set shows it).
const QueuedSummary = "queued: waiting for a slot"

// Queued is the event of a driver queuing action runs for lack of a slot
// (queued true: each listed run still InProgress gets QueuedSummary) or
// handing one its slot (false: a listed run's QueuedSummary is cleared).
// Runs that have ended, unknown runs and other summaries are left alone, so
// a late event changes nothing.
func Queued(runIDs []string, queued bool, now time.Time) Event {
	return func(e *Execution) error {
		now = now.UTC()
		for _, id := range runIDs {
			r, ok := e.Run(id)
			if !ok || r.Status != InProgress {
				continue
			}
			switch {
			case queued && r.Summary == "":
				r.Summary = QueuedSummary
			case !queued && r.Summary == QueuedSummary:
				r.Summary = ""
			default:
				continue
			}
			r.LastUpdateTime = now
		}
		return nil
	}
}

// WithoutDriverTokens returns e itself, or a copy of it without the
// drivers' tokens (ParkToken and every run's CallbackToken) when it has any:
// whoever holds a Step Functions task token can end that task, so the record
// shown to callers leaves them out. The copy shares all else with e and is
// not to be saved.
func (e *Execution) WithoutDriverTokens() *Execution {
	has := e.ParkToken != ""
	for r := range e.EveryRun() {
		has = has || r.CallbackToken != ""
	}
	if !has {
		return e
	}
	c := *e
	c.ParkToken = ""
	strip := func(runs []ActionRun) []ActionRun {
		out := make([]ActionRun, len(runs))
		for i, r := range runs {
			r.CallbackToken = ""
			out[i] = r
		}
		return out
	}
	c.Actions = strip(e.Actions)
	if e.RuleRuns != nil {
		c.RuleRuns = strip(e.RuleRuns)
	}
	return &c
}
