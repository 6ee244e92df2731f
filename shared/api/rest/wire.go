package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/api/apierr"
	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/strictjson"
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

// restDecodeBody reads a JSON object into dst with shared/strictjson:
// malformed JSON (with its line and column), trailing data, repeated keys,
// unknown fields (with a "did you mean"), nulls, values of the wrong type,
// absent required members and values breaking the API's constraints (the
// shapes dst's `api` tags name) make one ValidationException listing every
// problem at its path. An empty body is an empty object when optional.
func restDecodeBody(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	data, err := restReadBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if !optional {
			return errs.New(errs.Validation, "the request body is empty; a JSON object is expected")
		}
		data = []byte("{}")
	}
	if problems := strictjson.Decode(data, dst, strictjson.Options{}); len(problems) > 0 {
		return errs.Invalid("invalid request body", problems.Errs())
	}
	return nil
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

// restQueryLane reads the optional lane filter of the state and the
// execution listing: nil when absent (every lane), "" for `lane=` (the
// executions in no lane), else a value that the service checks as a
// pipeline variable's value (StageflowLane is one).
func restQueryLane(q url.Values) (*string, error) {
	vals, ok := q["lane"]
	if !ok {
		return nil, nil
	}
	if len(vals) > 1 {
		return nil, restInvalid("lane", "give one lane, got %d", len(vals))
	}
	return &vals[0], nil
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
