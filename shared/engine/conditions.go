package engine

import (
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/rules"
)

// Stage conditions, as CodePipeline runs them: a stage's beforeEntry
// conditions are evaluated when it is entered, before its first action; its
// onSuccess conditions when every action has succeeded. A condition is met
// when every rule succeeds; when one fails, the condition's result applies
// (beforeEntry: FAIL fails the stage, SKIP skips it; onSuccess: FAIL, and
// ROLLBACK, which Stageflow does not carry out yet, fail it). Rules are
// evaluated by shared/rules: VariableCheck and DeploymentWindow here, in
// the step (a closed window keeps the condition in progress and asks to be
// evaluated again when it opens: Decision.RecheckAt); Commands rules run as
// Commands actions, dispatched in the wave like any run (Execution.RuleRuns);
// the rules that need AWS fail with a message. OverrideStageCondition ends a
// condition in progress as Overridden, and the stage goes on.

type condState int

const (
	condMet condState = iota
	condWaiting
	condFailed
)

type condOutcome struct {
	state   condState
	result  string // the result applied (condFailed)
	summary string
	wave    []ActionRun // Commands rules' runs just started (condWaiting)
	recheck time.Time   // when to evaluate again (condWaiting; zero: when a run ends)
}

// kindName is the API's ConditionType of a condition kind.
func kindName(kind pipeline.ConditionKind) string {
	if kind == pipeline.ConditionBeforeEntry {
		return ConditionBeforeEntry
	}
	return ConditionOnSuccess
}

// conditionsOf are the stage's conditions of a kind.
func conditionsOf(s *pipeline.Stage, kind pipeline.ConditionKind) []pipeline.Condition {
	switch {
	case kind == pipeline.ConditionBeforeEntry && s.BeforeEntry != nil:
		return s.BeforeEntry.Conditions
	case kind == pipeline.ConditionOnSuccess && s.OnSuccess != nil:
		return s.OnSuccess.Conditions
	}
	return nil
}

// conditionField is the StageState field holding the current evaluation.
func (st *StageState) conditionField(kind pipeline.ConditionKind) *string {
	if kind == pipeline.ConditionBeforeEntry {
		return &st.EntryCondition
	}
	return &st.SuccessCondition
}

// ConditionRunByID returns a condition run of the execution.
func (e *Execution) ConditionRunByID(id string) (*ConditionRun, bool) {
	for i := range e.Conditions {
		if e.Conditions[i].ID == id {
			return &e.Conditions[i], true
		}
	}
	return nil, false
}

