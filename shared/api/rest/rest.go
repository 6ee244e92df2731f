package rest

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
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/api/apierr"
	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
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

// Handler is the REST door.
type Handler struct {
	svc *service.Service
	log *slog.Logger
	mux *http.ServeMux

	closing   chan struct{} // closed by CloseStreams
	closeOnce sync.Once
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
func (h *Handler) CloseStreams() {
	h.closeOnce.Do(func() { close(h.closing) })
}

// ServeHTTP establishes the caller, routes, and turns the mux's own 404 and
// 405 answers into JSON errors.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, userErr := restUser(r)
	r = r.WithContext(service.WithCaller(r.Context(), service.Caller{Principal: user, Door: service.DoorREST}))
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
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *restStatusError
	if errors.As(err, &se) {
		restWriteError(w, se.status, se.code, se.msg, nil)
		return
	}
	info := apierr.Describe(err, apierr.REST)
	if info.Internal {
		reqlog.Fail(r.Context(), err)
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
func (h *Handler) loadPipeline(w http.ResponseWriter, r *http.Request) (*pipeline.Document, error) {
	data, err := restReadBody(w, r)
	if err != nil {
		return nil, err
	}
	doc, err := pipeline.Load(data)
	if err != nil {
		if e, ok := errs.As(err); ok && doc != nil && e.Code == errs.Validation {
			c := *e
			c.Kind = errs.KindStructure
			return nil, &c
		}
		return nil, err
	}
	return doc, nil
}

func (h *Handler) createPipeline(w http.ResponseWriter, r *http.Request) {
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

func (h *Handler) listPipelines(w http.ResponseWriter, r *http.Request) {
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

func (h *Handler) getPipeline(w http.ResponseWriter, r *http.Request) {
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

func (h *Handler) updatePipeline(w http.ResponseWriter, r *http.Request) {
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

func (h *Handler) deletePipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	// The CodePipeline door deletes unknown names silently; REST says 404.
	existed, err := h.svc.DeletePipeline(r.Context(), name)
	if err == nil && !existed {
		err = errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %q does not exist", name)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) pipelineState(w http.ResponseWriter, r *http.Request) {
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

func (h *Handler) startExecution(w http.ResponseWriter, r *http.Request) {
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
	e, err := h.svc.StartExecution(r.Context(), service.StartInput{PipelineName: name, Variables: body.Variables, ClientRequestToken: body.ClientRequestToken})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := e.ID
	w.Header().Set("Location", "/v1/pipelines/"+url.PathEscape(name)+"/executions/"+url.PathEscape(id))
	restWriteJSON(w, http.StatusCreated, RESTExecutionID{PipelineExecutionID: id})
}

func (h *Handler) listExecutions(w http.ResponseWriter, r *http.Request) {
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

func (h *Handler) getExecution(w http.ResponseWriter, r *http.Request) {
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

func (h *Handler) stopExecution(w http.ResponseWriter, r *http.Request) {
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

func (h *Handler) listActionExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, n, err := restListQuery(q, restActionStatuses)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := service.ActionExecutionFilter{PipelineExecutionID: q.Get("executionId"), Stage: q.Get("stage"), Action: q.Get("action"), Status: status}
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
	ApprovedAt *service.Timestamp `json:"approvedAt,omitempty"`
}

func (h *Handler) putApproval(w http.ResponseWriter, r *http.Request) {
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
	at, err := h.svc.PutApprovalResult(ctx, service.ApprovalInput{
		PipelineName: name, Stage: body.Stage, Action: body.Action, Token: body.Token, ExecutionID: body.ExecutionID,
		Status: body.Status, Summary: body.Summary,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTApprovalResult{ApprovedAt: service.TimestampOf(at)})
}

// ---- tags ----

// RESTTags is the body of GET and PUT /v1/pipelines/{name}/tags.
type RESTTags struct {
	Tags []pipeline.Tag `json:"tags"`
}

func (h *Handler) listTags(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	tags, err := h.svc.ListTags(r.Context(), h.svc.PipelineArn(name))
	if err != nil {
		h.fail(w, r, restPipelineNotFound(err, name))
		return
	}
	restWriteJSON(w, http.StatusOK, RESTTags{Tags: tags})
}

func (h *Handler) tagPipeline(w http.ResponseWriter, r *http.Request) {
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
	arn := h.svc.PipelineArn(name)
	if err := h.svc.TagResource(r.Context(), arn, body.Tags); err != nil {
		h.fail(w, r, restPipelineNotFound(err, name))
		return
	}
	tags, err := h.svc.ListTags(r.Context(), arn)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	restWriteJSON(w, http.StatusOK, RESTTags{Tags: tags})
}

func (h *Handler) untagPipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	keys := r.URL.Query()["key"]
	if len(keys) == 0 {
		h.fail(w, r, restInvalid("key", "name at least one tag key: ?key=a&key=b"))
		return
	}
	if err := h.svc.UntagResource(r.Context(), h.svc.PipelineArn(name), keys); err != nil {
		h.fail(w, r, restPipelineNotFound(err, name))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// restPipelineNotFound names the pipeline of a tag operation whose resource
// ARN named none.
func restPipelineNotFound(err error, name string) error {
	if errs.Is(err, errs.NotFound) {
		return errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %q does not exist", name)
	}
	return err
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
func (h *Handler) executionEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, id := r.PathValue("name"), r.PathValue("id")
	watch, err := h.svc.WatchExecution(ctx, name, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer watch.Close()
	e := watch.Execution
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
	updates := h.watchExecution(ctx, watch)
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
func (h *Handler) watchExecution(ctx context.Context, watch *service.Watch) <-chan *engine.Execution {
	e, changes := watch.Execution, watch.Changes
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
				ne, err := watch.Reload(ctx)
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
