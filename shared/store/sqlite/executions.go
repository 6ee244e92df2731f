package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// An execution is stored in three parts, so that a write rewrites only what
// changes. SQLite rewrites a row whole, and a row that outgrows a page spills
// into overflow pages, each one more page written; so what never changes is
// kept out of the executions row, which every write rewrites:
//   - executions: the columns listings use and the body, the execution as
//     JSON without its pipeline and without the runs that moved out (null
//     placeholders keep their places);
//   - pipeline_snapshots: the pipeline snapshot, written once and shared by
//     the executions of one pipeline version (an execution runs one);
//   - execution_runs: ended action runs, each written once (an ended run
//     never changes, see engine.ActionRun).
//
// Ended runs stay inline while the body fits in a page (bodyBudget); when it
// would not, they move out together, as one execution_runs row that the
// update hands to a trigger in its moving column (one statement, so no
// transaction to open). So a write costs the runs still going, and the row
// stays in one page however long the pipeline. Reading joins the parts in
// one statement (one snapshot): each stored run names its place, which must
// be a placeholder.
const (
	// The body and runs are skipped when the caller has the version cached.
	qGetExecution = `SELECT CASE WHEN version = ?1 THEN NULL ELSE body END, version,
	CASE WHEN version = ?1 THEN NULL ELSE (` + qSnapshot + `) END,
	CASE WHEN version = ?1 THEN NULL ELSE (` + qEndedRuns + `) END
FROM executions WHERE id = ?2`
	qSnapshot         = `SELECT declaration FROM pipeline_snapshots WHERE id = executions.snapshot`
	qEndedRuns        = `SELECT group_concat(body, ',' ORDER BY version) FROM execution_runs WHERE execution_id = executions.id`
	qExecutionVersion = `SELECT version FROM executions WHERE id = ?`
	qExecutionByToken = `SELECT body, version, (` + qSnapshot + `), (` + qEndedRuns + `)
FROM executions WHERE pipeline_name = ? AND client_request_token = ? AND client_request_token <> ''`
	qInsertExecution = `INSERT INTO executions (id, pipeline_name, pipeline_version, status, status_summary,
	trigger_type, trigger_detail, client_request_token, start_time, last_update_time, version, body, snapshot, listing)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`
	qInsertSnapshot = `INSERT INTO pipeline_snapshots (id, declaration) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`
	// The usual update changes no indexed column: it leaves them out of SET
	// (so SQLite does not rewrite index entries) and checks in WHERE that
	// they are unchanged. When one did change, qUpdateExecution writes them
	// all.
	qUpdateExecutionBody = `UPDATE executions SET pipeline_version = ?, status_summary = ?,
	trigger_type = ?, trigger_detail = ?, last_update_time = ?, body = ?, moving = ?, listing = ?, version = version + 1
WHERE id = ? AND version = ? AND pipeline_name = ? AND status = ? AND client_request_token = ? AND start_time = ?`
	// An execution that starts, stops or ends changes its status only.
	qUpdateExecutionStatus = `UPDATE executions SET pipeline_version = ?, status = ?, status_summary = ?,
	trigger_type = ?, trigger_detail = ?, last_update_time = ?, body = ?, moving = ?, listing = ?, version = version + 1
WHERE id = ? AND version = ? AND pipeline_name = ? AND client_request_token = ? AND start_time = ?`
	qUpdateExecution = `UPDATE executions SET pipeline_name = ?, pipeline_version = ?, status = ?, status_summary = ?,
	trigger_type = ?, trigger_detail = ?, client_request_token = ?, start_time = ?, last_update_time = ?,
	body = ?, moving = ?, listing = ?, version = version + 1
WHERE id = ? AND version = ?`
	// A run's token stands in the body while the run is there, and in an
	// execution_runs chunk once it moved out. No index: only approvals are
	// looked up by token, at human pace, while keeping an index of every
	// run's token would cost each step a page write (tokens are random).
	qExecutionsOfToken = `SELECT id FROM executions WHERE instr(body, ?1) > 0
UNION SELECT execution_id FROM execution_runs WHERE instr(body, ?1) > 0`
	qInsertRun        = `INSERT INTO execution_runs (execution_id, version, body) VALUES (?, ?, ?)`
	qActiveExecutions = `SELECT id FROM executions WHERE status IN ('InProgress', 'Stopping') ORDER BY start_time, id`

	// activeStatuses is the condition of the partial indexes of executions
	// in progress (executions_active, executions_active_by_pipeline).
	activeStatuses = `status IN ('InProgress', 'Stopping')`

	execSummaryCols = `id, pipeline_name, pipeline_version, status, status_summary, trigger_type, trigger_detail, start_time, last_update_time, listing`
)

