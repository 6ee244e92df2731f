package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

const (
	// The body is skipped when the caller has the version cached.
	qGetExecution     = `SELECT CASE WHEN version = ? THEN NULL ELSE body END, version, CASE WHEN version = ? THEN NULL ELSE pipeline_decl END FROM executions WHERE id = ?`
	qExecutionVersion = `SELECT version FROM executions WHERE id = ?`
	qExecutionByToken = `SELECT body, version, pipeline_decl FROM executions WHERE pipeline_name = ? AND client_request_token = ? AND client_request_token <> ''`
	qInsertExecution  = `INSERT INTO executions (id, pipeline_name, pipeline_version, status, status_summary,
	trigger_type, trigger_detail, client_request_token, start_time, last_update_time, version, body, pipeline_decl)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`
	// The usual update changes no indexed column: it leaves them out of SET
	// (so SQLite does not rewrite index entries) and checks in WHERE that
	// they are unchanged. When one did change, 0 rows are updated and
	// qUpdateExecution writes them all.
	qUpdateExecutionBody = `UPDATE executions SET pipeline_version = ?, status_summary = ?,
	trigger_type = ?, trigger_detail = ?, last_update_time = ?, body = ?, version = version + 1
WHERE id = ? AND version = ? AND pipeline_name = ? AND status = ? AND client_request_token = ? AND start_time = ?`
	qUpdateExecution = `UPDATE executions SET pipeline_name = ?, pipeline_version = ?, status = ?, status_summary = ?,
	trigger_type = ?, trigger_detail = ?, client_request_token = ?, start_time = ?, last_update_time = ?,
	body = ?, version = version + 1
WHERE id = ? AND version = ?`
	qActiveExecutions = `SELECT id FROM executions WHERE status IN ('InProgress', 'Stopping') ORDER BY start_time, id`

	execSummaryCols = `id, pipeline_name, pipeline_version, status, status_summary, trigger_type, trigger_detail, start_time, last_update_time`
)

// bufPool recycles the buffers executions are encoded into.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeExecution encodes e as it will be stored, with the given Version and
// without its pipeline snapshot (stored once, in pipeline_decl). The caller
// must put buf back into bufPool once the bytes are written.
func encodeExecution(e *engine.Execution, version int64) (buf *bytes.Buffer, err error) {
	c := *e
	c.Version = version
	c.Pipeline = pipeline.Pipeline{}
	buf = bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		bufPool.Put(buf)
		return nil, fmt.Errorf("sqlite store: encoding execution %s: %w", e.ID, err)
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return buf, nil
}

// CreateExecution stores e with Version 1 (and sets e.Version). When e has a
// ClientRequestToken that an execution of the same pipeline already used, it
// returns that execution instead, with created=false.
func (s *Store) CreateExecution(ctx context.Context, e *engine.Execution) (*engine.Execution, bool, error) {
	if e.ID == "" {
		return nil, false, errs.Of(errs.Validation, "Execution", "execution ID is required")
	}
	if e.PipelineName == "" {
		return nil, false, errs.Of(errs.Validation, "Execution", "execution %s has no pipeline name", e.ID)
	}
	buf, err := encodeExecution(e, 1)
	if err != nil {
		return nil, false, err
	}
	defer bufPool.Put(buf)
	decl, err := json.Marshal(&e.Pipeline)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite store: encoding the pipeline of execution %s: %w", e.ID, err)
	}
	if err := s.lock(ctx); err != nil {
		return nil, false, err
	}
	defer s.unlock()
	if e.ClientRequestToken != "" {
		prev, err := s.executionByToken(ctx, e.PipelineName, e.ClientRequestToken)
		if prev != nil || err != nil {
			return prev, false, err
		}
	}
	_, err = s.insertExec.ExecContext(ctx,
		e.ID, e.PipelineName, e.PipelineVersion, string(e.Status), e.StatusSummary,
		e.Trigger.Type, e.Trigger.Detail, e.ClientRequestToken,
		nanos(e.StartTime), nanos(e.LastUpdateTime), buf.String(), string(decl))
	switch {
	case isPrimaryKeyViolation(err):
		return nil, false, errs.Of(errs.Conflict, "Execution", "execution %s already exists", e.ID)
	case isUniqueViolation(err):
		// Another process used the token between our check and insert.
		prev, err := s.executionByToken(ctx, e.PipelineName, e.ClientRequestToken)
		if prev == nil && err == nil {
			err = errs.Of(errs.Conflict, "Execution", "client request token %q is in use", e.ClientRequestToken)
		}
		return prev, false, err
	case err != nil:
		return nil, false, fmt.Errorf("sqlite store: inserting execution %s: %w", e.ID, err)
	}
	e.Version = 1
	s.cache.put(deepCopy(e))
	return e, true, nil
}

// executionByToken returns the execution of the pipeline that used the
// client request token, or nil.
func (s *Store) executionByToken(ctx context.Context, pipelineName, token string) (*engine.Execution, error) {
	e, err := s.scanExecution(ctx, s.execByToken, pipelineName, token)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution by token: %w", err)
	}
	return e, nil
}

// GetExecution returns the execution with the given ID.
func (s *Store) GetExecution(ctx context.Context, id string) (*engine.Execution, error) {
	c, cached := s.cache.take(id)
	rows, err := s.getExec.QueryContext(ctx, c.version, c.version, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
		}
		return nil, errs.Of(errs.NotFound, "Execution", "execution %s not found", id)
	}
	var (
		body, decl sql.RawBytes
		version    int64
	)
	if err := rows.Scan(&body, &version, &decl); err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
	}
	if body == nil && cached && version == c.version {
		return c.exec, nil // taken from the cache: the caller's own
	}
	e, err := decodeExecution(body, decl, version)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite store: reading execution %s: %w", id, err)
	}
	s.cache.put(deepCopy(e))
	return e, nil
}

