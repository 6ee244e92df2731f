package rest

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// The REST door: resource-shaped JSON under /v1.
//
//	POST   /v1/pipelines                                     create (body: pipeline document, bare or {pipeline, tags})
//	GET    /v1/pipelines?maxResults=&nextToken=              list
//	GET    /v1/pipelines/{name}?version=N                    get (latest, or version N)
//	PUT    /v1/pipelines/{name}                              update: a new version
//	DELETE /v1/pipelines/{name}                              delete
//	GET    /v1/pipelines/{name}/state?lane=                  GetPipelineState (of one lane)
//	POST   /v1/pipelines/{name}/executions                   start ({variables, clientRequestToken})
//	GET    /v1/pipelines/{name}/executions?status=&lane=&maxResults=&nextToken=
//	GET    /v1/pipelines/{name}/executions/{id}              the whole execution record
//	POST   /v1/pipelines/{name}/executions/{id}/stop         ({abandon, reason})
//	GET    /v1/pipelines/{name}/executions/{id}/events       server-sent events until the execution ends
//	GET    /v1/pipelines/{name}/executions/{id}/actions/{runId}/logs?offset=&limit=&follow=
//	GET    /v1/pipelines/{name}/action-executions?executionId=&stage=&action=&status=&maxResults=&nextToken=
//	POST   /v1/pipelines/{name}/approvals                    ({executionId, stage, action, token, status, summary})
//	POST   /v1/pipelines/{name}/stages/{stage}/disable-transition  ({reason, transitionType}): 204
//	POST   /v1/pipelines/{name}/stages/{stage}/enable-transition   ({transitionType}): 204
//	POST   /v1/pipelines/{name}/stages/{stage}/rollback            ({targetPipelineExecutionId}): 201, the new execution
//	POST   /v1/pipelines/{name}/executions/{id}/stages/{stage}/retry               ({retryMode}): 202
//	POST   /v1/pipelines/{name}/executions/{id}/stages/{stage}/override-condition  ({conditionType}): 204
//	POST   /v1/validate                                      check a pipeline document without saving it (editor.go)
//	GET    /v1/action-types?owner=                           ListActionTypes
//	GET    /v1/pipelines/{name}/tags
//	PUT    /v1/pipelines/{name}/tags                         ({tags: [{key, value}]}: adds or overwrites)
//	DELETE /v1/pipelines/{name}/tags?key=..&key=..
//
// Errors are {"error": {"code", "message", "problems"}} (RESTError) with
// the status and exception name of Describe(err, true). A body is read by
// shared/strictjson against the CodePipeline API's constraints (the
// shapes of shared/apispec its type's `api` tags name, the CodePipeline
// door's): every problem of a body (malformed JSON with its line and column,
// unknown, repeated or null members, wrong types, absent required members,
// broken constraints) comes back in one 400 ValidationException, each at its
// JSON path, in the same words as the CodePipeline door's.

// Limits of the REST door.
const (
	restMaxBody         = 1 << 20 // request bodies
	restLogDefaultLimit = 64 << 10
	restLogMaxLimit     = 1 << 20
	restMaxUserLength   = 128
)

// Stream timing; variables so that tests can shorten them.
var (
	restHeartbeatInterval = 15 * time.Second
	// restPollInterval is how often streams re-read the execution from the
	// store, a safety net behind the Events notifications.
	restPollInterval = 2 * time.Second
	// restFallbackPollInterval replaces it when there is no Events hub.
	restFallbackPollInterval = 500 * time.Millisecond
	// restLogTick is how often a followed log file is read for new bytes.
	restLogTick = 200 * time.Millisecond
)

// Handler is the REST door.
type Handler struct {
	svc *service.Service
	log *slog.Logger
	mux *http.ServeMux

	closing   chan struct{} // closed by CloseStreams
	closeOnce sync.Once

	logStreams atomic.Int32 // logs followed as server-sent events now
}

// NewHandler returns the REST door. The service's Events hub, when it has
// one, feeds the streaming endpoints; without it they poll the store. The
// request log line is api.NewHandler's; the door adds its route to it.
//
// CloseStreams ends every open event stream and followed log;
// http.Server.Shutdown does not end such requests itself, so a server
// registers it (api.NewServer does).
func NewHandler(svc *service.Service, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, log: logger, mux: http.NewServeMux(), closing: make(chan struct{})}
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.pattern, rt.fn)
	}
	return h
}

// route is one route of the door: a ServeMux pattern ("METHOD /path/{name}")
// and its handler.
type route struct {
	pattern string
	fn      http.HandlerFunc
}

