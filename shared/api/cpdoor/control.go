package cpdoor

import (
	"context"
)

// ---- execution control: stage transitions, retries, rollbacks, condition overrides ----

// The inputs are checked here against the API definition (required
// members, names, execution IDs, the enumerations of transitionType,
// retryMode and conditionType, the characters of a disabled reason); what
// the pipeline and its executions allow is the service's to decide.

type cpDisableStageTransitionInput struct {
	PipelineName   string `json:"pipelineName" api:"required,shape=PipelineName"`
	StageName      string `json:"stageName" api:"required,shape=StageName"`
	TransitionType string `json:"transitionType" api:"required,shape=StageTransitionType"`
	Reason         string `json:"reason" api:"required,shape=DisabledReason"`
}

func cpDisableStageTransition(ctx context.Context, c *cpCall, in *cpDisableStageTransitionInput) (any, error) {
	return nil, c.svc.DisableStageTransition(ctx, in.PipelineName, in.StageName, in.TransitionType, in.Reason)
}

type cpEnableStageTransitionInput struct {
	PipelineName   string `json:"pipelineName" api:"required,shape=PipelineName"`
	StageName      string `json:"stageName" api:"required,shape=StageName"`
	TransitionType string `json:"transitionType" api:"required,shape=StageTransitionType"`
}

func cpEnableStageTransition(ctx context.Context, c *cpCall, in *cpEnableStageTransitionInput) (any, error) {
	return nil, c.svc.EnableStageTransition(ctx, in.PipelineName, in.StageName, in.TransitionType)
}

type cpRetryStageExecutionInput struct {
	PipelineName        string `json:"pipelineName" api:"required,shape=PipelineName"`
	StageName           string `json:"stageName" api:"required,shape=StageName"`
	PipelineExecutionID string `json:"pipelineExecutionId" api:"required,shape=PipelineExecutionId"`
	RetryMode           string `json:"retryMode" api:"required,shape=StageRetryMode"`
}

func cpRetryStageExecution(ctx context.Context, c *cpCall, in *cpRetryStageExecutionInput) (any, error) {
	id, err := c.svc.RetryStageExecution(ctx, in.PipelineName, in.StageName, in.PipelineExecutionID, in.RetryMode)
	if err != nil {
		return nil, err
	}
	return cpPipelineExecutionIDOutput{PipelineExecutionID: id}, nil
}

type cpRollbackStageInput struct {
	PipelineName              string `json:"pipelineName" api:"required,shape=PipelineName"`
	StageName                 string `json:"stageName" api:"required,shape=StageName"`
	TargetPipelineExecutionID string `json:"targetPipelineExecutionId" api:"required,shape=PipelineExecutionId"`
}

func cpRollbackStage(ctx context.Context, c *cpCall, in *cpRollbackStageInput) (any, error) {
	id, err := c.svc.RollbackStage(ctx, in.PipelineName, in.StageName, in.TargetPipelineExecutionID)
	if err != nil {
		return nil, err
	}
	return cpPipelineExecutionIDOutput{PipelineExecutionID: id}, nil
}

type cpOverrideStageConditionInput struct {
	PipelineName        string `json:"pipelineName" api:"required,shape=PipelineName"`
	StageName           string `json:"stageName" api:"required,shape=StageName"`
	PipelineExecutionID string `json:"pipelineExecutionId" api:"required,shape=PipelineExecutionId"`
	ConditionType       string `json:"conditionType" api:"required,shape=ConditionType"`
}

func cpOverrideStageCondition(ctx context.Context, c *cpCall, in *cpOverrideStageConditionInput) (any, error) {
	return nil, c.svc.OverrideStageCondition(ctx, in.PipelineName, in.StageName, in.PipelineExecutionID, in.ConditionType)
}
