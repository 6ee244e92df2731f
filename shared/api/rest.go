package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// The REST door: resource-shaped JSON under /v1.
//
//	POST   /v1/pipelines                                     create (body: pipeline document, bare or {pipeline, tags})
//	GET    /v1/pipelines?maxResults=&nextToken=              list
//	GET    /v1/pipelines/{name}?version=N                    get (latest, or version N)
//	PUT    /v1/pipelines/{name}                              update: a new version
//	DELETE /v1/pipelines/{name}                              delete
//	GET    /v1/pipelines/{name}/state                        GetPipelineState
//	POST   /v1/pipelines/{name}/executions                   start ({variables, clientRequestToken})
//	GET    /v1/pipelines/{name}/executions?status=&maxResults=&nextToken=
//	GET    /v1/pipelines/{name}/executions/{id}              the whole execution record
//	POST   /v1/pipelines/{name}/executions/{id}/stop         ({abandon, reason})
//	GET    /v1/pipelines/{name}/executions/{id}/events       server-sent events until the execution ends
//	GET    /v1/pipelines/{name}/executions/{id}/actions/{runId}/logs?offset=&limit=&follow=
//	GET    /v1/pipelines/{name}/action-executions?executionId=&stage=&action=&status=&maxResults=&nextToken=
//	POST   /v1/pipelines/{name}/approvals                    ({executionId, stage, action, token, status, summary})
//	GET    /v1/pipelines/{name}/tags
//	PUT    /v1/pipelines/{name}/tags                         ({tags: [{key, value}]}: adds or overwrites)
//	DELETE /v1/pipelines/{name}/tags?key=..&key=..
//
// Errors are {"error": {"code", "message", "problems"}} with the status and
// exception name of Describe(err, true).

// Limits of the REST door.
const (
	restMaxBody         = 1 << 20 // request bodies
	restLogDefaultLimit = 64 << 10
	restLogMaxLimit     = 1 << 20
	restMaxUserLength   = 128
)

// RESTUserHeader names the caller recorded as an approval's approver.
const RESTUserHeader = "X-Stageflow-User"

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

type restHandler struct {
	svc    *Service
	events *Events
	log    *slog.Logger
	mux    *http.ServeMux

	closing   chan struct{} // closed by CloseStreams
	closeOnce sync.Once
}

// NewRESTHandler returns the REST door. events (may be nil) feeds the
// streaming endpoints; without it they poll the store. Every request is
// logged at Info with its method, route pattern, status and duration.
//
// The handler also has a CloseStreams() method that ends every open event
// stream and followed log; http.Server.Shutdown does not end such requests
// itself, so a server registers it:
//
//	if c, ok := h.(interface{ CloseStreams() }); ok {
//		srv.RegisterOnShutdown(c.CloseStreams)
//	}
func NewRESTHandler(svc *Service, events *Events, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &restHandler{svc: svc, events: events, log: logger, mux: http.NewServeMux(), closing: make(chan struct{})}
	routes := []struct {
		pattern string
		fn      http.HandlerFunc
	}{
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
		{"GET /v1/pipelines/{name}/tags", h.listTags},
		{"PUT /v1/pipelines/{name}/tags", h.tagPipeline},
		{"DELETE /v1/pipelines/{name}/tags", h.untagPipeline},
	}
	for _, rt := range routes {
		h.mux.HandleFunc(rt.pattern, rt.fn)
	}
	return h
}

// CloseStreams ends the open streams (server-sent events, followed logs)
// and makes new ones end at once after their first answer.
func (h *restHandler) CloseStreams() {
	h.closeOnce.Do(func() { close(h.closing) })
}

// ServeHTTP routes, turns the mux's own 404 and 405 answers into JSON
// errors, recovers panics and logs the request.
func (h *restHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &restResponseWriter{ResponseWriter: w, req: r}
	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			h.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rw.wroteHeader {
				restWriteError(rw, http.StatusInternalServerError, "InternalFailure", "internal error", nil)
			}
		}
		route := r.Pattern
		if route == "" {
			route = "(none)"
		}
		status := rw.status
		if status == 0 {
			status = http.StatusOK
		}
		h.log.Info("request", "method", r.Method, "route", route, "path", r.URL.Path, "status", status, "duration", time.Since(start))
		if p == http.ErrAbortHandler {
			panic(p)
		}
	}()
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		h.fail(rw, r, errs.New(errs.Validation, "malformed query string: %v", err))
		return
	}
	h.mux.ServeHTTP(rw, r)
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

