package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/storetest"
)

func tempPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "stageflow.db")
}

func openTest(t testing.TB, path string, o options) *Store {
	t.Helper()
	s, err := open(context.Background(), path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, tempPath(t), options{})
	})
}

// The suite also passes in shared mode (other processes may use the file).
func TestStoreShared(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, tempPath(t), options{shared: true})
	})
}

func userVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	v, err := schemaVersion(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenPragmas(t *testing.T) {
	s := openTest(t, tempPath(t), options{})
	ctx := t.Context()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"synchronous":  "1", // NORMAL
		"busy_timeout": fmt.Sprint(busyTimeout.Milliseconds()),
	} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "x.db?mode=ro"} {
		if s, err := Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestOpenTwiceIsIdempotent(t *testing.T) {
	path := tempPath(t)
	ctx := t.Context()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TagResource(ctx, "arn:x", []pipeline.Tag{{Key: "k", Value: "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s := openTest(t, path, options{})
		if v := userVersion(t, s.db); v != len(migrations) {
			t.Fatalf("user_version = %d, want %d", v, len(migrations))
		}
		tags, err := s.ListTags(ctx, "arn:x")
		if err != nil || len(tags) != 1 {
			t.Fatalf("tags after reopen: %v, %v", tags, err)
		}
		s.Close()
	}
}

// Processes opening a file in shared mode at once apply every migration once.
func TestConcurrentOpenShared(t *testing.T) {
	path := tempPath(t)
	errc := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := open(context.Background(), path, options{shared: true})
			if err == nil {
				err = s.Close()
			}
			errc <- err
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	s := openTest(t, path, options{shared: true})
	if v := userVersion(t, s.db); v != len(migrations) {
		t.Fatalf("user_version = %d, want %d", v, len(migrations))
	}
}

// Open gives one Store the file: a second Open fails at once, naming the
// holder's PID, until the first is closed.
func TestOpenIsExclusive(t *testing.T) {
	path := tempPath(t)
	first, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Open(path)
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second Open of an open store succeeded")
	}
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("second Open: %v, want ErrInUse naming pid %d", err, os.Getpid())
	}
	var mode string
	if err := first.db.QueryRowContext(t.Context(), `PRAGMA locking_mode`).Scan(&mode); err != nil || mode != "exclusive" {
		t.Errorf("locking_mode = %q, %v; want exclusive", mode, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again := openTest(t, path, options{})
	if _, _, err := again.ListPipelines(t.Context(), store.Page{}); err != nil {
		t.Fatal(err)
	}
}

// queryPlan is SQLite's plan of q, its steps' details joined by "; ".
func queryPlan(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

func TestQueryPlans(t *testing.T) {
	s := openTest(t, tempPath(t), options{})
	for q, index := range map[string]string{
		qPollJobs:    "jobs_queue",
		qExpiredJobs: "jobs_open_deadline",
		`SELECT ` + execSummaryCols + ` FROM executions WHERE pipeline_name = ? AND (start_time, id) < (?, ?) ORDER BY start_time DESC, id DESC LIMIT ?`: "executions_by_pipeline",
		qActiveExecutions: "executions_active",
		qListPipelines:    "",
	} {
		text := queryPlan(t, s, q, make([]any, strings.Count(q, "?"))...)
		if index != "" && !strings.Contains(text, index) {
			t.Errorf("plan of %q does not use %s: %s", firstLine(q), index, text)
		}
		if strings.Contains(text, "SCAN jobs") || strings.Contains(text, "SCAN executions") && !strings.Contains(text, "USING INDEX executions_active") {
			t.Errorf("plan of %q scans a table: %s", firstLine(q), text)
		}
	}
}

// A second Store on the same file (another process) writes: the first one's
// cache must not hide the change, and its stale version must conflict.
func TestCacheSeesOtherWriters(t *testing.T) {
	path := tempPath(t)
	ctx := t.Context()
	a := openTest(t, path, options{shared: true})
	b := openTest(t, path, options{shared: true})
	e := benchExecution("exec-1")
	if _, _, err := a.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	ea, err := a.GetExecution(ctx, "exec-1") // cached in a, taken out
	if err != nil {
		t.Fatal(err)
	}
	ea.StatusSummary = "by a"
	if err := a.UpdateExecution(ctx, ea); err != nil { // cached again at version 2
		t.Fatal(err)
	}
	eb, err := b.GetExecution(ctx, "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	eb.StatusSummary = "by b"
	if err := b.UpdateExecution(ctx, eb); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateExecution(ctx, ea); !errs.Is(err, errs.Conflict) {
		t.Fatalf("stale update from a: %v, want Conflict", err)
	}
	got, err := a.GetExecution(ctx, "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusSummary != "by b" || got.Version != 3 {
		t.Fatalf("a reads %q version %d, want \"by b\" version 3", got.StatusSummary, got.Version)
	}
}

// The listing columns follow every update, including the indexed ones the
// usual update leaves alone.
func TestUpdateExecutionIndexedColumns(t *testing.T) {
	s := openTest(t, tempPath(t), options{})
	ctx := t.Context()
	other := benchExecution("exec-0")
	other.ClientRequestToken = "taken"
	if _, _, err := s.CreateExecution(ctx, other); err != nil {
		t.Fatal(err)
	}
	e := benchExecution("exec-1")
	if _, _, err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		var (
			name, status, token string
			start, last, ver    int64
		)
		err := s.db.QueryRowContext(ctx, `SELECT pipeline_name, status, client_request_token, start_time, last_update_time, version
FROM executions WHERE id = 'exec-1'`).Scan(&name, &status, &token, &start, &last, &ver)
		if err != nil {
			t.Fatal(err)
		}
		if name != e.PipelineName || status != string(e.Status) || token != e.ClientRequestToken ||
			start != store.Nanos(e.StartTime) || last != store.Nanos(e.LastUpdateTime) || ver != e.Version {
			t.Fatalf("columns %s %s %q %d %d v%d do not match the record %+v", name, status, token, start, last, ver, e)
		}
	}
	for _, change := range []func(){
		func() { e.StatusSummary = "no indexed change" },
		func() { e.Status = engine.Stopping },
		func() { e.StartTime = e.StartTime.Add(time.Hour) },
		func() { e.ClientRequestToken = "mine" },
		func() { e.PipelineName = "renamed" },
		func() { e.LastUpdateTime = e.LastUpdateTime.Add(time.Minute) },
	} {
		change()
		if err := s.UpdateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		check()
	}
	e.PipelineName, e.ClientRequestToken = other.PipelineName, "taken"
	if err := s.UpdateExecution(ctx, e); !errs.Is(err, errs.Conflict) {
		t.Fatalf("taking another execution's token: %v, want Conflict", err)
	}
}

// An execution whose runs end one after the other: the body keeps the ended
// runs inline while it fits in bodyBudget, then they move to execution_runs;
// every version reads back whole, from the cache and from the file.
func TestEndedRunsMoveOut(t *testing.T) {
	s := openTest(t, tempPath(t), options{})
	ctx := t.Context()
	e := benchExecution("exec-1")
	e.Actions = nil
	if _, _, err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	stored := func() (body, chunks int) {
		t.Helper()
		if err := s.db.QueryRowContext(ctx, `SELECT length(body), (SELECT count(*) FROM execution_runs WHERE execution_id = 'exec-1')
FROM executions WHERE id = 'exec-1'`).Scan(&body, &chunks); err != nil {
			t.Fatal(err)
		}
		return body, chunks
	}
	check := func(when string) {
		t.Helper()
		want := deepCopy(e)
		for _, fromFile := range []bool{false, true} {
			if fromFile {
				s.cache.take(e.ID) // the next read decodes the row
			}
			got, err := s.GetExecution(ctx, e.ID)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if !reflect.DeepEqual(storetest.Normalized(got), storetest.Normalized(want)) {
				t.Fatalf("%s (from file %v): the execution read back differs", when, fromFile)
			}
			e = got
		}
	}
	const runs = 30
	for i := range runs {
		run := storetest.RichExecution("x", "bench", e.StartTime, i+1).Actions[i]
		run.ID = fmt.Sprint("run-", i)
		run.Status, run.EndTime = engine.InProgress, time.Time{}
		e.Actions = append(e.Actions, run)
		if err := s.UpdateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("run %d started", i))
		e.Actions[i].Status, e.Actions[i].EndTime = engine.Succeeded, e.StartTime.Add(time.Hour)
		if err := s.UpdateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("run %d ended", i))
		if body, _ := stored(); body > bodyBudget {
			t.Fatalf("after run %d: body of %d bytes, over the budget of %d", i, body, bodyBudget)
		}
	}
	if _, chunks := stored(); chunks < 3 {
		t.Fatalf("%d rows of ended runs for %d runs, want several", chunks, runs)
	}
}

func TestDecodeEndedRuns(t *testing.T) {
	run := func(id string) string { return `{"id":"` + id + `","status":"Succeeded"}` }
	at := func(seq int, id string) string { return fmt.Sprintf(`{"seq":%d,"run":%s}`, seq, run(id)) }
	body := func(actions ...string) string {
		return `{"id":"e","pipelineName":"p","status":"InProgress","actions":[` + strings.Join(actions, ",") + `]}`
	}
	for _, c := range []struct {
		name, body, ended string
		want              []string // run IDs in order; nil: an error
		wantErr           string
	}{
		{"inline only", body(run("a"), run("b")), "", []string{"a", "b"}, ""},
		{"placeholders filled by place", body("null", run("b"), "null"), at(2, "c") + "," + at(0, "a"), []string{"a", "b", "c"}, ""},
		{"a run stored twice", body("null", "null"), at(0, "a") + "," + at(1, "b") + "," + at(0, "a"), []string{"a", "b"}, ""},
		{"a stored run also inline", body(run("a"), "null"), at(0, "a") + "," + at(1, "b"), []string{"a", "b"}, ""},
		{"a placeholder without its run", body("null", "null"), at(0, "a"), nil, "place 1 is missing"},
		{"a run for another's place", body(run("a"), "null"), at(0, "x") + "," + at(1, "b"), nil, `holds run "a"`},
		{"a place past the end", body("null"), at(0, "a") + "," + at(3, "b"), nil, "does not have"},
		{"bad JSON", body("null"), `{"seq":0,`, nil, "decoding the ended action runs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ended []byte
			if c.ended != "" {
				ended = []byte(c.ended)
			}
			e, set, err := decodeExecution([]byte(c.body), nil, ended, 3)
			if c.want == nil {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range e.Actions {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, c.want) || e.Version != 3 {
				t.Fatalf("runs %v version %d, want %v version 3", ids, e.Version, c.want)
			}
			if strings.Count(c.ended, `"seq"`) > 0 && len(set) == 0 {
				t.Fatalf("no run reported as stored")
			}
		})
	}
}

// Once writes pause, the owned store checkpoints the WAL and truncates it.
func TestIdleCheckpoint(t *testing.T) {
	path := tempPath(t)
	s := openTest(t, path, options{idleAfter: 20 * time.Millisecond})
	if _, _, err := s.CreateExecution(t.Context(), benchExecution("exec-1")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the WAL still holds %d bytes after the writes paused", fi.Size())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A read that decoded an older version after a write cached a newer one
// does not take the cache back.
func TestCacheKeepsTheNewerVersion(t *testing.T) {
	c := newExecCache(8, true)
	newer, older := benchExecution("exec-1"), benchExecution("exec-1")
	newer.Version, older.Version = 3, 2
	c.put(newer, nil)
	c.put(older, nil)
	if got, v := c.take("exec-1"); got != newer || v != 3 {
		t.Fatalf("took version %d, want 3", v)
	}
	// Nor once the execution has ended and left the cache.
	ended := benchExecution("exec-1")
	ended.Version, ended.Status = 4, engine.Succeeded
	c.put(ended, nil)
	c.put(older, nil)
	if got, v := c.take("exec-1"); got != nil {
		t.Fatalf("took version %d of an ended execution, want nothing", v)
	}
}

// The executions of one pipeline version share one stored snapshot.
func TestSnapshotsAreShared(t *testing.T) {
	s := openTest(t, tempPath(t), options{})
	ctx := t.Context()
	for i := range 3 {
		if _, _, err := s.CreateExecution(ctx, benchExecution(fmt.Sprint("exec-", i))); err != nil {
			t.Fatal(err)
		}
	}
	other := benchExecution("exec-other")
	other.Pipeline.Stages = other.Pipeline.Stages[:1]
	if _, _, err := s.CreateExecution(ctx, other); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM pipeline_snapshots`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d snapshots stored (%v), want 2", n, err)
	}
	for _, id := range []string{"exec-1", "exec-other"} {
		s.cache.take(id)
		got, err := s.GetExecution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := benchExecution(id).Pipeline
		if id == "exec-other" {
			want = other.Pipeline
		}
		if !reflect.DeepEqual(got.Pipeline, want) {
			t.Fatalf("%s reads back another pipeline snapshot", id)
		}
	}
}
