package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
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
	trigger_type, trigger_detail, client_request_token, start_time, last_update_time, version, body, snapshot)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`
	qInsertSnapshot = `INSERT INTO pipeline_snapshots (id, declaration) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`
	// The usual update changes no indexed column: it leaves them out of SET
	// (so SQLite does not rewrite index entries) and checks in WHERE that
	// they are unchanged. When one did change, qUpdateExecution writes them
	// all.
	qUpdateExecutionBody = `UPDATE executions SET pipeline_version = ?, status_summary = ?,
	trigger_type = ?, trigger_detail = ?, last_update_time = ?, body = ?, moving = ?, version = version + 1
WHERE id = ? AND version = ? AND pipeline_name = ? AND status = ? AND client_request_token = ? AND start_time = ?`
	// An execution that starts, stops or ends changes its status only.
	qUpdateExecutionStatus = `UPDATE executions SET pipeline_version = ?, status = ?, status_summary = ?,
	trigger_type = ?, trigger_detail = ?, last_update_time = ?, body = ?, moving = ?, version = version + 1
WHERE id = ? AND version = ? AND pipeline_name = ? AND client_request_token = ? AND start_time = ?`
	qUpdateExecution = `UPDATE executions SET pipeline_name = ?, pipeline_version = ?, status = ?, status_summary = ?,
	trigger_type = ?, trigger_detail = ?, client_request_token = ?, start_time = ?, last_update_time = ?,
	body = ?, moving = ?, version = version + 1
