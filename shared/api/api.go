// Package api builds Stageflow's whole HTTP surface in one place: the three
// doors (REST under /v1, CodePipeline's JSON 1.1 protocol at POST /, the S3
// endpoint of the artifact bucket), the console's sign-in under /console
// (console.go: one-time links exchanged for a session cookie that the REST
// door takes, authn.go), the loopback Host guard, one request log
// line per request (refused ones and the S3 door's included), the cross-site
// guard, the time a request body may take and the server's timeouts (each
// door bounds its bodies' size). `stageflow serve`, the test helpers (apitest) and the
// deployed api function all call NewHandler; nothing else registers a route.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/api/s3door"
	"github.com/stageflow/stageflow/shared/api/throttle"
	"github.com/stageflow/stageflow/shared/api/webhookdoor"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/service"
)

// Timeouts of the server NewServer makes. Streams (server-sent events, log
// following) are not bound by WriteTimeout: they clear their own deadline.
const (
	// BodyTimeout is how long a REST or CodePipeline request body may take
	// to arrive (Config.BodyTimeout overrides it); ReadTimeout bounds the
	// S3 door's uploads.
	BodyTimeout       = 30 * time.Second
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 5 * time.Minute // artifact uploads through the S3 door
	WriteTimeout      = 5 * time.Minute
	IdleTimeout       = 2 * time.Minute
)

// Config configures the HTTP surface.
type Config struct {
	Service *service.Service
	// Artifacts is the artifact bucket the S3 door serves to job workers,
	// who sign with their job's artifact credentials (the service's
	// LookupArtifactKey), and to holders of the server's access keys (see
	// s3keys.go); with no Artifacts there is no S3 door.
	Artifacts *artifacts.Store
	Logger    *slog.Logger
	// LoopbackOnly refuses requests whose Host is not a loopback name: the
	// API runs commands, and DNS rebinding must not let a web page reach a
	// server bound to loopback.
	LoopbackOnly bool
	// BodyTimeout overrides the package's BodyTimeout (tests).
	BodyTimeout time.Duration
	// AuthNone takes callers at their word (the access key ID a request
	// names, the X-Stageflow-User header) instead of verifying signatures:
	// `stageflow serve --auth none`, on loopback only. By default every
	// REST and CodePipeline request must be signed with one of the
	// service's access keys (authn.go).
	AuthNone bool
	// ChangedFiles reads the paths a pull request changes from the
	// repository of a connection, for the V2 triggers of its event
	// endpoint (nil: a filePaths filter of a pull request does not match).
	ChangedFiles func(ctx context.Context, connectionArn, repo, base, head string) ([]string, error)
	// Failures limits the failed signatures answered per access key or
	// address (nil: throttle's defaults, 10 a minute): past the limit,
	// requests of the key are refused with ThrottlingException (429) until
	// its window ends.
	Failures *throttle.Limiter
	// ConsoleSignIn, when set, has the console sign in with a Cognito user
	// pool (deployed) instead of a one-time link.
	ConsoleSignIn *CognitoSignIn
}

// Handler is the HTTP surface.
type Handler struct {
	rest, codepipeline, s3 http.Handler
	triggers               http.Handler
	webhooks               http.Handler
	bucket                 string
	loopbackOnly           bool
	bodyTimeout            time.Duration
	log                    *slog.Logger
	closeStreams           func()
	svc                    *service.Service
	authNone               bool
	failures               *throttle.Limiter
	cognito                *CognitoSignIn
	// webhooksOnly: the handler serves the two open webhook routes and
	// answers 404 to everything else (NewWebhookHandler).
	webhooksOnly bool
}

