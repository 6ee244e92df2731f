package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// The stage locks of a pipeline are one row of pipeline_locks: the record as
// JSON (its own field names) and its version, kept in a column (the JSON's
// version is the same, but the column is what counts). UpdateLocks writes
// the row and the executions in one transaction, each execution as
// UpdateExecution writes it (writeExecution).
const (
	qGetLocks     = `SELECT body, version FROM pipeline_locks WHERE pipeline = ?`
	qLocksVersion = `SELECT version FROM pipeline_locks WHERE pipeline = ?`
	qInsertLocks  = `INSERT INTO pipeline_locks (pipeline, version, body) VALUES (?, 1, ?)`
	qUpdateLocks  = `UPDATE pipeline_locks SET body = ?, version = version + 1 WHERE pipeline = ? AND version = ?`
)

// GetPipelineLocks returns the stage locks of a pipeline: an empty record of
// Version 0 when none is stored.
func (s *Store) GetPipelineLocks(ctx context.Context, name string) (*engine.PipelineLocks, error) {
	if name == "" {
		return nil, errs.Of(errs.Validation, errs.KindPipeline, "pipeline name is required")
	}
	var (
		body    string
		version int64
	)
	switch err := s.getLocks.QueryRowContext(ctx, name).Scan(&body, &version); {
	case errors.Is(err, sql.ErrNoRows):
		return store.NoLocks(name), nil
	case err != nil:
		return nil, fmt.Errorf("sqlite store: reading the stage locks of pipeline %s: %w", name, err)
	}
	l := &engine.PipelineLocks{}
	if err := json.Unmarshal([]byte(body), l); err != nil {
		return nil, fmt.Errorf("sqlite store: reading the stage locks of pipeline %s: %w", name, err)
	}
	l.Pipeline, l.Version = name, version
	return l, nil
}

// UpdateLocks writes locks and the executions in one transaction.
func (s *Store) UpdateLocks(ctx context.Context, locks *engine.PipelineLocks, executions []*engine.Execution) error {
	if err := store.CheckLocksUpdate(locks, executions); err != nil {
		return err
	}
	rec := *locks
	rec.Version++
	body, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("sqlite store: encoding the stage locks of pipeline %s: %w", locks.Pipeline, err)
	}
	type pending struct {
		e     *engine.Execution
		x     *encoded
		cols  indexed
		known bool
	}
	list := make([]pending, 0, len(executions))
	defer func() {
		for _, p := range list {
			p.x.release()
		}
	}()
	for _, e := range executions {
		stored, cols, known := s.cache.storedOf(e.ID, e.Version)
		x, err := encodeExecution(e, e.Version+1, stored)
		if err != nil {
			return err
		}
		list = append(list, pending{e, x, cols, known})
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	if ctx, err = short(ctx); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: begin: %w", err)
	}
	err = s.writeLocks(ctx, tx, locks, body)
	for _, p := range list {
		if err != nil {
			break
		}
		err = s.writeExecution(ctx, tx, p.e, p.x, p.cols, p.known)
	}
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: commit: %w", err)
	}
	locks.Version++
	for _, p := range list {
		p.e.Version++
		s.cache.remember(p.e, p.x.ended)
	}
	return nil
}

// writeLocks writes the row of locks (its JSON, for the next version) in tx
// if the stored version is locks.Version (0: no row).
func (s *Store) writeLocks(ctx context.Context, tx *sql.Tx, locks *engine.PipelineLocks, body []byte) error {
	name := locks.Pipeline
	if locks.Version == 0 {
		_, err := tx.ExecContext(ctx, qInsertLocks, name, string(body))
		if isPrimaryKeyViolation(err) {
			return errs.Of(errs.Conflict, errs.KindPipeline, "the stage locks of pipeline %s exist already", name)
		}
		if err != nil {
			return fmt.Errorf("sqlite store: writing the stage locks of pipeline %s: %w", name, err)
		}
		return nil
	}
	n, err := rowsAffected(tx.StmtContext(ctx, s.updateLocks).ExecContext(ctx, string(body), name, locks.Version))
	if err != nil {
		return fmt.Errorf("sqlite store: writing the stage locks of pipeline %s: %w", name, err)
	}
	if n == 1 {
		return nil
	}
	var stored int64
	switch err := tx.QueryRowContext(ctx, qLocksVersion, name).Scan(&stored); {
	case errors.Is(err, sql.ErrNoRows):
		stored = 0
	case err != nil:
		return fmt.Errorf("sqlite store: writing the stage locks of pipeline %s: %w", name, err)
	}
	return errs.Of(errs.Conflict, errs.KindPipeline, "the stage locks of pipeline %s changed: version %d, not %d", name, stored, locks.Version)
}
