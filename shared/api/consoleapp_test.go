package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/consoleui"
)

// TestConsoleAssets: the server's address leads to the console; its page
// and every embedded asset are served with their own type and the strict
// headers, to anyone (the page asks whoami who is signed in), and nothing
// but the embedded files is served under the console's path.
func TestConsoleAssets(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		if resp, _ := get(method, "/"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != api.ConsolePath {
			t.Errorf("%s /: %d Location %q, want 302 to %s", method, resp.StatusCode, resp.Header.Get("Location"), api.ConsolePath)
		}
	}

	// A signed GET / or one naming an operation stays the CodePipeline door's.
	for _, h := range [][]string{{"Authorization", "AWS4-HMAC-SHA256 Credential=x"}, {"X-Amz-Target", "CodePipeline_20150709.ListPipelines"}} {
		if resp, body := get(http.MethodGet, "/", h...); resp.StatusCode == http.StatusFound || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
			t.Errorf("GET / with %s: %d %s", h[0], resp.StatusCode, body)
		}
	}

	want := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	paths := []string{api.ConsolePath}
	for _, n := range consoleui.Names() {
		paths = append(paths, api.ConsoleAssetsPath+n)
	}
	if len(paths) < 6 {
		t.Fatalf("embedded assets: %v", consoleui.Names())
	}
	for _, p := range paths {
		resp, body := get(http.MethodGet, p)
		ext := ".html"
		if p != api.ConsolePath {
			ext = p[strings.LastIndex(p, "."):]
		}
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != want[ext] || body == "" {
			t.Errorf("GET %s: %d %q (%d bytes)", p, resp.StatusCode, h.Get("Content-Type"), len(body))
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("ETag") == "" {
			t.Errorf("GET %s: headers %v", p, h)
		}
		// Revalidation with the entity tag.
		if resp, _ := get(http.MethodGet, p, "If-None-Match", h.Get("ETag")); resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", p, resp.StatusCode)
		}
		// No inline script: the page's only scripts are modules of this server.
		if ext == ".html" && (strings.Contains(body, "<script>") || strings.Contains(body, " on") && strings.Contains(body, "=\"javascript:")) {
			t.Errorf("GET %s has inline script", p)
		}
	}

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/console/assets/nothing.js", 404},
		{"GET", "/console/assets/../console.go", 404},
		{"GET", "/console/assets/%2e%2e/api.go", 404},
		{"GET", "/console/assets/", 404},
		{"GET", "/console/static/app.js", 404},
		{"GET", "/console/pipelines", 404},
		{"POST", "/console/assets/app.js", 405},
		{"DELETE", api.ConsolePath, 405},
		{"POST", "/", 403}, // the CodePipeline door, unsigned
	} {
		resp, body := get(tc.method, tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d: %.200s", tc.method, tc.path, resp.StatusCode, tc.status, body)
		}
	}
}
