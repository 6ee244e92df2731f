package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

const pipelineCols = `name, version, declaration, tags, created, updated`

const (
	qGetLatestPipeline = `SELECT ` + pipelineCols + ` FROM pipelines WHERE name = ? ORDER BY version DESC LIMIT 1`
	qGetPipeline       = `SELECT ` + pipelineCols + ` FROM pipelines WHERE name = ? AND version = ?`
	qInsertPipeline    = `INSERT INTO pipelines (name, version, pipeline_type, execution_mode, declaration, tags, created, updated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	// SQLite takes the bare columns of a max() aggregate from the row
	// holding the maximum: one row per name, its latest version.
	qListPipelines = `SELECT name, max(version), pipeline_type, execution_mode, created, updated
FROM pipelines WHERE name > ? GROUP BY name ORDER BY name LIMIT ?`
)

func insertPipeline(ctx context.Context, tx *sql.Tx, p *store.Pipeline) error {
	decl, err := json.Marshal(&p.Declaration)
	if err != nil {
		return fmt.Errorf("sqlite store: encoding pipeline %s: %w", p.Name, err)
	}
	var tags []byte
	if p.Tags != nil {
		if tags, err = json.Marshal(p.Tags); err != nil {
			return fmt.Errorf("sqlite store: encoding tags of pipeline %s: %w", p.Name, err)
		}
	}
	_, err = tx.ExecContext(ctx, qInsertPipeline,
		p.Name, p.Version, p.Declaration.EffectiveType(), p.Declaration.EffectiveExecutionMode(),
		string(decl), nullText(tags), store.Nanos(p.Created), store.Nanos(p.Updated))
	if isPrimaryKeyViolation(err) {
		return errs.Of(errs.Conflict, errs.KindPipeline, "pipeline %s already exists", p.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: inserting pipeline %s: %w", p.Name, err)
	}
	return nil
}

// CreatePipeline stores p as version 1 of a new pipeline and sets p's
// Version (and the declaration's); Created and Updated default to now (each
// to the other when only one is given).
func (s *Store) CreatePipeline(ctx context.Context, p *store.Pipeline) error {
	c, err := store.NewPipeline(p, time.Now())
	if err != nil {
		return err
	}
	// Version 1 exists as long as the pipeline does (delete removes every
	// version), so the primary key on (name, 1) is the uniqueness check.
	if err := s.withTx(ctx, func(tx *sql.Tx) error { return insertPipeline(ctx, tx, &c) }); err != nil {
		return err
	}
	*p = c
	return nil
}

// UpdatePipeline stores p as the next version of an existing pipeline and
// returns the stored record; p itself is not modified. Created is carried
// over from version 1; Tags, when nil, from the previous version.
func (s *Store) UpdatePipeline(ctx context.Context, p *store.Pipeline) (*store.Pipeline, error) {
	name, err := store.PipelineName(p)
	if err != nil {
		return nil, err
	}
	c := *p
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		prev, err := scanPipeline(tx.StmtContext(ctx, s.getLatestPipeline).QueryRowContext(ctx, name))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %s not found", name)
		}
		if err != nil {
			return fmt.Errorf("sqlite store: reading pipeline %s: %w", name, err)
		}
		c.Created = prev.Created
		if c.Updated.IsZero() {
			c.Updated = time.Now()
		}
		if c.Tags == nil {
			c.Tags = prev.Tags
		}
		store.Stamp(&c, name, prev.Version+1)
		return insertPipeline(ctx, tx, &c)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// GetPipeline returns one version of a pipeline, the latest when version is 0.
func (s *Store) GetPipeline(ctx context.Context, name string, version int) (*store.Pipeline, error) {
	var row *sql.Row
	if version == 0 {
		row = s.getLatestPipeline.QueryRowContext(ctx, name)
	} else {
		row = s.getPipeline.QueryRowContext(ctx, name, version)
	}
	p, err := scanPipeline(row)
	if errors.Is(err, sql.ErrNoRows) {
		if version == 0 {
			return nil, errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %s not found", name)
		}
		return nil, errs.Of(errs.NotFound, errs.KindPipelineVersion, "pipeline %s has no version %d", name, version)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading pipeline %s: %w", name, err)
	}
	return p, nil
}

func scanPipeline(row *sql.Row) (*store.Pipeline, error) {
	var (
		p                store.Pipeline
		decl, tags       []byte
		created, updated int64
	)
	if err := row.Scan(&p.Name, &p.Version, &decl, &tags, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(decl, &p.Declaration); err != nil {
		return nil, fmt.Errorf("decoding declaration: %w", err)
	}
	if tags != nil {
		if err := json.Unmarshal(tags, &p.Tags); err != nil {
			return nil, fmt.Errorf("decoding tags: %w", err)
		}
	}
	p.Created, p.Updated = store.FromNanos(created), store.FromNanos(updated)
	return &p, nil
}

// ListPipelines lists the latest version of every pipeline, by name.
func (s *Store) ListPipelines(ctx context.Context, page store.Page) ([]store.PipelineSummary, string, error) {
	after := ""
	if page.Token != "" {
		parts, err := decodeToken(page.Token, "p", 1)
		if err != nil {
			return nil, "", err
		}
		after = parts[0]
	}
	limit := limitOf(page)
	rows, err := s.db.QueryContext(ctx, qListPipelines, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite store: listing pipelines: %w", err)
	}
	defer rows.Close()
	out := []store.PipelineSummary{}
	for rows.Next() {
		var (
			p                store.PipelineSummary
			created, updated int64
		)
		if err := rows.Scan(&p.Name, &p.Version, &p.PipelineType, &p.ExecutionMode, &created, &updated); err != nil {
			return nil, "", fmt.Errorf("sqlite store: listing pipelines: %w", err)
		}
		p.Created, p.Updated = store.FromNanos(created), store.FromNanos(updated)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite store: listing pipelines: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeToken("p", out[limit-1].Name)
	}
	return out, next, nil
}

// DeletePipeline removes every version of a pipeline, its executions with
// everything kept of them, and its stage locks.
func (s *Store) DeletePipeline(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	ctx, err := short(ctx)
	if err != nil {
		return err
	}
	ids, err := s.deletePipeline(ctx, name)
	for _, id := range ids {
		s.cache.take(id) // forgets it
	}
	return err
}

// deletePipeline deletes the pipeline's versions and its executions with
// everything kept of them, in one transaction, and returns the IDs of the
// executions deleted.
func (s *Store) deletePipeline(ctx context.Context, name string) (ids []string, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: deleting pipeline %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	rows, err := tx.QueryContext(ctx, `SELECT id FROM executions WHERE pipeline_name = ?`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: deleting pipeline %s: %w", name, err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite store: deleting pipeline %s: %w", name, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite store: deleting pipeline %s: %w", name, err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM pipelines WHERE name = ?`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: deleting pipeline %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %s not found", name)
	}
	const ofPipeline = `(SELECT id FROM executions WHERE pipeline_name = ?1)`
	for _, q := range []string{
		`DELETE FROM execution_runs WHERE execution_id IN ` + ofPipeline,
		`DELETE FROM jobs WHERE execution_id IN ` + ofPipeline,
		// Snapshots are shared by content: those no other pipeline's
		// execution uses.
		`DELETE FROM pipeline_snapshots WHERE id IN (SELECT snapshot FROM executions WHERE pipeline_name = ?1)
	AND id NOT IN (SELECT snapshot FROM executions WHERE pipeline_name <> ?1 AND snapshot IS NOT NULL)`,
		`DELETE FROM executions WHERE pipeline_name = ?1`,
		`DELETE FROM pipeline_locks WHERE pipeline = ?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, name); err != nil {
			return nil, fmt.Errorf("sqlite store: deleting the executions of pipeline %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite store: deleting pipeline %s: %w", name, err)
	}
	return ids, nil
}

// nullText turns an absent JSON document into NULL.
func nullText(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
