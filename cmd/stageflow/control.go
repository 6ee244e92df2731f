package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// ---- retry, rollback, transition disable|enable, override-condition ----

func init() {
	subcommands = append(subcommands, newRetryCmd, newRollbackCmd, newTransitionCmd, newOverrideConditionCmd)
}

// conditionTypes are the conditions override-condition can override.
var conditionTypes = []string{"BEFORE_ENTRY", "ON_SUCCESS"}

func newRetryCmd() *cobra.Command {
	c := &client{}
	var stage, output string
	var all bool
	cmd := &cobra.Command{
		Use:   "retry PIPELINE [EXECUTION] [--stage STAGE] [--all]",
		Short: "Retry the failed (or stopped) stage of an execution (default: the latest execution, its failed stage)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			name := args[0]
			id, err := c.executionID(cmd.Context(), args)
			if err != nil {
				return err
			}
			api := c.api()
			e, err := api.GetExecution(cmd.Context(), name, id)
			if err != nil {
				return err
			}
			if stage == "" {
				if stage, err = retryableStage(e); err != nil {
					return err
				}
			} else if err := checkNames(&e.Pipeline, stage, ""); err != nil {
				return err
			}
			mode, what := service.RetryFailedActions, "its failed actions"
			if all {
				mode, what = service.RetryAllActions, "all its actions"
			}
			got, err := api.RetryStage(cmd.Context(), name, id, stage, rest.RESTRetryStage{RetryMode: mode})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rest.RESTExecutionID{PipelineExecutionID: got})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "retrying stage %s of execution %s (%s)\n", stage, got, what)
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	addOutputFlag(cmd, &output)
	cmd.Flags().StringVar(&stage, "stage", "", "the stage to retry (default: the execution's failed or stopped stage)")
	cmd.Flags().BoolVar(&all, "all", false, "run all the stage's actions again (ALL_ACTIONS), not only those that failed (FAILED_ACTIONS)")
	return cmd
}

