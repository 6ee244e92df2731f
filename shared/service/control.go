package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// Execution control: stage transitions, retries, rollbacks and condition
// overrides (issue 13). The doors and the CLI call these; the engine
// decides (shared/engine: locks.go, lockstep.go, retry.go, rollback.go).

// Transition types, as the API names them.
const (
	TransitionInbound  = "Inbound"
	TransitionOutbound = "Outbound"
)

// Stage retry modes, as the API names them.
const (
	RetryFailedActions = engine.RetryFailedActions
	RetryAllActions    = engine.RetryAllActions
)

// stageOf loads the latest version of a pipeline and checks that it has
// the stage.
func (s *Service) stageOf(ctx context.Context, name, stage string) (*store.Pipeline, error) {
	rec, err := s.store.GetPipeline(ctx, name, 0)
	if err != nil {
		return nil, pipelineNotFound(err, name)
	}
	if !slices.ContainsFunc(rec.Declaration.Stages, func(st pipeline.Stage) bool { return st.Name == stage }) {
		return nil, errs.Of(errs.NotFound, errs.KindStage, "pipeline %q has no stage %q", name, stage)
	}
	return rec, nil
}

func checkTransitionType(t string) error {
	switch t {
	case TransitionInbound:
		return nil
	case TransitionOutbound:
		return errs.Invalid("invalid transition", []errs.Problem{{Path: "transitionType", Message: "Stageflow models inbound transitions only (the ones GetPipelineState shows): disable the Inbound transition of the next stage instead"}})
	}
	return errs.Invalid("invalid transition", []errs.Problem{{Path: "transitionType", Message: fmt.Sprintf("%q is not Inbound or Outbound", t)}})
}

// DisableStageTransition disables the inbound transition of a stage:
// executions of every lane wait in front of it until it is enabled; the one
// in the stage goes on. reason is required.
func (s *Service) DisableStageTransition(ctx context.Context, name, stage, transitionType, reason string) error {
	if err := s.authorize(ctx, OpDisableStageTransition, s.StageArn(name, stage)); err != nil {
		return err
	}
	if err := checkTransitionType(transitionType); err != nil {
		return err
	}
	if reason == "" {
		return errs.Invalid("invalid transition", []errs.Problem{{Path: "reason", Message: "a reason is required"}})
	}
	if _, err := s.stageOf(ctx, name, stage); err != nil {
		return err
	}
	return s.driver.Control(ctx, name, engine.Disable(stage, reason, CallerFrom(ctx).Principal))
}

// EnableStageTransition enables a disabled inbound transition again; the
// executions waiting at it go on (or end Cancelled when it was disabled for
// longer than 30 days).
func (s *Service) EnableStageTransition(ctx context.Context, name, stage, transitionType string) error {
	if err := s.authorize(ctx, OpEnableStageTransition, s.StageArn(name, stage)); err != nil {
		return err
	}
	if err := checkTransitionType(transitionType); err != nil {
		return err
	}
	if _, err := s.stageOf(ctx, name, stage); err != nil {
		return err
	}
	return s.driver.Control(ctx, name, engine.Enable(stage))
}

// latestInStage is the latest execution of a pipeline that reached a stage
// (nil: none), as GetPipelineState shows it.
func (s *Service) latestInStage(ctx context.Context, name, stage string) (*engine.Execution, error) {
	var latest *engine.Execution
	err := s.eachExecution(ctx, store.ExecutionFilter{PipelineName: name}, func(e *engine.Execution) bool {
		if stageStatus(e, stage) != "" {
			latest = e
			return false
		}
		return true
	})
	return latest, err
}