// CreateExecution stores e with Version 1 (and sets e.Version). When e has a
// ClientRequestToken that an execution of the same pipeline already used, it
// returns that execution instead, with created=false.
func (s *Store) CreateExecution(ctx context.Context, e *engine.Execution) (*engine.Execution, bool, error) {
	if e.ID == "" {
		return nil, false, errs.Of(errs.Validation, errs.KindPipelineExecution, "execution ID is required")
	}
	if e.PipelineName == "" {
		return nil, false, errs.Of(errs.Validation, errs.KindPipelineExecution, "execution %s has no pipeline name", e.ID)
	}
	x, err := encodeExecution(e, 1, nil)
	if err != nil {
		return nil, false, err
	}
	defer x.release()
	decl, err := json.Marshal(&e.Pipeline)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite store: encoding the pipeline of execution %s: %w", e.ID, err)
	}
	if err := s.lock(ctx); err != nil {
		return nil, false, err
	}
	defer s.unlock()
	if ctx, err = short(ctx); err != nil {
		return nil, false, err
	}
	if e.ClientRequestToken != "" {
		prev, err := s.executionByToken(ctx, e.PipelineName, e.ClientRequestToken)
		if prev != nil || err != nil {
			return prev, false, err
		}
	}
	err = s.insertExecution(ctx, e, x, decl)
	switch {
	case isPrimaryKeyViolation(err):
		return nil, false, errs.Of(errs.Conflict, errs.KindPipelineExecution, "execution %s already exists", e.ID)
	case isUniqueViolation(err):
		// Another process used the token between our check and insert.
		prev, err := s.executionByToken(ctx, e.PipelineName, e.ClientRequestToken)
		if prev == nil && err == nil {
			err = errs.Of(errs.Conflict, errs.KindPipelineExecution, "client request token %q is in use", e.ClientRequestToken)
		}
		return prev, false, err
	case err != nil:
		return nil, false, fmt.Errorf("sqlite store: inserting execution %s: %w", e.ID, err)
	}
	e.Version = 1
	s.cache.remember(e, x.ended)
	return e, true, nil
}

// insertExecution writes a new execution: its row, its pipeline snapshot
// and the chunk of its ended runs, if any, in one transaction. The caller
// holds the write semaphore.
func (s *Store) insertExecution(ctx context.Context, e *engine.Execution, x *encoded, decl []byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	sum := sha256.Sum256(decl)
	snapshot := "sha256:" + hex.EncodeToString(sum[:])
	_, err = tx.StmtContext(ctx, s.insertExec).ExecContext(ctx,
		e.ID, e.PipelineName, e.PipelineVersion, string(e.Status), e.StatusSummary,
		e.Trigger.Type, e.Trigger.Detail, e.ClientRequestToken,
		store.Nanos(e.StartTime), store.Nanos(e.LastUpdateTime), x.body.String(), snapshot, x.listing)
	if err == nil {
		_, err = tx.StmtContext(ctx, s.insertSnapshot).ExecContext(ctx, snapshot, string(decl))
	}
	if err == nil && x.chunk != nil {
		_, err = tx.StmtContext(ctx, s.insertRun).ExecContext(ctx, e.ID, 1, x.chunk.json)
	}
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// executionByToken returns the execution of the pipeline that used the
// client request token, or nil.
func (s *Store) executionByToken(ctx context.Context, pipelineName, token string) (*engine.Execution, error) {
	rows, err := s.execByToken.QueryContext(ctx, pipelineName, token)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution by token: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var (
		body, decl, ended sql.RawBytes
		version           int64
	)
	if err := rows.Scan(&body, &version, &decl, &ended); err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution by token: %w", err)
	}
	e, _, err := decodeExecution(body, decl, ended, version)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution by token: %w", err)
	}
	return e, rows.Close()
}

