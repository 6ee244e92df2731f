package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// ---- approve, reject ----

func init() {
	subcommands = append(subcommands,
		func() *cobra.Command { return newApprovalCmd("approve") },
		func() *cobra.Command { return newApprovalCmd("reject") })
}

func newApprovalCmd(verb string) *cobra.Command {
	c := &client{}
	var stage, action, summary string
	status := "Approved"
	if verb == "reject" {
		status = "Rejected"
	}
	cmd := &cobra.Command{
		Use:   verb + " PIPELINE [--stage STAGE] [--action ACTION]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a waiting manual approval (the only one waiting, unless --stage/--action say which)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := c.waitingApproval(cmd.Context(), args[0], stage, action)
			if err != nil {
				return err
			}
			body := rest.RESTApproval{Stage: at.stage, Action: at.action, Status: status, Summary: summary}
			if _, err := c.api().PutApproval(cmd.Context(), args[0], body); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s › %s\n", strings.ToLower(status), at.stage, at.action)
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().StringVar(&stage, "stage", "", "the approval's stage (default: the stage of the only waiting approval)")
	cmd.Flags().StringVar(&action, "action", "", "the approval action (default: the only waiting approval)")
	cmd.Flags().StringVar(&summary, "summary", strings.ToLower(status)+" from the command line", "a note kept with the decision")
	return cmd
}

// waitingApproval is the approval an approve or reject means: the stage and
// action given, which must exist (a near miss gets a "did you mean"), or
// the only manual approval waiting among those that match what is given.
func (c *client) waitingApproval(ctx context.Context, name, stage, action string) (approvalAction, error) {
	api := c.api()
	got, err := api.GetPipeline(ctx, name, 0)
	if err != nil {
		return approvalAction{}, err
	}
	p := &got.Pipeline
	if err := checkNames(p, stage, action); err != nil {
		return approvalAction{}, err
	}
	if stage != "" && action != "" {
		return approvalAction{stage, action}, nil
	}
	state, err := api.PipelineState(ctx, name)
	if err != nil {
		return approvalAction{}, err
	}
	manual := map[approvalAction]bool{}
	for _, a := range approvals(p) {
		manual[a] = true
	}
	var waiting []approvalAction
	for _, ss := range state.StageStates {
		for _, as := range ss.ActionStates {
			at := approvalAction{ss.StageName, as.ActionName}
			if manual[at] && as.LatestExecution != nil && as.LatestExecution.Status == "InProgress" &&
				(stage == "" || stage == at.stage) && (action == "" || action == at.action) {
				waiting = append(waiting, at)
			}
		}
	}
	switch len(waiting) {
	case 0:
		return approvalAction{}, fmt.Errorf("no manual approval of pipeline %s is waiting%s", name, where(stage, action))
	case 1:
		return waiting[0], nil
	}
	var list []string
	for _, w := range waiting {
		list = append(list, fmt.Sprintf("--stage %s --action %s", w.stage, w.action))
	}
	return approvalAction{}, usageError{fmt.Errorf("%d manual approvals of pipeline %s are waiting%s; say which:\n  %s", len(waiting), name, where(stage, action), strings.Join(list, "\n  "))}
}

func where(stage, action string) string {
	switch {
	case stage != "":
		return " in stage " + stage
	case action != "":
		return " named " + action
	}
	return ""
}

// checkNames checks that a stage and an action given on the command line
// are in the pipeline (the action in the stage, when both are given).
func checkNames(p *pipeline.Pipeline, stage, action string) error {
	var stages, actions []string
	found := stage == ""
	for _, s := range p.Stages {
		stages = append(stages, s.Name)
		if stage != "" && s.Name != stage {
			continue
		}
		found = true
		for _, a := range s.Actions {
			actions = append(actions, a.Name)
		}
	}
	if !found {
		return fmt.Errorf("pipeline %s has no stage %q%s", p.Name, stage, strictjson.Suggest(stage, stages))
	}
	if action != "" && !slices.Contains(actions, action) {
		in := "pipeline " + p.Name
		if stage != "" {
			in = "stage " + stage
		}
		return fmt.Errorf("%s has no action %q%s", in, action, strictjson.Suggest(action, actions))
	}
	return nil
}