// NewHandler builds the HTTP surface.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("api: no service")
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	restDoor := rest.NewHandler(cfg.Service, lg)
	h := &Handler{
		rest:         restDoor,
		codepipeline: cpdoor.NewHandler(cfg.Service),
		triggers:     newTriggerHandler(cfg.Service, cfg.ChangedFiles),
		loopbackOnly: cfg.LoopbackOnly,
		bodyTimeout:  cfg.BodyTimeout,
		log:          lg,
		closeStreams: restDoor.CloseStreams,
		svc:          cfg.Service,
		authNone:     cfg.AuthNone,
		failures:     cfg.Failures,
	}
	if cfg.ConsoleSignIn != nil {
		c := *cfg.ConsoleSignIn
		if err := c.check(); err != nil {
			return nil, err
		}
		h.cognito = &c
	}
	if h.bodyTimeout <= 0 {
		h.bodyTimeout = BodyTimeout
	}
	if h.failures == nil {
		h.failures = throttle.New(throttle.Options{})
	}
	h.webhooks = webhookdoor.New(cfg.Service, h.failures)
	if cfg.Artifacts != nil {
		s3h, err := s3door.NewHandler(cfg.Artifacts, s3Keys{cfg.Service}, s3door.WithFailureLimiter(h.failures))
		if err != nil {
			return nil, err
		}
		h.s3, h.bucket = s3h, cfg.Artifacts.Bucket
	}
	return h, nil
}

// NewWebhookHandler builds the part of the HTTP surface the deployed
// webhook function serves: the V1 webhook URLs (POST /webhooks/v1/<id>)
// and the connections' event endpoints (POST /webhooks/connections/<id>),
// both open routes whose handlers verify their own authentication, with the
// same guards, limits and request log as NewHandler; any other path is
// answered 404 without reaching a door (cfg.Artifacts is not used).
func NewWebhookHandler(cfg Config) (*Handler, error) {
	cfg.Artifacts = nil
	h, err := NewHandler(cfg)
	if err != nil {
		return nil, err
	}
	h.webhooksOnly = true
	return h, nil
}

// jobKeys are the S3 door's keys: the artifact credentials of the jobs the
// service has handed to workers. A job's key reads the job's input objects
// and writes or deletes its output objects; it lists nothing and manages
// nothing.
type jobKeys struct{ svc *service.Service }

func (k jobKeys) Lookup(ctx context.Context, accessKeyID string) (s3door.Grant, bool) {
	g, ok := k.svc.LookupArtifactKey(ctx, accessKeyID)
	if !ok {
		return s3door.Grant{}, false
	}
	return s3door.Grant{
		SecretAccessKey: g.SecretAccessKey, SessionToken: g.SessionToken,
		Allow: func(op s3door.Op, bucket, key string) bool {
			switch op {
			case s3door.ReadObject:
				return g.CanRead(bucket, key)
			case s3door.WriteObject, s3door.DeleteObject:
				return g.CanWrite(bucket, key)
			}
			return false
		},
	}, true
}

// CloseStreams ends every open event stream and followed log;
// http.Server.Shutdown does not end such requests itself, so a server
// registers it with RegisterOnShutdown.
func (h *Handler) CloseStreams() { h.closeStreams() }

// NewServer makes an http.Server for the handler with its timeouts, the
// streams closed at shutdown.
func NewServer(h *Handler) *http.Server {
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout,
	}
	srv.RegisterOnShutdown(h.CloseStreams)
	return srv
}

