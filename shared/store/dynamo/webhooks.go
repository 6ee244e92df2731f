package dynamo

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// V1 webhooks are the partition "WH", one item each, sort key the webhook's
// name (escaped), the record as JSON in the body attribute (its secret
// sealed by the service). A server has few webhooks: the lookup by URL ID
// and the listing read the partition.
const pkWebhooks = "WH"

func webhookOf(name string) item { return keyOf(pkWebhooks, key(name)) }

func decodeWebhook(it item) (*store.Webhook, error) {
	var w store.Webhook
	if err := json.Unmarshal([]byte(getS(it, aBody)), &w); err != nil {
		return nil, fmt.Errorf("decoding a webhook: %w", err)
	}
	return &w, nil
}

func (s *Store) allWebhooks(ctx context.Context) ([]store.Webhook, error) {
	out := []store.Webhook{}
	err := s.partition(ctx, pkWebhooks, "", "", nil, func(it item) (bool, error) {
		w, err := decodeWebhook(it)
		if err != nil {
			return false, err
		}
		out = append(out, *w)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading webhooks: %w", err)
	}
	slices.SortFunc(out, func(a, b store.Webhook) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// PutWebhook creates or replaces the webhook of w.Name, keeping the
// replaced one's Created. The URL ID's uniqueness is checked by reading the
// partition (URL IDs are random: a clash is a caller's mistake).
func (s *Store) PutWebhook(ctx context.Context, w *store.Webhook) error {
	if err := store.CheckWebhook(w); err != nil {
		return err
	}
	all, err := s.allWebhooks(ctx)
	if err != nil {
		return err
	}
	rec := *w
	if rec.Updated.IsZero() {
		rec.Updated = time.Now()
	}
	for _, o := range all {
		if o.Name == w.Name {
			rec.Created = o.Created
		} else if o.URLID == w.URLID {
			return errs.Of(errs.Conflict, errs.KindWebhook, "another webhook has the URL ID of webhook %s", w.Name)
		}
	}
	if rec.Created.IsZero() {
		rec.Created = rec.Updated
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("dynamo store: encoding webhook %s: %w", w.Name, err)
	}
	it := webhookOf(w.Name)
	it[aBody] = sv(string(body))
	if _, err := s.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: it}); err != nil {
		return fmt.Errorf("dynamo store: writing webhook %s: %w", w.Name, err)
	}
	w.Created, w.Updated = rec.Created, rec.Updated
	return nil
}

// GetWebhook reads a webhook by name.
func (s *Store) GetWebhook(ctx context.Context, name string) (*store.Webhook, error) {
	if name == "" {
		return nil, errs.Of(errs.NotFound, errs.KindWebhook, "webhook %s not found", name)
	}
	out, err := s.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: webhookOf(name), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading webhook %s: %w", name, err)
	}
	if out.Item == nil {
		return nil, errs.Of(errs.NotFound, errs.KindWebhook, "webhook %s not found", name)
	}
	w, err := decodeWebhook(out.Item)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: %w", err)
	}
	return w, nil
}

// WebhookByURLID reads the webhook whose URL ends with urlID.
func (s *Store) WebhookByURLID(ctx context.Context, urlID string) (*store.Webhook, error) {
	all, err := s.allWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if urlID != "" && all[i].URLID == urlID {
			return &all[i], nil
		}
	}
	return nil, errs.Of(errs.NotFound, errs.KindWebhook, "no webhook has this URL")
}

// ListWebhooks lists webhooks by name.
func (s *Store) ListWebhooks(ctx context.Context, page store.Page) ([]store.Webhook, string, error) {
	after := ""
	if page.Token != "" {
		t, err := decodeToken(page.Token, "webhooks", "")
		if err != nil {
			return nil, "", err
		}
		after = t.Name
	}
	all, err := s.allWebhooks(ctx)
	if err != nil {
		return nil, "", err
	}
	i, _ := slices.BinarySearchFunc(all, after, func(w store.Webhook, n string) int { return cmp.Compare(w.Name, n) })
	for i < len(all) && all[i].Name <= after {
		i++
	}
	rest, limit := all[i:], limitOf(page)
	next := ""
	if len(rest) > limit {
		rest = rest[:limit]
		next = encodeToken(pageToken{Kind: "webhooks", Name: rest[limit-1].Name})
	}
	return rest, next, nil
}

// DeleteWebhook removes a webhook.
func (s *Store) DeleteWebhook(ctx context.Context, name string) error {
	if name == "" {
		return errs.Of(errs.NotFound, errs.KindWebhook, "webhook %s not found", name)
	}
	cond := "attribute_exists(#pk)"
	_, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: webhookOf(name),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesOf(cond)})
	if conditionFailed(err) {
		return errs.Of(errs.NotFound, errs.KindWebhook, "webhook %s not found", name)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: deleting webhook %s: %w", name, err)
	}
	return nil
}
