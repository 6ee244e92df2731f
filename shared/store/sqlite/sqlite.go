// Package sqlite is the embedded implementation of store.Store: one SQLite
// file (pure Go driver modernc.org/sqlite) in WAL mode.
//
// Concurrency: reads run concurrently on a small pool of connections (WAL lets
// readers proceed while a write is in progress); writes of this process are
// serialized by a Go semaphore before they reach SQLite, so they never wait in
// SQLite's sleeping busy handler. Multi-statement writes run in BEGIN
// IMMEDIATE transactions; the busy timeout covers other processes sharing the
// file. Optimistic concurrency (the Version column) is checked in the UPDATE's
// WHERE clause, so it also holds across processes.
//
// Storage conventions: times are unix nanoseconds in UTC (0 for the zero
// time) and are returned in UTC; an execution is kept whole as JSON in the
// body column, next to the columns that listings filter and sort on.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

var _ store.Store = (*Store)(nil)

// defaultLimit is the page size when Page.Limit ≤ 0.
const defaultLimit = 100

// cacheSize bounds the executions kept decoded in memory.
const cacheSize = 1024

// busyTimeout is how long SQLite waits for a lock held by another process.
const busyTimeout = 10 * time.Second

// Store is a store.Store kept in one SQLite file.
type Store struct {
	db *sql.DB
	// wsem serializes this process's writes (capacity 1).
	wsem chan struct{}
	// cache holds decoded executions (see execCache).
	cache *execCache

	// Prepared statements of the frequent operations.
	getExec, execVersion, execByToken, insertExec, updateExec, updateBody *sql.Stmt
	getJob, insertJob, updateJob, pollJobs                                *sql.Stmt
	getLatestPipeline, getPipeline                                        *sql.Stmt
}

// options tune Open; tests and benchmarks use them to compare set-ups.
type options struct {
	maxConns   int      // size of the connection pool; 1 serializes everything
	migrations []string // schema history to apply
}

// Open opens (creating if needed) the database file at path and migrates it
// to the latest schema. path must name a file: an in-memory database would
// not be shared by the connections of the pool.
func Open(path string) (*Store, error) {
	return open(context.Background(), path, options{})
}

func open(ctx context.Context, path string, o options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite store: %q is not a usable database file name", path)
	}
	if o.maxConns <= 0 {
		o.maxConns = max(4, runtime.GOMAXPROCS(0))
	}
	if o.migrations == nil {
		o.migrations = migrations
	}
	// The pragmas run on every new connection, busy_timeout first so that
	// switching to WAL waits for other openers instead of failing.
	dsn := path +
		"?_pragma=busy_timeout(" + fmt.Sprint(busyTimeout.Milliseconds()) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(o.maxConns)
	db.SetMaxIdleConns(o.maxConns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	s := &Store{db: db, wsem: make(chan struct{}, 1), cache: newExecCache(cacheSize)}
	if err := migrate(ctx, db, o.migrations); err != nil {
		db.Close()
		return nil, err
	}
	if len(o.migrations) >= len(migrations) {
		if err := s.prepare(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.getExec, qGetExecution},
		{&s.execVersion, qExecutionVersion},
		{&s.execByToken, qExecutionByToken},
		{&s.insertExec, qInsertExecution},
		{&s.updateExec, qUpdateExecution},
		{&s.updateBody, qUpdateExecutionBody},
		{&s.getJob, qGetJob},
		{&s.insertJob, qInsertJob},
		{&s.updateJob, qUpdateJob},
		{&s.pollJobs, qPollJobs},
		{&s.getLatestPipeline, qGetLatestPipeline},
		{&s.getPipeline, qGetPipeline},
	} {
		st, err := s.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("sqlite store: preparing %q: %w", firstLine(p.query), err)
		}
		*p.dst = st
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{
		s.getExec, s.execVersion, s.execByToken, s.insertExec, s.updateExec, s.updateBody,
		s.getJob, s.insertJob, s.updateJob, s.pollJobs,
		s.getLatestPipeline, s.getPipeline,
	} {
		if st != nil {
			st.Close()
		}
	}
	return s.db.Close()
}

// lock takes the write semaphore.
func (s *Store) lock(ctx context.Context) error {
	select {
	case s.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlock() { <-s.wsem }

// withTx runs fn in a write transaction (BEGIN IMMEDIATE) under the write
// semaphore and commits when fn returns nil.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: commit: %w", err)
	}
	return nil
}

// nanos and fromNanos convert times to and from their stored form.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// constraint reports whether err is a constraint violation with the given
// extended result code (sqlite3.SQLITE_CONSTRAINT_*).
func constraint(err error, code int) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == code
}

func isPrimaryKeyViolation(err error) bool {
	return constraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func isUniqueViolation(err error) bool {
	return constraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE)
}

// Page tokens are opaque to callers: base64url of a tag naming the listing
// and the key of the last row returned (keyset pagination, stable under
// concurrent inserts).

func encodeToken(tag string, parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tag + "\x00" + strings.Join(parts, "\x00")))
}

func decodeToken(token, tag string, n int) ([]string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		parts := strings.Split(string(raw), "\x00")
		if len(parts) == n+1 && parts[0] == tag {
			return parts[1:], nil
		}
	}
	return nil, errs.Of(errs.Validation, "NextToken", "invalid nextToken")
}

func limitOf(p store.Page) int {
	if p.Limit <= 0 {
		return defaultLimit
	}
	return p.Limit
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