// ServeHTTP guards, routes, limits and logs one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, entry := reqlog.With(r.Context())
	r = r.WithContext(ctx)
	rw := &statusWriter{ResponseWriter: w}
	door := "codepipeline"
	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			reqlog.Fail(ctx, errors.New("panic"))
			h.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if rw.status == 0 {
				w.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(http.StatusInternalServerError)
				rw.Write([]byte(`{"__type":"InternalFailure","message":"internal error"}`))
			}
		}
		h.logRequest(r, rw, door, entry, start)
		if p == http.ErrAbortHandler {
			panic(p)
		}
	}()
	if h.loopbackOnly && !loopbackHost(r.Host) {
		door = "guard"
		reqlog.Add(ctx, slog.String("refused", "host is not a loopback name"))
		w.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusForbidden)
		rw.Write([]byte(`{"__type":"AccessDeniedException","message":"this Stageflow server only answers requests for loopback host names (localhost, 127.0.0.1, [::1])"}`))
		return
	}
	if why := crossSite(r); why != "" && !consolePageNavigation(r) {
		door = "guard"
		reqlog.Add(ctx, slog.String("refused", why))
		w.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusForbidden)
		body, _ := json.Marshal(map[string]string{"__type": "AccessDeniedException", "message": why})
		rw.Write(body)
		return
	}
	switch {
	case h.webhooksOnly && !strings.HasPrefix(r.URL.Path, TriggerPathPrefix) && !strings.HasPrefix(r.URL.Path, service.WebhookPath):
		door = "guard"
		reqlog.Add(ctx, slog.String("refused", "not a webhook route"))
		w.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusNotFound)
		rw.Write([]byte(`{"message":"this function serves the webhook routes only: POST /webhooks/v1/<id> and POST /webhooks/connections/<id>"}`))
	case r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/"):
		door = "rest"
		if changes(r) && !isJSON(r.Header.Get("Content-Type")) {
			reqlog.Add(ctx, slog.String("refused", "content type"))
			w.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusUnsupportedMediaType)
			rw.Write([]byte(`{"error":{"code":"UnsupportedMediaTypeException","message":"requests that change something must be sent with Content-Type: application/json"}}`))
			return
		}
		h.bodyDeadline(rw, r)
		if ar, ok := h.authenticate(rw, r, door); ok {
			h.rest.ServeHTTP(rw, ar)
		}
	case strings.HasPrefix(r.URL.Path, TriggerPathPrefix):
		door = "triggers"
		h.bodyDeadline(rw, r)
		h.triggers.ServeHTTP(rw, r)
	case isConsolePath(r.URL.Path):
		door = "console"
		h.console(rw, r)
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !signed(r) && r.Header.Get("X-Amz-Target") == "":
		// A browser opening the server's address: the console. A signed
		// request or one naming an operation is the CodePipeline door's
		// (which answers POST only).
		door = "console"
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(rw, r, ConsolePath, http.StatusFound)
	case strings.HasPrefix(r.URL.Path, service.WebhookPath):
		// Not signed with SigV4: each webhook verifies its own
		// authentication (webhookdoor).
		door = "webhook"
		h.bodyDeadline(rw, r)
		h.webhooks.ServeHTTP(rw, r)
	case h.s3 != nil && (r.URL.Path == "/"+h.bucket || strings.HasPrefix(r.URL.Path, "/"+h.bucket+"/")):
		door = "s3"
		h.s3.ServeHTTP(rw, r)
	default:
		h.bodyDeadline(rw, r)
		if ar, ok := h.authenticate(rw, r, door); ok {
			h.codepipeline.ServeHTTP(rw, ar)
		}
	}
}

// bodyDeadline bounds the time a REST or CodePipeline request body may take
// to arrive, so that a client announcing more than it sends cannot hold a
// connection (the doors bound its size themselves).
func (h *Handler) bodyDeadline(w *statusWriter, r *http.Request) {
	if r.ContentLength != 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.bodyTimeout))
	}
}

func (h *Handler) logRequest(r *http.Request, rw *statusWriter, door string, entry *reqlog.Entry, start time.Time) {
	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("door", door), slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Duration("duration", time.Since(start)),
	}
	if id := rw.Header().Get("X-Amzn-Requestid"); id != "" {
		attrs = append(attrs, slog.String("requestId", id))
	}
	more, err := entry.Attrs()
	attrs = append(attrs, more...)
	level := slog.LevelInfo
	if err != nil || status >= 500 {
		level = slog.LevelError
		if err != nil {
			attrs = append(attrs, slog.String("err", err.Error()))
		}
	}
	h.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// statusWriter records the status written; it unwraps for
// http.ResponseController (flushing, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// crossSite explains why a request that a web page of another origin made
// is refused, or returns "". Browsers name the page's origin in Origin (on
// every request that may change something) and, in Sec-Fetch-Site, how it
// relates to this server; tools like the AWS CLI send neither. No answer
// carries CORS headers, so no other origin may read one either.
func crossSite(r *http.Request) string {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return "cross-site requests are refused (Sec-Fetch-Site: cross-site)"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || origin == "null" || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Sprintf("requests from another origin (%.100s) are refused", origin)
	}
	return ""
}

// changes reports whether a REST request is one a web page could send
// without a preflight and that changes something: a POST or a PUT (the
// routes' other methods, DELETE, need a preflight no answer grants).
func changes(r *http.Request) bool {
	return r.Method == http.MethodPost || r.Method == http.MethodPut
}

// isJSON reports whether a Content-Type is application/json. Browsers send
// a page's simple requests (no preflight) as text/plain, form encodings or
// with no body type at all, never as JSON.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
