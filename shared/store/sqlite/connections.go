package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

const connectionCols = `kind, id, name, remote, username, token, ssh_key, trigger_secret, created, updated`

func scanConnection(r scanner) (*store.Connection, error) {
	var (
		c                   store.Connection
		kind                string
		token, key, trigger []byte
		created, updated    int64
	)
	if err := r.Scan(&kind, &c.ID, &c.Name, &c.Remote, &c.Username, &token, &key, &trigger, &created, &updated); err != nil {
		return nil, err
	}
	c.Kind = store.ConnectionKind(kind)
	c.Token, c.SSHKey, c.TriggerSecret = nonEmpty(token), nonEmpty(key), nonEmpty(trigger)
	c.Created, c.Updated = store.FromNanos(created), store.FromNanos(updated)
	return &c, nil
}

// nonEmpty is b, or nil for an empty column.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// orEmpty is b, or an empty slice for the NOT NULL columns.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CreateConnection stores a new connection or repository (and sets
// c.Created and c.Updated to now when they are zero).
func (s *Store) CreateConnection(ctx context.Context, c *store.Connection) error {
	created, err := store.ConnectionCreated(c, time.Now())
	if err != nil {
		return err
	}
	updated := c.Updated
	if updated.IsZero() {
		updated = created
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	_, err = s.db.ExecContext(ctx, `INSERT INTO connections (`+connectionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(c.Kind), c.ID, c.Name, c.Remote, c.Username, orEmpty(c.Token), orEmpty(c.SSHKey), orEmpty(c.TriggerSecret),
		store.Nanos(created), store.Nanos(updated))
	if isPrimaryKeyViolation(err) {
		return errs.Of(errs.Conflict, errs.KindNone, "%s %s already exists", c.Kind, c.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: inserting %s %s: %w", c.Kind, c.ID, err)
	}
	c.Created, c.Updated = created, updated
	return nil
}

// GetConnection reads a connection or repository.
func (s *Store) GetConnection(ctx context.Context, kind store.ConnectionKind, id string) (*store.Connection, error) {
	ctx, err := short(ctx)
	if err != nil {
		return nil, err
	}
	c, err := scanConnection(s.db.QueryRowContext(ctx, `SELECT `+connectionCols+` FROM connections WHERE kind = ? AND id = ?`, string(kind), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ConnectionNotFound(kind, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading %s %s: %w", kind, id, err)
	}
	return c, nil
}

// ListConnections lists the records of a kind, oldest first, then by ID.
func (s *Store) ListConnections(ctx context.Context, kind store.ConnectionKind) ([]store.Connection, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+connectionCols+` FROM connections WHERE kind = ? ORDER BY created, id`, string(kind))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing %ss: %w", kind, err)
	}
	defer rows.Close()
	out := []store.Connection{}
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: listing %ss: %w", kind, err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing %ss: %w", kind, err)
	}
	return out, nil
}

// DeleteConnection removes a connection or repository.
func (s *Store) DeleteConnection(ctx context.Context, kind store.ConnectionKind, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM connections WHERE kind = ? AND id = ?`, string(kind), id)
	if err != nil {
		return fmt.Errorf("sqlite store: deleting %s %s: %w", kind, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ConnectionNotFound(kind, id)
	}
	return nil
}

// SetConnectionTriggerSecret replaces the sealed trigger secret.
func (s *Store) SetConnectionTriggerSecret(ctx context.Context, kind store.ConnectionKind, id string, sealed []byte, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE connections SET trigger_secret = ?, updated = ? WHERE kind = ? AND id = ?`,
		orEmpty(sealed), store.Nanos(at), string(kind), id)
	if err != nil {
		return fmt.Errorf("sqlite store: setting the trigger secret of %s %s: %w", kind, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ConnectionNotFound(kind, id)
	}
	return nil
}

var _ store.ConnectionStore = (*Store)(nil)
