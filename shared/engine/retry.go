package engine

import (
	"time"

	"github.com/stageflow/stageflow/shared/errs"
)

// RetryStage is the event of RetryStageExecution: the execution, ended
// Failed or Stopped in stage, runs that stage again — every action
// (RetryAllActions) or those whose latest attempt did not succeed, then the
// rest of the stage (RetryFailedActions) — and goes on from there, with the
// artifacts and variables of the stages before it. trigger is
// ManualStageRetry or AutoStageRetry. The stage is entered again through
// its lock, as any stage is. Retrying a stage that did not fail or stop, or
// an execution still running, is an InvalidState error (StageNotRetryable).
func RetryStage(stage, mode, trigger string, now time.Time) Event {
	return func(e *Execution) error {
		if mode != RetryFailedActions && mode != RetryAllActions {
			return errs.Of(errs.Validation, errs.KindNone, "retry mode %q is not %s or %s", mode, RetryFailedActions, RetryAllActions)
		}
		si, ok := e.stageIndex(stage)
		if !ok {
			return errs.Of(errs.NotFound, errs.KindStage, "execution %s has no stage %q", e.ID, stage)
		}
		st := &e.Stages[si]
		if e.Status != Failed && e.Status != Stopped {
			return errs.Of(errs.InvalidState, errs.KindStageNotRetryable, "execution %s is %s: only a failed or stopped execution can retry a stage", e.ID, e.Status)
		}
		if st.Status != Failed && st.Status != Stopped {
			what := string(st.Status)
			if what == "" {
				what = "not run"
			}
			return errs.Of(errs.InvalidState, errs.KindStageNotRetryable, "stage %q of execution %s is %s: only a failed or stopped stage can be retried", stage, e.ID, what)
		}
		st.Status = ""
		st.Retry = mode
		// The stage's onSuccess conditions are evaluated again; its
		// beforeEntry ones only if they failed (else they were met).
		st.SuccessCondition = ""
		if cr, ok := e.ConditionRunByID(st.EntryCondition); ok && cr.Status != Succeeded && cr.Status != Overridden {
			st.EntryCondition = ""
		}
		st.LatestRetryTrigger = trigger
		if trigger == AutoStageRetry {
			st.AutoRetries++
		} else {
			st.ManualRetries++
		}
		e.Status = InProgress
		e.StatusSummary = ""
		e.AutoRollback = ""
		e.EndTime = time.Time{}
		e.Stop = nil
		e.Restarts++
		e.LastUpdateTime = now.UTC()
		return nil
	}
}

// beginRetry starts the retry asked of stage si as it is entered: for
// RetryAllActions it begins the stage anew (new attempts of every action);
// for RetryFailedActions it starts new attempts of the actions of the first
// group whose latest attempts did not all succeed, and returns them, or
// resumes after the last group that ran when every one succeeded (a stop
// between groups).
func (e *Execution) beginRetry(si int, env Env, now time.Time) []ActionRun {
	st := &e.Stages[si]
	mode := st.Retry
	st.Retry = ""
	st.RunOrder = 0
	if mode != RetryFailedActions {
		return nil
	}
	stage := &e.Pipeline.Stages[si]
	for ro := nextRunOrder(stage, 0); ro != 0; ro = nextRunOrder(stage, ro) {
		latest := e.latestRuns(si, ro)
		if len(latest) == 0 {
			return nil // every group before ro succeeded: go on with ro
		}
		succeeded := map[int]bool{}
		for _, r := range latest {
			succeeded[r.ActionIndex] = r.Status == Succeeded
		}
		st.RunOrder = ro
		var wave []ActionRun
		again := false
		for ai := range stage.Actions {
			if stage.Actions[ai].EffectiveRunOrder() != ro || succeeded[ai] {
				continue
			}
			again = true
			run := e.newRun(si, ai, env, now)
			e.Actions = append(e.Actions, run)
			if run.Status == InProgress {
				wave = append(wave, run)
			}
		}
		if again {
			// An empty wave (no new attempt could start) fails the
			// stage in Advance's next turn.
			return wave
		}
	}
	return nil
}
