package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
)

// TestCrossSiteRequestsAreRefused: what a web page of another origin can
// send without a preflight — a text/plain or body-less POST, any request
// with a foreign Origin or Sec-Fetch-Site: cross-site — is refused before
// any door runs it, and no answer lets another origin in (no CORS headers).
func TestCrossSiteRequestsAreRefused(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	own := srv.URL // http://127.0.0.1:port
	doc := `{"name":"csrf","stages":[{"name":"S","actions":[{"name":"A","actionTypeId":{"category":"Compute","owner":"AWS","provider":"Commands","version":"1"},"commands":["touch pwned"]}]}]}`
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
	}{
		{"text/plain create (a form or no-cors fetch)", "POST", "/v1/pipelines", doc, map[string]string{"Content-Type": "text/plain"}, 415},
		{"form-encoded create", "POST", "/v1/pipelines", doc, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"body-less start without a content type", "POST", "/v1/pipelines/csrf/executions", "", nil, 415},
		{"JSON from another origin", "POST", "/v1/pipelines", doc, map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403},
		{"an opaque origin", "POST", "/v1/pipelines", doc, map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403},
		{"a cross-site fetch", "GET", "/v1/pipelines", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"the CodePipeline door from another origin", "POST", "/", `{}`, map[string]string{"Content-Type": cpdoor.ContentType, "X-Amz-Target": cpdoor.TargetPrefix + "ListPipelines", "Origin": "https://evil.example"}, 403},
		{"the CodePipeline door without a content type (a no-cors fetch)", "POST", "/", `{}`, map[string]string{"X-Amz-Target": cpdoor.TargetPrefix + "ListPipelines"}, 400},
		{"the CodePipeline door as text/plain", "POST", "/", `{}`, map[string]string{"Content-Type": "text/plain", "X-Amz-Target": cpdoor.TargetPrefix + "ListPipelines"}, 400},
		{"a preflight", "OPTIONS", "/v1/pipelines", "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, 403},
		{"JSON from the server's own origin", "POST", "/v1/pipelines", doc, map[string]string{"Content-Type": "application/json", "Origin": own}, 201},
		{"a same-origin read", "GET", "/v1/pipelines", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": own}, 200},
		{"a tool sending JSON (no Origin)", "POST", "/v1/pipelines/csrf/executions", "", map[string]string{"Content-Type": "application/json"}, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Fatalf("answer carries a CORS header %s", k)
				}
			}
		})
	}
}
