package sqlite

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/store"
)

// Executions stored before migration 11 are listed by status through its
// index once the database is opened again: the ones in progress (or
// stopping) of one pipeline, newest first, page by page, without reading
// the ended ones; an execution that ends leaves the list.
func TestActiveByPipelineIndex(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	// The previous release's schema is today's without migration 11, and
	// its rows are written as today's are: write them, then take the
	// database back to version 10.
	old := openTest(t, path, options{})
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	statuses := []engine.Status{engine.Succeeded, engine.InProgress, engine.Failed, engine.Stopping, engine.InProgress, engine.Stopped}
	want := map[engine.Status][]string{}
	for _, p := range []string{"a", "b"} {
		for i := range 30 {
			st := statuses[i%len(statuses)]
			e := &engine.Execution{ID: fmt.Sprintf("%s-%02d", p, i), PipelineName: p, PipelineVersion: 1, Status: st,
				StartTime: start.Add(time.Duration(i) * time.Minute), LastUpdateTime: start.Add(time.Duration(i)*time.Minute + time.Second),
				Stages: []engine.StageState{{Name: "S", Status: st}}}
			if _, _, err := old.CreateExecution(ctx, e); err != nil {
				t.Fatal(err)
			}
			if p == "a" {
				want[st] = append([]string{e.ID}, want[st]...) // newest first
			}
		}
	}
	if _, err := old.db.ExecContext(ctx, `DROP INDEX executions_active_by_pipeline; PRAGMA user_version = 10`); err != nil {
		t.Fatal(err)
	}
	if v, err := schemaVersion(ctx, old.db); err != nil || v != 10 {
		t.Fatalf("schema version %d %v", v, err)
	}
	old.Close()

	s := openTest(t, path, options{})
	list := func(st engine.Status, limit int) []string {
		t.Helper()
		var ids []string
		token := ""
		for {
			rows, next, err := s.ListExecutions(ctx, store.ExecutionFilter{PipelineName: "a", Status: st}, store.Page{Token: token, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.Status != st || r.PipelineName != "a" {
					t.Fatalf("listing %s: %+v", st, r)
				}
				ids = append(ids, r.ID)
			}
			if next == "" {
				return ids
			}
			token = next
		}
	}
	for _, tc := range []struct {
		status engine.Status
		limit  int
	}{
		{engine.InProgress, 100}, {engine.InProgress, 3}, {engine.Stopping, 2}, {engine.Succeeded, 4}, {engine.Stopped, 100},
	} {
		if got := list(tc.status, tc.limit); !slices.Equal(got, want[tc.status]) {
			t.Errorf("%s by %d: %v, want %v", tc.status, tc.limit, got, want[tc.status])
		}
	}

	// The plan of the listing of executions in progress: the index.
	q, args, _, err := listExecutionsQuery(store.ExecutionFilter{PipelineName: "a", Status: engine.InProgress}, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p := queryPlan(t, s, q, args...); !strings.Contains(p, "executions_active_by_pipeline") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("the plan: %s", p)
	}

	// One ends: it leaves the list.
	e, err := s.GetExecution(ctx, want[engine.InProgress][0])
	if err != nil {
		t.Fatal(err)
	}
	e.Status = engine.Succeeded
	if err := s.UpdateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got := list(engine.InProgress, 100); !slices.Equal(got, want[engine.InProgress][1:]) {
		t.Errorf("after %s ended: %v", e.ID, got)
	}
}
