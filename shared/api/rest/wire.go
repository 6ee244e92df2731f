package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/api/apierr"
	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
)

// The wire helpers of the REST door: error bodies, JSON answers, request
// bodies, query parameters and the caller.

// restStatusError is an error of the HTTP layer itself (oversize body) with
// its own status and code.
type restStatusError struct {
	status int
	code   string
	msg    string
}

func (e *restStatusError) Error() string { return e.msg }

func restWriteError(w http.ResponseWriter, status int, code, msg string, problems []errs.Problem) {
	restWriteJSON(w, status, RESTError{Error: RESTErrorDetail{Code: code, Message: msg, Problems: problems}})
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
