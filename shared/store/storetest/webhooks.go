package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// webhook returns a webhook with every field set; the secret holds bytes
// that text columns would mangle.
func webhook(name, urlID string) *store.Webhook {
	return &store.Webhook{Name: name, URLID: urlID,
		Definition: json.RawMessage(fmt.Sprintf(`{"name":%q,"targetPipeline":"p","targetAction":"Source","filters":[{"jsonPath":"$.ref","matchEquals":"refs/heads/{Branch}"}],"authentication":"GITHUB_HMAC","authenticationConfiguration":{}}`, name)),
		Secret:     []byte{0, 0xff, 'x', 0x80}, Registered: true, LastTriggered: at(3), Created: at(1), Updated: at(2)}
}

func sameWebhook(t *testing.T, what string, got, want *store.Webhook) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got.Definition, &g); err != nil {
		t.Fatalf("%s: definition %s: %v", what, got.Definition, err)
	}
	_ = json.Unmarshal(want.Definition, &w)
	if got.Name != want.Name || got.URLID != want.URLID || !bytes.Equal(got.Secret, want.Secret) || got.Registered != want.Registered ||
		!got.LastTriggered.Equal(want.LastTriggered) || !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) ||
		fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantWebhookCode(t *testing.T, what string, err error, code errs.Code) {
	t.Helper()
	if e, ok := errs.As(err); !ok || e.Code != code || e.Kind != errs.KindWebhook {
		t.Errorf("%s: got %v, want %s (%s)", what, err, code, errs.KindWebhook)
	}
}

var webhookTests = []test{
	{"PutGetReplace", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		w := webhook("hook", "u1")
		if err := s.PutWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetWebhook(ctx, "hook")
		if err != nil {
			t.Fatal(err)
		}
		sameWebhook(t, "get", got, w)
		byURL, err := s.WebhookByURLID(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		sameWebhook(t, "by URL ID", byURL, w)

		// Replacing keeps Created and drops the secret when none is given.
		r := webhook("hook", "u2")
		r.Secret, r.Registered, r.Created, r.Updated = nil, false, at(50), at(60)
		if err := s.PutWebhook(ctx, r); err != nil {
			t.Fatal(err)
		}
		if !r.Created.Equal(at(1)) {
			t.Errorf("replaced Created = %v, want the first one's %v", r.Created, at(1))
		}
		got, _ = s.GetWebhook(ctx, "hook")
		sameWebhook(t, "replaced", got, r)
		if _, err := s.WebhookByURLID(ctx, "u1"); err == nil {
			t.Error("the replaced URL ID still finds the webhook")
		} else {
			wantWebhookCode(t, "old URL ID", err, errs.NotFound)
		}
	}},
	{"Errors", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		for _, bad := range []*store.Webhook{webhook("", "u"), webhook("n", ""), {Name: "n", URLID: "u", Definition: json.RawMessage(`[]`)}} {
			wantWebhookCode(t, fmt.Sprintf("put %q/%q", bad.Name, bad.URLID), s.PutWebhook(ctx, bad), errs.Validation)
		}
		if err := s.PutWebhook(ctx, webhook("a", "same")); err != nil {
			t.Fatal(err)
		}
		wantWebhookCode(t, "a taken URL ID", s.PutWebhook(ctx, webhook("b", "same")), errs.Conflict)
		_, err := s.GetWebhook(ctx, "missing")
		wantWebhookCode(t, "get missing", err, errs.NotFound)
		_, err = s.WebhookByURLID(ctx, "missing")
		wantWebhookCode(t, "by missing URL ID", err, errs.NotFound)
		_, err = s.WebhookByURLID(ctx, "")
		wantWebhookCode(t, "by empty URL ID", err, errs.NotFound)
		wantWebhookCode(t, "delete missing", s.DeleteWebhook(ctx, "missing"), errs.NotFound)
		if err := s.DeleteWebhook(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetWebhook(ctx, "a")
		wantWebhookCode(t, "get deleted", err, errs.NotFound)
		if _, err := s.WebhookByURLID(ctx, "same"); err == nil {
			t.Error("a deleted webhook's URL ID still finds it")
		}
	}},
	{"ListPages", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		names := []string{"e", "a", "d", "b", "c"}
		for i, n := range names {
			if err := s.PutWebhook(ctx, webhook(n, fmt.Sprint("u", i))); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		token, pages := "", 0
		for {
			page, next, err := s.ListWebhooks(ctx, store.Page{Token: token, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, w := range page {
				got = append(got, w.Name)
			}
			if next == "" {
				break
			}
			token = next
		}
		if fmt.Sprint(got) != "[a b c d e]" || pages != 3 {
			t.Errorf("listed %v in %d pages, want [a b c d e] in 3", got, pages)
		}
		_, _, err := s.ListWebhooks(ctx, store.Page{Token: "not-a-token"})
		if e, ok := errs.As(err); !ok || e.Kind != errs.KindNextToken {
			t.Errorf("a bad token: %v, want an invalid nextToken", err)
		}
	}},
}
