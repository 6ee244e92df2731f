package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/errs"
)

// Execution control: stage transitions, retries, rollbacks and condition
// overrides (issue 13). The doors and the CLI call these.

// Transition types, as the API names them.
const (
	TransitionInbound  = "Inbound"
	TransitionOutbound = "Outbound"
)

// Stage retry modes, as the API names them.
const (
	RetryFailedActions = "FAILED_ACTIONS"
	RetryAllActions    = "ALL_ACTIONS"
)

// DisableStageTransition disables the transition of a stage: executions
// wait in front of it until it is enabled. Only Inbound transitions exist
// here; reason is required.
func (s *Service) DisableStageTransition(ctx context.Context, name, stage, transitionType, reason string) error {
	if err := s.authorize(ctx, OpDisableStageTransition, s.StageArn(name, stage)); err != nil {
		return err
	}
	return errs.New(errs.Unsupported, "stage transitions cannot be disabled yet")
}

// EnableStageTransition enables a disabled transition again; the executions
// waiting at it go on.
func (s *Service) EnableStageTransition(ctx context.Context, name, stage, transitionType string) error {
	if err := s.authorize(ctx, OpEnableStageTransition, s.StageArn(name, stage)); err != nil {
		return err
	}
	return errs.New(errs.Unsupported, "stage transitions cannot be enabled yet")
}

// RetryStageExecution retries the failed (or stopped) stage of an execution
// with the given mode (RetryFailedActions, RetryAllActions) and returns the
// execution's ID.
func (s *Service) RetryStageExecution(ctx context.Context, name, stage, executionID, mode string) (string, error) {
	if err := s.authorize(ctx, OpRetryStageExecution, s.PipelineArn(name)); err != nil {
		return "", err
	}
	return "", errs.New(errs.Unsupported, "stage retries are not supported yet")
}

// RollbackStage starts an execution that re-runs a stage with the artifacts
// and variables of an earlier successful execution (target) and returns the
// new execution's ID.
func (s *Service) RollbackStage(ctx context.Context, name, stage, target string) (string, error) {
	if err := s.authorize(ctx, OpRollbackStage, s.PipelineArn(name)); err != nil {
		return "", err
	}
	return "", errs.New(errs.Unsupported, "stage rollbacks are not supported yet")
}

// OverrideStageCondition overrides a stage's condition (conditionType
// BEFORE_ENTRY or ON_SUCCESS) that is in progress for an execution.
func (s *Service) OverrideStageCondition(ctx context.Context, name, stage, executionID, conditionType string) error {
	if err := s.authorize(ctx, OpOverrideStageCondition, s.PipelineArn(name)); err != nil {
		return err
	}
	return errs.New(errs.Unsupported, "stage condition rules are not run yet")
}