// GetExecution returns the execution with the given ID.
func (s *Store) GetExecution(ctx context.Context, id string) (*engine.Execution, error) {
	ctx, err := short(ctx)
	if err != nil {
		return nil, err
	}
	c, version := s.cache.take(id)
	if c != nil && s.cache.authoritative {
		return c, nil // this process is the only writer: the cache is current
	}
	if c == nil {
		version = 0 // nothing to compare with: read the body
	}
	rows, err := s.getExec.QueryContext(ctx, version, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
		}
		return nil, errs.Of(errs.NotFound, errs.KindPipelineExecution, "execution %s not found", id)
	}
	var (
		body, decl, ended sql.RawBytes
		stored            int64
	)
	if err := rows.Scan(&body, &stored, &decl, &ended); err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
	}
	if body == nil && c != nil && stored == version {
		return c, nil // taken from the cache: the caller's own
	}
	e, set, err := decodeExecution(body, decl, ended, stored)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
	}
	s.cache.remember(e, set)
	return e, nil
}

// UpdateExecution writes e if the stored Version equals e.Version, then
// bumps e.Version. The pipeline snapshot is the one CreateExecution stored:
// an execution runs one pipeline version, so e.Pipeline is not rewritten.
func (s *Store) UpdateExecution(ctx context.Context, e *engine.Execution) error {
	stored, cols, known := s.cache.storedOf(e.ID, e.Version)
	x, err := encodeExecution(e, e.Version+1, stored)
	if err != nil {
		return err
	}
	defer x.release()
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	if ctx, err = short(ctx); err != nil {
		return err
	}
	if err := s.writeExecution(ctx, nil, e, x, cols, known); err != nil {
		return err
	}
	e.Version++
	s.cache.remember(e, x.ended)
	return nil
}

