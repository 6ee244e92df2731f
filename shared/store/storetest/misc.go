package storetest

import (
	"encoding/json"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

var actionTypeTests = []test{
	{"CreateListDelete", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a := &store.CustomActionType{
			ID:         pipeline.ActionTypeID{Category: "Test", Owner: "Custom", Provider: "Lint", Version: "1"},
			Definition: json.RawMessage(`{"inputArtifactDetails":{"minimumCount":1,"maximumCount":1}}`),
			Created:    at(0),
		}
		b := &store.CustomActionType{
			ID:         pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Make", Version: "2"},
			Definition: json.RawMessage(`{"settings":{"entityUrlTemplate":"https://ci.example.com"}}`),
			Created:    at(1),
		}
		must(t, s.CreateActionType(ctx, a))
		must(t, s.CreateActionType(ctx, b))
		dup := *a
		dup.Definition = json.RawMessage(`{}`)
		wantCode(t, s.CreateActionType(ctx, &dup), errs.Conflict, errs.KindActionType)

		list, err := s.ListActionTypes(ctx)
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("listed %d action types, want 2", len(list))
		}
		// Sorted by category first: Build before Test.
		for i, want := range []*store.CustomActionType{b, a} {
			got := list[i]
			if got.ID != want.ID || string(got.Definition) != string(want.Definition) {
				t.Fatalf("action type %d = %s %s, want %s %s", i, got.ID, got.Definition, want.ID, want.Definition)
			}
			sameTime(t, "Created", got.Created, want.Created)
		}

		must(t, s.DeleteActionType(ctx, a.ID))
		wantCode(t, s.DeleteActionType(ctx, a.ID), errs.NotFound, errs.KindActionType)
		list, err = s.ListActionTypes(ctx)
		must(t, err)
		if len(list) != 1 || list[0].ID != b.ID {
			t.Fatalf("after delete: %+v", list)
		}
		// A deleted type can be registered again.
		must(t, s.CreateActionType(ctx, a))
	}},
	{"EmptyList", func(t *testing.T, s store.Store) {
		list, err := s.ListActionTypes(t.Context())
		must(t, err)
		if len(list) != 0 {
			t.Fatalf("empty store lists %v", list)
		}
	}},
	{"DeleteUnknown", func(t *testing.T, s store.Store) {
		err := s.DeleteActionType(t.Context(), pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Ghost", Version: "1"})
		wantCode(t, err, errs.NotFound, errs.KindActionType)
	}},
}

const (
	arnA = "arn:aws:codepipeline:us-east-1:123456789012:alpha"
	arnB = "arn:aws:codepipeline:us-east-1:123456789012:bravo"
)

var tagTests = []test{
	{"TagUntagList", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.TagResource(ctx, arnA, []pipeline.Tag{{Key: "team", Value: "core"}, {Key: "env", Value: "dev"}}))
		must(t, s.TagResource(ctx, arnB, []pipeline.Tag{{Key: "team", Value: "other"}}))
		cases := []struct {
			step string
			do   func() error
			want []pipeline.Tag
		}{
			{"sorted by key", nil, []pipeline.Tag{{Key: "env", Value: "dev"}, {Key: "team", Value: "core"}}},
			{"overwrite and add", func() error {
				return s.TagResource(ctx, arnA, []pipeline.Tag{{Key: "env", Value: "prod"}, {Key: "cost", Value: "42"}})
			}, []pipeline.Tag{{Key: "cost", Value: "42"}, {Key: "env", Value: "prod"}, {Key: "team", Value: "core"}}},
			{"untag, unknown keys ignored", func() error {
				return s.UntagResource(ctx, arnA, []string{"team", "no-such-key"})
			}, []pipeline.Tag{{Key: "cost", Value: "42"}, {Key: "env", Value: "prod"}}},
			{"untag all", func() error {
				return s.UntagResource(ctx, arnA, []string{"cost", "env"})
			}, []pipeline.Tag{}},
		}
		for _, c := range cases {
			if c.do != nil {
				must(t, c.do())
			}
			got, err := s.ListTags(ctx, arnA)
			must(t, err)
			if len(got) == 0 && len(c.want) == 0 {
				continue
			}
			deepEqual(t, c.step, got, c.want)
		}
		// Other resources are untouched.
		got, err := s.ListTags(ctx, arnB)
		must(t, err)
		deepEqual(t, "tags of B", got, []pipeline.Tag{{Key: "team", Value: "other"}})
	}},
	{"UnknownResource", func(t *testing.T, s store.Store) {
		got, err := s.ListTags(t.Context(), "arn:aws:codepipeline:us-east-1:123456789012:ghost")
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("unknown resource has tags %v", got)
		}
		must(t, s.UntagResource(t.Context(), "arn:aws:codepipeline:us-east-1:123456789012:ghost", []string{"k"}))
	}},
}
