package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRootRouting(t *testing.T) {
	mark := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Door", name) })
	}
	h := &Handler{rest: mark("rest"), codepipeline: mark("codepipeline"), s3: mark("s3"), bucket: "stageflow-artifacts", loopbackOnly: true, authNone: true, log: slog.New(slog.DiscardHandler), closeStreams: func() {}}
	tests := []struct {
		method, host, path string
		status             int
		door               string
	}{
		{"GET", "127.0.0.1:8480", "/v1/pipelines", 200, "rest"},
		{"GET", "localhost:8480", "/v1", 200, "rest"},
		{"POST", "[::1]:8480", "/", 200, "codepipeline"},
		{"GET", "127.0.0.1:8480", "/", 302, ""},
		{"HEAD", "127.0.0.1:8480", "/", 302, ""},
		{"GET", "127.0.0.1:8480", "/?X-Amz-Signature=x", 200, "codepipeline"},
		{"GET", "evil.example:8480", "/", 403, ""},
		{"GET", "127.0.0.1", "/stageflow-artifacts/p/e/a.zip", 200, "s3"},
		{"GET", "127.0.0.1", "/stageflow-artifactsX/a", 200, "codepipeline"},
		{"GET", "127.0.0.1", "/v1x", 200, "codepipeline"},
		{"POST", "evil.example:8480", "/", 403, ""},
		{"GET", "attacker.test", "/v1/pipelines", 403, ""},
		{"GET", "127.0.0.1.nip.io", "/v1/pipelines", 403, ""},
		{"GET", "app.localhost:8480", "/v1/pipelines", 200, "rest"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://x"+tt.path, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("X-Door") != tt.door {
				t.Errorf("status %d door %q, want %d %q", w.Code, w.Header().Get("X-Door"), tt.status, tt.door)
			}
		})
	}
}
