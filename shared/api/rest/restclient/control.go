package restclient

import (
	"context"

	"github.com/stageflow/stageflow/shared/api/rest"
)

// ---- execution control ----

// DisableTransition disables the inbound transition of a stage:
// executions wait in front of it until it is enabled.
func (c *Client) DisableTransition(ctx context.Context, name, stage string, in rest.RESTDisableTransition) error {
	return c.do(ctx, "POST", pipelinePath(name, "stages", stage, "disable-transition"), nil, in, nil)
}

// EnableTransition enables the inbound transition of a stage again.
func (c *Client) EnableTransition(ctx context.Context, name, stage string, in rest.RESTEnableTransition) error {
	return c.do(ctx, "POST", pipelinePath(name, "stages", stage, "enable-transition"), nil, in, nil)
}

// RetryStage retries a failed (or stopped) stage of an execution and
// returns the execution's ID.
func (c *Client) RetryStage(ctx context.Context, name, id, stage string, in rest.RESTRetryStage) (string, error) {
	var out rest.RESTExecutionID
	err := c.do(ctx, "POST", pipelinePath(name, "executions", id, "stages", stage, "retry"), nil, in, &out)
	return out.PipelineExecutionID, err
}

// RollbackStage starts an execution that runs a stage again with the
// artifacts and variables of an earlier successful execution and returns
// the new execution's ID.
func (c *Client) RollbackStage(ctx context.Context, name, stage string, in rest.RESTRollbackStage) (string, error) {
	var out rest.RESTExecutionID
	err := c.do(ctx, "POST", pipelinePath(name, "stages", stage, "rollback"), nil, in, &out)
	return out.PipelineExecutionID, err
}

// OverrideCondition overrides a stage's condition (BEFORE_ENTRY or
// ON_SUCCESS) that is being evaluated for an execution.
func (c *Client) OverrideCondition(ctx context.Context, name, id, stage string, in rest.RESTOverrideCondition) error {
	return c.do(ctx, "POST", pipelinePath(name, "executions", id, "stages", stage, "override-condition"), nil, in, nil)
}
