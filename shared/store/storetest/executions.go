package storetest

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// RichExecution returns an execution that uses every field of the record
// (stages, action runs with maps and artifacts, a stop request, non-UTC
// times with nanoseconds), for round-trip checks and benchmarks. It has
// actions action runs.
func RichExecution(id, pipelineName string, start time.Time, actions int) *engine.Execution {
	decl := withVersion(declaration(pipelineName, "Source", "Build", "Deploy"), 4)
	decl.PipelineType = pipeline.TypeV2
	def := "main"
	decl.Variables = []pipeline.VariableDeclaration{{Name: "Branch", DefaultValue: &def}}
	e := &engine.Execution{
		ID:              id,
		PipelineName:    pipelineName,
		PipelineVersion: 4,
		Pipeline:        decl,
		Status:          engine.InProgress,
		StatusSummary:   "started by a test",
		Trigger:         engine.Trigger{Type: "StartPipelineExecution", Detail: "arn:aws:sts::123456789012:assumed-role/dev"},
		Variables:       map[string]string{"Branch": "release", "Env": "staging"},
		StartTime:       start,
		LastUpdateTime:  start.Add(time.Second),
		ParkToken:       "park-token-" + id,
	}
	for i, name := range []string{"Source", "Build", "Deploy"} {
		st := engine.StageState{Name: name, RunOrder: 1}
		if i == 0 {
			st.Status, st.StartTime, st.EndTime = engine.Succeeded, start, start.Add(time.Minute)
		}
		e.Stages = append(e.Stages, st)
	}
	for i := range actions {
		e.Actions = append(e.Actions, actionRun(fmt.Sprintf("%s-run-%d", id, i), i, start.Add(time.Duration(i)*time.Second)))
	}
	if len(e.Actions) > 0 {
		// The first run is a source that was asked for a revision and
		// reported the one it fetched.
		e.SourceRevisions = []engine.SourceRevision{{Action: e.Actions[0].Action, Type: "COMMIT_ID", Value: "0123abc"}}
		r := &e.Actions[0]
		r.SourceRevisions = e.SourceRevisions
		r.CurrentRevision = &engine.Revision{ID: "0123abc", ChangeIdentifier: "2025-01-01T00:00:00Z", Summary: "Fix the build", Created: start.Add(-time.Hour)}
		r.OutputArtifacts = []engine.ArtifactRef{{Name: "BuildOut0", Bucket: "artifacts", Key: "alpha/BuildOut/def.zip", Revision: "0123abc"}}
	}
	return e
}

func actionRun(id string, i int, start time.Time) engine.ActionRun {
	return engine.ActionRun{
		ID:                   id,
		StageIndex:           i % 3,
		ActionIndex:          i,
		Stage:                "Build",
		Action:               fmt.Sprint("Action", i),
		RunOrder:             1 + i%2,
		Attempt:              1,
		Type:                 pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Shell", Version: "1"},
		Namespace:            fmt.Sprint("NS", i),
		Status:               engine.Succeeded,
		Token:                "token-" + id,
		Configuration:        map[string]string{"ProjectName": "app", "Mode": fmt.Sprint(i)},
		Commands:             []string{"make build", "make test"},
		EnvironmentVariables: map[string]string{"GOFLAGS": "-mod=mod"},
		InputArtifacts:       []engine.ArtifactRef{{Name: "SourceOut", Bucket: "artifacts", Key: "alpha/SourceOut/abc.zip"}},
		OutputArtifacts:      []engine.ArtifactRef{{Name: fmt.Sprint("BuildOut", i), Bucket: "artifacts", Key: "alpha/BuildOut/def.zip"}},
		TimeoutInMinutes:     60,
		OutputVariables:      map[string]string{"CommitId": "0123abc"},
		Summary:              "built",
		ExternalExecutionID:  "ext-" + id,
		ExternalExecutionURL: "https://ci.example.com/" + id,
		LogLocation:          "logs/" + id,
		UpdatedBy:            "worker-1",
		StartTime:            start,
		LastUpdateTime:       start.Add(30 * time.Second),
		EndTime:              start.Add(time.Minute),
		CallbackToken:        "callback-token-" + id,
	}
}

