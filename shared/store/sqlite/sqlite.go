// Package sqlite is the embedded implementation of store.Store: one SQLite
// file (pure Go driver modernc.org/sqlite) in WAL mode.
//
// Ownership: Open gives the Store sole use of the file. A lock file beside it
// (flock, released by the kernel when the process ends) keeps other processes
// out with an error naming the holder's PID; SQLite runs in exclusive locking
// mode on one connection, so no shared-memory WAL index and no file lock is
// taken per statement; and the cache of decoded executions is authoritative,
// so the engine's read of an execution it wrote last costs no query. One
// process owning a data directory is also what the local runner needs: it
// resumes every execution in progress when it starts, which two processes
// would both do.
//
// Concurrency inside the process: writes are serialized by a Go semaphore
// before they reach SQLite; multi-statement writes run in BEGIN IMMEDIATE
// transactions. Optimistic concurrency (the Version column) is checked in the
// UPDATE's WHERE clause. Statements are short (one row, or one page of a
// listing), so they run without a goroutine watching the context: the context
// is checked before each one instead.
//
// Storage conventions: times are unix nanoseconds in UTC (0 for the zero
// time) and are returned in UTC; an execution is JSON in the parts described
// in executions.go, next to the columns that listings filter and sort on.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
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

// Checkpoints (copying the WAL back into the database file, with an fsync of
// each) cost milliseconds. An owned store runs them when it has been idle for
// idleCheckpoint, and SQLite during a commit only once the WAL holds
// walCheckpointPages pages (32 MiB; SQLite's default is 4 MiB), so a burst
// of writes is not slowed by them.
const (
	idleCheckpoint     = 2 * time.Second
	walCheckpointPages = 8192
)

// busyTimeout is how long SQLite waits for a lock held by another process
// (shared mode only: otherwise no other process has the file open).
const busyTimeout = 10 * time.Second

// Store is a store.Store kept in one SQLite file.
type Store struct {
	db *sql.DB
	// owner holds the lock file while the Store is open; nil in shared mode.
	owner *os.File
	// wsem serializes this process's writes (capacity 1).
	wsem chan struct{}
	// idle checkpoints the WAL once writes pause (owned mode; nil
	// otherwise). closed, under wsem, stops it for good.
	idle      *time.Timer
	idleAfter time.Duration
	closed    bool
	// cache holds decoded executions (see execCache).
	cache *execCache

	// Prepared statements of the frequent operations.
	getExec, execVersion, execByToken, insertExec, insertSnapshot, updateExec, updateBody, updateStatus, insertRun *sql.Stmt
	getJob, insertJob, updateJob, pollJobs                                                                         *sql.Stmt
	getLatestPipeline, getPipeline                                                                                 *sql.Stmt
	getLocks, updateLocks                                                                                          *sql.Stmt
}

// options tune Open; tests and benchmarks use them to compare set-ups.
type options struct {
	// shared opens the file for use alongside other processes: no lock
	// file, SQLite's normal locking, a pool of maxConns connections, and a
	// cache that asks SQLite for the stored version on every read. Tests
	// use it to check that the version checks hold across processes.
	shared     bool
	maxConns   int           // shared only: size of the connection pool
	migrations []string      // schema history to apply
	idleAfter  time.Duration // owned only: the idle checkpoint's wait (0: idleCheckpoint)
}

// Open opens (creating if needed) the database file at path for this
// process's sole use and migrates it to the latest schema. When another
// process has it open, Open fails with an error wrapping ErrInUse (after
// lockWait: a lock just released may linger in a forked child until it
// execs). path must name a file.
func Open(path string) (*Store, error) {
	return open(context.Background(), path, options{})
}

