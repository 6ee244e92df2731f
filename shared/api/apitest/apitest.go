// Package apitest runs a whole Stageflow server for tests: the embedded
// system (SQLite store, local runner, providers) in a temporary folder, the
// api.Service over it and an httptest.Server whose ServeMux routes
// POST / (and every path nothing else claims) to the CodePipeline JSON 1.1
// door.
//
// Other doors mount themselves on Server.Mux, preferably before Start (a
// ServeMux also accepts handlers while serving):
//
//	srv := apitest.NewUnstartedServer(t)
//	srv.Mux.Handle("/v1/", api.NewRESTHandler(srv.Service, events, srv.Logger))
//	srv.Mux.Handle("/"+embedded.LocalBucket+"/", s3Handler) // path-style S3
//	srv.Start()
//
// Everything is closed by t.Cleanup: the HTTP server first (no new
// requests), then the runner (running actions get CloseTimeout to finish,
// then are cancelled), then the store.
//
// Set STAGEFLOW_TEST_LOG=1 to see the server's log (request lines, runner
// events) on standard error.
package apitest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/embedded"
)

// The region and account the test server names in ARNs and jobs.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// The artifact credentials the test server hands to job workers (an S3
// endpoint mounted on Mux should accept them).
const (
	ArtifactAccessKeyID     = "STAGEFLOWTESTARTIFACTS"
	ArtifactSecretAccessKey = "stageflow-test-artifact-secret"
)

// CloseTimeout is how long cleanup lets running actions finish before the
// runner cancels them.
const CloseTimeout = 5 * time.Second

// Server is a Stageflow server for one test.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port), set by Start.
	URL string
	// Service is the service both doors call.
	Service *api.Service
	// System is the embedded system: Store, Runner, Artifacts.
	System *embedded.System
	// DataDir is the system's data folder (a t.TempDir).
	DataDir string
	// Mux routes requests; "/" is the CodePipeline door.
	Mux *http.ServeMux
	// CodePipeline is the CodePipeline door mounted at "/".
	CodePipeline http.Handler
	// HTTP is the underlying test server.
	HTTP *httptest.Server
	// Logger is the server's logger (discarding unless STAGEFLOW_TEST_LOG is set).
	Logger *slog.Logger

	t       testing.TB
	started bool
}

// NewServer builds and starts a server; t.Cleanup closes it.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := NewUnstartedServer(t)
	s.Start()
	return s
}

// NewUnstartedServer builds a server without starting it, so that more
// handlers can be mounted on Mux first; t.Cleanup closes it.
func NewUnstartedServer(t testing.TB) *Server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("STAGEFLOW_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dir := t.TempDir()
	sys, err := embedded.Open(embedded.Options{DataDir: dir, Logger: logger})
	if err != nil {
		t.Fatalf("apitest: opening the embedded system: %v", err)
	}
	svc := &api.Service{
		Store:   sys.Store,
		Runner:  sys.Runner,
		Now:     func() time.Time { return time.Now().UTC() },
		Region:  Region,
		Account: Account,
		Artifacts: api.ArtifactAccess{
			AccessKeyID: ArtifactAccessKeyID, SecretAccessKey: ArtifactSecretAccessKey,
		},
	}
	cp := api.NewCodePipelineHandler(svc, logger)
	mux := http.NewServeMux()
	// "/" (any method) rather than "POST /": the door answers other
	// methods and paths with JSON errors itself.
	mux.Handle("/", cp)
	s := &Server{
		Service: svc, System: sys, DataDir: dir, Mux: mux, CodePipeline: cp,
		HTTP: httptest.NewUnstartedServer(mux), Logger: logger, t: t,
	}
	t.Cleanup(s.close)
	return s
}

// Start starts serving and sets URL.
func (s *Server) Start() {
	s.t.Helper()
	if s.started {
		s.t.Fatalf("apitest: Start called twice")
	}
	s.started = true
	s.HTTP.Start()
	s.URL = s.HTTP.URL
}

func (s *Server) close() {
	s.HTTP.Close()
	ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
	defer cancel()
	if err := s.System.Runner.Close(ctx); err != nil {
		s.t.Logf("apitest: running actions did not finish within %v and were cancelled", CloseTimeout)
	}
	if err := s.System.Store.Close(); err != nil {
		s.t.Errorf("apitest: closing the store: %v", err)
	}
}
