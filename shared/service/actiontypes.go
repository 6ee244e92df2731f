package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// CreateCustomActionType registers a custom action type.
func (s *Service) CreateCustomActionType(ctx context.Context, in CustomActionTypeInput) (*ActionType, error) {
	id := pipeline.ActionTypeID{Category: in.Category, Owner: pipeline.OwnerCustom, Provider: in.Provider, Version: in.Version}
	if err := s.authorize(ctx, OpCreateCustomActionType, s.ActionTypeArn(id)); err != nil {
		return nil, err
	}
	at := &ActionType{ID: id, Settings: in.Settings, ActionConfigurationProperties: in.ConfigurationProperties,
		InputArtifactDetails: in.InputArtifactDetails, OutputArtifactDetails: in.OutputArtifactDetails}
	if problems := checkActionType(at); len(problems) > 0 {
		return nil, errs.Invalid("invalid custom action type", problems)
	}
	def, err := json.Marshal(at)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateActionType(ctx, &store.CustomActionType{ID: id, Definition: def, Created: s.now().UTC()}); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Of(errs.Conflict, errs.KindActionType, "the action type %s exists already", id)
		}
		return nil, err
	}
	return at, nil
}

func checkActionType(at *ActionType) []errs.Problem {
	var p []errs.Problem
	for _, prob := range pipeline.Validate(&pipeline.Pipeline{Name: "x", Stages: []pipeline.Stage{{Name: "x", Actions: []pipeline.Action{{Name: "x", ActionTypeID: at.ID}}}}}) {
		if field, ok := strings.CutPrefix(prob.Path, "stages[0].actions[0].actionTypeId."); ok && field != "" {
			p = append(p, errs.Problem{Path: field, Message: prob.Message})
		}
	}
	for _, d := range []struct {
		path string
		ad   ArtifactDetails
	}{{"inputArtifactDetails", at.InputArtifactDetails}, {"outputArtifactDetails", at.OutputArtifactDetails}} {
		if d.ad.MinimumCount < 0 || d.ad.MinimumCount > 5 || d.ad.MaximumCount < 0 || d.ad.MaximumCount > 5 || d.ad.MinimumCount > d.ad.MaximumCount {
			p = append(p, errs.Problem{Path: d.path, Message: "minimumCount and maximumCount must be 0..5 with minimumCount ≤ maximumCount"})
		}
	}
	queryable := 0
	for i, prop := range at.ActionConfigurationProperties {
		if !prop.Queryable {
			continue
		}
		// As CodePipeline documents: a queryable value is matched in
		// PollForJobs queries, so it may be neither secret nor absent.
		if queryable++; queryable > 1 {
			p = append(p, errs.Problem{Path: fmt.Sprintf("configurationProperties[%d].queryable", i), Message: "an action type has at most one queryable property"})
		}
		if prop.Secret || !prop.Required {
			p = append(p, errs.Problem{Path: fmt.Sprintf("configurationProperties[%d]", i), Message: "a queryable property must be required and not secret"})
		}
	}
	return p
}

// DeleteCustomActionType removes a custom action type.
func (s *Service) DeleteCustomActionType(ctx context.Context, category, provider, version string) error {
	id := pipeline.ActionTypeID{Category: category, Owner: pipeline.OwnerCustom, Provider: provider, Version: version}
	if err := s.authorize(ctx, OpDeleteCustomActionType, s.ActionTypeArn(id)); err != nil {
		return err
	}
	err := s.store.DeleteActionType(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return errs.Of(errs.NotFound, errs.KindActionType, "no custom action type %s/%s/%s", category, provider, version)
	}
	return err
}

// codeBuildProperties are the configuration properties of CodeBuild
// actions, as CodePipeline's action reference documents them (the keys
// shared/pipeline checks).
var codeBuildProperties = []ActionConfigurationProperty{
	{Name: "ProjectName", Required: true, Key: true, Queryable: true, Type: "String", Description: "The name of the build project."},
	{Name: "PrimarySource", Type: "String", Description: "The input artifact whose directory the build runs in, when there are several."},
	{Name: "BatchEnabled", Type: "Boolean", Description: "Whether the build runs as a batch build."},
	{Name: "CombineArtifacts", Type: "Boolean", Description: "Whether a batch build's artifacts are combined into one."},
	{Name: "EnvironmentVariables", Type: "String", Description: "A JSON array of {name, value, type} the build's environment gets."},
	{Name: "BuildspecOverride", Type: "String", Description: "A buildspec to run instead of the project's."},
}

// manualProperties are the configuration properties of manual approvals.
var manualProperties = []ActionConfigurationProperty{
	{Name: "CustomData", Type: "String", Description: "A comment shown to the reviewer."},
	{Name: "ExternalEntityLink", Type: "String", Description: "A URL shown to the reviewer, such as what to review."},
	{Name: "NotificationArn", Type: "String", Description: "The Amazon SNS topic notified when the approval waits."},
}

// builtinActionTypes are the AWS-owned types Stageflow runs locally.
// Commands actions take their work from the action's commands, not from a
// configuration property.
var builtinActionTypes = []ActionType{
	{ID: pipeline.ActionTypeID{Category: "Compute", Owner: "AWS", Provider: "Commands", Version: "1"}, InputArtifactDetails: ArtifactDetails{0, 10}, OutputArtifactDetails: ArtifactDetails{0, 1}},
	{ID: pipeline.ActionTypeID{Category: "Build", Owner: "AWS", Provider: "CodeBuild", Version: "1"}, ActionConfigurationProperties: codeBuildProperties, InputArtifactDetails: ArtifactDetails{1, 5}, OutputArtifactDetails: ArtifactDetails{0, 5}},
	{ID: pipeline.ActionTypeID{Category: "Test", Owner: "AWS", Provider: "CodeBuild", Version: "1"}, ActionConfigurationProperties: codeBuildProperties, InputArtifactDetails: ArtifactDetails{1, 5}, OutputArtifactDetails: ArtifactDetails{0, 5}},
	{ID: pipeline.ActionTypeID{Category: "Approval", Owner: "AWS", Provider: "Manual", Version: "1"}, ActionConfigurationProperties: manualProperties, InputArtifactDetails: ArtifactDetails{0, 0}, OutputArtifactDetails: ArtifactDetails{0, 0}},
}

// ListActionTypes lists the built-in and custom action types.
func (s *Service) ListActionTypes(ctx context.Context, owner string) ([]ActionType, error) {
	if err := s.authorize(ctx, OpListActionTypes, AllResources); err != nil {
		return nil, err
	}
	var out []ActionType
	if owner == "" || owner == pipeline.OwnerAWS {
		out = append(out, builtinActionTypes...)
	}
	if owner == "" || owner == pipeline.OwnerCustom {
		types, err := s.store.ListActionTypes(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range types {
			var at ActionType
			if err := json.Unmarshal(t.Definition, &at); err != nil {
				at = ActionType{ID: t.ID}
			}
			out = append(out, at)
		}
	}
	if out == nil {
		out = []ActionType{}
	}
	return out, nil
}
