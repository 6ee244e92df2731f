package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// CreateActionType registers a custom action type (and sets t.Created to now
// when it is zero).
func (s *Store) CreateActionType(ctx context.Context, t *store.CustomActionType) error {
	id := t.ID
	created, err := store.ActionTypeCreated(t, time.Now())
	if err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO action_types (category, owner, provider, type_version, definition, created) VALUES (?, ?, ?, ?, ?, ?)`,
		id.Category, id.Owner, id.Provider, id.Version, nullBlob(t.Definition), store.Nanos(created))
	if isPrimaryKeyViolation(err) {
		return errs.Of(errs.Conflict, errs.KindActionType, "action type %s already exists", id)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: inserting action type %s: %w", id, err)
	}
	t.Created = created
	return nil
}

// DeleteActionType removes a custom action type.
func (s *Store) DeleteActionType(ctx context.Context, id pipeline.ActionTypeID) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM action_types WHERE category = ? AND owner = ? AND provider = ? AND type_version = ?`,
		id.Category, id.Owner, id.Provider, id.Version)
	if err != nil {
		return fmt.Errorf("sqlite store: deleting action type %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Of(errs.NotFound, errs.KindActionType, "action type %s not found", id)
	}
	return nil
}

// ListActionTypes lists the custom action types by category, owner,
// provider and version.
func (s *Store) ListActionTypes(ctx context.Context) ([]store.CustomActionType, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT category, owner, provider, type_version, definition, created
FROM action_types ORDER BY category, owner, provider, type_version`)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing action types: %w", err)
	}
	defer rows.Close()
	out := []store.CustomActionType{}
	for rows.Next() {
		var (
			t       store.CustomActionType
			def     []byte
			created int64
		)
		if err := rows.Scan(&t.ID.Category, &t.ID.Owner, &t.ID.Provider, &t.ID.Version, &def, &created); err != nil {
			return nil, fmt.Errorf("sqlite store: listing action types: %w", err)
		}
		if def != nil {
			t.Definition = def
		}
		t.Created = store.FromNanos(created)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing action types: %w", err)
	}
	return out, nil
}

// TagResource sets tags on a resource, replacing the values of keys it has.
func (s *Store) TagResource(ctx context.Context, arn string, tags []pipeline.Tag) error {
	if arn == "" {
		return errs.Of(errs.Validation, errs.KindResource, "resource ARN is required")
	}
	for _, t := range tags {
		if t.Key == "" {
			return errs.Of(errs.Validation, errs.KindTags, "tag keys must not be empty")
		}
	}
	return s.withTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx,
			`INSERT INTO tags (arn, key, value) VALUES (?, ?, ?) ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value`)
		if err != nil {
			return fmt.Errorf("sqlite store: tagging %s: %w", arn, err)
		}
		defer st.Close()
		for _, t := range tags {
			if _, err := st.ExecContext(ctx, arn, t.Key, t.Value); err != nil {
				return fmt.Errorf("sqlite store: tagging %s: %w", arn, err)
			}
		}
		return nil
	})
}

// UntagResource removes tags from a resource; keys it does not have are
// ignored.
func (s *Store) UntagResource(ctx context.Context, arn string, keys []string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `DELETE FROM tags WHERE arn = ? AND key = ?`)
		if err != nil {
			return fmt.Errorf("sqlite store: untagging %s: %w", arn, err)
		}
		defer st.Close()
		for _, k := range keys {
			if _, err := st.ExecContext(ctx, arn, k); err != nil {
				return fmt.Errorf("sqlite store: untagging %s: %w", arn, err)
			}
		}
		return nil
	})
}

// ListTags lists the tags of a resource by key; empty for an unknown ARN.
func (s *Store) ListTags(ctx context.Context, arn string) ([]pipeline.Tag, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM tags WHERE arn = ? ORDER BY key`, arn)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing tags of %s: %w", arn, err)
	}
	defer rows.Close()
	out := []pipeline.Tag{}
	for rows.Next() {
		var t pipeline.Tag
		if err := rows.Scan(&t.Key, &t.Value); err != nil {
			return nil, fmt.Errorf("sqlite store: listing tags of %s: %w", arn, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing tags of %s: %w", arn, err)
	}
	return out, nil
}