func richExecution(id, pipelineName string, start time.Time) *engine.Execution {
	return RichExecution(id, pipelineName, start, 3)
}

// Normalized returns a copy of e with every time in UTC, so that records can
// be compared with reflect.DeepEqual.
func Normalized(e *engine.Execution) *engine.Execution {
	c := *e
	c.StartTime, c.EndTime, c.LastUpdateTime = c.StartTime.UTC(), c.EndTime.UTC(), c.LastUpdateTime.UTC()
	c.Stages = slices.Clone(c.Stages)
	for i := range c.Stages {
		s := &c.Stages[i]
		s.StartTime, s.EndTime = s.StartTime.UTC(), s.EndTime.UTC()
	}
	c.Actions = slices.Clone(c.Actions)
	for i := range c.Actions {
		a := &c.Actions[i]
		a.StartTime, a.LastUpdateTime, a.EndTime = a.StartTime.UTC(), a.LastUpdateTime.UTC(), a.EndTime.UTC()
		if a.CurrentRevision != nil {
			rev := *a.CurrentRevision
			rev.Created = rev.Created.UTC()
			a.CurrentRevision = &rev
		}
	}
	if c.Stop != nil {
		stop := *c.Stop
		stop.At = stop.At.UTC()
		c.Stop = &stop
	}
	return &c
}

func sameExecution(t *testing.T, got, want *engine.Execution) {
	t.Helper()
	deepEqual(t, "execution "+want.ID, Normalized(got), Normalized(want))
}

func createExecution(t *testing.T, s store.Store, e *engine.Execution) *engine.Execution {
	t.Helper()
	got, created, err := s.CreateExecution(t.Context(), e)
	must(t, err)
	if !created {
		t.Fatalf("execution %s not created", e.ID)
	}
	return got
}

