package storetest

import (
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

var retentionTests = []test{
	{"PruneExecutions", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		day := 24 * time.Hour
		mk := func(id string, age time.Duration, status engine.Status, token string, runs int) *engine.Execution {
			e := RichExecution(id, "alpha", at(-age), runs)
			e.Status, e.ClientRequestToken = status, token
			return createExecution(t, s, e)
		}
		// Oldest first: the order PruneExecutions deletes them in.
		mk("old-succeeded", 400*day, engine.Succeeded, "token-old", 40) // enough runs to move some out
		mk("old-running", 390*day, engine.InProgress, "", 3)
		mk("old-failed", 380*day, engine.Failed, "", 3)
		mk("old-stopping", 370*day, engine.Stopping, "", 3)
		mk("old-stopped", 360*day, engine.Stopped, "", 3)
		recent := mk("recent", 10*day, engine.Succeeded, "", 3)
		for _, j := range []*store.Job{job("job-old", builder, at(-380*day)), job("job-recent", builder, at(-10*day))} {
			j.ExecutionID = map[string]string{"job-old": "old-failed", "job-recent": "recent"}[j.ID]
			createJob(t, s, j)
		}
		before := at(-365 * day)
		if sp, ok := s.(store.SelfPruning); ok && sp.PrunesItself() {
			_, err := s.PruneExecutions(ctx, before, 2)
			must(t, err)
			for _, id := range []string{"old-running", "old-stopping", "recent"} {
				if _, err := s.GetExecution(ctx, id); err != nil {
					t.Errorf("%s: %v", id, err)
				}
			}
			t.Skip("the store expires ended executions on its own (store.SelfPruning)")
		}

		var got []string
		for batch := 0; ; batch++ {
			pruned, err := s.PruneExecutions(ctx, before, 2)
			must(t, err)
			for _, p := range pruned {
				if p.PipelineName != "alpha" {
					t.Errorf("pruned %s of pipeline %q, want alpha", p.ID, p.PipelineName)
				}
				got = append(got, p.ID)
			}
			if len(pruned) < 2 {
				break
			}
			if batch > 3 {
				t.Fatalf("batches of 2 never end: %v", got)
			}
		}
		deepEqual(t, "pruned executions", got, []string{"old-succeeded", "old-failed"})
		pruned, err := s.PruneExecutions(ctx, before, 2)
		must(t, err)
		deepEqual(t, "pruned again", len(pruned), 0)
		for _, id := range []string{"old-succeeded", "old-failed"} {
			_, err := s.GetExecution(ctx, id)
			wantCode(t, err, errs.NotFound, errs.KindPipelineExecution)
		}
		// In progress or stopping however old, or newer than the cutoff: kept.
		for _, id := range []string{"old-running", "old-stopping", "recent"} {
			if _, err := s.GetExecution(ctx, id); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		e, err := s.GetExecution(ctx, "recent")
		must(t, err)
		sameExecution(t, e, recent) // its shared pipeline snapshot is still there
		list, _, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "alpha"}, store.Page{})
		must(t, err)
		var listed []string
		for _, x := range list {
			listed = append(listed, x.ID)
		}
		deepEqual(t, "listed", sorted(listed), []string{"old-running", "old-stopped", "old-stopping", "recent"})
		_, err = s.GetJob(ctx, "job-old")
		wantCode(t, err, errs.NotFound, errs.KindJob)
		_, err = s.GetJob(ctx, "job-recent")
		must(t, err)
		// A pruned execution's client request token names nothing any more.
		again := RichExecution("new", "alpha", at(0), 1)
		again.ClientRequestToken = "token-old"
		_, created, err := s.CreateExecution(ctx, again)
		must(t, err)
		if !created {
			t.Error("the client request token of a pruned execution still answers it")
		}
		// max ≤ 0 means the default (100): the stopped one goes now.
		pruned, err = s.PruneExecutions(ctx, before.Add(10*day), 0)
		must(t, err)
		if len(pruned) != 1 || pruned[0].ID != "old-stopped" {
			t.Errorf("pruned %+v, want old-stopped", pruned)
		}
		sameTime(t, "start time", pruned[0].StartTime, at(-360*day))
	}},
}
