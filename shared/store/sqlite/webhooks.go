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

const webhookCols = `name, url_id, definition, secret, registered, last_triggered, created, updated`

func scanWebhook(r scanner) (*store.Webhook, error) {
	var (
		w                      store.Webhook
		def                    string
		registered             int64
		last, created, updated int64
	)
	if err := r.Scan(&w.Name, &w.URLID, &def, &w.Secret, &registered, &last, &created, &updated); err != nil {
		return nil, err
	}
	w.Definition = []byte(def)
	if len(w.Secret) == 0 {
		w.Secret = nil
	}
	w.Registered = registered != 0
	w.LastTriggered, w.Created, w.Updated = store.FromNanos(last), store.FromNanos(created), store.FromNanos(updated)
	return &w, nil
}

// PutWebhook creates or replaces the webhook of w.Name, keeping the
// replaced one's Created.
func (s *Store) PutWebhook(ctx context.Context, w *store.Webhook) error {
	if err := store.CheckWebhook(w); err != nil {
		return err
	}
	now := time.Now()
	updated := w.Updated
	if updated.IsZero() {
		updated = now
	}
	secret := w.Secret
	if secret == nil {
		secret = []byte{}
	}
	registered := 0
	if w.Registered {
		registered = 1
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	created := w.Created
	var prev int64
	err := s.db.QueryRowContext(ctx, `SELECT created FROM webhooks WHERE name = ?`, w.Name).Scan(&prev)
	switch {
	case err == nil:
		created = store.FromNanos(prev)
	case errors.Is(err, sql.ErrNoRows):
		if created.IsZero() {
			created = updated
		}
	default:
		return fmt.Errorf("sqlite store: reading webhook %s: %w", w.Name, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO webhooks (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET url_id = excluded.url_id, definition = excluded.definition, secret = excluded.secret,
	registered = excluded.registered, last_triggered = excluded.last_triggered, updated = excluded.updated`,
		w.Name, w.URLID, string(w.Definition), secret, registered, store.Nanos(w.LastTriggered), store.Nanos(created), store.Nanos(updated))
	if isUniqueViolation(err) || isPrimaryKeyViolation(err) {
		return errs.Of(errs.Conflict, errs.KindWebhook, "another webhook has the URL ID of webhook %s", w.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: writing webhook %s: %w", w.Name, err)
	}
	w.Created, w.Updated = created, updated
	return nil
}

// GetWebhook reads a webhook by name.
func (s *Store) GetWebhook(ctx context.Context, name string) (*store.Webhook, error) {
	return s.webhookWhere(ctx, `name`, name, "webhook "+name+" not found")
}

// WebhookByURLID reads the webhook whose URL ends with urlID.
func (s *Store) WebhookByURLID(ctx context.Context, urlID string) (*store.Webhook, error) {
	return s.webhookWhere(ctx, `url_id`, urlID, "no webhook has this URL")
}

func (s *Store) webhookWhere(ctx context.Context, col, val, missing string) (*store.Webhook, error) {
	ctx, err := short(ctx)
	if err != nil {
		return nil, err
	}
	// col is one of two constants above, never input.
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE `+col+` = ?`, val))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Of(errs.NotFound, errs.KindWebhook, "%s", missing)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading a webhook: %w", err)
	}
	return w, nil
}

// ListWebhooks lists webhooks by name.
func (s *Store) ListWebhooks(ctx context.Context, page store.Page) ([]store.Webhook, string, error) {
	after := ""
	if page.Token != "" {
		parts, err := decodeToken(page.Token, "w", 1)
		if err != nil {
			return nil, "", err
		}
		after = parts[0]
	}
	limit := limitOf(page)
	rows, err := s.db.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE name > ? ORDER BY name LIMIT ?`, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite store: listing webhooks: %w", err)
	}
	defer rows.Close()
	out := []store.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite store: listing webhooks: %w", err)
		}
		out = append(out, *w)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite store: listing webhooks: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeToken("w", out[limit-1].Name)
	}
	return out, next, nil
}

// DeleteWebhook removes a webhook.
func (s *Store) DeleteWebhook(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM webhooks WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("sqlite store: deleting webhook %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Of(errs.NotFound, errs.KindWebhook, "webhook %s not found", name)
	}
	return nil
}
