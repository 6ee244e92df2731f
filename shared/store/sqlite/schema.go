package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations is the schema history. Entry i takes the database from schema
// version i to i+1 (PRAGMA user_version counts the applied entries). Entries
// are append-only: never edit one that has shipped, add a new one.
//
// Conventions: tables are STRICT; times are INTEGER unix nanoseconds in UTC
// (0 for the zero time); JSON documents are TEXT; opaque payloads are BLOB.
var migrations = []string{
	// 1: pipelines and executions.
	`
CREATE TABLE pipelines (
	name           TEXT    NOT NULL,
	version        INTEGER NOT NULL,
	pipeline_type  TEXT    NOT NULL,
	execution_mode TEXT    NOT NULL,
	declaration    TEXT    NOT NULL,
	tags           TEXT,
	created        INTEGER NOT NULL,
	updated        INTEGER NOT NULL,
	PRIMARY KEY (name, version)
) STRICT;

CREATE TABLE executions (
	id                   TEXT    NOT NULL PRIMARY KEY,
	pipeline_name        TEXT    NOT NULL,
	pipeline_version     INTEGER NOT NULL,
	status               TEXT    NOT NULL,
	status_summary       TEXT    NOT NULL,
	trigger_type         TEXT    NOT NULL,
	trigger_detail       TEXT    NOT NULL,
	client_request_token TEXT    NOT NULL,
	start_time           INTEGER NOT NULL,
	last_update_time     INTEGER NOT NULL,
	version              INTEGER NOT NULL,
	body                 TEXT    NOT NULL
) STRICT;

CREATE INDEX executions_by_pipeline ON executions (pipeline_name, start_time DESC, id DESC);
CREATE INDEX executions_by_status ON executions (status);
CREATE UNIQUE INDEX executions_by_token ON executions (pipeline_name, client_request_token)
	WHERE client_request_token <> '';
`,
	// 2: jobs of worker-served action types.
	`
CREATE TABLE jobs (
	id                 TEXT    NOT NULL PRIMARY KEY,
	nonce              TEXT    NOT NULL,
	category           TEXT    NOT NULL,
	owner              TEXT    NOT NULL,
	provider           TEXT    NOT NULL,
	type_version       TEXT    NOT NULL,
	execution_id       TEXT    NOT NULL,
	action_run_id      TEXT    NOT NULL,
	pipeline_name      TEXT    NOT NULL,
	status             TEXT    NOT NULL,
	data               BLOB,
	continuation_token TEXT    NOT NULL,
	created            INTEGER NOT NULL,
	updated            INTEGER NOT NULL,
	deadline           INTEGER NOT NULL,
	version            INTEGER NOT NULL
) STRICT;

CREATE INDEX jobs_queue ON jobs (category, owner, provider, type_version, status, created);
CREATE INDEX jobs_open_deadline ON jobs (deadline)
	WHERE deadline <> 0 AND status NOT IN ('Succeeded', 'Failed', 'TimedOut');
`,
	// 3: custom action types and resource tags.
	`
CREATE TABLE action_types (
	category     TEXT    NOT NULL,
	owner        TEXT    NOT NULL,
	provider     TEXT    NOT NULL,
	type_version TEXT    NOT NULL,
	definition   BLOB,
	created      INTEGER NOT NULL,
	PRIMARY KEY (category, owner, provider, type_version)
) STRICT;

CREATE TABLE tags (
	arn   TEXT NOT NULL,
	key   TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (arn, key)
) STRICT, WITHOUT ROWID;
`,
	// 4: the pipeline snapshot an execution runs is written once, beside
	// the body, so that the frequent updates of an execution do not
	// re-encode and rewrite the declaration. NULL for rows written before,
	// whose body still holds it.
	`ALTER TABLE executions ADD COLUMN pipeline_decl TEXT;`,
	// 5: what never changes in an execution leaves its row, which every
	// write rewrites whole, and ending an execution writes one index entry: the pipeline snapshot moves to a table of its
	// own, and ended action runs leave the body for rows of their own,
	// written once (see executions.go). Bodies written before keep their
	// runs inline, which reads as runs still going.
	`
-- Pipeline snapshots by content ("sha256:<hex>" of the declaration), so that
-- the executions of one pipeline version share one; those moved here from
-- the rows of earlier versions are keyed "execution:<id>".
CREATE TABLE pipeline_snapshots (
	id          TEXT NOT NULL PRIMARY KEY,
	declaration TEXT NOT NULL
) STRICT;

ALTER TABLE executions ADD COLUMN snapshot TEXT;

INSERT INTO pipeline_snapshots (id, declaration)
	SELECT 'execution:' || id, pipeline_decl FROM executions WHERE pipeline_decl IS NOT NULL;

UPDATE executions SET snapshot = 'execution:' || id WHERE pipeline_decl IS NOT NULL;

ALTER TABLE executions DROP COLUMN pipeline_decl;

CREATE TABLE execution_runs (
	execution_id TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	body         TEXT    NOT NULL
) STRICT;

CREATE UNIQUE INDEX execution_runs_by_execution ON execution_runs (execution_id, version);

-- Only executions in progress are looked up by status (to resume them):
-- an execution that ends leaves this index, and no other entry is written.
DROP INDEX executions_by_status;
CREATE INDEX executions_active ON executions (start_time, id) WHERE status IN ('InProgress', 'Stopping');

-- An update that moves ended runs out of the body sets moving to their
-- chunk: the trigger stores it in execution_runs and clears the column, in
-- the update's own statement (atomic, no transaction to open).
ALTER TABLE executions ADD COLUMN moving TEXT;

CREATE TRIGGER executions_move_runs AFTER UPDATE OF moving ON executions
WHEN NEW.moving IS NOT NULL
BEGIN
	INSERT INTO execution_runs (execution_id, version, body) VALUES (NEW.id, NEW.version, NEW.moving);
	UPDATE executions SET moving = NULL WHERE id = NEW.id;
END;
`,
	// 6: what ListPipelineExecutions shows of an execution besides its
	// columns (execution mode, stop, source revisions), as JSON beside the
	// body, so that listing reads no body. NULL in rows written before:
	// the service reads those records instead.
	`ALTER TABLE executions ADD COLUMN listing TEXT;`,
	// 7: the server's access keys (the secret sealed by the service, kept
	// as given) and the policies attached to principals without keys.
	// Policies are JSON lists of {"name","document"}.
	`
CREATE TABLE access_keys (
	id          TEXT    NOT NULL PRIMARY KEY,
	user        TEXT    NOT NULL,
	description TEXT    NOT NULL,
	policies    TEXT    NOT NULL,
	secret      BLOB    NOT NULL,
	created     INTEGER NOT NULL,
	last_used   INTEGER NOT NULL
) STRICT;

CREATE INDEX access_keys_by_created ON access_keys (created, id);

CREATE TABLE principal_policies (
	principal TEXT    NOT NULL PRIMARY KEY,
	policies  TEXT    NOT NULL,
	updated   INTEGER NOT NULL
) STRICT;
`,
	// 8: the stage locks of each pipeline (engine.PipelineLocks): who
	// holds and who waits for its stages, and its disabled transitions,
	// as JSON, with the optimistic version beside it (see locks.go).
	`
CREATE TABLE pipeline_locks (
	pipeline TEXT    NOT NULL PRIMARY KEY,
	version  INTEGER NOT NULL,
	body     TEXT    NOT NULL
) STRICT;
`,
	// 9: connections and CodeCommit repository names (kind "connection" or
	// "repository"): a git remote and its credentials, the secrets sealed
	// by the service and kept as given (empty: none).
	`
CREATE TABLE connections (
	kind           TEXT    NOT NULL,
	id             TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	remote         TEXT    NOT NULL,
	username       TEXT    NOT NULL,
	token          BLOB    NOT NULL,
	ssh_key        BLOB    NOT NULL,
	trigger_secret BLOB    NOT NULL,
	created        INTEGER NOT NULL,
	updated        INTEGER NOT NULL,
	PRIMARY KEY (kind, id)
) STRICT;
`,
	// 10: V1 webhooks (PutWebhook): the definition as JSON without its
	// secret token, which is kept sealed by the service in secret.
	`
CREATE TABLE webhooks (
	name           TEXT    NOT NULL PRIMARY KEY,
	url_id         TEXT    NOT NULL UNIQUE,
	definition     TEXT    NOT NULL,
	secret         BLOB    NOT NULL,
	registered     INTEGER NOT NULL,
	last_triggered INTEGER NOT NULL,
	created        INTEGER NOT NULL,
	updated        INTEGER NOT NULL
) STRICT;
`,
	// 11: a pipeline's executions in progress (or stopping), newest first,
	// without reading its ended ones (the console's approvals page lists
	// them for every pipeline). Like executions_active, an execution that
	// ends leaves it.
	`CREATE INDEX executions_active_by_pipeline ON executions (pipeline_name, start_time DESC, id DESC)
	WHERE status IN ('InProgress', 'Stopping');`,
}