// routes is the door's route table.
func (h *Handler) routes() []route {
	return []route{
		{"POST /v1/pipelines", h.createPipeline},
		{"GET /v1/pipelines", h.listPipelines},
		{"GET /v1/pipelines/{name}", h.getPipeline},
		{"PUT /v1/pipelines/{name}", h.updatePipeline},
		{"DELETE /v1/pipelines/{name}", h.deletePipeline},
		{"GET /v1/pipelines/{name}/state", h.pipelineState},
		{"POST /v1/pipelines/{name}/executions", h.startExecution},
		{"GET /v1/pipelines/{name}/executions", h.listExecutions},
		{"GET /v1/pipelines/{name}/executions/{id}", h.getExecution},
		{"POST /v1/pipelines/{name}/executions/{id}/stop", h.stopExecution},
		{"GET /v1/pipelines/{name}/executions/{id}/events", h.executionEvents},
		{"GET /v1/pipelines/{name}/executions/{id}/actions/{runId}/logs", h.actionLogs},
		{"GET /v1/pipelines/{name}/action-executions", h.listActionExecutions},
		{"POST /v1/pipelines/{name}/approvals", h.putApproval},
		{"POST /v1/pipelines/{name}/stages/{stage}/disable-transition", h.disableTransition},
		{"POST /v1/pipelines/{name}/stages/{stage}/enable-transition", h.enableTransition},
		{"POST /v1/pipelines/{name}/stages/{stage}/rollback", h.rollbackStage},
		{"POST /v1/pipelines/{name}/executions/{id}/stages/{stage}/retry", h.retryStage},
		{"POST /v1/pipelines/{name}/executions/{id}/stages/{stage}/override-condition", h.overrideCondition},
		{"GET /v1/pipelines/{name}/rule-executions", h.listRuleExecutions},
		{"GET /v1/rule-types", h.listRuleTypes},
		{"POST /v1/validate", h.validatePipeline},
		{"GET /v1/action-types", h.listActionTypes},
		{"GET /v1/pipelines/{name}/tags", h.listTags},
		{"PUT /v1/pipelines/{name}/tags", h.tagPipeline},
		{"DELETE /v1/pipelines/{name}/tags", h.untagPipeline},
		{"GET /v1/whoami", h.whoami},
		{"POST /v1/console-links", h.createConsoleLink},
		{"POST /v1/keys", h.createKey},
		{"GET /v1/keys", h.listKeys},
		{"DELETE /v1/keys/{id}", h.deleteKey},
		{"PUT /v1/principal-policies", h.putPrincipalPolicies},
		{"GET /v1/principal-policies", h.getPrincipalPolicies},
		{"POST /v1/connections", h.createConnection},
		{"GET /v1/connections", h.listConnections},
		{"GET /v1/connections/{id}", h.getConnection},
		{"DELETE /v1/connections/{id}", h.deleteConnection},
		{"POST /v1/connections/{id}/trigger-secret", h.rotateTriggerSecret},
		{"POST /v1/repositories", h.createRepository},
		{"GET /v1/repositories", h.listRepositories},
		{"GET /v1/repositories/{name}", h.getRepository},
		{"DELETE /v1/repositories/{name}", h.deleteRepository},
		{"POST /v1/buckets", h.createBucket},
		{"GET /v1/buckets", h.listBuckets},
		{"GET /v1/buckets/{name}", h.getBucket},
		{"DELETE /v1/buckets/{name}", h.deleteBucket},
	}
}

// Patterns lists the door's routes as "METHOD /path" with {name} for a path
// segment, the syntax API Gateway's route keys share (infra declares one
// route of the HTTP API for each).
func Patterns() []string {
	var out []string
	for _, rt := range (&Handler{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// EscapeSegment escapes s as one URL path segment, as the door's URLs
// carry pipeline names and IDs. url.PathEscape leaves dots alone, but a
// segment "." or ".." would be removed by URL resolution and path cleaning,
// so the dots of an all-dot segment (a pipeline named "." or "..", which
// CodePipeline's name pattern allows) are sent as %2E: the door matches
// routes on the unescaped path and does not clean encoded dots away.
func EscapeSegment(s string) string {
	if s != "" && strings.Trim(s, ".") == "" {
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}

// CloseStreams ends the open streams (server-sent events, followed logs)
// and makes new ones end at once after their first answer.
func (h *Handler) CloseStreams() {
	h.closeOnce.Do(func() { close(h.closing) })
}

// ServeHTTP establishes the caller, routes, and turns the mux's own 404 and
// 405 answers into JSON errors.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A caller the HTTP surface verified stands; without authentication
	// (--auth none) the X-Stageflow-User header names the caller, a claim.
	var userErr error
	if c := service.CallerFrom(r.Context()); !c.Verified {
		var user string
		user, userErr = restUser(r)
		r = r.WithContext(service.WithCaller(r.Context(), service.Caller{Principal: user, Door: service.DoorREST}))
	}
	// Every answer is one caller's (whoami carries the session's CSRF
	// token): no browser or proxy keeps a copy. The event stream says
	// no-cache for itself.
	w.Header().Set("Cache-Control", "no-store")
	rw := &restResponseWriter{ResponseWriter: w, req: r}
	defer func() { reqlog.Add(r.Context(), slog.String("route", routeOf(r))) }()
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		h.fail(rw, r, errs.New(errs.Validation, "malformed query string: %v", err))
		return
	}
	if userErr != nil {
		h.fail(rw, r, userErr)
		return
	}
	h.mux.ServeHTTP(rw, r)
}

func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return "(none)"
	}
	return r.Pattern
}

// restResponseWriter records the status and replaces the mux's plain-text
// "404 page not found" and "405 method not allowed" with JSON errors. It
// unwraps for http.ResponseController (flushing, deadlines).
type restResponseWriter struct {
	http.ResponseWriter
	req         *http.Request
	status      int
	wroteHeader bool
	swallow     bool // the mux's own body is dropped
}

func (w *restResponseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	// Only the mux answers with no pattern matched.
	if w.req.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		w.swallow = true
		w.Header().Del("Content-Length")
		if code == http.StatusNotFound {
			restWriteError(w.ResponseWriter, code, "UnknownOperationException",
				fmt.Sprintf("no route for %s %s", w.req.Method, w.req.URL.Path), nil)
		} else {
			allow := w.Header().Get("Allow")
			restWriteError(w.ResponseWriter, code, "MethodNotAllowedException",
				fmt.Sprintf("%s is not allowed on %s; allowed: %s", w.req.Method, w.req.URL.Path, allow), nil)
		}
		w.status, w.wroteHeader = code, true
		return
	}
	w.status, w.wroteHeader = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *restResponseWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *restResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
