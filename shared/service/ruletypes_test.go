package service_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

func TestListRuleTypes(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx := service.LocalCaller(t.Context(), "test")
	for _, tc := range []struct {
		owner string
		want  int
	}{{"", 6}, {"AWS", 6}, {"Custom", 0}} {
		types, err := srv.Service.ListRuleTypes(ctx, tc.owner)
		if err != nil {
			t.Fatal(err)
		}
		if len(types) != tc.want {
			t.Errorf("owner %q: %d rule types, want %d", tc.owner, len(types), tc.want)
		}
	}
}

// A pipeline stored by an earlier release, whose conditions that release
// validated by shape only, stays readable: the stricter validation applies
// when it is next created or updated, naming what to change.
func TestStoredConditionsOfAnEarlierRelease(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx := service.LocalCaller(t.Context(), "test")
	bare := pipeline.Rule{Name: "Check", RuleTypeID: pipeline.RuleTypeID{Category: "Rule", Provider: "VariableCheck"}}
	p := pipeline.Pipeline{Name: "old", PipelineType: pipeline.TypeV2, Stages: []pipeline.Stage{{
		Name:      "Gate",
		Actions:   []pipeline.Action{{Name: "Approve", ActionTypeID: manualApproval}},
		OnFailure: &pipeline.FailureConditions{Result: pipeline.ResultRetry, Conditions: []pipeline.Condition{{Rules: []pipeline.Rule{bare}}}},
	}}}
	// What the earlier release wrote: straight into the store.
	if err := srv.System.Store.CreatePipeline(ctx, &store.Pipeline{Name: "old", Declaration: p}); err != nil {
		t.Fatal(err)
	}
	got, err := srv.Service.GetPipeline(ctx, "old", 0)
	if err != nil {
		t.Fatalf("GetPipeline of the stored pipeline: %v", err)
	}
	if f := got.Pipeline.Stages[0].OnFailure; f == nil || f.Result != pipeline.ResultRetry || len(f.Conditions) != 1 {
		t.Fatalf("the stored onFailure came back as %+v", f)
	}
	_, err = srv.Service.UpdatePipeline(ctx, p)
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Validation {
		t.Fatalf("UpdatePipeline with the old conditions: %v, want a validation error", err)
	}
	var paths []string
	for _, pr := range e.Problems {
		paths = append(paths, pr.Path)
	}
	for _, want := range []string{
		"stages[0].onFailure.conditions",
		"stages[0].onFailure.conditions[0].rules[0].configuration.Operator",
	} {
		if !slices.Contains(paths, want) {
			t.Errorf("problems %v lack %s", e.Problems, want)
		}
	}
}
