package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/stageflow/stageflow/shared/store"
)

// qPrunable lists the executions PruneExecutions deletes. It reads the whole
// table (no index on start_time alone: one would cost every new execution an
// index entry for a query the janitor makes now and then).
const qPrunable = `SELECT id, pipeline_name, start_time, snapshot FROM executions
WHERE status NOT IN ('InProgress', 'Stopping') AND start_time < ? ORDER BY start_time, id LIMIT ?`

// PruneExecutions deletes up to max ended executions that started before
// `before`, with their runs, jobs and snapshots no other execution uses, in
// one transaction, and returns them.
func (s *Store) PruneExecutions(ctx context.Context, before time.Time, max int) ([]store.PrunedExecution, error) {
	if max <= 0 {
		max = 100
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	pruned, err := s.prune(ctx, store.Nanos(before), max)
	for _, p := range pruned {
		s.cache.take(p.ID) // forgets it
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: pruning executions: %w", err)
	}
	return pruned, nil
}

func (s *Store) prune(ctx context.Context, before int64, max int) (pruned []store.PrunedExecution, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			pruned = nil
		}
	}()
	rows, err := tx.QueryContext(ctx, qPrunable, before, max)
	if err != nil {
		return nil, err
	}
	snapshots := map[string]bool{}
	for rows.Next() {
		var (
			p        store.PrunedExecution
			start    int64
			snapshot *string
		)
		if err := rows.Scan(&p.ID, &p.PipelineName, &start, &snapshot); err != nil {
			rows.Close()
			return nil, err
		}
		p.StartTime = store.FromNanos(start)
		pruned = append(pruned, p)
		if snapshot != nil {
			snapshots[*snapshot] = true
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, p := range pruned {
		for _, q := range []string{
			`DELETE FROM execution_runs WHERE execution_id = ?`,
			`DELETE FROM jobs WHERE execution_id = ?`,
			`DELETE FROM executions WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, p.ID); err != nil {
				return nil, err
			}
		}
	}
	// Snapshots are shared by content (usually one per pipeline version):
	// those no execution uses any more.
	for id := range snapshots {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pipeline_snapshots WHERE id = ?1
	AND NOT EXISTS (SELECT 1 FROM executions WHERE snapshot = ?1)`, id); err != nil {
			return nil, err
		}
	}
	return pruned, tx.Commit()
}
