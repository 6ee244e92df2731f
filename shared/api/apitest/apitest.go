// Package apitest runs a whole Stageflow server for tests: the embedded
// system (SQLite store, local runner, providers, service) in a temporary
// folder behind the very HTTP surface `stageflow serve` runs (api.NewHandler:
// the REST, CodePipeline and S3 doors, the Host guard, request logging), on
// an httptest.Server.
//
// Options adjust the system before it starts (an authorization hook, a
// service option); everything is closed by t.Cleanup: the HTTP server first
// (no new requests), then the runner (running actions get CloseTimeout to
// finish, then are cancelled), then the store.
//
// Set STAGEFLOW_TEST_LOG=1 to see the server's log (request lines, runner
// events) on standard error.
package apitest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/service"
)

// The region and account the test server names in ARNs and jobs.
const (
	Region  = embedded.DefaultRegion
	Account = embedded.DefaultAccount
)

// CloseTimeout is how long cleanup lets running actions finish before the
// runner cancels them.
const CloseTimeout = 5 * time.Second

// Server is a Stageflow server for one test.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port).
	URL string
	// Service is the service every door calls.
	Service *service.Service
	// System is the embedded system: Store, Runner, Artifacts, Events.
	System *embedded.System
	// DataDir is the system's data folder (a t.TempDir).
	DataDir string
	// Handler is the HTTP surface.
	Handler *api.Handler
	// HTTP is the underlying test server.
	HTTP *httptest.Server
	// Logger is the server's logger (discarding unless STAGEFLOW_TEST_LOG is set).
	Logger *slog.Logger

	t testing.TB
}

// Option adjusts the embedded system's options before it opens.
type Option func(*embedded.Options)

// WithAuthorizer sets the service's authorization hook.
func WithAuthorizer(a service.Authorizer) Option {
	return func(o *embedded.Options) { o.Authorize = a }
}

// WithLogger makes the server log to logger.
func WithLogger(logger *slog.Logger) Option {
	return func(o *embedded.Options) { o.Logger = logger }
}

// WithClock makes the server's clock (service, engine, providers) now.
func WithClock(now func() time.Time) Option {
	return func(o *embedded.Options) { o.Now = now }
}

// WithoutFirstExecution makes creating a pipeline start nothing (through
// either door or the service), for tests that count executions or want a
// pipeline at rest. Without it, every pipeline created starts its first
// execution, as in CodePipeline.
func WithoutFirstExecution() Option {
	return func(o *embedded.Options) { o.NoFirstExecution = true }
}

// NewServer builds and starts a server; t.Cleanup closes it.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("STAGEFLOW_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dir := t.TempDir()
	o := embedded.Options{
		DataDir: dir, Logger: logger, Region: Region, Account: Account,
	}
	for _, opt := range opts {
		opt(&o)
	}
	logger = o.Logger
	sys, err := embedded.Open(o)
	if err != nil {
		t.Fatalf("apitest: opening the embedded system: %v", err)
	}
	h, err := api.NewHandler(api.Config{
		Service: sys.Service, Artifacts: sys.Artifacts, Logger: logger, LoopbackOnly: true,
	})
	if err != nil {
		t.Fatalf("apitest: building the HTTP surface: %v", err)
	}
	s := &Server{Service: sys.Service, System: sys, DataDir: dir, Handler: h, Logger: logger, t: t}
	s.HTTP = httptest.NewUnstartedServer(h)
	s.HTTP.Config.RegisterOnShutdown(h.CloseStreams)
	t.Cleanup(s.close)
	s.HTTP.Start()
	s.URL = s.HTTP.URL
	return s
}

func (s *Server) close() {
	s.Handler.CloseStreams()
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