func open(ctx context.Context, path string, o options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite store: %q is not a usable database file name", path)
	}
	if o.migrations == nil {
		o.migrations = migrations
	}
	// The pragmas run on every new connection, busy_timeout first so that
	// switching to WAL waits for other openers instead of failing. Exclusive
	// locking must come before the first access in WAL mode for SQLite to
	// keep the WAL index in the connection's memory.
	dsn := path + "?_pragma=busy_timeout(" + fmt.Sprint(busyTimeout.Milliseconds()) + ")"
	var owner *os.File
	if o.shared {
		if o.maxConns <= 0 {
			o.maxConns = max(4, runtime.GOMAXPROCS(0))
		}
	} else {
		var err error
		if owner, err = ownFile(path); err != nil {
			return nil, err
		}
		o.maxConns = 1
		dsn += "&_pragma=locking_mode(EXCLUSIVE)" +
			"&_pragma=wal_autocheckpoint(" + fmt.Sprint(walCheckpointPages) + ")"
	}
	dsn += "&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_txlock=immediate"
	fail := func(err error) (*Store, error) {
		if owner != nil {
			owner.Close()
		}
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fail(fmt.Errorf("sqlite store: opening %s: %w", path, err))
	}
	db.SetMaxOpenConns(o.maxConns)
	db.SetMaxIdleConns(o.maxConns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	s := &Store{db: db, owner: owner, wsem: make(chan struct{}, 1), cache: newExecCache(cacheSize, owner != nil)}
	if err := migrate(ctx, db, o.migrations); err != nil {
		db.Close()
		return fail(err)
	}
	if len(o.migrations) >= len(migrations) {
		if err := s.prepare(ctx); err != nil {
			db.Close()
			return fail(err)
		}
	}
	if owner != nil {
		s.idleAfter = cmp.Or(o.idleAfter, idleCheckpoint)
		s.idle = time.AfterFunc(s.idleAfter, s.checkpoint)
	}
	return s, nil
}

// checkpoint copies the WAL into the database file and truncates it, between
// writes.
func (s *Store) checkpoint() {
	s.wsem <- struct{}{}
	defer func() { <-s.wsem }()
	if s.closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`) // retried after the next write
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
		{&s.updateStatus, qUpdateExecutionStatus},
		{&s.updateBody, qUpdateExecutionBody},
		{&s.insertRun, qInsertRun},
		{&s.insertSnapshot, qInsertSnapshot},
		{&s.getJob, qGetJob},
		{&s.insertJob, qInsertJob},
		{&s.updateJob, qUpdateJob},
		{&s.pollJobs, qPollJobs},
		{&s.getLatestPipeline, qGetLatestPipeline},
		{&s.getPipeline, qGetPipeline},
		{&s.getLocks, qGetLocks},
		{&s.updateLocks, qUpdateLocks},
	} {
		st, err := s.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("sqlite store: preparing %q: %w", firstLine(p.query), err)
		}
		*p.dst = st
	}
	return nil
}

// Close closes the database and lets go of the file. Closing again does
// nothing.
func (s *Store) Close() error {
	s.wsem <- struct{}{}
	if s.closed {
		<-s.wsem
		return nil
	}
	s.closed = true
	if s.idle != nil {
		s.idle.Stop()
	}
	<-s.wsem
	for _, st := range []*sql.Stmt{
		s.getExec, s.execVersion, s.execByToken, s.insertExec, s.updateExec, s.updateBody, s.updateStatus, s.insertRun, s.insertSnapshot,
		s.getJob, s.insertJob, s.updateJob, s.pollJobs,
		s.getLatestPipeline, s.getPipeline,
	} {
		if st != nil {
			st.Close()
		}
	}
	err := s.db.Close()
	if s.owner != nil {
		s.owner.Close() // releases the lock, after SQLite has let go of the file
	}
	return err
}

// short returns the context a single short statement runs with: checked
// now, not watched while the statement runs. The driver watches a
// cancellable context with a goroutine per statement, which costs more than
// the statements of this store (one row, or one page of a listing).
func short(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
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

// unlock releases the write semaphore; the idle checkpoint waits for the
// writes to pause again.
func (s *Store) unlock() {
	if s.idle != nil {
		s.idle.Reset(s.idleAfter)
	}
	<-s.wsem
}

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

// staleWrite explains a versioned update of a record of the given kind
// ("Execution", "Job") that changed no row, from row, the query of its stored
// version: the record is gone (NotFound), or another writer got there first
// (Conflict).
func staleWrite(row *sql.Row, kind errs.Kind, id string, want int64) error {
	what := strings.ToLower(strings.TrimPrefix(string(kind), "Pipeline"))
	var stored int64
	switch err := row.Scan(&stored); {
	case errors.Is(err, sql.ErrNoRows):
		return errs.Of(errs.NotFound, kind, "%s %s not found", what, id)
	case err != nil:
		return fmt.Errorf("sqlite store: updating %s %s: %w", what, id, err)
	}
	return errs.Of(errs.Conflict, kind, "%s %s changed: version %d, not %d", what, id, stored, want)
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

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
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
	return nil, errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken")
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
