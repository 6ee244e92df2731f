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
