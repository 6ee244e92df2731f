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
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/api/throttle"
	"github.com/stageflow/stageflow/shared/awssign"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

// The region and account the test server names in ARNs and jobs.
const (
	Region  = embedded.DefaultRegion
	Account = embedded.DefaultAccount
)

// AdminPrincipal is the principal of the admin key (Server.Admin): what
// the server records as the caller of its requests.
const AdminPrincipal = "arn:aws:iam::" + Account + ":user/admin"

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
	// Admin is the server's admin key (its credentials file's), which
	// Client signs with; empty under WithoutAuth.
	Admin aws.Credentials

	t        testing.TB
	authNone bool
	tls      bool
}

// Option adjusts the server before it opens: the embedded system's options
// and the HTTP surface's.
type Option func(*options)

type options struct {
	embedded.Options
	failures *throttle.Limiter
	tls      bool
}

// WithTLS serves HTTPS (httptest's certificate, which Client, ClientOf and
// HTTP.Client trust) instead of plain HTTP.
func WithTLS() Option {
	return func(o *options) { o.tls = true }
}

// WithFailureLimit lets each access key or address fail its signature n
// times a minute before it is throttled (the server's default is 10), for
// tests that make many bad requests on purpose.
func WithFailureLimit(n int) Option {
	return func(o *options) { o.failures = throttle.New(throttle.Options{Failures: n}) }
}

// WithoutAuth runs the server as `stageflow serve --auth none` does:
// callers are taken at their word (unsigned requests are served) and
// everything is allowed. For tests of what a claimed caller is recorded as;
// every other test signs.
func WithoutAuth() Option {
	return func(o *options) { o.AuthNone = true }
}

// WithAuthorizer sets the service's authorization hook.
func WithAuthorizer(a service.Authorizer) Option {
	return func(o *options) { o.Authorize = a }
}

// WithLogger makes the server log to logger.
func WithLogger(logger *slog.Logger) Option {
	return func(o *options) { o.Logger = logger }
}

// WithClock makes the server's clock (service, engine, providers) now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.Now = now }
}

// WithoutFirstExecution makes creating a pipeline start nothing (through
// either door or the service), for tests that count executions or want a
// pipeline at rest. Without it, every pipeline created starts its first
// execution, as in CodePipeline.
func WithoutFirstExecution() Option {
	return func(o *options) { o.NoFirstExecution = true }
}

// NewServer builds and starts a server; t.Cleanup closes it.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("STAGEFLOW_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dir := t.TempDir()
	o := options{Options: embedded.Options{
		DataDir: dir, Logger: logger, Region: Region, Account: Account,
	}}
	for _, opt := range opts {
		opt(&o)
	}
	logger = o.Logger
	sys, err := embedded.Open(o.Options)
	if err != nil {
		t.Fatalf("apitest: opening the embedded system: %v", err)
	}
	h, err := api.NewHandler(api.Config{
		Service: sys.Service, Artifacts: sys.Artifacts, Logger: logger, LoopbackOnly: true, AuthNone: o.AuthNone, Failures: o.failures,
		ChangedFiles: sys.ChangedFiles,
	})
	if err != nil {
		t.Fatalf("apitest: building the HTTP surface: %v", err)
	}
	s := &Server{Service: sys.Service, System: sys, DataDir: dir, Handler: h, Logger: logger, t: t, authNone: o.AuthNone, tls: o.tls}
	if !o.AuthNone {
		admin, err := sys.EnsureAdminKey(service.LocalCaller(context.Background(), "apitest"))
		if err != nil {
			sys.Close(context.Background())
			t.Fatalf("apitest: making the admin key: %v", err)
		}
		s.Admin = aws.Credentials{AccessKeyID: admin.AccessKeyID, SecretAccessKey: admin.SecretAccessKey, Source: "apitest"}
	}
	s.HTTP = httptest.NewUnstartedServer(h)
	s.HTTP.Config.RegisterOnShutdown(h.CloseStreams)
	t.Cleanup(s.close)
	if o.tls {
		s.HTTP.StartTLS()
	} else {
		s.HTTP.Start()
	}
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

// Client is an HTTP client of the server that signs every request with the
// admin key (for the REST door as execute-api, otherwise as codepipeline);
// under WithoutAuth it signs nothing.
func (s *Server) Client() *http.Client {
	if s.authNone {
		return &http.Client{Transport: s.base()}
	}
	return s.ClientOf(s.Admin)
}

// ClientOf is an HTTP client that signs every request with creds.
func (s *Server) ClientOf(creds aws.Credentials) *http.Client {
	return &http.Client{Transport: &awssign.Transport{Base: s.base(), Credentials: credentials.StaticCredentialsProvider{Value: creds}, Region: Region}}
}

// base is the transport that reaches the server: the default one, or under
// WithTLS one that trusts the test certificate.
func (s *Server) base() http.RoundTripper {
	if s.tls {
		return s.HTTP.Client().Transport
	}
	return http.DefaultTransport
}

// Credentials is the admin key as an SDK credentials provider (for the
// AWS SDK's clients of the CodePipeline door).
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.StaticCredentialsProvider{Value: s.Admin}
}

// NewKey makes an access key for user with policies attached (built-in
// names, or documents under a name) and returns it.
func (s *Server) NewKey(user string, policies ...store.AttachedPolicy) aws.Credentials {
	s.t.Helper()
	ctx := service.LocalCaller(context.Background(), "apitest")
	out, err := s.Service.CreateAccessKey(ctx, service.CreateAccessKeyInput{User: user, Policies: policies})
	if err != nil {
		s.t.Fatalf("apitest: making a key for %s: %v", user, err)
	}
	return aws.Credentials{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey, Source: "apitest"}
}

// Builtin names a built-in policy to attach.
func Builtin(name string) store.AttachedPolicy { return store.AttachedPolicy{Name: name} }