// condition evaluates the conditions of kind of stage si in its current
// entry: it begins their evaluation the first time, then goes on with it.
func (e *Execution) condition(si int, kind pipeline.ConditionKind, env Env, now time.Time) condOutcome {
	decl := conditionsOf(&e.Pipeline.Stages[si], kind)
	if len(decl) == 0 {
		return condOutcome{state: condMet}
	}
	st := &e.Stages[si]
	field := st.conditionField(kind)
	cr, ok := e.ConditionRunByID(*field)
	if !ok {
		e.Conditions = append(e.Conditions, ConditionRun{ID: env.NewID(), Stage: st.Name, StageIndex: si, Kind: kindName(kind),
			Status: InProgress, StartTime: now, LastUpdateTime: now})
		cr = &e.Conditions[len(e.Conditions)-1]
		*field = cr.ID
		for ci, c := range decl {
			for ri, r := range c.Rules {
				cr.Rules = append(cr.Rules, RuleRun{ID: env.NewID(), Condition: ci, Index: ri, Name: r.Name, Type: r.RuleTypeID,
					Status: InProgress, StartTime: now, LastUpdateTime: now})
			}
		}
	}
	switch cr.Status {
	case Succeeded, Overridden:
		return condOutcome{state: condMet}
	case Failed:
		return condOutcome{state: condFailed, result: cr.Result, summary: cr.Summary}
	case Abandoned:
		return condOutcome{state: condFailed, result: pipeline.ResultFail, summary: cr.Summary}
	}
	out := condOutcome{state: condWaiting}
	// Rule runs are evaluated in place; cr.Rules is this record's own
	// (a condition run in progress is never shared).
	for i := range cr.Rules {
		rr := &cr.Rules[i]
		if rr.Status != InProgress {
			continue
		}
		rule := &decl[rr.Condition].Rules[rr.Index]
		if rules.RunsAsAction(rule) {
			if rr.RunID == "" {
				a := rules.CommandsAction(rule)
				run := e.makeRun(si, -1, &a, 1, env, now)
				run.RunOrder = 0
				run.Rule = &RuleRef{ConditionRun: cr.ID, Condition: rr.Condition, Index: rr.Index}
				e.RuleRuns = append(e.RuleRuns, run)
				rr.RunID = run.ID
				if run.Status == InProgress {
					out.wave = append(out.wave, run)
				}
			}
			if run, ok := e.Run(rr.RunID); ok && run.Status.Terminal() {
				rr.Status, rr.Summary = Failed, failureText(run)
				if run.Status == Succeeded {
					rr.Status, rr.Summary = Succeeded, "the commands succeeded"
				}
				rr.EndTime, rr.LastUpdateTime = now, now
			}
			continue
		}
		if !rr.RecheckAt.IsZero() && now.Before(rr.RecheckAt) {
			continue
		}
		o, err := rules.Evaluate(rule, now, e.lookup)
		if err != nil {
			o = rules.Outcome{Status: rules.Failed, Summary: err.Error()}
		}
		rr.Status, rr.Summary, rr.ResolvedConfiguration, rr.RecheckAt, rr.LastUpdateTime = Status(o.Status), o.Summary, o.ResolvedConfiguration, o.RecheckAt, now
		if rr.Status.Terminal() {
			rr.EndTime = now
		}
	}
	// Each condition from its rules; the first failed condition decides.
	met := true
	for ci := range decl {
		var outs []rules.Outcome
		for _, rr := range cr.Rules {
			if rr.Condition == ci {
				outs = append(outs, rules.Outcome{Status: rules.Status(rr.Status), Summary: rr.Name + ": " + rr.Summary, RecheckAt: rr.RecheckAt})
			}
		}
		c := rules.Combine(outs)
		switch c.Status {
		case rules.Failed:
			cr.Status, cr.Result, cr.Summary = Failed, decl[ci].EffectiveResult(kind), c.Summary
			cr.EndTime, cr.LastUpdateTime = now, now
			e.abandonRules(cr, now)
			return condOutcome{state: condFailed, result: cr.Result, summary: cr.Summary}
		case rules.InProgress:
			met = false
			cr.Summary = c.Summary
			if !c.RecheckAt.IsZero() && (out.recheck.IsZero() || c.RecheckAt.Before(out.recheck)) {
				out.recheck = c.RecheckAt
			}
		}
	}
	cr.LastUpdateTime = now
	if met {
		cr.Status, cr.Summary, cr.EndTime = Succeeded, "every rule succeeded", now
		return condOutcome{state: condMet}
	}
	return out
}

// abandonRules ends the rules of a condition run still in progress, and
// their runs.
func (e *Execution) abandonRules(cr *ConditionRun, now time.Time) {
	for i := range cr.Rules {
		rr := &cr.Rules[i]
		if rr.Status != InProgress {
			continue
		}
		rr.Status, rr.Summary, rr.EndTime, rr.LastUpdateTime = Abandoned, "the condition ended before this rule", now, now
		if run, ok := e.Run(rr.RunID); ok && run.Status == InProgress {
			run.Status, run.ErrorCode, run.ErrorMessage, run.EndTime, run.LastUpdateTime = Abandoned, CodeAbandoned, "its condition ended", now, now
		}
	}
}