// ---- errors and JSON ----

type restErrorBody struct {
	Error restErrorDetail `json:"error"`
}

type restErrorDetail struct {
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Problems []errs.Problem `json:"problems,omitempty"`
}

// restStatusError is an error of the HTTP layer itself (oversize body) with
// its own status and code.
type restStatusError struct {
	status int
	code   string
	msg    string
}

func (e *restStatusError) Error() string { return e.msg }

func restWriteError(w http.ResponseWriter, status int, code, msg string, problems []errs.Problem) {
	restWriteJSON(w, status, restErrorBody{Error: restErrorDetail{Code: code, Message: msg, Problems: problems}})
}

func restWriteJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"code":"InternalFailure","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

// fail writes err as the REST error body.
func (h *restHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *restStatusError
	if errors.As(err, &se) {
		restWriteError(w, se.status, se.code, se.msg, nil)
		return
	}
	info := Describe(err, true)
	if info.Status >= 500 {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	restWriteError(w, info.Status, info.Exception, info.Message, info.Problems)
}

func restInvalid(path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path == "" {
		return errs.New(errs.Validation, "%s", msg)
	}
	return errs.Invalid("invalid request", []errs.Problem{{Path: path, Message: msg}})
}

// restReadBody reads the whole body, at most restMaxBody bytes.
func restReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := &restStatusError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLargeException",
		msg: fmt.Sprintf("the request body is larger than %d bytes", restMaxBody)}
	if r.ContentLength > restMaxBody {
		return nil, tooLarge
	}
	// The server's own writer, so that MaxBytesReader can have it close
	// the connection after an oversize body.
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, restMaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, errs.New(errs.Validation, "reading the request body: %v", err)
	}
	return data, nil
}

// restDecodeBody reads a JSON object into dst strictly: unknown fields,
// values of the wrong type and trailing data are errors naming the field.
// An empty body is an empty object when optional.
func restDecodeBody(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	data, err := restReadBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return errs.New(errs.Validation, "the request body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return restJSONError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := restLineCol(data, int(dec.InputOffset()))
		return errs.New(errs.Validation, "malformed JSON: unexpected data after the JSON object at line %d, column %d", line, col)
	}
	return nil
}

func restJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := restLineCol(data, int(syn.Offset)-1)
		return errs.New(errs.Validation, "malformed JSON at line %d, column %d: %s", line, col, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.New(errs.Validation, "malformed JSON: the body ends too early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errs.New(errs.Validation, "the request body must be a JSON object, not %s", restArticle(typ.Value))
		}
		return errs.Invalid("invalid request body", []errs.Problem{{Path: typ.Field,
			Message: fmt.Sprintf("expected %s, got %s", restTypeName(typ.Type), restArticle(typ.Value))}})
	}
	msg := err.Error()
	if i := strings.Index(msg, "unknown field "); i >= 0 {
		if name, qerr := strconv.Unquote(msg[i+len("unknown field "):]); qerr == nil {
			return errs.Invalid("invalid request body", []errs.Problem{{Path: name, Message: "unknown field"}})
		}
	}
	return errs.New(errs.Validation, "invalid request body: %s", strings.TrimPrefix(msg, "json: "))
}

func restTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

func restArticle(jsonKind string) string {
	switch {
	case jsonKind == "array", jsonKind == "object":
		return "an " + jsonKind
	case jsonKind == "bool":
		return "a boolean"
	case strings.HasPrefix(jsonKind, "number"):
		return "a number"
	case jsonKind == "":
		return "a value of another type"
	}
	return "a " + jsonKind
}

func restLineCol(data []byte, offset int) (line, col int) {
	offset = max(0, min(offset, len(data)))
	before := data[:offset]
	start := bytes.LastIndexByte(before, '\n') + 1
	return 1 + bytes.Count(before, []byte("\n")), 1 + utf8.RuneCount(before[start:])
}