// schemaVersion reads PRAGMA user_version.
func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite store: reading schema version: %w", err)
	}
	return v, nil
}

// migrate applies the entries of list the database has not seen yet, each in
// its own write transaction together with the bump of user_version, so a
// failed entry leaves the database at the previous version. The version is
// re-read inside each transaction: two processes opening the same file at
// once apply every entry once. A database newer than list is refused.
//
// SQLite answers SQLITE_BUSY without waiting in its busy handler in a few
// cases, such as a connection reading while another switches a new file to
// WAL mode: those are retried until busyTimeout has passed.
func migrate(ctx context.Context, db *sql.DB, list []string) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		done, err := migrateOne(ctx, db, list)
		if isBusy(err) && time.Now().Before(deadline) {
			select {
			case <-time.After(5 * time.Millisecond):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB, list []string) (done bool, err error) {
	v, err := schemaVersion(ctx, db)
	if err != nil {
		return false, err
	}
	switch {
	case v == len(list):
		return true, nil
	case v > len(list):
		return false, fmt.Errorf("sqlite store: database schema version %d is newer than this build knows (%d)", v, len(list))
	}
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see Open's _txlock)
	if err != nil {
		return false, fmt.Errorf("sqlite store: migrating: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	v, err = schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	if v >= len(list) {
		return false, tx.Rollback() // someone else got there; loop re-checks
	}
	if _, err = tx.ExecContext(ctx, list[v]); err != nil {
		return false, fmt.Errorf("sqlite store: applying migration %d: %w", v+1, err)
	}
	// PRAGMA takes no parameters; v+1 is an int, so formatting is safe.
	if _, err = tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
		return false, fmt.Errorf("sqlite store: recording migration %d: %w", v+1, err)
	}
	if err = tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite store: committing migration %d: %w", v+1, err)
	}
	return false, nil
}
