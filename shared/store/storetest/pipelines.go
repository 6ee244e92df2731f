package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// declaration returns a small pipeline declaration with one action per stage.
func declaration(name string, stages ...string) pipeline.Pipeline {
	p := pipeline.Pipeline{
		Name:          name,
		RoleArn:       "arn:aws:iam::123456789012:role/stageflow",
		ArtifactStore: &pipeline.ArtifactStore{Type: "S3", Location: "artifacts"},
	}
	for _, s := range stages {
		p.Stages = append(p.Stages, pipeline.Stage{
			Name: s,
			Actions: []pipeline.Action{{
				Name:          s + "Action",
				ActionTypeID:  pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Shell", Version: "1"},
				Configuration: map[string]string{"Command": "make " + s},
			}},
		})
	}
	return p
}

// withVersion returns d with its version field set.
func withVersion(d pipeline.Pipeline, v int) pipeline.Pipeline {
	d.Version = &v
	return d
}

func createPipeline(t *testing.T, s store.Store, name string, stages ...string) *store.Pipeline {
	t.Helper()
	p := &store.Pipeline{Name: name, Declaration: declaration(name, stages...)}
	must(t, s.CreatePipeline(t.Context(), p))
	return p
}

var pipelineTests = []test{
	{"CreateAndGet", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		p := &store.Pipeline{
			Name:        "alpha",
			Declaration: declaration("alpha", "Source", "Build"),
			Tags:        []pipeline.Tag{{Key: "team", Value: "core"}},
			Created:     at(0),
			Updated:     at(0),
		}
		must(t, s.CreatePipeline(ctx, p))
		if p.Version != 1 {
			t.Fatalf("Version after create = %d, want 1", p.Version)
		}
		if p.Declaration.Version == nil || *p.Declaration.Version != 1 {
			t.Fatalf("declaration version after create = %v, want 1", p.Declaration.Version)
		}
		for _, v := range []int{0, 1} {
			got, err := s.GetPipeline(ctx, "alpha", v)
			must(t, err)
			if got.Name != "alpha" || got.Version != 1 {
				t.Fatalf("GetPipeline(alpha, %d) = %s v%d", v, got.Name, got.Version)
			}
			deepEqual(t, "declaration", got.Declaration, withVersion(declaration("alpha", "Source", "Build"), 1))
			deepEqual(t, "tags", got.Tags, p.Tags)
			sameTime(t, "Created", got.Created, at(0))
			sameTime(t, "Updated", got.Updated, at(0))
		}
	}},
	{"CreateDefaultsTimes", func(t *testing.T, s store.Store) {
		before := time.Now().Add(-time.Second)
		p := createPipeline(t, s, "alpha", "Source")
		got, err := s.GetPipeline(t.Context(), "alpha", 0)
		must(t, err)
		for _, tm := range []time.Time{p.Created, p.Updated, got.Created, got.Updated} {
			if tm.Before(before) {
				t.Fatalf("time %v not defaulted to now", tm)
			}
		}
	}},
	{"CreateDuplicate", func(t *testing.T, s store.Store) {
		createPipeline(t, s, "alpha", "Source")
		err := s.CreatePipeline(t.Context(), &store.Pipeline{Name: "alpha", Declaration: declaration("alpha", "Other")})
		wantCode(t, err, errs.Conflict, errs.KindPipeline)
	}},
	{"CreateWithoutName", func(t *testing.T, s store.Store) {
		err := s.CreatePipeline(t.Context(), &store.Pipeline{Declaration: declaration("", "Source")})
		wantCode(t, err, errs.Validation, errs.KindNone)
	}},
	{"UpdateKeepsVersions", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.CreatePipeline(ctx, &store.Pipeline{
			Name: "alpha", Declaration: declaration("alpha", "One"),
			Tags: []pipeline.Tag{{Key: "k", Value: "v"}}, Created: at(0), Updated: at(0),
		}))
		for v := 2; v <= 3; v++ {
			in := &store.Pipeline{Name: "alpha", Declaration: declaration("alpha", fmt.Sprint("Stage", v)), Updated: at(time.Duration(v) * time.Hour)}
			got, err := s.UpdatePipeline(ctx, in)
			must(t, err)
			if got.Version != v || got.Declaration.Version == nil || *got.Declaration.Version != v {
				t.Fatalf("UpdatePipeline returned version %d (declaration %v), want %d", got.Version, got.Declaration.Version, v)
			}
			sameTime(t, "Created", got.Created, at(0))
			sameTime(t, "Updated", got.Updated, at(time.Duration(v)*time.Hour))
		}
		for _, c := range []struct {
			ask, want int
			stage     string
		}{{0, 3, "Stage3"}, {1, 1, "One"}, {2, 2, "Stage2"}, {3, 3, "Stage3"}} {
			got, err := s.GetPipeline(ctx, "alpha", c.ask)
			must(t, err)
			if got.Version != c.want {
				t.Fatalf("GetPipeline(alpha, %d).Version = %d, want %d", c.ask, got.Version, c.want)
			}
			deepEqual(t, fmt.Sprint("declaration v", c.want), got.Declaration, withVersion(declaration("alpha", c.stage), c.want))
			sameTime(t, "Created", got.Created, at(0))
			// Tags given at creation are carried over by updates that give none.
			deepEqual(t, "tags", got.Tags, []pipeline.Tag{{Key: "k", Value: "v"}})
		}
	}},
	{"UpdateUnknown", func(t *testing.T, s store.Store) {
		_, err := s.UpdatePipeline(t.Context(), &store.Pipeline{Name: "ghost", Declaration: declaration("ghost", "A")})
		wantCode(t, err, errs.NotFound, errs.KindPipeline)
	}},
	{"GetUnknown", func(t *testing.T, s store.Store) {
		_, err := s.GetPipeline(t.Context(), "ghost", 0)
		wantCode(t, err, errs.NotFound, errs.KindPipeline)
		createPipeline(t, s, "alpha", "A")
		_, err = s.GetPipeline(t.Context(), "alpha", 2)
		wantCode(t, err, errs.NotFound, errs.KindNone)
	}},
	{"ListPaginated", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		names := []string{"echo", "alpha", "golf", "charlie", "bravo", "foxtrot", "delta"}
		for _, n := range names {
			createPipeline(t, s, n, "A")
		}
		// alpha goes to version 3, declared V2 and QUEUED.
		for range 2 {
			d := declaration("alpha", "A")
			d.PipelineType, d.ExecutionMode = pipeline.TypeV2, pipeline.ModeQueued
			_, err := s.UpdatePipeline(ctx, &store.Pipeline{Name: "alpha", Declaration: d})
			must(t, err)
		}
		var got []store.PipelineSummary
		token, pages := "", 0
		for {
			page, next, err := s.ListPipelines(ctx, store.Page{Token: token, Limit: 3})
			must(t, err)
			pages++
			if len(page) > 3 {
				t.Fatalf("page of %d rows, limit 3", len(page))
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			if pages > len(names) {
				t.Fatal("pagination does not end")
			}
			token = next
		}
		if pages != 3 {
			t.Errorf("%d pages, want 3", pages)
		}
		var gotNames []string
		for _, p := range got {
			gotNames = append(gotNames, p.Name)
		}
		deepEqual(t, "names", gotNames, sorted(names))
		a := got[0]
		if a.Version != 3 || a.PipelineType != pipeline.TypeV2 || a.ExecutionMode != pipeline.ModeQueued {
			t.Errorf("alpha summary = %+v, want version 3, V2, QUEUED", a)
		}
		// Undeclared type and mode are listed as their defaults.
		if b := got[1]; b.Version != 1 || b.PipelineType != pipeline.TypeV1 || b.ExecutionMode != pipeline.ModeSuperseded {
			t.Errorf("bravo summary = %+v, want version 1, V1, SUPERSEDED", b)
		}
		if a.Created.IsZero() || a.Updated.Before(a.Created) {
			t.Errorf("alpha times = %v / %v", a.Created, a.Updated)
		}
		// Default page size holds everything here.
		all, next, err := s.ListPipelines(ctx, store.Page{})
		must(t, err)
		if len(all) != len(names) || next != "" {
			t.Errorf("default page: %d rows, next %q", len(all), next)
		}
	}},
	{"ListEmptyAndBadToken", func(t *testing.T, s store.Store) {
		got, next, err := s.ListPipelines(t.Context(), store.Page{})
		must(t, err)
		if len(got) != 0 || next != "" {
			t.Fatalf("empty store lists %v, %q", got, next)
		}
		_, _, err = s.ListPipelines(t.Context(), store.Page{Token: "%%% not a token %%%"})
		wantCode(t, err, errs.Validation, errs.KindNone)
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		createPipeline(t, s, "alpha", "A")
		createPipeline(t, s, "bravo", "A")
		_, err := s.UpdatePipeline(ctx, &store.Pipeline{Name: "alpha", Declaration: declaration("alpha", "B")})
		must(t, err)
		must(t, s.DeletePipeline(ctx, "alpha"))
		for _, v := range []int{0, 1, 2} {
			_, err := s.GetPipeline(ctx, "alpha", v)
			wantCode(t, err, errs.NotFound, errs.KindNone)
		}
		wantCode(t, s.DeletePipeline(ctx, "alpha"), errs.NotFound, errs.KindPipeline)
		list, _, err := s.ListPipelines(ctx, store.Page{})
		must(t, err)
		if len(list) != 1 || list[0].Name != "bravo" {
			t.Fatalf("after delete, list = %+v", list)
		}
		// The name is free again and starts over at version 1.
		p := createPipeline(t, s, "alpha", "C")
		if p.Version != 1 {
			t.Fatalf("re-created pipeline has version %d", p.Version)
		}
	}},
	{"DeleteRemovesExecutions", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		createPipeline(t, s, "alpha", "A")
		createPipeline(t, s, "bravo", "B")
		for i, name := range []string{"alpha", "alpha", "bravo"} {
			e := RichExecution(fmt.Sprint("exec-", i), name, at(time.Duration(i)*time.Minute), 40)
			e.ClientRequestToken = "tok"
			if name == "alpha" && i == 1 {
				e.ClientRequestToken = "tok-2"
			}
			createExecution(t, s, e)
			must(t, s.CreateJob(ctx, &store.Job{ID: "job-" + e.ID, ExecutionID: e.ID, PipelineName: name}))
		}
		must(t, s.DeletePipeline(ctx, "alpha"))
		for _, id := range []string{"exec-0", "exec-1"} {
			_, err := s.GetExecution(ctx, id)
			wantCode(t, err, errs.NotFound, errs.KindPipelineExecution)
			_, err = s.GetJob(ctx, "job-"+id)
			wantCode(t, err, errs.NotFound, errs.KindJob)
		}
		_, err := s.ExecutionByRunToken(ctx, "token-exec-0-run-1")
		wantCode(t, err, errs.NotFound, errs.KindActionExecution)
		list, _, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "alpha"}, store.Page{})
		must(t, err)
		if len(list) != 0 {
			t.Fatalf("executions of a deleted pipeline: %d, want none", len(list))
		}
		// The name starts afresh: its client request tokens are free again.
		createPipeline(t, s, "alpha", "A")
		again := richExecution("exec-3", "alpha", at(time.Hour))
		again.ClientRequestToken = "tok"
		createExecution(t, s, again)
		// The other pipeline's executions are untouched.
		other, err := s.GetExecution(ctx, "exec-2")
		must(t, err)
		want := RichExecution("exec-2", "bravo", at(2*time.Minute), 40)
		want.ClientRequestToken, want.Version = "tok", 1
		sameExecution(t, other, want)
		if _, err := s.ExecutionByRunToken(ctx, "token-exec-2-run-39"); err != nil {
			t.Fatal(err)
		}
	}},
}
