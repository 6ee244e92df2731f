package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/api/apitest"
)

// TestWebhookHandlerServesOnlyTheWebhookRoutes: the webhook function's
// handler answers the two open webhook routes through their own doors (an
// unknown webhook or connection is theirs to refuse) and 404 to every other
// door's path, signed or not.
func TestWebhookHandlerServesOnlyTheWebhookRoutes(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	h, err := api.NewWebhookHandler(api.Config{Service: srv.Service})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		body         string // a part of the answer
	}{
		{"POST", "/webhooks/v1/no-such-url", http.StatusNotFound, "no webhook has this URL"},
		{"GET", "/webhooks/v1/no-such-url", http.StatusMethodNotAllowed, "POST only"},
		{"POST", "/webhooks/connections/no-such-connection", http.StatusNotFound, ""},
		{"GET", "/v1/pipelines", http.StatusNotFound, "webhook routes only"},
		{"POST", "/", http.StatusNotFound, "webhook routes only"},
		{"GET", "/console", http.StatusNotFound, "webhook routes only"},
		{"POST", "/webhooks", http.StatusNotFound, "webhook routes only"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(`{"ref":"refs/heads/main"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-GitHub-Event", "push")
			r.Header.Set("X-Hub-Signature-256", "sha256=00")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("%s %s: %d %s; want %d with %q", tt.method, tt.path, w.Code, w.Body, tt.status, tt.body)
			}
		})
	}
}
