package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
)

// TestOneLogLinePerRequest: the HTTP surface logs every request once, with
// its door: REST, CodePipeline, the S3 door and those the Host guard refuses.
func TestOneLogLinePerRequest(t *testing.T) {
	var mu sync.Mutex
	var buf strings.Builder
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))
	srv := apitest.NewServer(t, apitest.WithLogger(logger))
	requests := []struct {
		method, path, host, door string
		status                   int
	}{
		{"GET", "/v1/pipelines", "", "rest", 200},
		{"POST", "/", "", "codepipeline", 400},
		{"GET", "/stageflow-artifacts/p/e/a.zip", "", "s3", 403},
		{"GET", "/v1/pipelines", "evil.example", "guard", 403},
	}
	for _, r := range requests {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, nil)
		if r.host != "" {
			req.Host = r.host
		}
		client := srv.Client()
		if r.door == "s3" {
			client = http.DefaultClient // unsigned: the S3 door takes its jobs' keys only
		}
		if status, body := send(t, client, req); status != r.status {
			t.Fatalf("%s %s: %d %s, want %d", r.method, r.path, status, body, r.status)
		}
	}
	srv.HTTP.Close() // every handler has returned, and so logged
	mu.Lock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	mu.Unlock()
	var got []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "request" {
			got = append(got, m)
		}
	}
	if len(got) != len(requests) {
		t.Fatalf("%d request lines, want %d:\n%s", len(got), len(requests), strings.Join(lines, "\n"))
	}
	for i, r := range requests {
		if got[i]["door"] != r.door || got[i]["path"] != r.path || got[i]["status"] != float64(r.status) {
			t.Errorf("line %d: %v, want door %s path %s status %d", i, got[i], r.door, r.path, r.status)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
