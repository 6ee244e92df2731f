package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/api/apitest"
)

// TestConsoleConfig: GET /console/config.json tells the page how it signs
// in — with a link locally, with the user pool's hosted UI when the
// handler is configured with one — and the page's CSP lets it reach the
// Cognito domain's token endpoint then, and nothing else.
func TestConsoleConfig(t *testing.T) {
	srv := apitest.NewServer(t)
	cognito := &api.CognitoSignIn{Domain: "https://stageflow-123456789012.auth.eu-west-1.amazoncognito.com/", ClientID: "4abcdefghij1234567890klmno", APIBase: "/console"}
	deployed, err := api.NewHandler(api.Config{Service: srv.Service, ConsoleSignIn: cognito})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		h       http.Handler
		want    string
		connect string // the page's connect-src
	}{
		{"local: a link", srv.Handler, `{"mode":"link"}`, "connect-src 'self';"},
		{"deployed: Cognito", deployed,
			`{"mode":"cognito","domain":"https://stageflow-123456789012.auth.eu-west-1.amazoncognito.com","clientId":"4abcdefghij1234567890klmno","apiBase":"/console"}`,
			"connect-src 'self' https://stageflow-123456789012.auth.eu-west-1.amazoncognito.com;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/console/config.json", nil))
			if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != tt.want || rec.Header().Get("Content-Type") != "application/json" ||
				rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("config: %d %s %s; want 200 %s, JSON, not cached", rec.Code, rec.Header(), rec.Body, tt.want)
			}
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Error(err)
			}
			rec = httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/console/", nil))
			csp := rec.Header().Get("Content-Security-Policy")
			if rec.Code != 200 || !strings.Contains(csp, tt.connect) || !strings.Contains(csp, "script-src 'self';") {
				t.Errorf("page: %d, CSP %q; want 200 with %s", rec.Code, csp, tt.connect)
			}
			rec = httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://127.0.0.1/console/config.json", strings.NewReader("{}")))
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("POST config: %d, want 405", rec.Code)
			}
		})
	}
}

// TestConsoleSignInChecked: a sign-in configuration that is not an https
// origin, a client ID and a path is refused when the handler is built (the
// domain goes into the page's CSP).
func TestConsoleSignInChecked(t *testing.T) {
	srv := apitest.NewServer(t)
	good := api.CognitoSignIn{Domain: "https://x.auth.us-east-1.amazoncognito.com", ClientID: "abc123", APIBase: "/console"}
	tests := []struct {
		name   string
		change func(*api.CognitoSignIn)
		want   string // in the error; "" for none
	}{
		{"good", func(*api.CognitoSignIn) {}, ""},
		{"loopback http (tests)", func(c *api.CognitoSignIn) { c.Domain = "http://127.0.0.1:4567" }, ""},
		{"plain http", func(c *api.CognitoSignIn) { c.Domain = "http://x.auth.us-east-1.amazoncognito.com" }, "not https"},
		{"a path", func(c *api.CognitoSignIn) { c.Domain += "/oauth2" }, "not an origin"},
		{"CSP injection", func(c *api.CognitoSignIn) { c.Domain = "https://x.example; script-src *" }, "not an origin"},
		{"empty domain", func(c *api.CognitoSignIn) { c.Domain = "" }, "not an origin"},
		{"client ID", func(c *api.CognitoSignIn) { c.ClientID = "a b" }, "client ID"},
		{"base", func(c *api.CognitoSignIn) { c.APIBase = "console/" }, "API base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			_, err := api.NewHandler(api.Config{Service: srv.Service, ConsoleSignIn: &c})
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("NewHandler: %v, want %q", err, tt.want)
			}
		})
	}
}

// TestConsolePageFromAnotherSite: a top-level navigation from another site
// (the hosted UI sending the browser back with its code, a link on any
// page) opens the console's page; anything else from another site — a
// fetch of the page, the one-time sign-in link, the REST door — stays
// refused.
func TestConsolePageFromAnotherSite(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	navigate := map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
	}{
		{"the page, back from the hosted UI", "GET", "/console/?code=abc&state=xyz", navigate, 200},
		{"the server's address", "GET", "/", navigate, 302},
		{"/console", "GET", "/console", navigate, 301},
		{"the page fetched by another site", "GET", "/console/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, 403},
		{"the page framed by another site", "GET", "/console/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}, 403},
		{"an asset", "GET", "/console/assets/app.js", navigate, 403},
		{"the sign-in link", "GET", "/console/signin?token=x", navigate, 403},
		{"the REST door", "GET", "/v1/pipelines", navigate, 403},
		{"a POST to the page", "POST", "/console/", navigate, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := noRedirects(&http.Client{}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || tt.status == 403 && !strings.Contains(string(body), "cross-site requests are refused") {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
		})
	}
}
