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

const accessKeyCols = `id, user, description, policies, secret, created, last_used`

// encodePolicies is the policies column: a JSON list, never null.
func encodePolicies(p []store.AttachedPolicy) (string, error) {
	if p == nil {
		p = []store.AttachedPolicy{}
	}
	b, err := json.Marshal(p)
	return string(b), err
}

func scanAccessKey(r scanner) (*store.AccessKey, error) {
	var (
		k                 store.AccessKey
		policies          string
		created, lastUsed int64
	)
	if err := r.Scan(&k.ID, &k.User, &k.Description, &policies, &k.Secret, &created, &lastUsed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(policies), &k.Policies); err != nil {
		return nil, fmt.Errorf("decoding the policies of access key %s: %w", k.ID, err)
	}
	k.Created, k.LastUsed = store.FromNanos(created), store.FromNanos(lastUsed)
	return &k, nil
}

// CreateAccessKey stores a new key (and sets k.Created to now when it is
// zero).
func (s *Store) CreateAccessKey(ctx context.Context, k *store.AccessKey) error {
	created, err := store.AccessKeyCreated(k, time.Now())
	if err != nil {
		return err
	}
	policies, err := encodePolicies(k.Policies)
	if err != nil {
		return fmt.Errorf("sqlite store: encoding access key %s: %w", k.ID, err)
	}
	secret := k.Secret
	if secret == nil {
		secret = []byte{} // the column is NOT NULL
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	_, err = s.db.ExecContext(ctx, `INSERT INTO access_keys (`+accessKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.User, k.Description, policies, secret, store.Nanos(created), store.Nanos(k.LastUsed))
	if isPrimaryKeyViolation(err) {
		return errs.Of(errs.Conflict, errs.KindAccessKey, "access key %s already exists", k.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: inserting access key %s: %w", k.ID, err)
	}
	k.Created = created
	return nil
}

// GetAccessKey reads a key.
func (s *Store) GetAccessKey(ctx context.Context, id string) (*store.AccessKey, error) {
	ctx, err := short(ctx)
	if err != nil {
		return nil, err
	}
	k, err := scanAccessKey(s.db.QueryRowContext(ctx, `SELECT `+accessKeyCols+` FROM access_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading access key %s: %w", id, err)
	}
	return k, nil
}

// ListAccessKeys lists every key, oldest first, then by ID.
func (s *Store) ListAccessKeys(ctx context.Context) ([]store.AccessKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accessKeyCols+` FROM access_keys ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing access keys: %w", err)
	}
	defer rows.Close()
	out := []store.AccessKey{}
	for rows.Next() {
		k, err := scanAccessKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: listing access keys: %w", err)
		}
		out = append(out, *k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing access keys: %w", err)
	}
	return out, nil
}

// DeleteAccessKey removes a key.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite store: deleting access key %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	return nil
}

// TouchAccessKey records a use of a key at at, when at is later than the
// last one recorded: one conditional UPDATE; when it changes no row, a read
// tells an unknown key from an earlier use.
func (s *Store) TouchAccessKey(ctx context.Context, id string, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE access_keys SET last_used = ? WHERE id = ? AND last_used < ?`,
		store.Nanos(at), id, store.Nanos(at))
	if err != nil {
		return fmt.Errorf("sqlite store: recording a use of access key %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var one int
	err = s.db.QueryRowContext(ctx, `SELECT 1 FROM access_keys WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: recording a use of access key %s: %w", id, err)
	}
	return nil
}

// PutPrincipalPolicies replaces the policies of a principal (and sets
// p.Updated to now when it is zero); an empty list removes them.
func (s *Store) PutPrincipalPolicies(ctx context.Context, p *store.PrincipalPolicies) error {
	updated, err := store.PrincipalPoliciesUpdated(p, time.Now())
	if err != nil {
		return err
	}
	policies, err := encodePolicies(p.Policies)
	if err != nil {
		return fmt.Errorf("sqlite store: encoding the policies of %s: %w", p.Principal, err)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	if len(p.Policies) == 0 {
		_, err = s.db.ExecContext(ctx, `DELETE FROM principal_policies WHERE principal = ?`, p.Principal)
	} else {
		_, err = s.db.ExecContext(ctx, `INSERT INTO principal_policies (principal, policies, updated) VALUES (?, ?, ?)
ON CONFLICT (principal) DO UPDATE SET policies = excluded.policies, updated = excluded.updated`,
			p.Principal, policies, store.Nanos(updated))
	}
	if err != nil {
		return fmt.Errorf("sqlite store: writing the policies of %s: %w", p.Principal, err)
	}
	p.Updated = updated
	return nil
}

// GetPrincipalPolicies reads the policies of a principal.
func (s *Store) GetPrincipalPolicies(ctx context.Context, principal string) (*store.PrincipalPolicies, error) {
	ctx, err := short(ctx)
	if err != nil {
		return nil, err
	}
	var (
		policies string
		updated  int64
	)
	err = s.db.QueryRowContext(ctx, `SELECT policies, updated FROM principal_policies WHERE principal = ?`, principal).
		Scan(&policies, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Of(errs.NotFound, errs.KindPolicy, "no policies are attached to %s", principal)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading the policies of %s: %w", principal, err)
	}
	p := &store.PrincipalPolicies{Principal: principal, Updated: store.FromNanos(updated)}
	if err := json.Unmarshal([]byte(policies), &p.Policies); err != nil {
		return nil, fmt.Errorf("sqlite store: decoding the policies of %s: %w", principal, err)
	}
	return p, nil
}