// endConditions ends every condition run in progress with status (a stop).
func (e *Execution) endConditions(status Status, now time.Time) {
	for i := range e.Conditions {
		cr := &e.Conditions[i]
		if cr.Status != InProgress {
			continue
		}
		cr.Status, cr.Summary, cr.EndTime, cr.LastUpdateTime = status, "the execution was stopped", now, now
		for j := range cr.Rules {
			if rr := &cr.Rules[j]; rr.Status == InProgress {
				rr.Status, rr.EndTime, rr.LastUpdateTime = status, now, now
			}
		}
	}
}

// OverrideCondition is the event of OverrideStageCondition: the condition
// of kind (ConditionBeforeEntry, ConditionOnSuccess) of stage, in progress
// in this execution, ends Overridden, its rules' runs abandoned, and the
// stage goes on. A condition whose result is SKIP cannot be overridden.
func OverrideCondition(stage, kind, by string, now time.Time) Event {
	return func(e *Execution) error {
		si, ok := e.stageIndex(stage)
		if !ok {
			return errs.Of(errs.NotFound, errs.KindStage, "execution %s has no stage %q", e.ID, stage)
		}
		pk := pipeline.ConditionBeforeEntry
		if kind == ConditionOnSuccess {
			pk = pipeline.ConditionOnSuccess
		}
		cr, ok := e.ConditionRunByID(*e.Stages[si].conditionField(pk))
		if !ok || cr.Status != InProgress || e.Status.Terminal() {
			return errs.Of(errs.InvalidState, errs.KindConditionNotOverridable, "no %s condition of stage %q is in progress in execution %s", kind, stage, e.ID)
		}
		decl := conditionsOf(&e.Pipeline.Stages[si], pk)
		for ci := range decl {
			if !decl[ci].Overridable(pk) {
				return errs.Of(errs.InvalidState, errs.KindConditionNotOverridable, "the %s condition of stage %q has the result SKIP, which cannot be overridden", kind, stage)
			}
		}
		now = now.UTC()
		e.abandonRules(cr, now)
		cr.Status, cr.OverriddenBy, cr.EndTime, cr.LastUpdateTime = Overridden, by, now, now
		cr.Summary = "overridden"
		if by != "" {
			cr.Summary = "overridden by " + by
		}
		return nil
	}
}

// EveryRun yields every action run of the execution, the runs of Commands
// rules included.
func (e *Execution) EveryRun() iter.Seq[*ActionRun] {
	return func(yield func(*ActionRun) bool) {
		for _, runs := range [][]ActionRun{e.Actions, e.RuleRuns} {
			for i := range runs {
				if !yield(&runs[i]) {
					return
				}
			}
		}
	}
}

// ActionOf is the action a run runs: the declared action, or the Commands
// action of a rule's run.
func (e *Execution) ActionOf(run *ActionRun) (pipeline.Action, bool) {
	if run.StageIndex < 0 || run.StageIndex >= len(e.Pipeline.Stages) {
		return pipeline.Action{}, false
	}
	stage := &e.Pipeline.Stages[run.StageIndex]
	if run.Rule != nil {
		for _, kind := range []pipeline.ConditionKind{pipeline.ConditionBeforeEntry, pipeline.ConditionOnSuccess} {
			decl := conditionsOf(stage, kind)
			cr, ok := e.ConditionRunByID(run.Rule.ConditionRun)
			if !ok || cr.Kind != kindName(kind) || run.Rule.Condition >= len(decl) || run.Rule.Index >= len(decl[run.Rule.Condition].Rules) {
				continue
			}
			return rules.CommandsAction(&decl[run.Rule.Condition].Rules[run.Rule.Index]), true
		}
		return pipeline.Action{}, false
	}
	if run.ActionIndex < 0 || run.ActionIndex >= len(stage.Actions) {
		return pipeline.Action{}, false
	}
	return stage.Actions[run.ActionIndex], true
}

// String is a condition run in a sentence, for logs.
func (cr *ConditionRun) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s condition of %s: %s", cr.Kind, cr.Stage, cr.Status)
	if cr.Summary != "" {
		b.WriteString(" (" + cr.Summary + ")")
	}
	return b.String()
}