var executionTests = []test{
	{"LargestPipelineRetried", func(t *testing.T, s store.Store) {
		if testing.Short() {
			t.Skip("the largest pipeline takes seconds to run through a store")
		}
		RunLargest(t, s, "exec-largest")
	}},
	{"CreateAndGet", func(t *testing.T, s store.Store) {
		e := richExecution("exec-1", "alpha", at(0))
		got, created, err := s.CreateExecution(t.Context(), e)
		must(t, err)
		if !created || got.Version != 1 || e.Version != 1 {
			t.Fatalf("created=%v, stored version %d, e.Version %d; want true, 1, 1", created, got.Version, e.Version)
		}
		want := richExecution("exec-1", "alpha", at(0))
		want.Version = 1
		sameExecution(t, got, want)
		read, err := s.GetExecution(t.Context(), "exec-1")
		must(t, err)
		sameExecution(t, read, want)
	}},
	{"CreateDuplicateID", func(t *testing.T, s store.Store) {
		createExecution(t, s, richExecution("exec-1", "alpha", at(0)))
		_, _, err := s.CreateExecution(t.Context(), richExecution("exec-1", "alpha", at(time.Hour)))
		wantCode(t, err, errs.Conflict, errs.KindPipelineExecution)
	}},
	{"ClientRequestTokenIdempotency", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		first := richExecution("exec-1", "alpha", at(0))
		first.ClientRequestToken = "tok-1"
		createExecution(t, s, first)

		again := richExecution("exec-2", "alpha", at(time.Hour))
		again.ClientRequestToken = "tok-1"
		got, created, err := s.CreateExecution(ctx, again)
		must(t, err)
		if created || got.ID != "exec-1" || got.Version != 1 {
			t.Fatalf("same token: created=%v, id %s, version %d; want false, exec-1, 1", created, got.ID, got.Version)
		}
		if _, err := s.GetExecution(ctx, "exec-2"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("idempotent create stored exec-2 (err %v)", err)
		}

		other := richExecution("exec-3", "bravo", at(time.Hour))
		other.ClientRequestToken = "tok-1"
		if _, created, err := s.CreateExecution(ctx, other); err != nil || !created {
			t.Fatalf("same token, other pipeline: created=%v, err %v; want a new execution", created, err)
		}
		// Executions without a token never collide on it.
		for _, id := range []string{"exec-4", "exec-5"} {
			createExecution(t, s, richExecution(id, "alpha", at(2*time.Hour)))
		}
	}},
	{"ExecutionByRunToken", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// Many executions, the oldest first; one with many runs, so that
		// a store that keeps ended runs apart has to find those too.
		for i := range 30 {
			createExecution(t, s, richExecution(fmt.Sprint("exec-", i), "alpha", at(time.Duration(i)*time.Minute)))
		}
		createExecution(t, s, RichExecution("exec-long", "alpha", at(time.Hour), 60))
		e, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		added := actionRun("exec-1-run-added", 4, at(2*time.Hour))
		added.Status = engine.InProgress
		e.Actions = append(e.Actions, added)
		must(t, s.UpdateExecution(ctx, e))
		long, err := s.GetExecution(ctx, "exec-long")
		must(t, err)
		for i := range 60 { // runs that end and leave the body, and one more
			long.Actions = append(long.Actions, actionRun(fmt.Sprint("exec-long-more-", i), i%3, at(2*time.Hour)))
			must(t, s.UpdateExecution(ctx, long))
		}
		tests := []struct{ token, execution string }{
			{"token-exec-0-run-0", "exec-0"},
			{"token-exec-1-run-2", "exec-1"},
			{"token-exec-1-run-added", "exec-1"},
			{"token-exec-29-run-1", "exec-29"},
			{"token-exec-long-run-0", "exec-long"},
			{"token-exec-long-run-59", "exec-long"},
			{"token-exec-long-more-0", "exec-long"},
			{"token-exec-long-more-59", "exec-long"},
		}
		for _, tt := range tests {
			got, err := s.ExecutionByRunToken(ctx, tt.token)
			must(t, err)
			if r, ok := got.RunByToken(tt.token); got.ID != tt.execution || !ok || r.Token != tt.token {
				t.Fatalf("token %s: execution %s (run found: %v), want %s", tt.token, got.ID, ok, tt.execution)
			}
		}
		_, err = s.ExecutionByRunToken(ctx, "token-ghost")
		wantCode(t, err, errs.NotFound, errs.KindActionExecution)
	}},
	{"GetUnknown", func(t *testing.T, s store.Store) {
		_, err := s.GetExecution(t.Context(), "ghost")
		wantCode(t, err, errs.NotFound, errs.KindPipelineExecution)
	}},
	{"UpdatePersistsEverything", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		createExecution(t, s, richExecution("exec-1", "alpha", at(0)))
		e, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		e.Status = engine.Stopping
		e.StatusSummary = "stopping"
		e.Variables["Extra"] = "yes"
		e.Stages[1].Status, e.Stages[1].StartTime = engine.InProgress, at(2*time.Minute)
		e.Actions[0].OutputVariables["More"] = "1"
		e.Actions = append(e.Actions, actionRun("exec-1-run-new", 9, at(3*time.Minute)))
		e.Stop = &engine.StopRequest{Abandon: true, Reason: "test", At: at(4 * time.Minute)}
		e.EndTime = at(5 * time.Minute)
		e.LastUpdateTime = at(5 * time.Minute)
		must(t, s.UpdateExecution(ctx, e))
		if e.Version != 2 {
			t.Fatalf("Version after update = %d, want 2", e.Version)
		}
		got, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		sameExecution(t, got, e)

		// The listing columns follow the record.
		list, _, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "alpha"}, store.Page{})
		must(t, err)
		if len(list) != 1 || list[0].Status != engine.Stopping || list[0].StatusSummary != "stopping" {
			t.Fatalf("listing after update = %+v", list)
		}
		sameTime(t, "LastUpdateTime", list[0].LastUpdateTime, at(5*time.Minute))
	}},
	{"RecordsAreNotShared", func(t *testing.T, s store.Store) {
		// What a caller holds (the record it created, read or saved) is
		// its own: changing it changes nothing stored. The exceptions are
		// the parts that never change, which copies may share and nobody
		// modifies in place (see engine.Execution): the pipeline snapshot
		// and the maps and slices of ended action runs.
		ctx := t.Context()
		scribble := func(e *engine.Execution) {
			e.Status = engine.Failed
			e.Variables["Branch"] = "scribbled"
			e.Stages[0].Name = "scribbled"
			e.Actions[0].Summary = "scribbled"
			e.Actions[0].Configuration = map[string]string{"ProjectName": "scribbled"}
			live := &e.Actions[2]
			live.Configuration["ProjectName"] = "scribbled"
			live.Commands[0] = "scribbled"
			live.InputArtifacts[0].Key = "scribbled"
			live.EnvironmentVariables["GOFLAGS"] = "scribbled"
			e.Pipeline = pipeline.Pipeline{Name: "scribbled"}
			e.Actions = append(e.Actions[:1], actionRun("scribbled", 7, at(0)))
		}
		withLiveRun := func(e *engine.Execution) *engine.Execution {
			e.Actions[2].Status, e.Actions[2].EndTime = engine.InProgress, time.Time{}
			return e
		}
		want := withLiveRun(richExecution("exec-1", "alpha", at(0)))
		want.Version = 1
		e := withLiveRun(richExecution("exec-1", "alpha", at(0)))
		createExecution(t, s, e)
		scribble(e)
		for i := range 2 {
			got, err := s.GetExecution(ctx, "exec-1")
			must(t, err)
			sameExecution(t, got, want)
			if i == 0 {
				scribble(got)
			}
		}
		e, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		e.StatusSummary = "saved"
		must(t, s.UpdateExecution(ctx, e))
		scribble(e)
		want.StatusSummary, want.Version = "saved", 2
		got, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		sameExecution(t, got, want)
	}},
	{"UpdateStaleVersion", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		createExecution(t, s, richExecution("exec-1", "alpha", at(0)))
		a, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		b, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		a.StatusSummary = "a"
		must(t, s.UpdateExecution(ctx, a))
		b.StatusSummary = "b"
		wantCode(t, s.UpdateExecution(ctx, b), errs.Conflict, errs.KindPipelineExecution)
		if b.Version != 1 {
			t.Fatalf("a failed update changed Version to %d", b.Version)
		}
		got, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		if got.StatusSummary != "a" || got.Version != 2 {
			t.Fatalf("after conflict: summary %q version %d, want a, 2", got.StatusSummary, got.Version)
		}
	}},
	{"UpdateUnknown", func(t *testing.T, s store.Store) {
		e := richExecution("ghost", "alpha", at(0))
		e.Version = 1
		wantCode(t, s.UpdateExecution(t.Context(), e), errs.NotFound, errs.KindPipelineExecution)
	}},
	{"ConcurrentUpdaters", func(t *testing.T, s store.Store) {
		// Writers each append action runs by read-modify-write, retrying on
		// Conflict: with optimistic concurrency no append is lost.
		ctx := t.Context()
		e := richExecution("exec-1", "alpha", at(0))
		e.Actions = nil
		createExecution(t, s, e)
		const writers, rounds = 8, 5
		var (
			wg        sync.WaitGroup
			start     = make(chan struct{})
			conflicts atomic.Int64
		)
		for w := range writers {
			wg.Go(func() {
				<-start
				for r := range rounds {
					for {
						e, err := s.GetExecution(ctx, "exec-1")
						if err != nil {
							t.Error(err)
							return
						}
						runtime.Gosched() // let the others read the same version
						e.Actions = append(e.Actions, actionRun(fmt.Sprintf("run-%d-%d", w, r), w, at(time.Duration(w)*time.Second)))
						err = s.UpdateExecution(ctx, e)
						if err == nil {
							break
						}
						if !errs.Is(err, errs.Conflict) {
							t.Error(err)
							return
						}
						conflicts.Add(1)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		got, err := s.GetExecution(ctx, "exec-1")
		must(t, err)
		var ids, want []string
		for _, a := range got.Actions {
			ids = append(ids, a.ID)
		}
		for w := range writers {
			for r := range rounds {
				want = append(want, fmt.Sprintf("run-%d-%d", w, r))
			}
		}
		deepEqual(t, "action runs", sorted(ids), sorted(want))
		if got.Version != 1+writers*rounds {
			t.Fatalf("Version = %d, want %d", got.Version, 1+writers*rounds)
		}
		t.Logf("%d writers × %d rounds, %d conflicts retried", writers, rounds, conflicts.Load())
	}},
	{"ListRowsCarryTheListing", func(t *testing.T, s store.Store) {
		// A list row carries what ListPipelineExecutions shows of the record
		// (execution mode, stop, source revisions) as of its last write.
		ctx := t.Context()
		e := richExecution("exec-listed", "alpha", at(0))
		e.Pipeline.ExecutionMode = "QUEUED"
		e.Lane = "release/1.x"
		e.Pipeline.Stages[0].Actions[0].ActionTypeID.Category = pipeline.CategorySource
		e.Pipeline.Stages[0].Actions[0].Name = e.Actions[0].Action
		e.Actions[0].Stage = e.Pipeline.Stages[0].Name
		created := createExecution(t, s, e)
		row := func() *store.Listing {
			t.Helper()
			page, _, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "alpha"}, store.Page{})
			must(t, err)
			if len(page) != 1 {
				t.Fatalf("%d rows, want 1", len(page))
			}
			return page[0].Listing
		}
		sameListing(t, "after create", row(), store.ListingOf(created))
		if l := row(); l.ExecutionMode != "QUEUED" || len(l.SourceRevisions) != 1 || l.SourceRevisions[0].RevisionID != "0123abc" || l.Lane != "release/1.x" {
			t.Fatalf("listing %+v lacks the mode, the reported revision or the lane", l)
		}
		got, err := s.GetExecution(ctx, "exec-listed")
		must(t, err)
		got.Stop = &engine.StopRequest{Abandon: true, Reason: "by the test", At: at(time.Minute)}
		got.Status = engine.Stopping
		must(t, s.UpdateExecution(ctx, got))
		sameListing(t, "after update", row(), store.ListingOf(got))
		if l := row(); l.Stop == nil || l.Stop.Reason != "by the test" {
			t.Fatalf("listing %+v lacks the stop", l)
		}
	}},
	{"ListNewestFirstPaginated", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// exec-3 and exec-4 start at the same instant: ties are still listed
		// once each, in a stable order.
		starts := map[string]time.Duration{
			"exec-1": 0, "exec-2": time.Minute, "exec-3": 2 * time.Minute, "exec-4": 2 * time.Minute,
			"exec-5": 3 * time.Minute, "exec-6": 4 * time.Minute, "exec-7": 5 * time.Minute,
		}
		for _, id := range []string{"exec-4", "exec-1", "exec-7", "exec-2", "exec-6", "exec-3", "exec-5"} {
			e := richExecution(id, "alpha", at(starts[id]))
			if id == "exec-2" || id == "exec-5" {
				e.Status = engine.Succeeded
			}
			createExecution(t, s, e)
		}
		createExecution(t, s, richExecution("other-1", "bravo", at(time.Hour)))

		var ids []string
		token, pages := "", 0
		for {
			page, next, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "alpha"}, store.Page{Token: token, Limit: 3})
			must(t, err)
			pages++
			if len(page) > 3 {
				t.Fatalf("page of %d rows, limit 3", len(page))
			}
			for _, x := range page {
				ids = append(ids, x.ID)
			}
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			token = next
		}
		if pages != 3 || len(ids) != 7 {
			t.Fatalf("%d pages, %d rows (%v); want 3 pages, 7 rows", pages, len(ids), ids)
		}
		if ids[0] != "exec-7" || ids[1] != "exec-6" || ids[2] != "exec-5" || ids[5] != "exec-2" || ids[6] != "exec-1" {
			t.Fatalf("order %v is not newest first", ids)
		}
		if mid := sorted(ids[3:5]); mid[0] != "exec-3" || mid[1] != "exec-4" {
			t.Fatalf("order %v: the tied pair is missing", ids)
		}

		succeeded, next, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "alpha", Status: engine.Succeeded}, store.Page{})
		must(t, err)
		if next != "" || len(succeeded) != 2 || succeeded[0].ID != "exec-5" || succeeded[1].ID != "exec-2" {
			t.Fatalf("status filter: %+v", succeeded)
		}
		x := succeeded[0]
		if x.PipelineName != "alpha" || x.PipelineVersion != 4 || x.Status != engine.Succeeded ||
			x.StatusSummary != "started by a test" || x.Trigger.Type != "StartPipelineExecution" || x.Trigger.Detail == "" {
			t.Fatalf("summary = %+v", x)
		}
		sameTime(t, "StartTime", x.StartTime, at(3*time.Minute))
		sameTime(t, "LastUpdateTime", x.LastUpdateTime, at(3*time.Minute+time.Second))

		none, next, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "ghost"}, store.Page{})
		must(t, err)
		if len(none) != 0 || next != "" {
			t.Fatalf("unknown pipeline lists %v", none)
		}
	}},
	{"ListValidation", func(t *testing.T, s store.Store) {
		_, _, err := s.ListExecutions(t.Context(), store.ExecutionFilter{}, store.Page{})
		wantCode(t, err, errs.Validation, errs.KindNone)
		_, _, err = s.ListExecutions(t.Context(), store.ExecutionFilter{PipelineName: "alpha"}, store.Page{Token: "%%% not a token %%%"})
		wantCode(t, err, errs.Validation, errs.KindNone)
	}},
	{"ListActive", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		statuses := map[string]engine.Status{
			"e-progress": engine.InProgress, "e-stopping": engine.Stopping, "e-succeeded": engine.Succeeded,
			"e-failed": engine.Failed, "e-stopped": engine.Stopped, "e-superseded": engine.Superseded,
		}
		for id, st := range statuses {
			e := richExecution(id, "alpha", at(0))
			e.Status = st
			createExecution(t, s, e)
		}
		// A change of status moves an execution in and out of the set.
		e, err := s.GetExecution(ctx, "e-failed")
		must(t, err)
		e.Status = engine.InProgress
		must(t, s.UpdateExecution(ctx, e))
		e, err = s.GetExecution(ctx, "e-progress")
		must(t, err)
		e.Status = engine.Succeeded
		must(t, s.UpdateExecution(ctx, e))

		ids, err := s.ListActiveExecutions(ctx)
		must(t, err)
		deepEqual(t, "active", sorted(ids), []string{"e-failed", "e-stopping"})
	}},
}

// sameListing compares listings as they are encoded (times by instant).
func sameListing(t *testing.T, when string, got, want *store.Listing) {
	t.Helper()
	g, err := json.Marshal(got)
	must(t, err)
	w, err := json.Marshal(want)
	must(t, err)
	if got == nil || string(g) != string(w) {
		t.Fatalf("the listing %s:\n got %s\nwant %s", when, g, w)
	}
}
