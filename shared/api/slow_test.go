package api_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/api/apitest"
)

// TestSlowClientsAreCut: a body that never arrives in full, and a
// keep-alive connection left idle, are closed by the server's timeouts.
func TestSlowClientsAreCut(t *testing.T) {
	base := apitest.NewServer(t)
	h, err := api.NewHandler(api.Config{Service: base.Service, LoopbackOnly: true, BodyTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln := serveTimed(t, h, func(srv *http.Server) { srv.IdleTimeout = 300 * time.Millisecond })

	tests := []struct {
		name    string
		request string
		answer  string // the status line's start, "" for none before the close
	}{
		{"a body shorter than announced, REST", "POST /v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\": \"x\"", "HTTP/1.1 4"},
		{"a body shorter than announced, CodePipeline", "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: CodePipeline_20150709.ListPipelines\r\nContent-Length: 1000\r\n\r\n{}", "HTTP/1.1 4"},
		// Unsigned, so refused; then the connection idles.
		{"an idle keep-alive connection", "GET /v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "HTTP/1.1 403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second)) // the test's own bound
			start := time.Now()
			if _, err := io.WriteString(c, tt.request); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(c)
			if resp, err := http.ReadResponse(rd, nil); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if !strings.HasPrefix(resp.Proto+" "+resp.Status, tt.answer) {
					t.Fatalf("answer %s %s, want %s…", resp.Proto, resp.Status, tt.answer)
				}
			}
			// Then the server closes the connection: a read ends with EOF
			// (not the test's own deadline).
			if _, err := rd.ReadByte(); err != io.EOF && !isReset(err) {
				t.Fatalf("after %v the connection is still open (%v)", time.Since(start), err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("closed only after %v", d)
			}
		})
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// serveTimed serves h with api.NewServer, its timeouts changed by tune, on a
// loopback port until the test ends; it returns the listener.
func serveTimed(t *testing.T, h *api.Handler, tune func(*http.Server)) net.Listener {
	t.Helper()
	srv := api.NewServer(h)
	tune(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln
}