// restQueryInt reads an optional integer query parameter in [lo, hi]; 0
// when absent.
func restQueryInt(q url.Values, key string, lo, hi int64) (int64, error) {
	s := q.Get(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, restInvalid(key, "must be an integer from %d to %d, got %q", lo, hi, s)
	}
	return n, nil
}

// restQueryStatus reads an optional status filter.
func restQueryStatus(q url.Values, allowed ...engine.Status) (engine.Status, error) {
	s := q.Get("status")
	if s == "" {
		return "", nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if string(a) == s {
			return a, nil
		}
		names[i] = string(a)
	}
	return "", restInvalid("status", "must be one of %s, got %q", strings.Join(names, ", "), s)
}

// restListQuery reads the query of an execution listing: an optional status
// filter among allowed and an optional page size (maxResults, 1..100).
func restListQuery(q url.Values, allowed []engine.Status) (engine.Status, int, error) {
	status, err := restQueryStatus(q, allowed...)
	if err != nil {
		return "", 0, err
	}
	n, err := restQueryInt(q, "maxResults", 1, 100)
	return status, int(n), err
}

var restExecutionStatuses = []engine.Status{engine.Cancelled, engine.InProgress, engine.Stopped, engine.Stopping, engine.Succeeded, engine.Superseded, engine.Failed}

var restActionStatuses = []engine.Status{engine.InProgress, engine.Abandoned, engine.Succeeded, engine.Failed}

// restUser is the caller named by the X-Stageflow-User header.
func restUser(r *http.Request) (string, error) {
	u := strings.TrimSpace(r.Header.Get(RESTUserHeader))
	if u == "" {
		return "anonymous", nil
	}
	if len(u) > restMaxUserLength || !utf8.ValidString(u) {
		return "", errs.New(errs.Validation, "the %s header must be valid UTF-8 of at most %d bytes", RESTUserHeader, restMaxUserLength)
	}
	return u, nil
}

// ---- pipelines ----

// restLoadPipeline reads a pipeline document with pipeline.Load. A document
// that parses as an object but breaks the shape or the rules is an
// InvalidStructureException; malformed JSON a ValidationException.
func (h *restHandler) loadPipeline(w http.ResponseWriter, r *http.Request) (*pipeline.Document, error) {
	data, err := restReadBody(w, r)
	if err != nil {
		return nil, err
	}
	doc, err := pipeline.Load(data)
	if err != nil {
		if e, ok := errs.As(err); ok && doc != nil && e.Code == errs.Validation {
			c := *e
			c.Kind = KindStructure
			return nil, &c
		}
		return nil, err
	}
	return doc, nil
}