WHERE id = ? AND version = ?`
	qInsertRun        = `INSERT INTO execution_runs (execution_id, version, body) VALUES (?, ?, ?)`
	qActiveExecutions = `SELECT id FROM executions WHERE status IN ('InProgress', 'Stopping') ORDER BY start_time, id`

	execSummaryCols = `id, pipeline_name, pipeline_version, status, status_summary, trigger_type, trigger_detail, start_time, last_update_time`
)

// bufPool recycles the buffers executions are encoded into.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// storedHeader is what the body holds besides the action runs: every field of
// the execution but its pipeline snapshot (stored once, apart) and
// its action runs (appended after it, see encodeExecution). The outer fields
// shadow the embedded ones of the same JSON name and, nil, are omitted.
type storedHeader struct {
	*engine.Execution
	Pipeline *struct{} `json:"pipeline,omitempty"`
	Actions  *struct{} `json:"actions,omitempty"`
}

// runChunk is a row of execution_runs: the runs that move out of the body in
// the write of one version, as {"seq":i,"run":{...}} objects separated by
// commas, where i is the run's place in the execution. A writer that did not
// know a run was stored already may store it again: reading skips repeats
// (an ended run never changes, so they are equal).
type runChunk struct {
	json string
}

// encoded is an execution encoded for a write.
type encoded struct {
	body  *bytes.Buffer // from bufPool: put back with release
	chunk *runChunk     // ended runs to store beside the row, if any
	ended endedRuns     // what is known of the ended runs once written
}

func (x *encoded) release() { bufPool.Put(x.body) }

// endedRuns is what a store knows of the ended runs of one version of an
// execution, by place in its Actions. A slice, once built, is never changed:
// it may be shared without a lock.
type endedRuns []endedRun

// endedRun is a run that has ended: its JSON when inline in the body, nil
// when stored in execution_runs (a placeholder in the body). An entry
// without ID knows nothing.
type endedRun struct {
	id   string
	json []byte
}

// at returns what k knows of the run with the given ID at place i.
func (k endedRuns) at(i int, id string) (json []byte, ok bool) {
	if i < len(k) && id != "" && k[i].id == id {
		return k[i].json, true
	}
	return nil, false
}

// with returns a copy of k for an execution of n runs.
func (k endedRuns) with(n int) endedRuns {
	c := make(endedRuns, max(n, len(k)))
	copy(c, k)
	return c
}

// bodyBudget is the size up to which a body keeps the runs that have ended
// inline: a row that fits in one 4 KiB page (with its other columns) is
// written as one page. Past it, the ended runs the body holds move out to
// execution_runs together, by the update's trigger.
const bodyBudget = 3500

// encodeExecution encodes e as it will be stored, with the given Version,
// knowing what known says of its ended runs (nil: nothing). Ended runs stored
// in execution_runs are placeholders in the body; the other ended runs stay
// inline while the body fits in bodyBudget (or the execution has ended), and
// otherwise become placeholders too and are returned in one chunk for writing
// beside it. An ended run never changes, so its JSON in known is reused.
func encodeExecution(e *engine.Execution, version int64, known endedRuns) (*encoded, error) {
	c := *e
	c.Version = version
	x := &encoded{body: bufPool.Get().(*bytes.Buffer)}
	buf := x.body
	buf.Reset()
	fail := func(err error) (*encoded, error) {
		x.release()
		return nil, fmt.Errorf("sqlite store: encoding execution %s: %w", e.ID, err)
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(storedHeader{Execution: &c}); err != nil {
		return fail(err)
	}
	// Encode wrote {...}\n: reopen the object for the runs.
	buf.Truncate(bytes.LastIndexByte(buf.Bytes(), '}'))
	buf.WriteString(`,"actions":[`)
	// The runs, in order: run i's JSON is at buf[ends[i]-len:ends[i]]; the
	// ended ones inline are listed in inline, the newly encoded ones in
	// encoded.
	size := buf.Len()
	var inline, encoded []int
	ends := make([]int, len(e.Actions))
	for i := range e.Actions {
		r := &e.Actions[i]
		if i > 0 {
			buf.WriteByte(',')
		}
		j, ok := known.at(i, r.ID)
		switch {
		case ok && j == nil:
			buf.WriteString("null")
		case ok && r.Status.Terminal():
			buf.Write(j)
			inline = append(inline, i)
		default:
			if err := enc.Encode(r); err != nil {
				return fail(err)
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
			if r.Status.Terminal() {
				inline = append(inline, i)
				encoded = append(encoded, i)
			}
		}
		ends[i] = buf.Len()
	}
	runJSON := func(b []byte, i int) []byte {
		start := size
		if i > 0 {
			start = ends[i-1] + 1
		}
		return b[start-size : ends[i]-size]
	}
	// An execution that has ended is not written again: one body over a
	// page costs less than moving its runs out.
	if buf.Len()+2 <= bodyBudget || len(inline) == 0 || e.Status.Terminal() {
		x.ended = known
		if len(encoded) > 0 {
			x.ended = known.with(len(e.Actions))
			for _, i := range encoded {
				x.ended[i] = endedRun{id: e.Actions[i].ID, json: bytes.Clone(runJSON(buf.Bytes()[size:], i))}
			}
		}
		buf.WriteString(`]}`)
		return x, nil
	}
	// Over budget: the ended runs inline move out. Rebuild the runs part
	// with placeholders for them.
	all := bytes.Clone(buf.Bytes()[size:])
	buf.Truncate(size)
	x.ended = known.with(len(e.Actions))
	var chunk []byte
	next := 0
	for i := range e.Actions {
		if i > 0 {
			buf.WriteByte(',')
		}
		j := runJSON(all, i)
		if next == len(inline) || inline[next] != i {
			buf.Write(j)
			continue
		}
		next++
		buf.WriteString("null")
		if len(chunk) > 0 {
			chunk = append(chunk, ',')
		}
		chunk = append(strconv.AppendInt(append(chunk, `{"seq":`...), int64(i), 10), `,"run":`...)
		chunk = append(append(chunk, j...), '}')
		x.ended[i] = endedRun{id: e.Actions[i].ID}
	}
	buf.WriteString(`]}`)
	x.chunk = &runChunk{json: string(chunk)}
	return x, nil
}

// decodeExecution decodes a stored execution: its body, its ended runs (the
// runChunk rows joined by commas) and, when not NULL, its pipeline snapshot.
// It returns the runs found in execution_runs too.
func decodeExecution(body, decl, ended []byte, version int64) (*engine.Execution, endedRuns, error) {
	e := new(engine.Execution)
	if err := json.Unmarshal(body, e); err != nil {
		return nil, nil, fmt.Errorf("decoding body: %w", err)
	}
	if decl != nil {
		e.Pipeline = pipeline.Pipeline{}
		if err := json.Unmarshal(decl, &e.Pipeline); err != nil {
			return nil, nil, fmt.Errorf("decoding the pipeline snapshot: %w", err)
		}
	}
	var runs []struct {
		Seq int              `json:"seq"`
		Run engine.ActionRun `json:"run"`
	}
	if ended != nil {
		b := make([]byte, 0, len(ended)+2)
		b = append(append(append(b, '['), ended...), ']')
		if err := json.Unmarshal(b, &runs); err != nil {
			return nil, nil, fmt.Errorf("decoding the ended action runs: %w", err)
		}
	}
	set := make(endedRuns, len(e.Actions))
	for _, r := range runs {
		if r.Seq < 0 || r.Seq >= len(e.Actions) || r.Run.ID == "" {
			return nil, nil, fmt.Errorf("ended action run %q is stored for place %d, which the execution does not have", r.Run.ID, r.Seq)
		}
		switch e.Actions[r.Seq].ID {
		case "":
			e.Actions[r.Seq] = r.Run
			set[r.Seq] = endedRun{id: r.Run.ID}
		case r.Run.ID: // stored again, or inline too
		default:
			return nil, nil, fmt.Errorf("ended action run %q is stored for place %d, which holds run %q", r.Run.ID, r.Seq, e.Actions[r.Seq].ID)
		}
	}
	for i := range e.Actions {
		if e.Actions[i].ID == "" {
			return nil, nil, fmt.Errorf("the ended action run at place %d is missing", i)
		}
	}
	e.Version = version
	return e, set, nil
}

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
		nanos(e.StartTime), nanos(e.LastUpdateTime), x.body.String(), snapshot)
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
	body := x.body.String()
	var moving any // NULL, or the chunk the trigger moves to execution_runs
	if x.chunk != nil {
		moving = x.chunk.json
	}
	updateBody := func() (int64, error) {
		res, err := s.updateBody.ExecContext(ctx,
			e.PipelineVersion, e.StatusSummary, e.Trigger.Type, e.Trigger.Detail, nanos(e.LastUpdateTime), body, moving,
			e.ID, e.Version, e.PipelineName, string(e.Status), e.ClientRequestToken, nanos(e.StartTime))
		return rowsAffected(res, err)
	}
	updateAll := func() (int64, error) {
		res, err := s.updateExec.ExecContext(ctx,
			e.PipelineName, e.PipelineVersion, string(e.Status), e.StatusSummary,
			e.Trigger.Type, e.Trigger.Detail, e.ClientRequestToken,
			nanos(e.StartTime), nanos(e.LastUpdateTime), body, moving,
			e.ID, e.Version)
		return rowsAffected(res, err)
	}
	updateStatus := func() (int64, error) {
		res, err := s.updateStatus.ExecContext(ctx,
			e.PipelineVersion, string(e.Status), e.StatusSummary, e.Trigger.Type, e.Trigger.Detail,
			nanos(e.LastUpdateTime), body, moving,
			e.ID, e.Version, e.PipelineName, e.ClientRequestToken, nanos(e.StartTime))
		return rowsAffected(res, err)
	}
	now := indexedOf(e)
	var n int64
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
		return staleWrite(s.execVersion.QueryRowContext(ctx, e.ID), errs.KindPipelineExecution, e.ID, e.Version)
	}
	e.Version++
	s.cache.remember(e, x.ended)
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
			return nil, "", errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken")
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
// created, read or written executions, with what the store knows of that
// version: its indexed columns and its ended runs (endedRuns).
// GetExecution takes the copy out and hands it to its caller without reading
// or decoding anything (nor copying: the engine's Get-then-Update cycle makes
// one copy, on Update). When the store owns the file (authoritative) the copy
// is current by construction: every write goes through this cache. Otherwise
// GetExecution asks SQLite for the stored version first; a version identifies
// one content for good (every write bumps it), so the cache is exact even
// when another process writes the file.
type execCache struct {
	mu            sync.Mutex
	m             map[string]*cached
	max           int
	authoritative bool
}

type cached struct {
	version int64
	exec    *engine.Execution // nil while a caller has it
	cols    indexed           // the stored indexed columns
	ended   endedRuns
}

// indexed are the columns of an execution that indexes cover.
type indexed struct {
	name, status, token string
	start               int64
}

func indexedOf(e *engine.Execution) indexed {
	return indexed{e.PipelineName, string(e.Status), e.ClientRequestToken, nanos(e.StartTime)}
}

func newExecCache(max int, authoritative bool) *execCache {
	return &execCache{m: make(map[string]*cached), max: max, authoritative: authoritative}
}

// take hands the cached copy of id, if any, to the caller, with its version.
// The entry keeps what the store knows for the next write.
func (c *execCache) take(id string) (*engine.Execution, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.m[id]
	if !ok || x.exec == nil {
		return nil, 0
	}
	e := x.exec
	x.exec = nil
	return e, x.version
}

// storedOf returns what is known of the ended runs of id (read-only) and
// its stored indexed columns at the given version; known is false when the
// cache has no entry for that version.
func (c *execCache) storedOf(id string, version int64) (ended endedRuns, cols indexed, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if x, ok := c.m[id]; ok && x.version == version {
		return x.ended, x.cols, true
	}
	return nil, indexed{}, false
}

// remember caches a copy of e (for an execution that has ended, only its
// version: there is nothing more to copy it for).
func (c *execCache) remember(e *engine.Execution, ended endedRuns) {
	if !e.Status.Terminal() {
		e = copyForCache(e)
	}
	c.put(e, ended)
}

// put caches e, which the cache owns from now on, as stored with the given
// ended runs (which the cache owns too), unless the cache has a newer
// version.
func (c *execCache) put(e *engine.Execution, ended endedRuns) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.m[e.ID]
	if ok && x.version > e.Version {
		return // a read that raced with a write: keep the newer version
	}
	if !ok && len(c.m) >= c.max {
		for id := range c.m { // evict an arbitrary entry
			delete(c.m, id)
			break
		}
	}
	if e.Status.Terminal() {
		// The engine is done with it: keep only its version, so that a
		// read racing with the last write cannot cache an older one.
		c.m[e.ID] = &cached{version: e.Version}
		return
	}
	c.m[e.ID] = &cached{version: e.Version, exec: e, cols: indexedOf(e), ended: ended}
}