// RetryStageExecution retries the failed (or stopped) stage of an execution
// with the given mode (RetryFailedActions, RetryAllActions) and returns the
// execution's ID. Outside PARALLEL mode the execution must be the latest
// that reached the stage.
func (s *Service) RetryStageExecution(ctx context.Context, name, stage, executionID, mode string) (string, error) {
	if err := s.authorize(ctx, OpRetryStageExecution, s.PipelineArn(name)); err != nil {
		return "", err
	}
	if mode != RetryFailedActions && mode != RetryAllActions {
		return "", errs.Invalid("invalid retry", []errs.Problem{{Path: "retryMode", Message: fmt.Sprintf("%q is not %s or %s", mode, RetryFailedActions, RetryAllActions)}})
	}
	e, err := s.execution(ctx, name, executionID)
	if err != nil {
		return "", err
	}
	if stageStatus(e, stage) == "" && !slices.ContainsFunc(e.Stages, func(st engine.StageState) bool { return st.Name == stage }) {
		return "", errs.Of(errs.NotFound, errs.KindStage, "execution %s of pipeline %q has no stage %q", executionID, name, stage)
	}
	if e.Pipeline.EffectiveExecutionMode() != pipeline.ModeParallel {
		latest, err := s.latestInStage(ctx, name, stage)
		if err != nil {
			return "", err
		}
		if latest != nil && latest.ID != e.ID {
			return "", errs.Of(errs.InvalidState, errs.KindNotLatestExecution, "execution %s is not the latest execution of stage %q: %s is", executionID, stage, latest.ID)
		}
	}
	if err := s.driver.Retry(ctx, executionID, engine.RetryStage(stage, mode, engine.ManualStageRetry, s.now())); err != nil {
		return "", err
	}
	return executionID, nil
}

// RollbackStage starts an execution that re-runs a stage with the artifacts
// and variables of an earlier execution that succeeded in it (target), and
// returns the new execution's ID. Not in PARALLEL mode, not of a source
// stage; the target must be a standard execution of the pipeline's latest
// version; the stage must not be running.
func (s *Service) RollbackStage(ctx context.Context, name, stage, target string) (string, error) {
	if err := s.authorize(ctx, OpRollbackStage, s.PipelineArn(name)); err != nil {
		return "", err
	}
	rec, err := s.stageOf(ctx, name, stage)
	if err != nil {
		return "", err
	}
	if rec.Declaration.EffectiveExecutionMode() == pipeline.ModeParallel {
		return "", errs.Of(errs.InvalidState, errs.KindUnableToRollback, "pipeline %q runs in PARALLEL mode, where stage rollback is not available", name)
	}
	for _, st := range rec.Declaration.Stages {
		if st.Name == stage && slices.ContainsFunc(st.Actions, func(a pipeline.Action) bool { return a.ActionTypeID.Category == pipeline.CategorySource }) {
			return "", errs.Of(errs.InvalidState, errs.KindUnableToRollback, "stage %q holds source actions: a source stage cannot be rolled back", stage)
		}
	}
	t, err := s.execution(ctx, name, target)
	if err != nil {
		return "", err
	}
	if t.Rollback != nil {
		return "", errs.Of(errs.InvalidState, errs.KindUnableToRollback, "execution %s is a rollback: roll back to a standard execution (its target was %s)", target, t.Rollback.Target)
	}
	if t.PipelineVersion != rec.Version {
		return "", errs.Of(errs.InvalidState, errs.KindExecutionOutdated, "execution %s ran version %d of pipeline %q, which is at version %d now: it cannot be a rollback's target", target, t.PipelineVersion, name, rec.Version)
	}
	if st := stageStatus(t, stage); st != engine.Succeeded {
		return "", errs.Of(errs.InvalidState, errs.KindUnableToRollback, "stage %q of execution %s is %s, not Succeeded: only a successful execution of the stage can be rolled back to", stage, target, statusWord(st))
	}
	if latest, err := s.latestInStage(ctx, name, stage); err != nil {
		return "", err
	} else if latest != nil && stageStatus(latest, stage) == engine.InProgress {
		return "", errs.Of(errs.InvalidState, errs.KindUnableToRollback, "stage %q is running execution %s: roll back once it has ended", stage, latest.ID)
	}
	e, err := engine.NewRollback(s.newID(), t, stage, engine.Trigger{Type: engine.TriggerManualRollback, Detail: CallerFrom(ctx).Principal}, s.now())
	if err != nil {
		return "", err
	}
	stored, _, err := s.store.CreateExecution(ctx, e)
	if err != nil {
		return "", err
	}
	if err := s.driver.Begin(ctx, stored.ID); err != nil {
		return "", err
	}
	return stored.ID, nil
}