// writeExecution updates the stored row of e, encoded as x for the version
// after e.Version, if its stored version is e.Version (cols and known: what
// the cache knows of the stored indexed columns), with the store's prepared
// statements, or in tx when it is not nil (UpdateLocks). It leaves
// e.Version and the cache to the caller, who holds the write semaphore.
func (s *Store) writeExecution(ctx context.Context, tx *sql.Tx, e *engine.Execution, x *encoded, cols indexed, known bool) error {
	stmt := func(st *sql.Stmt) *sql.Stmt {
		if tx != nil {
			return tx.StmtContext(ctx, st)
		}
		return st
	}
	body := x.body.String()
	var moving any // NULL, or the chunk the trigger moves to execution_runs
	if x.chunk != nil {
		moving = x.chunk.json
	}
	updateBody := func() (int64, error) {
		res, err := stmt(s.updateBody).ExecContext(ctx,
			e.PipelineVersion, e.StatusSummary, e.Trigger.Type, e.Trigger.Detail, store.Nanos(e.LastUpdateTime), body, moving, x.listing,
			e.ID, e.Version, e.PipelineName, string(e.Status), e.ClientRequestToken, store.Nanos(e.StartTime))
		return rowsAffected(res, err)
	}
	updateAll := func() (int64, error) {
		res, err := stmt(s.updateExec).ExecContext(ctx,
			e.PipelineName, e.PipelineVersion, string(e.Status), e.StatusSummary,
			e.Trigger.Type, e.Trigger.Detail, e.ClientRequestToken,
			store.Nanos(e.StartTime), store.Nanos(e.LastUpdateTime), body, moving, x.listing,
			e.ID, e.Version)
		return rowsAffected(res, err)
	}
	updateStatus := func() (int64, error) {
		res, err := stmt(s.updateStatus).ExecContext(ctx,
			e.PipelineVersion, string(e.Status), e.StatusSummary, e.Trigger.Type, e.Trigger.Detail,
			store.Nanos(e.LastUpdateTime), body, moving, x.listing,
			e.ID, e.Version, e.PipelineName, e.ClientRequestToken, store.Nanos(e.StartTime))
		return rowsAffected(res, err)
	}
	now := indexedOf(e)
	var (
		n   int64
		err error
	)
	switch {
	case known && cols == now:
		n, err = updateBody()
	case known && cols.name == now.name && cols.token == now.token && cols.start == now.start:
		n, err = updateStatus()
	case known:
		n, err = updateAll()
	default:
		// Not knowing the stored columns, try the usual update first.
		if n, err = updateBody(); err == nil && n == 0 {
			n, err = updateAll()
		}
	}
	switch {
	case isUniqueViolation(err):
		return errs.Of(errs.Conflict, errs.KindPipelineExecution, "client request token %q is in use", e.ClientRequestToken)
	case err != nil:
		return fmt.Errorf("sqlite store: updating execution %s: %w", e.ID, err)
	case n == 0:
		return staleWrite(stmt(s.execVersion).QueryRowContext(ctx, e.ID), errs.KindPipelineExecution, e.ID, e.Version)
	}
	return nil
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ListExecutions lists the executions of a pipeline, newest first.
func (s *Store) ListExecutions(ctx context.Context, f store.ExecutionFilter, page store.Page) ([]store.ExecutionSummary, string, error) {
	if f.PipelineName == "" {
		return nil, "", errs.Of(errs.Validation, errs.KindPipelineExecution, "pipeline name is required to list executions")
	}
	q, args, limit, err := listExecutionsQuery(f, page)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite store: listing executions: %w", err)
	}
	defer rows.Close()
	out := []store.ExecutionSummary{}
	var lastStart int64
	for rows.Next() {
		var (
			x             store.ExecutionSummary
			status        string
			start, update int64
			listing       sql.NullString
		)
		if err := rows.Scan(&x.ID, &x.PipelineName, &x.PipelineVersion, &status, &x.StatusSummary,
			&x.Trigger.Type, &x.Trigger.Detail, &start, &update, &listing); err != nil {
			return nil, "", fmt.Errorf("sqlite store: listing executions: %w", err)
		}
		if listing.Valid { // NULL: a row written before listings were kept
			x.Listing = &store.Listing{}
			if err := json.Unmarshal([]byte(listing.String), x.Listing); err != nil {
				return nil, "", fmt.Errorf("sqlite store: listing executions: the listing of %s: %w", x.ID, err)
			}
		}
		x.Status = engine.Status(status)
		x.StartTime, x.LastUpdateTime = store.FromNanos(start), store.FromNanos(update)
		if len(out) < limit {
			lastStart = start
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite store: listing executions: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeToken("e", strconv.FormatInt(lastStart, 10), out[limit-1].ID)
	}
	return out, next, nil
}

// listExecutionsQuery is ListExecutions' query, its arguments and the
// page's size.
func listExecutionsQuery(f store.ExecutionFilter, page store.Page) (string, []any, int, error) {
	q := `SELECT ` + execSummaryCols + ` FROM executions WHERE pipeline_name = ?`
	args := []any{f.PipelineName}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
		if f.Status == engine.InProgress || f.Status == engine.Stopping {
			// The term of executions_active_by_pipeline, word for word, so
			// that SQLite reads that index, not every execution.
			q += ` AND ` + activeStatuses
		}
	}
	if page.Token != "" {
		parts, err := decodeToken(page.Token, "e", 2)
		if err != nil {
			return "", nil, 0, err
		}
		start, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil {
			return "", nil, 0, errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken")
		}
		q += ` AND (start_time, id) < (?, ?)`
		args = append(args, start, parts[1])
	}
	limit := limitOf(page)
	q += ` ORDER BY start_time DESC, id DESC LIMIT ?`
	args = append(args, limit+1)

	return q, args, limit, nil
}

// ExecutionByRunToken returns the execution holding the action run with the
// given completion token. It reads every stored execution (see
// qExecutionsOfToken): the operation is meant for approvals.
func (s *Store) ExecutionByRunToken(ctx context.Context, token string) (*engine.Execution, error) {
	notFound := errs.Of(errs.NotFound, errs.KindActionExecution, "no action execution has that token")
	if token == "" {
		return nil, notFound
	}
	needle, err := json.Marshal(token)
	if err != nil {
		return nil, err
	}
	ids, err := s.executionsOfToken(ctx, `"token":`+string(needle))
	if err != nil {
		return nil, err
	}
	e, found, err := store.ExecutionHolding(ctx, ids, token, s.GetExecution)
	if err != nil || found {
		return e, err
	}
	return nil, notFound
}

func (s *Store) executionsOfToken(ctx context.Context, needle string) ([]string, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	rows, err := s.db.QueryContext(ctx, qExecutionsOfToken, needle)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: finding the execution of a run token: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ListActiveExecutions returns the IDs of the executions in progress or
// stopping, oldest first.
func (s *Store) ListActiveExecutions(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, qActiveExecutions)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing active executions: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite store: listing active executions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing active executions: %w", err)
	}
	return ids, nil
}