// decodeExecution decodes a stored execution: its body and, when not NULL,
// its pipeline snapshot.
func decodeExecution(body, decl []byte, version int64) (*engine.Execution, error) {
	e := new(engine.Execution)
	if err := json.Unmarshal(body, e); err != nil {
		return nil, fmt.Errorf("decoding body: %w", err)
	}
	if decl != nil {
		e.Pipeline = pipeline.Pipeline{}
		if err := json.Unmarshal(decl, &e.Pipeline); err != nil {
			return nil, fmt.Errorf("decoding the pipeline snapshot: %w", err)
		}
	}
	e.Version = version
	return e, nil
}

// scanExecution runs a query returning (body, version, pipeline_decl) and decodes the first
// row; nil when there is no row.
func (s *Store) scanExecution(ctx context.Context, st *sql.Stmt, args ...any) (*engine.Execution, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var (
		body, decl sql.RawBytes
		version    int64
	)
	if err := rows.Scan(&body, &version, &decl); err != nil {
		return nil, err
	}
	e, err := decodeExecution(body, decl, version)
	if err != nil {
		return nil, err
	}
	return e, rows.Close()
}

// UpdateExecution writes e if the stored Version equals e.Version, then
// bumps e.Version. The pipeline snapshot is the one CreateExecution stored:
// an execution runs one pipeline version, so e.Pipeline is not rewritten.
func (s *Store) UpdateExecution(ctx context.Context, e *engine.Execution) error {
	buf, err := encodeExecution(e, e.Version+1)
	if err != nil {
		return err
	}
	defer bufPool.Put(buf)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	res, err := s.updateBody.ExecContext(ctx,
		e.PipelineVersion, e.StatusSummary, e.Trigger.Type, e.Trigger.Detail, nanos(e.LastUpdateTime), buf.String(),
		e.ID, e.Version, e.PipelineName, string(e.Status), e.ClientRequestToken, nanos(e.StartTime))
	n, err := rowsAffected(res, err)
	if err == nil && n == 0 {
		res, err = s.updateExec.ExecContext(ctx,
			e.PipelineName, e.PipelineVersion, string(e.Status), e.StatusSummary,
			e.Trigger.Type, e.Trigger.Detail, e.ClientRequestToken,
			nanos(e.StartTime), nanos(e.LastUpdateTime), buf.String(),
			e.ID, e.Version)
		n, err = rowsAffected(res, err)
	}
	if isUniqueViolation(err) {
		return errs.Of(errs.Conflict, "Execution", "client request token %q is in use", e.ClientRequestToken)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: updating execution %s: %w", e.ID, err)
	}
	if n == 0 {
		var stored int64
		err := s.execVersion.QueryRowContext(ctx, e.ID).Scan(&stored)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return errs.Of(errs.NotFound, "Execution", "execution %s not found", e.ID)
		case err != nil:
			return fmt.Errorf("sqlite store: updating execution %s: %w", e.ID, err)
		}
		return errs.Of(errs.Conflict, "Execution", "execution %s changed: version %d, not %d", e.ID, stored, e.Version)
	}
	e.Version++
	s.cache.put(deepCopy(e))
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
		return nil, "", errs.Of(errs.Validation, "Execution", "pipeline name is required to list executions")
	}
	q := `SELECT ` + execSummaryCols + ` FROM executions WHERE pipeline_name = ?`
	args := []any{f.PipelineName}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if page.Token != "" {
		parts, err := decodeToken(page.Token, "e", 2)
		if err != nil {
			return nil, "", err
		}
		start, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil {
			return nil, "", errs.Of(errs.Validation, "NextToken", "invalid nextToken")
		}
		q += ` AND (start_time, id) < (?, ?)`
		args = append(args, start, parts[1])
	}
	limit := limitOf(page)
	q += ` ORDER BY start_time DESC, id DESC LIMIT ?`
	args = append(args, limit+1)

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
		)
		if err := rows.Scan(&x.ID, &x.PipelineName, &x.PipelineVersion, &status, &x.StatusSummary,
			&x.Trigger.Type, &x.Trigger.Detail, &start, &update); err != nil {
			return nil, "", fmt.Errorf("sqlite store: listing executions: %w", err)
		}
		x.Status = engine.Status(status)
		x.StartTime, x.LastUpdateTime = fromNanos(start), fromNanos(update)
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

// execCache keeps a private decoded copy of the last version of recently
// created, read or written executions. GetExecution takes the entry out,
// asks SQLite for the stored version and, when it is the cached one, hands
// the entry to its caller without reading or decoding the body (nor copying:
// the engine's Get-then-Update cycle makes one copy, on Update). A version
// identifies one content for good (every write bumps it), so the cache is
// exact even when another process writes the file.
type execCache struct {
	mu  sync.Mutex
	m   map[string]cached
	max int
}

type cached struct {
	version int64 // 0: nothing cached (stored versions start at 1)
	exec    *engine.Execution
}

func newExecCache(max int) *execCache {
	return &execCache{m: make(map[string]cached), max: max}
}

// take removes the entry of id and returns it.
func (c *execCache) take(id string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.m[id]
	if ok {
		delete(c.m, id)
	}
	return x, ok
}

// put caches e, which the cache owns from now on. Finished executions are
// dropped: the engine is done with them.
func (c *execCache) put(e *engine.Execution) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Status.Terminal() {
		delete(c.m, e.ID)
		return
	}
	if _, ok := c.m[e.ID]; !ok && len(c.m) >= c.max {
		for id := range c.m { // evict an arbitrary entry
			delete(c.m, id)
			break
		}
	}
	c.m[e.ID] = cached{version: e.Version, exec: e}
}
