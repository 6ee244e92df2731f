package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/rules"
)

// ListRuleTypes lists the rule types of stage conditions Stageflow knows
// (shared/rules). Every rule type is owned by AWS: an owner filter of
// another owner lists none.
func (s *Service) ListRuleTypes(ctx context.Context, owner string) ([]rules.Type, error) {
	if err := s.authorize(ctx, OpListRuleTypes, AllResources); err != nil {
		return nil, err
	}
	if owner != "" && owner != pipeline.OwnerAWS {
		return []rules.Type{}, nil
	}
	return rules.Catalogue(), nil
}