func (h *restHandler) createPipeline(w http.ResponseWriter, r *http.Request) {
	doc, err := h.loadPipeline(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := doc.Pipeline
	p.Version = nil
	out, err := h.svc.CreatePipeline(r.Context(), p, doc.Tags)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/pipelines/"+url.PathEscape(p.Name))
	restWriteJSON(w, http.StatusCreated, out)
}

func (h *restHandler) listPipelines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := restQueryInt(q, "maxResults", 1, 1000)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.ListPipelines(r.Context(), int(n), q.Get("nextToken"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *restHandler) getPipeline(w http.ResponseWriter, r *http.Request) {
	v, err := restQueryInt(r.URL.Query(), "version", 1, 1<<31-1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.GetPipeline(r.Context(), r.PathValue("name"), int(v))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *restHandler) updatePipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	doc, err := h.loadPipeline(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(doc.Tags) > 0 {
		h.fail(w, r, restInvalid("tags", "an update takes no tags; change them with PUT /v1/pipelines/%s/tags", url.PathEscape(name)))
		return
	}
	p := doc.Pipeline
	if p.Name != name {
		h.fail(w, r, restInvalid("name", "is %q but the path names pipeline %q; a pipeline cannot be renamed", p.Name, name))
		return
	}
	p.Version = nil
	out, err := h.svc.UpdatePipeline(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *restHandler) deletePipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	// The CodePipeline door deletes unknown names silently; REST says 404.
	if _, err := h.svc.GetPipeline(r.Context(), name, 0); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.DeletePipeline(r.Context(), name); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *restHandler) pipelineState(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.GetPipelineState(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

// ---- executions ----

// RESTStartExecution is the body of POST /v1/pipelines/{name}/executions.
type RESTStartExecution struct {
	Variables          map[string]string `json:"variables,omitempty"`
	ClientRequestToken string            `json:"clientRequestToken,omitempty"`
}

// RESTExecutionID answers it.
type RESTExecutionID struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
}

func (h *restHandler) startExecution(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body RESTStartExecution
	if err := restDecodeBody(w, r, &body, true); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(body.ClientRequestToken) > 128 {
		h.fail(w, r, restInvalid("clientRequestToken", "must be at most 128 characters"))
		return
	}
	user, err := restUser(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := h.svc.StartExecution(r.Context(), name, body.Variables, body.ClientRequestToken, user)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/pipelines/"+url.PathEscape(name)+"/executions/"+url.PathEscape(id))
	restWriteJSON(w, http.StatusCreated, RESTExecutionID{PipelineExecutionID: id})
}

func (h *restHandler) listExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, n, err := restListQuery(q, restExecutionStatuses)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.ListExecutions(r.Context(), r.PathValue("name"), status, n, q.Get("nextToken"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

func (h *restHandler) getExecution(w http.ResponseWriter, r *http.Request) {
	e, err := h.svc.Execution(r.Context(), r.PathValue("name"), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, e)
}

// RESTStopExecution is the body of POST .../executions/{id}/stop.
type RESTStopExecution struct {
	Abandon bool   `json:"abandon,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func (h *restHandler) stopExecution(w http.ResponseWriter, r *http.Request) {
	var body RESTStopExecution
	if err := restDecodeBody(w, r, &body, true); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(body.Reason) > 200 {
		h.fail(w, r, restInvalid("reason", "must be at most 200 characters"))
		return
	}
	id := r.PathValue("id")
	if err := h.svc.StopExecution(r.Context(), r.PathValue("name"), id, body.Abandon, body.Reason); err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusAccepted, RESTExecutionID{PipelineExecutionID: id})
}

func (h *restHandler) listActionExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, n, err := restListQuery(q, restActionStatuses)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := ActionExecutionFilter{PipelineExecutionID: q.Get("executionId"), Stage: q.Get("stage"), Action: q.Get("action"), Status: status}
	out, err := h.svc.ListActionExecutions(r.Context(), r.PathValue("name"), f, n, q.Get("nextToken"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, out)
}

// ---- approvals ----

// RESTApproval is the body of POST /v1/pipelines/{name}/approvals.
// Token may be left out when the approval is waiting in the execution named
// by ExecutionID, or (without ExecutionID) in exactly one execution.
type RESTApproval struct {
	ExecutionID string `json:"executionId,omitempty"`
	Stage       string `json:"stage"`
	Action      string `json:"action"`
	Token       string `json:"token,omitempty"`
	Status      string `json:"status"`
	Summary     string `json:"summary,omitempty"`
}

// RESTApprovalResult answers it.
type RESTApprovalResult struct {
	ApprovedAt *Timestamp `json:"approvedAt,omitempty"`
}

func (h *restHandler) putApproval(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	var body RESTApproval
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	var problems []errs.Problem
	if body.Stage == "" {
		problems = append(problems, errs.Problem{Path: "stage", Message: "is required"})
	}
	if body.Action == "" {
		problems = append(problems, errs.Problem{Path: "action", Message: "is required"})
	}
	if body.Status != "Approved" && body.Status != "Rejected" {
		problems = append(problems, errs.Problem{Path: "status", Message: fmt.Sprintf("must be Approved or Rejected, got %q", body.Status)})
	}
	if len(body.Summary) > 512 {
		problems = append(problems, errs.Problem{Path: "summary", Message: "must be at most 512 characters"})
	}
	if len(problems) > 0 {
		h.fail(w, r, errs.Invalid("invalid approval", problems))
		return
	}
	user, err := restUser(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.checkApprovalAction(ctx, name, body.Stage, body.Action); err != nil {
		h.fail(w, r, err)
		return
	}
	token := body.Token
	if token == "" {
		if token, err = h.waitingApprovalToken(ctx, name, body.ExecutionID, body.Stage, body.Action); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	at, err := h.svc.PutApprovalResult(ctx, name, body.Stage, body.Action, token, body.Status, body.Summary, user)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTApprovalResult{ApprovedAt: ts(at)})
}

// checkApprovalAction makes sure the named action of the latest version is a
// manual approval, so that a token of another kind of action cannot
// complete it.
func (h *restHandler) checkApprovalAction(ctx context.Context, name, stage, action string) error {
	out, err := h.svc.GetPipeline(ctx, name, 0)
	if err != nil {
		return err
	}
	for _, st := range out.Pipeline.Stages {
		if st.Name != stage {
			continue
		}
		for _, a := range st.Actions {
			if a.Name == action {
				if a.ActionTypeID.Category != pipeline.CategoryApproval {
					return errs.Invalid("invalid approval", []errs.Problem{{Path: "action",
						Message: fmt.Sprintf("%q is a %s action, not a manual approval", action, a.ActionTypeID.Category)}})
				}
				return nil
			}
		}
		return errs.Of(errs.NotFound, KindAction, "stage %q of pipeline %q has no action %q", stage, name, action)
	}
	return errs.Of(errs.NotFound, KindStage, "pipeline %q has no stage %q", name, stage)
}

// waitingApprovalToken finds the token of the approval waiting at
// stage/action: in the given execution, or else in the one recent execution
// waiting there (the one GetPipelineState shows, unless a newer execution
// has passed the approval since).
func (h *restHandler) waitingApprovalToken(ctx context.Context, name, executionID, stage, action string) (string, error) {
	if executionID == "" {
		waiting, err := h.svc.ListActionExecutions(ctx, name, ActionExecutionFilter{Stage: stage, Action: action, Status: engine.InProgress}, 0, "")
		if err != nil {
			return "", err
		}
		switch n := len(waiting.ActionExecutionDetails); n {
		case 0:
			return "", errs.Of(errs.InvalidState, KindApprovalToken, "no approval is waiting at action %q of stage %q", action, stage)
		case 1:
			executionID = waiting.ActionExecutionDetails[0].PipelineExecutionID
		default:
			return "", errs.Of(errs.InvalidState, KindApprovalToken,
				"%d executions wait at action %q of stage %q; give the token or the executionId", n, action, stage)
		}
	}
	e, err := h.svc.Execution(ctx, name, executionID)
	if err != nil {
		return "", err
	}
	if run, ok := e.LatestRun(stage, action); ok && run.Status == engine.InProgress &&
		run.Type.Category == pipeline.CategoryApproval && run.Token != "" {
		return run.Token, nil
	}
	return "", errs.Of(errs.InvalidState, KindApprovalToken, "execution %s has no approval waiting at action %q of stage %q", executionID, action, stage)
}

// ---- tags ----

// RESTTags is the body of GET and PUT /v1/pipelines/{name}/tags.
type RESTTags struct {
	Tags []pipeline.Tag `json:"tags"`
}

func (h *restHandler) listTags(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := h.svc.GetPipeline(r.Context(), name, 0); err != nil {
		h.fail(w, r, err)
		return
	}
	tags, err := h.svc.ListTags(r.Context(), h.svc.PipelineArn(name))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTTags{Tags: tags})
}

func (h *restHandler) tagPipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body RESTTags
	if err := restDecodeBody(w, r, &body, false); err != nil {
		h.fail(w, r, err)
		return
	}
	var problems []errs.Problem
	if len(body.Tags) == 0 {
		problems = append(problems, errs.Problem{Path: "tags", Message: "must list at least one tag"})
	}
	for i, t := range body.Tags {
		if t.Key == "" || len(t.Key) > 128 {
			problems = append(problems, errs.Problem{Path: fmt.Sprintf("tags[%d].key", i), Message: "must be 1 to 128 characters"})
		}
		if len(t.Value) > 256 {
			problems = append(problems, errs.Problem{Path: fmt.Sprintf("tags[%d].value", i), Message: "must be at most 256 characters"})
		}
	}
	if len(problems) > 0 {
		h.fail(w, r, errs.Invalid("invalid tags", problems))
		return
	}
	if _, err := h.svc.GetPipeline(r.Context(), name, 0); err != nil {
		h.fail(w, r, err)
		return
	}
	arn := h.svc.PipelineArn(name)
	if err := h.svc.TagResource(r.Context(), arn, body.Tags); err != nil {
		h.fail(w, r, err)
		return
	}
	tags, err := h.svc.ListTags(r.Context(), arn)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTTags{Tags: tags})
}

func (h *restHandler) untagPipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	keys := r.URL.Query()["key"]
	if len(keys) == 0 {
		h.fail(w, r, restInvalid("key", "name at least one tag key: ?key=a&key=b"))
		return
	}
	if _, err := h.svc.GetPipeline(r.Context(), name, 0); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.UntagResource(r.Context(), h.svc.PipelineArn(name), keys); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// restFlush flushes what was written; a writer that cannot flush is no error.
func restFlush(rc *http.ResponseController) error {
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// restStartStream starts a streamed 200 response of the given content type:
// no write deadline (it lasts as long as what it follows), no caching, the
// header sent at once. The caller flushes what it writes through the
// returned controller.
func restStartStream(w http.ResponseWriter, contentType string) *http.ResponseController {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return rc
}

// ---- server-sent events ----

// executionEvents streams an execution as server-sent events: first
// `event: execution` with the current record, then one per change, ending
// after the terminal state; a comment line every restHeartbeatInterval keeps
// proxies from closing the connection.
func (h *restHandler) executionEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, id := r.PathValue("name"), r.PathValue("id")
	var changes <-chan *engine.Execution
	if h.events != nil {
		ch, cancel := h.events.Subscribe(id)
		defer cancel()
		changes = ch
	}
	e, err := h.svc.Execution(ctx, name, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("X-Accel-Buffering", "no")
	rc := restStartStream(w, "text/event-stream")

	send := func(e *engine.Execution) bool {
		data, err := json.Marshal(e)
		if err != nil {
			h.log.Error("encoding an execution event", "execution", e.ID, "err", err)
			return false
		}
		if _, err := fmt.Fprintf(w, "event: execution\nid: %d\ndata: %s\n\n", e.Version, data); err != nil {
			return false
		}
		return restFlush(rc) == nil
	}
	if !send(e) || e.Status.Terminal() {
		return
	}
	updates := h.watchExecution(ctx, e, changes)
	heartbeat := time.NewTicker(restHeartbeatInterval)
	defer heartbeat.Stop()
	for {
		select {
		case next, ok := <-updates:
			if !ok {
				return // the request or the server is closing
			}
			if !send(next) || next.Status.Terminal() {
				return
			}
		case <-heartbeat.C:
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil || restFlush(rc) != nil {
				return
			}
		}
	}
}

// watchExecution delivers each newer state of the execution e, in order,
// on the returned channel: from the Events hub (changes), with a re-read of
// the store every restPollInterval as a backstop, or every
// restFallbackPollInterval when there is no hub or it closed. It stops after
// delivering a terminal state, and closes the channel when it stops, when
// ctx ends or when the handler closes its streams.
func (h *restHandler) watchExecution(ctx context.Context, e *engine.Execution, changes <-chan *engine.Execution) <-chan *engine.Execution {
	out := make(chan *engine.Execution, 1)
	go func() {
		defer close(out)
		last := e.Version
		pollEvery := restPollInterval
		if changes == nil {
			pollEvery = restFallbackPollInterval
		}
		poll := time.NewTicker(pollEvery)
		defer poll.Stop()
		for {
			var next *engine.Execution
			select {
			case <-ctx.Done():
				return
			case <-h.closing:
				return
			case ne, ok := <-changes:
				if !ok {
					changes = nil
					poll.Reset(restFallbackPollInterval)
					continue
				}
				next = ne
			case <-poll.C:
				ne, err := h.svc.Execution(ctx, e.PipelineName, e.ID)
				if err != nil {
					continue
				}
				next = ne
			}
			if next.Version <= last {
				continue
			}
			last = next.Version
			select {
			case out <- next:
			case <-ctx.Done():
				return
			case <-h.closing:
				return
			}
			if next.Status.Terminal() {
				return
			}
		}
	}()
	return out
}