// RollBackAutomatically starts the automated rollback an execution's failure
// asks for (engine.Execution.AutoRollback: the stage's onFailure result is
// ROLLBACK, or an onSuccess condition with result ROLLBACK failed), once per
// failure: the stage is rolled back to the most recent execution of the
// same lane that succeeded in it and ran the same pipeline version, which
// is still the latest. Without such an execution nothing starts (logged).
// The drivers' wiring calls it with every execution that ended; it does
// nothing for the others. It asks no authorization: the pipeline's
// declaration asked for it.
func (s *Service) RollBackAutomatically(ctx context.Context, e *engine.Execution) error {
	if e.AutoRollback == "" || e.Status != engine.Failed {
		return nil
	}
	stage := e.AutoRollback
	rec, err := s.store.GetPipeline(ctx, e.PipelineName, 0)
	if err != nil {
		return pipelineNotFound(err, e.PipelineName)
	}
	if rec.Version != e.PipelineVersion {
		s.log.Info("no automated rollback: the pipeline was updated since the execution started", "execution", e.ID, "stage", stage)
		return nil
	}
	var target *engine.Execution
	err = s.eachExecution(ctx, store.ExecutionFilter{PipelineName: e.PipelineName, Status: engine.Succeeded}, func(c *engine.Execution) bool {
		if c.ID != e.ID && c.Rollback == nil && c.PipelineVersion == e.PipelineVersion && c.Lane == e.Lane && stageStatus(c, stage) == engine.Succeeded {
			target = c
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if target == nil {
		s.log.Info("no automated rollback: no earlier execution succeeded in the stage", "execution", e.ID, "stage", stage)
		return nil
	}
	r, err := engine.NewRollback(s.newID(), target, stage, engine.Trigger{Type: engine.TriggerAutomatedRollback,
		Detail: fmt.Sprintf("stage %s of execution %s failed", stage, e.ID)}, s.now())
	if err != nil {
		return err
	}
	r.ClientRequestToken = fmt.Sprintf("autorollback-%s-%d", e.ID, e.Restarts) // once per failure
	stored, created, err := s.store.CreateExecution(ctx, r)
	if err != nil || !created {
		return err
	}
	s.log.Info("automated rollback", "failed", e.ID, "stage", stage, "target", target.ID, "execution", stored.ID)
	return s.driver.Begin(ctx, stored.ID)
}

func statusWord(st engine.Status) string {
	if st == "" {
		return "not run"
	}
	return string(st)
}

// OverrideStageCondition overrides a stage's condition (conditionType
// BEFORE_ENTRY or ON_SUCCESS) that is in progress for an execution: it ends
// Overridden and the stage goes on (ConditionNotOverridable when none is in
// progress, or its result is SKIP).
func (s *Service) OverrideStageCondition(ctx context.Context, name, stage, executionID, conditionType string) error {
	if err := s.authorize(ctx, OpOverrideStageCondition, s.PipelineArn(name)); err != nil {
		return err
	}
	if conditionType != engine.ConditionBeforeEntry && conditionType != engine.ConditionOnSuccess {
		return errs.Invalid("invalid override", []errs.Problem{{Path: "conditionType", Message: fmt.Sprintf("%q is not %s or %s", conditionType, engine.ConditionBeforeEntry, engine.ConditionOnSuccess)}})
	}
	if _, err := s.stageOf(ctx, name, stage); err != nil {
		return err
	}
	if _, err := s.execution(ctx, name, executionID); err != nil {
		return err
	}
	return s.driver.Apply(ctx, executionID, engine.OverrideCondition(stage, conditionType, CallerFrom(ctx).Principal, s.now()))
}