// retryableStage is the stage of an execution that a retry means: the one
// that failed, or was stopped.
func retryableStage(e *engine.Execution) (string, error) {
	var found []string
	for _, s := range e.Stages {
		if s.Status == engine.Failed || s.Status == engine.Stopped {
			found = append(found, s.Name)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("execution %s (%s) has no failed or stopped stage to retry; name one with --stage", e.ID, strings.ToLower(string(e.Status)))
	case 1:
		return found[0], nil
	}
	return "", usageError{fmt.Errorf("stages %s of execution %s failed or were stopped; say which with --stage", strings.Join(found, ", "), e.ID)}
}

func newRollbackCmd() *cobra.Command {
	c := &client{}
	var stage, target, output string
	cmd := &cobra.Command{
		Use:   "rollback PIPELINE --stage STAGE [--to EXECUTION]",
		Short: "Run a stage again with the artifacts and variables of an earlier successful execution (default: the latest one before the stage's current)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			name, api := args[0], c.api()
			got, err := api.GetPipeline(cmd.Context(), name, 0)
			if err != nil {
				return err
			}
			if err := checkNames(&got.Pipeline, stage, ""); err != nil {
				return err
			}
			if target == "" {
				if target, err = c.rollbackTarget(cmd.Context(), name, stage); err != nil {
					return err
				}
			}
			id, err := api.RollbackStage(cmd.Context(), name, stage, rest.RESTRollbackStage{TargetPipelineExecutionID: target})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rest.RESTExecutionID{PipelineExecutionID: id})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rolling stage %s back to execution %s: execution %s\n", stage, target, id)
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	addOutputFlag(cmd, &output)
	cmd.Flags().StringVar(&stage, "stage", "", "the stage to roll back (required)")
	cmd.Flags().StringVar(&target, "to", "", "the earlier successful `EXECUTION` to roll back to (default: the latest execution in which the stage succeeded, before the stage's current one)")
	cmd.MarkFlagRequired("stage")
	return cmd
}

// rollbackTarget is the execution a rollback of stage goes back to by
// default: the newest execution that succeeded, ran the stage to success,
// and is not the stage's current (latest) execution.
func (c *client) rollbackTarget(ctx context.Context, name, stage string) (string, error) {
	api := c.api()
	state, err := api.PipelineState(ctx, name)
	if err != nil {
		return "", err
	}
	current := ""
	for _, s := range state.StageStates {
		if s.StageName == stage && s.LatestExecution != nil {
			current = s.LatestExecution.PipelineExecutionID
		}
	}
	token := ""
	for {
		page, err := api.ListExecutions(ctx, name, engine.Succeeded, 100, token)
		if err != nil {
			return "", err
		}
		for _, s := range page.PipelineExecutionSummaries {
			if s.PipelineExecutionID == current {
				continue
			}
			e, err := api.GetExecution(ctx, name, s.PipelineExecutionID)
			if err != nil {
				return "", err
			}
			for _, st := range e.Stages {
				if st.Name == stage && st.Status == engine.Succeeded {
					return e.ID, nil
				}
			}
		}
		if token = page.NextToken; token == "" {
			break
		}
	}
	return "", fmt.Errorf("pipeline %s has no earlier execution in which stage %s succeeded to roll back to; name one with --to", name, stage)
}

func newTransitionCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "transition", Short: "Disable or enable the inbound transition of a stage (executions wait in front of a disabled one)"}
	cmd.PersistentFlags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")
	var reason string
	disable := &cobra.Command{
		Use: "disable PIPELINE STAGE --reason REASON", Short: "Disable the transition into a stage: executions wait in front of it", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.checkStage(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			if err := c.api().DisableTransition(cmd.Context(), args[0], args[1], rest.RESTDisableTransition{Reason: reason}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "disabled the transition into stage %s of pipeline %s\n", args[1], args[0])
			return nil
		},
	}
	disable.Flags().StringVar(&reason, "reason", "", "why, shown with the transition (required; letters, digits, spaces and ! @ ( ) . * ? -)")
	disable.MarkFlagRequired("reason")
	enable := &cobra.Command{
		Use: "enable PIPELINE STAGE", Short: "Enable the transition into a stage: the executions waiting at it go on", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.checkStage(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			if err := c.api().EnableTransition(cmd.Context(), args[0], args[1], rest.RESTEnableTransition{}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enabled the transition into stage %s of pipeline %s\n", args[1], args[0])
			return nil
		},
	}
	cmd.AddCommand(disable, enable)
	return cmd
}

// checkStage checks that pipeline name has the stage (a near miss gets a
// "did you mean").
func (c *client) checkStage(ctx context.Context, name, stage string) error {
	got, err := c.api().GetPipeline(ctx, name, 0)
	if err != nil {
		return err
	}
	return checkNames(&got.Pipeline, stage, "")
}

func newOverrideConditionCmd() *cobra.Command {
	c := &client{}
	var conditionType string
	cmd := &cobra.Command{
		Use:   "override-condition PIPELINE STAGE [EXECUTION] --type BEFORE_ENTRY|ON_SUCCESS",
		Short: "Override a stage condition being evaluated for an execution (default: the stage's latest execution)",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(conditionTypes, conditionType) {
				return usageError{fmt.Errorf("--type must be one of %s, got %q", strings.Join(conditionTypes, ", "), conditionType)}
			}
			name, stage := args[0], args[1]
			if err := c.checkStage(cmd.Context(), name, stage); err != nil {
				return err
			}
			id := ""
			if len(args) > 2 {
				id = args[2]
			} else {
				state, err := c.api().PipelineState(cmd.Context(), name)
				if err != nil {
					return err
				}
				for _, s := range state.StageStates {
					if s.StageName == stage && s.LatestExecution != nil {
						id = s.LatestExecution.PipelineExecutionID
					}
				}
				if id == "" {
					return fmt.Errorf("no execution of pipeline %s has reached stage %s; name the execution", name, stage)
				}
			}
			if err := c.api().OverrideCondition(cmd.Context(), name, id, stage, rest.RESTOverrideCondition{ConditionType: conditionType}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "overrode the %s condition of stage %s for execution %s\n", conditionType, stage, id)
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().StringVar(&conditionType, "type", "", "the condition to override: BEFORE_ENTRY or ON_SUCCESS (required)")
	cmd.MarkFlagRequired("type")
	return cmd
}
