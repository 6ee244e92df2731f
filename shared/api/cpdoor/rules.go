package cpdoor

import (
	"context"

	"github.com/stageflow/stageflow/shared/rules"
)

// The operations on the rules of stage conditions.

type cpListRuleTypesInput struct {
	RuleOwnerFilter string `json:"ruleOwnerFilter" api:"shape=RuleOwner"`
	RegionFilter    string `json:"regionFilter" api:"shape=AWSRegionName"`
}

type cpListRuleTypesOutput struct {
	RuleTypes []rules.Type `json:"ruleTypes"`
}

// cpListRuleTypes lists the rule types; a region filter naming another
// region than the server's lists none, as ListActionTypes does.
func cpListRuleTypes(ctx context.Context, c *cpCall, in *cpListRuleTypesInput) (any, error) {
	types, err := c.svc.ListRuleTypes(ctx, in.RuleOwnerFilter)
	if err != nil {
		return nil, err
	}
	if in.RegionFilter != "" && in.RegionFilter != c.svc.Region() {
		types = []rules.Type{}
	}
	return cpListRuleTypesOutput{RuleTypes: types}, nil
}

type cpRuleExecutionFilterInput struct {
	PipelineExecutionID       string                             `json:"pipelineExecutionId" api:"shape=PipelineExecutionId"`
	LatestInPipelineExecution *cpLatestInPipelineExecutionFilter `json:"latestInPipelineExecution"`
}

type cpListRuleExecutionsInput struct {
	PipelineName string                      `json:"pipelineName" api:"required,shape=PipelineName"`
	Filter       *cpRuleExecutionFilterInput `json:"filter"`
	MaxResults   *int                        `json:"maxResults" api:"shape=MaxResults"`
	NextToken    string                      `json:"nextToken" api:"shape=NextToken"`
}

// cpListRuleExecutions lists the rule runs of a pipeline's stage
// conditions, newest first.
func cpListRuleExecutions(ctx context.Context, c *cpCall, in *cpListRuleExecutionsInput) (any, error) {
	id := ""
	if in.Filter != nil {
		if in.Filter.LatestInPipelineExecution != nil {
			return nil, cpInvalidMember("filter.latestInPipelineExecution", "Stageflow does not support this filter; use filter.pipelineExecutionId")
		}
		id = in.Filter.PipelineExecutionID
	}
	return c.svc.ListRuleExecutions(ctx, in.PipelineName, id, cpIntOr(in.MaxResults, 0), in.NextToken)
}
