package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

const jobCols = `id, nonce, category, owner, provider, type_version, execution_id, action_run_id,
	pipeline_name, status, data, continuation_token, created, updated, deadline, version`

const (
	qGetJob    = `SELECT ` + jobCols + ` FROM jobs WHERE id = ?`
	qInsertJob = `INSERT INTO jobs (` + jobCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`
	qUpdateJob = `UPDATE jobs SET nonce = ?, category = ?, owner = ?, provider = ?, type_version = ?,
	execution_id = ?, action_run_id = ?, pipeline_name = ?, status = ?, data = ?, continuation_token = ?,
	created = ?, updated = ?, deadline = ?, version = version + 1
WHERE id = ? AND version = ?`
	// One statement: the selection and the hand-out are atomic.
	qPollJobs = `UPDATE jobs SET status = 'Dispatched', updated = ?, version = version + 1
WHERE id IN (
	SELECT id FROM jobs
	WHERE category = ? AND owner = ? AND provider = ? AND type_version = ? AND status = 'Queued'
	ORDER BY created, id LIMIT ?)
RETURNING ` + jobCols
	// The conditions repeat the partial index's, so SQLite uses it.
	qExpiredJobs = `SELECT ` + jobCols + ` FROM jobs
WHERE deadline <> 0 AND status NOT IN ('Succeeded', 'Failed', 'TimedOut') AND deadline < ?
ORDER BY deadline, id`
)

type scanner interface{ Scan(...any) error }

func scanJob(r scanner) (*store.Job, error) {
	var (
		j                          store.Job
		status                     string
		data                       []byte
		created, updated, deadline int64
	)
	err := r.Scan(&j.ID, &j.Nonce, &j.ActionTypeID.Category, &j.ActionTypeID.Owner, &j.ActionTypeID.Provider,
		&j.ActionTypeID.Version, &j.ExecutionID, &j.ActionRunID, &j.PipelineName, &status, &data,
		&j.ContinuationToken, &created, &updated, &deadline, &j.Version)
	if err != nil {
		return nil, err
	}
	j.Status = store.JobStatus(status)
	if data != nil {
		j.Data = data
	}
	j.Created, j.Updated, j.Deadline = store.FromNanos(created), store.FromNanos(updated), store.FromNanos(deadline)
	return &j, nil
}

func scanJobs(rows *sql.Rows) ([]*store.Job, error) {
	defer rows.Close()
	out := []*store.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// nullBlob keeps an absent payload NULL.
func nullBlob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// CreateJob stores j with Version 1 (and sets j.Version). An empty Status
// means Queued; Created defaults to now and Updated to Created.
func (s *Store) CreateJob(ctx context.Context, j *store.Job) error {
	c, err := store.NewJob(j, time.Now())
	if err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	t := c.ActionTypeID
	_, err = s.insertJob.ExecContext(ctx, c.ID, c.Nonce, t.Category, t.Owner, t.Provider, t.Version,
		c.ExecutionID, c.ActionRunID, c.PipelineName, string(c.Status), nullBlob(c.Data), c.ContinuationToken,
		store.Nanos(c.Created), store.Nanos(c.Updated), store.Nanos(c.Deadline))
	if isPrimaryKeyViolation(err) {
		return errs.Of(errs.Conflict, errs.KindJob, "job %s already exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: inserting job %s: %w", c.ID, err)
	}
	c.Version = 1
	*j = c
	return nil
}

// GetJob returns the job with the given ID.
func (s *Store) GetJob(ctx context.Context, id string) (*store.Job, error) {
	j, err := scanJob(s.getJob.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Of(errs.NotFound, errs.KindJob, "job %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading job %s: %w", id, err)
	}
	return j, nil
}

// PollJobs hands out up to max (1 when max ≤ 0) Queued jobs of the action
// type, oldest first, marking them Dispatched at now.
func (s *Store) PollJobs(ctx context.Context, typ pipeline.ActionTypeID, max int, now time.Time) ([]*store.Job, error) {
	if max <= 0 {
		max = 1
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	rows, err := s.pollJobs.QueryContext(ctx, store.Nanos(now), typ.Category, typ.Owner, typ.Provider, typ.Version, max)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: polling jobs of %s: %w", typ, err)
	}
	jobs, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: polling jobs of %s: %w", typ, err)
	}
	// RETURNING yields rows in no particular order.
	slices.SortFunc(jobs, func(a, b *store.Job) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return jobs, nil
}

// UpdateJob writes j if the stored Version equals j.Version, then bumps
// j.Version.
func (s *Store) UpdateJob(ctx context.Context, j *store.Job) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	t := j.ActionTypeID
	res, err := s.updateJob.ExecContext(ctx, j.Nonce, t.Category, t.Owner, t.Provider, t.Version,
		j.ExecutionID, j.ActionRunID, j.PipelineName, string(j.Status), nullBlob(j.Data), j.ContinuationToken,
		store.Nanos(j.Created), store.Nanos(j.Updated), store.Nanos(j.Deadline), j.ID, j.Version)
	if err != nil {
		return fmt.Errorf("sqlite store: updating job %s: %w", j.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite store: updating job %s: %w", j.ID, err)
	}
	if n == 0 {
		return staleWrite(s.db.QueryRowContext(ctx, `SELECT version FROM jobs WHERE id = ?`, j.ID), errs.KindJob, j.ID, j.Version)
	}
	j.Version++
	return nil
}

// ListExpiredJobs returns the jobs not finished (neither Succeeded, Failed
// nor TimedOut) whose Deadline is set and before now, earliest deadline first.
func (s *Store) ListExpiredJobs(ctx context.Context, now time.Time) ([]*store.Job, error) {
	rows, err := s.db.QueryContext(ctx, qExpiredJobs, store.Nanos(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing expired jobs: %w", err)
	}
	jobs, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing expired jobs: %w", err)
	}
	return jobs, nil
}
