package sqlite

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/storetest"
)

func TestMigrateFromEveryVersion(t *testing.T) {
	for n := 0; n < len(migrations); n++ {
		t.Run(fmt.Sprint("from", n), func(t *testing.T) {
			path := tempPath(t)
			ctx := t.Context()
			old := openTest(t, path, options{migrations: migrations[:n]})
			if v := userVersion(t, old.db); v != n {
				t.Fatalf("user_version = %d, want %d", v, n)
			}
			if n >= 1 { // data written by the old schema survives
				if _, err := old.db.ExecContext(ctx, `INSERT INTO pipelines
(name, version, pipeline_type, execution_mode, declaration, tags, created, updated)
VALUES ('old', 1, 'V1', 'SUPERSEDED', '{"name":"old","stages":[]}', NULL, 1, 1)`); err != nil {
					t.Fatal(err)
				}
			}
			old.Close()

			s := openTest(t, path, options{})
			if v := userVersion(t, s.db); v != len(migrations) {
				t.Fatalf("user_version after migration = %d, want %d", v, len(migrations))
			}
			if n >= 1 {
				if _, err := s.GetPipeline(ctx, "old", 0); err != nil {
					t.Fatal(err)
				}
			}
			// Every table of the latest schema is usable.
			if err := s.CreateJob(ctx, &store.Job{ID: "j", Status: store.JobQueued}); err != nil {
				t.Fatal(err)
			}
			if err := s.TagResource(ctx, "arn:x", []pipeline.Tag{{Key: "k", Value: "v"}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	path := tempPath(t)
	openTest(t, path, options{}).Close()
	bad := append(append([]string{}, migrations...),
		`CREATE TABLE extra (x INTEGER) STRICT; CREATE TABLE pipelines (x INTEGER)`)
	if s, err := open(t.Context(), path, options{migrations: bad}); err == nil {
		s.Close()
		t.Fatal("a failing migration was accepted")
	}
	s := openTest(t, path, options{})
	if v := userVersion(t, s.db); v != len(migrations) {
		t.Fatalf("user_version = %d, want %d", v, len(migrations))
	}
	var n int
	if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE name = 'extra'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the failed migration left table extra behind (%d, %v)", n, err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := tempPath(t)
	next := append(append([]string{}, migrations...), `CREATE TABLE extra (x INTEGER) STRICT`)
	s := openTest(t, path, options{migrations: next})
	if v := userVersion(t, s.db); v != len(next) {
		t.Fatalf("user_version = %d, want %d", v, len(next))
	}
	s.Close()
	if s, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("opening a newer schema: %v", err)
	}
}

// An execution written by schema 4 (pipeline in pipeline_decl, every run in
// the body) reads back the same after the migration, and can be updated.
func TestMigrateExecutionFromSchema4(t *testing.T) {
	path := tempPath(t)
	ctx := t.Context()
	e := benchExecution("exec-1")
	e.Version = 1
	old := openTest(t, path, options{migrations: migrations[:4]})
	c := *e
	c.Pipeline = pipeline.Pipeline{}
	body, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	decl, err := json.Marshal(&e.Pipeline)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.db.ExecContext(ctx, `INSERT INTO executions (id, pipeline_name, pipeline_version, status, status_summary,
	trigger_type, trigger_detail, client_request_token, start_time, last_update_time, version, body, pipeline_decl)
VALUES (?, ?, ?, ?, '', '', '', '', ?, ?, 1, ?, ?)`, e.ID, e.PipelineName, e.PipelineVersion, string(e.Status),
		store.Nanos(e.StartTime), store.Nanos(e.LastUpdateTime), string(body), string(decl)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s := openTest(t, path, options{})
	got, err := s.GetExecution(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(storetest.Normalized(got), storetest.Normalized(e)) {
		t.Fatal("the execution read after the migration differs")
	}
	got.StatusSummary = "after the migration"
	if err := s.UpdateExecution(ctx, got); err != nil {
		t.Fatal(err)
	}
	s.cache.take(e.ID)
	again, err := s.GetExecution(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(storetest.Normalized(again), storetest.Normalized(got)) {
		t.Fatal("the execution updated after the migration reads back differently")
	}
}
