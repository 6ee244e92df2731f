package api

// The CodePipeline door: AWS CodePipeline's own wire protocol (AWS JSON 1.1,
// API version 2015-07-09), so that the AWS CLI, the AWS SDKs and job workers
// written against them talk to Stageflow unchanged.
//
// A request is POST / with the header X-Amz-Target:
// CodePipeline_20150709.<Operation> and a JSON body holding the operation's
// input shape. A success is 200 with the output shape as JSON ({} for
// operations without output). An error is {"__type": "<Exception>",
// "message": "..."} with the header x-amzn-ErrorType; domain errors take
// their status and exception name from Describe (errors.go), the one table
// both doors share. Every response carries x-amzn-RequestId.
//
// Errors of the protocol itself, before any operation runs:
//
//   - no X-Amz-Target, a target of another service or an operation the API
//     definition does not have: 400 UnknownOperationException;
//   - an operation of the API definition that Stageflow does not implement
//     (e.g. PutWebhook): 400 UnsupportedOperationException naming it;
//   - a method other than POST: 405 UnknownOperationException (Allow: POST);
//     a path other than /: 404 UnknownOperationException (always JSON);
//   - a Content-Type other than application/x-amz-json-1.1 or
//     application/json (a missing one is accepted): 400 SerializationException;
//   - a body over 1 MiB: 413 RequestEntityTooLargeException;
//   - a body that is not JSON, not one JSON object, or holds a value of the
//     wrong JSON type for its member (e.g. "maxResults": "ten"): 400
//     SerializationException naming the member, as AWS answers type errors
//     in this protocol;
//   - a member the input shape does not have (names are case-sensitive), an
//     absent required member, or a value breaking the API definition's
//     length, range, pattern or enumeration constraints: 400
//     ValidationException naming every such member ("N validation errors
//     detected: ..."). A null counts as absent.
//
// The pipeline member of CreatePipeline and UpdatePipeline goes through the
// pipeline package's strict loader: its problems come back together, with
// their paths, as InvalidStructureException.
//
// Signatures (SigV4) are not verified yet; the access key ID of the
// Authorization header only names the caller (PutApprovalResult's approver,
// StartPipelineExecution's trigger detail), "anonymous" without one.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// CodePipelineTargetPrefix prefixes every X-Amz-Target of the API.
const CodePipelineTargetPrefix = "CodePipeline_20150709."

// CodePipelineContentType is the protocol's content type.
const CodePipelineContentType = "application/x-amz-json-1.1"

// MaxCodePipelineRequestBytes bounds a request body.
const MaxCodePipelineRequestBytes = 1 << 20

// Exception names of the protocol itself (domain errors take theirs from
// Describe).
const (
	ExceptionUnknownOperation = "UnknownOperationException"
	ExceptionSerialization    = "SerializationException"
	ExceptionTooLarge         = "RequestEntityTooLargeException"
)

// AnonymousCaller names a caller whose request carries no access key ID.
const AnonymousCaller = "anonymous"

// cpCall is one request as an operation sees it.
type cpCall struct {
	svc    *Service
	body   []byte
	caller string // the access key ID, or AnonymousCaller
}

// cpOperation runs one operation; a nil output is written as {}.
type cpOperation func(ctx context.Context, c *cpCall) (any, error)

// cpOp adapts an operation on a decoded input to a cpOperation.
func cpOp[T any](fn func(ctx context.Context, c *cpCall, in *T) (any, error)) cpOperation {
	return func(ctx context.Context, c *cpCall) (any, error) {
		in, err := cpDecode[T](c.body)
		if err != nil {
			return nil, err
		}
		return fn(ctx, c, in)
	}
}

// cpOperations are the operations Stageflow implements.
var cpOperations = map[string]cpOperation{
	"CreatePipeline":         cpOp(cpCreatePipeline),
	"GetPipeline":            cpOp(cpGetPipeline),
	"UpdatePipeline":         cpOp(cpUpdatePipeline),
	"DeletePipeline":         cpOp(cpDeletePipeline),
	"ListPipelines":          cpOp(cpListPipelines),
	"GetPipelineState":       cpOp(cpGetPipelineState),
	"StartPipelineExecution": cpOp(cpStartPipelineExecution),
	"StopPipelineExecution":  cpOp(cpStopPipelineExecution),
	"GetPipelineExecution":   cpOp(cpGetPipelineExecution),
	"ListPipelineExecutions": cpOp(cpListPipelineExecutions),
	"ListActionExecutions":   cpOp(cpListActionExecutions),
	"PutApprovalResult":      cpOp(cpPutApprovalResult),
	"CreateCustomActionType": cpOp(cpCreateCustomActionType),
	"DeleteCustomActionType": cpOp(cpDeleteCustomActionType),
	"ListActionTypes":        cpOp(cpListActionTypes),
	"PollForJobs":            cpOp(cpPollForJobs),
	"AcknowledgeJob":         cpOp(cpAcknowledgeJob),
	"GetJobDetails":          cpOp(cpGetJobDetails),
	"PutJobSuccessResult":    cpOp(cpPutJobSuccessResult),
	"PutJobFailureResult":    cpOp(cpPutJobFailureResult),
	"TagResource":            cpOp(cpTagResource),
	"UntagResource":          cpOp(cpUntagResource),
	"ListTagsForResource":    cpOp(cpListTagsForResource),
}

// cpUnsupported are the operations of the API definition that Stageflow does
// not implement: they answer UnsupportedOperationException, not
// UnknownOperationException, so that a caller learns the operation exists
// but is not available here.
var cpUnsupported = map[string]string{
	"AcknowledgeThirdPartyJob":         "third-party action jobs are not supported",
	"DeleteWebhook":                    "webhooks are not supported",
	"DeregisterWebhookWithThirdParty":  "webhooks are not supported",
	"DisableStageTransition":           "stage transitions cannot be disabled yet",
	"EnableStageTransition":            "stage transitions cannot be disabled yet",
	"GetActionType":                    "action type definitions (UpdateActionType) are not supported; use ListActionTypes",
	"GetThirdPartyJobDetails":          "third-party action jobs are not supported",
	"ListDeployActionExecutionTargets": "deploy targets are not tracked",
	"ListRuleExecutions":               "stage condition rules are not run",
	"ListRuleTypes":                    "stage condition rules are not run",
	"ListWebhooks":                     "webhooks are not supported",
	"OverrideStageCondition":           "stage condition rules are not run",
	"PollForThirdPartyJobs":            "third-party action jobs are not supported",
	"PutActionRevision":                "source revisions are not tracked",
	"PutThirdPartyJobFailureResult":    "third-party action jobs are not supported",
	"PutThirdPartyJobSuccessResult":    "third-party action jobs are not supported",
	"PutWebhook":                       "webhooks are not supported",
	"RegisterWebhookWithThirdParty":    "webhooks are not supported",
	"RetryStageExecution":              "stage retries are not supported yet",
	"RollbackStage":                    "stage rollbacks are not supported yet",
	"UpdateActionType":                 "action type definitions are not supported; use CreateCustomActionType",
}

// CodePipelineOperations lists the operations the door implements, sorted.
func CodePipelineOperations() []string {
	names := make([]string, 0, len(cpOperations))
	for k := range cpOperations {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// CodePipelineUnsupportedOperations lists the operations of the API
// definition the door answers with UnsupportedOperationException, sorted.
func CodePipelineUnsupportedOperations() []string {
	names := make([]string, 0, len(cpUnsupported))
	for k := range cpUnsupported {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// cpProtocolError is an error of the protocol, not of an operation.
type cpProtocolError struct {
	status    int
	exception string
	message   string
}

func (e *cpProtocolError) Error() string { return e.exception + ": " + e.message }

func cpUnknownOperation(status int, format string, args ...any) *cpProtocolError {
	return &cpProtocolError{status: status, exception: ExceptionUnknownOperation, message: fmt.Sprintf(format, args...)}
}

func cpSerializationError(format string, args ...any) *cpProtocolError {
	return &cpProtocolError{status: http.StatusBadRequest, exception: ExceptionSerialization, message: fmt.Sprintf(format, args...)}
}

// codePipelineHandler serves the protocol.
type codePipelineHandler struct {
	svc *Service
	log *slog.Logger
}

// NewCodePipelineHandler serves CodePipeline's JSON 1.1 protocol at POST /.
// It answers every other request with a JSON error, never a page.
func NewCodePipelineHandler(svc *Service, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &codePipelineHandler{svc: svc, log: logger}
}

const cpUsageHint = "this is AWS CodePipeline's JSON 1.1 API: POST / with X-Amz-Target: " + CodePipelineTargetPrefix + "<Operation> and Content-Type: " + CodePipelineContentType

func (h *codePipelineHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &cpStatusWriter{ResponseWriter: w}
	requestID := uuid.NewString()
	rw.Header().Set("X-Amzn-Requestid", requestID)
	operation := cpTruncate(strings.TrimPrefix(r.Header.Get("X-Amz-Target"), CodePipelineTargetPrefix), 100)
	exception := ""
	var internal error
	defer func() {
		p := recover()
		if p == http.ErrAbortHandler {
			panic(p) // the connection is being dropped on purpose
		}
		if p != nil {
			internal = fmt.Errorf("panic: %v", p)
			if rw.status == 0 {
				exception = "InternalFailure"
				cpWriteError(rw, http.StatusInternalServerError, exception, "internal error")
			}
		}
		attrs := []slog.Attr{
			slog.String("door", "codepipeline"),
			slog.String("operation", operation),
			slog.Int("status", rw.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("requestId", requestID),
		}
		level := slog.LevelInfo
		if exception != "" {
			attrs = append(attrs, slog.String("exception", exception))
		}
		if internal != nil {
			level = slog.LevelError
			attrs = append(attrs, slog.String("err", internal.Error()))
		}
		h.log.LogAttrs(r.Context(), level, "request", attrs...)
	}()

	out, err := h.serve(rw, r)
	if err != nil {
		var pe *cpProtocolError
		if errors.As(err, &pe) {
			exception = pe.exception
			if pe.status == http.StatusMethodNotAllowed {
				rw.Header().Set("Allow", http.MethodPost)
			}
			cpWriteError(rw, pe.status, pe.exception, pe.message)
			return
		}
		info := Describe(err, false)
		exception = info.Exception
		if info.Status >= 500 {
			internal = err
		}
		cpWriteError(rw, info.Status, info.Exception, info.Message)
		return
	}
	body := []byte("{}")
	if out != nil {
		if body, err = cpMarshal(out); err != nil {
			internal, exception = err, "InternalFailure"
			cpWriteError(rw, http.StatusInternalServerError, exception, "internal error")
			return
		}
	}
	rw.Header().Set("Content-Type", CodePipelineContentType)
	rw.WriteHeader(http.StatusOK)
	rw.Write(body)
}

// serve routes a request to its operation and runs it.
func (h *codePipelineHandler) serve(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.URL.Path != "/" {
		return nil, cpUnknownOperation(http.StatusNotFound, "no resource at %s; %s", r.URL.Path, cpUsageHint)
	}
	if r.Method != http.MethodPost {
		return nil, cpUnknownOperation(http.StatusMethodNotAllowed, "method %s is not allowed; %s", r.Method, cpUsageHint)
	}
	target := r.Header.Get("X-Amz-Target")
	if target == "" {
		return nil, cpUnknownOperation(http.StatusBadRequest, "the X-Amz-Target header is missing; %s", cpUsageHint)
	}
	name, ok := strings.CutPrefix(target, CodePipelineTargetPrefix)
	if !ok {
		return nil, cpUnknownOperation(http.StatusBadRequest, "X-Amz-Target %q is not an operation of AWS CodePipeline (2015-07-09); targets start with %s", target, CodePipelineTargetPrefix)
	}
	run, ok := cpOperations[name]
	if !ok {
		if why, known := cpUnsupported[name]; known {
			return nil, errs.New(errs.Unsupported, "Stageflow does not implement the CodePipeline operation %s: %s", name, why)
		}
		return nil, cpUnknownOperation(http.StatusBadRequest, "CodePipeline has no operation %q", name)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != CodePipelineContentType && mt != "application/json") {
			return nil, cpSerializationError("Content-Type %q is not accepted; send %s (or application/json)", ct, CodePipelineContentType)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCodePipelineRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &cpProtocolError{status: http.StatusRequestEntityTooLarge, exception: ExceptionTooLarge,
				message: fmt.Sprintf("the request body is larger than the limit of %d bytes", MaxCodePipelineRequestBytes)}
		}
		return nil, cpSerializationError("reading the request body: %v", err)
	}
	return run(r.Context(), &cpCall{svc: h.svc, body: body, caller: CallerAccessKeyID(r)})
}

// cpMarshal encodes v without escaping <, > and & (commands and messages
// read better as written).
func cpMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func cpWriteError(w http.ResponseWriter, status int, exception, message string) {
	body, _ := cpMarshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{exception, message})
	w.Header().Set("Content-Type", CodePipelineContentType)
	w.Header().Set("X-Amzn-Errortype", exception)
	w.WriteHeader(status)
	w.Write(body)
}

// cpStatusWriter records the status written.
type cpStatusWriter struct {
	http.ResponseWriter
	status int
}

func (w *cpStatusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *cpStatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *cpStatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var cpAccessKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

// CallerAccessKeyID returns the access key ID of a SigV4-signed request (the
// Authorization header's Credential, or a presigned URL's X-Amz-Credential),
// or AnonymousCaller. The signature is not verified.
func CallerAccessKeyID(r *http.Request) string {
	cred := ""
	auth := r.Header.Get("Authorization")
	if _, rest, ok := strings.Cut(auth, "Credential="); ok && strings.HasPrefix(auth, "AWS4-") {
		cred, _, _ = strings.Cut(rest, ",")
	} else if q := r.URL.Query().Get("X-Amz-Credential"); q != "" {
		cred = q
	}
	id, _, _ := strings.Cut(strings.TrimSpace(cred), "/")
	if !cpAccessKeyIDRE.MatchString(id) {
		return AnonymousCaller
	}
	return id
}

// ---- strict decoding ----

// Constraints come from the API definition and are written in `cp` tags:
//
//	required        the member must be present and not null
//	min=N, max=N    length of a string (characters), list or map; value of an integer
//	enum=A|B        the string must be one of the values
//	pattern=K       the string must match cpPatterns[K] (whole string)
//	keypattern=K    every key of a map must match cpPatterns[K]
//	object          (json.RawMessage) the value must be a JSON object
var cpPatterns = map[string]*regexp.Regexp{
	"name":     regexp.MustCompile(`^[A-Za-z0-9.@\-_]+$`),                             // PipelineName, StageName, ActionName
	"provider": regexp.MustCompile(`^[0-9A-Za-z_-]+$`),                                // ActionProvider, Version
	"token":    regexp.MustCompile(`^[a-zA-Z0-9-]+$`),                                 // ClientRequestToken
	"variable": regexp.MustCompile(`^[A-Za-z0-9@\-_]+$`),                              // PipelineVariableName, OutputVariablesKey
	"arn":      regexp.MustCompile(`^arn:aws(-[\w]+)*:codepipeline:.+:[0-9]{12}:.+$`), // ResourceArn
}

// cpDecode reads a request body into the input shape T strictly; the
// comment at the top of this file lists the errors it gives.
func cpDecode[T any](body []byte) (*T, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}") // an operation without input may come with no body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, cpSerializationError("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, cpSerializationError("malformed JSON: unexpected data after the JSON object")
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, cpSerializationError("the request body must be a JSON object, got %s", cpJSONKind(tree))
	}
	in := new(T)
	var w cpShapeWalk
	w.object(obj, reflect.TypeOf(in).Elem(), "")
	if len(w.typeErrors) > 0 {
		return nil, cpSerializationError("%s", cpJoinProblems(w.typeErrors))
	}
	if len(w.invalid) > 0 {
		return nil, cpValidationErrors(w.invalid)
	}
	if err := json.Unmarshal(body, in); err != nil {
		return nil, cpSerializationError("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return in, nil
}

// cpValidationErrors makes a ValidationException listing problems, in AWS's
// words ("2 validation errors detected: ...").
func cpValidationErrors(problems []errs.Problem) error {
	n := "1 validation error"
	if len(problems) > 1 {
		n = strconv.Itoa(len(problems)) + " validation errors"
	}
	return errs.Invalid(n+" detected", problems)
}

// cpInvalidMember is one ValidationException problem.
func cpInvalidMember(path, format string, args ...any) error {
	return cpValidationErrors([]errs.Problem{{Path: path, Message: fmt.Sprintf(format, args...)}})
}

func cpJoinProblems(ps []errs.Problem) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// cpShapeWalk checks a decoded JSON value against an input type.
type cpShapeWalk struct {
	typeErrors []errs.Problem // wrong JSON types: SerializationException
	invalid    []errs.Problem // unknown members and broken constraints: ValidationException
}

var cpRawJSONType = reflect.TypeOf(json.RawMessage(nil))

func (w *cpShapeWalk) object(obj map[string]any, t reflect.Type, path string) {
	type member struct {
		index int
		tag   string
	}
	members := map[string]member{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		members[name] = member{i, f.Tag.Get("cp")}
		names = append(names, name)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := members[k]; !ok {
			msg := fmt.Sprintf("unknown member %q", k)
			for _, n := range names {
				if strings.EqualFold(n, k) {
					msg += fmt.Sprintf(" (did you mean %q? member names are case-sensitive)", n)
				}
			}
			w.invalid = append(w.invalid, errs.Problem{Path: cpJoinPath(path, k), Message: msg + "; the members here are " + strings.Join(names, ", ")})
		}
	}
	for _, name := range names {
		m := members[name]
		v, present := obj[name]
		c := cpParseConstraints(m.tag)
		p := cpJoinPath(path, name)
		if !present || v == nil {
			if c.required {
				w.invalid = append(w.invalid, errs.Problem{Path: p, Message: "Member must not be null"})
			}
			continue
		}
		w.value(v, t.Field(m.index).Type, p, c)
	}
}

func (w *cpShapeWalk) value(v any, t reflect.Type, path string, c cpConstraints) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	bad := func(want string) {
		w.typeErrors = append(w.typeErrors, errs.Problem{Path: path, Message: fmt.Sprintf("must be %s, got %s", want, cpJSONKind(v))})
	}
	switch {
	case t == cpRawJSONType:
		if _, ok := v.(map[string]any); !ok && c.object {
			bad("an object")
		}
	case t.Kind() == reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		w.object(obj, t, path)
	case t.Kind() == reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			bad("a list")
			return
		}
		w.check(path, c, len(arr), "", "have length")
		for i, e := range arr {
			ep := path + "[" + strconv.Itoa(i) + "]"
			if e == nil {
				w.invalid = append(w.invalid, errs.Problem{Path: ep, Message: "Member must not be null"})
				continue
			}
			w.value(e, t.Elem(), ep, cpConstraints{})
		}
	case t.Kind() == reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		w.check(path, c, len(obj), "", "have length")
		for _, k := range cpSortedKeys(obj) {
			if re := cpPatterns[c.keyPattern]; re != nil && !re.MatchString(k) {
				w.invalid = append(w.invalid, errs.Problem{Path: path, Message: fmt.Sprintf("key %q must satisfy regular expression pattern: %s", k, cpPatternText(re))})
			}
			if obj[k] == nil {
				w.invalid = append(w.invalid, errs.Problem{Path: path + "." + k, Message: "Member must not be null"})
				continue
			}
			w.value(obj[k], t.Elem(), path+"."+k, cpConstraints{})
		}
	case t.Kind() == reflect.String:
		s, ok := v.(string)
		if !ok {
			bad("a string")
			return
		}
		w.check(path, c, utf8.RuneCountInString(s), s, "have length")
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int32 || t.Kind() == reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			bad("an integer")
			return
		}
		i, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil {
			bad("an integer")
			return
		}
		w.check(path, c, int(i), "", "have value")
	case t.Kind() == reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("true or false")
		}
	}
}

// check applies min, max, enum and pattern; s is the string value, if any.
func (w *cpShapeWalk) check(path string, c cpConstraints, n int, s, what string) {
	add := func(format string, args ...any) {
		w.invalid = append(w.invalid, errs.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if c.min != nil && n < *c.min {
		add("Member must %s greater than or equal to %d", what, *c.min)
	}
	if c.max != nil && n > *c.max {
		add("Member must %s less than or equal to %d", what, *c.max)
	}
	if len(c.enum) > 0 && !cpContains(c.enum, s) {
		add("Value %q must satisfy enum value set: [%s]", cpTruncate(s, 60), strings.Join(c.enum, ", "))
	}
	if re := cpPatterns[c.pattern]; re != nil && !re.MatchString(s) {
		add("Value %q must satisfy regular expression pattern: %s", cpTruncate(s, 60), cpPatternText(re))
	}
}

type cpConstraints struct {
	required, object    bool
	min, max            *int
	enum                []string
	pattern, keyPattern string
}

func cpParseConstraints(tag string) cpConstraints {
	var c cpConstraints
	for _, part := range strings.Split(tag, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "required":
			c.required = true
		case "object":
			c.object = true
		case "min", "max":
			n, err := strconv.Atoi(v)
			if err != nil {
				panic("api: bad cp tag " + tag)
			}
			if k == "min" {
				c.min = &n
			} else {
				c.max = &n
			}
		case "enum":
			c.enum = strings.Split(v, "|")
		case "pattern":
			c.pattern = v
		case "keypattern":
			c.keyPattern = v
		}
	}
	return c
}

func cpPatternText(re *regexp.Regexp) string {
	return strings.TrimSuffix(strings.TrimPrefix(re.String(), "^"), "$")
}

func cpJoinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func cpJSONKind(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", cpTruncate(x, 40))
	case json.Number:
		return "the number " + string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return "null"
}

func cpTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func cpContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func cpSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- shapes of the inputs (with the API definition's constraints) ----

type cpTag struct {
	Key   string `json:"key" cp:"required,min=1,max=128"`
	Value string `json:"value" cp:"required,max=256"`
}

func cpToTags(in []cpTag) []pipeline.Tag {
	if len(in) == 0 {
		return nil
	}
	out := make([]pipeline.Tag, len(in))
	for i, t := range in {
		out[i] = pipeline.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

type cpActionTypeID struct {
	Category string `json:"category" cp:"required,enum=Source|Build|Deploy|Test|Invoke|Approval|Compute"`
	Owner    string `json:"owner" cp:"required,enum=AWS|ThirdParty|Custom"`
	Provider string `json:"provider" cp:"required,min=1,max=35,pattern=provider"`
	Version  string `json:"version" cp:"required,min=1,max=9,pattern=provider"`
}

// ---- pipelines ----

type cpCreatePipelineInput struct {
	Pipeline json.RawMessage `json:"pipeline" cp:"required,object"`
	Tags     []cpTag         `json:"tags"`
}

type cpCreatePipelineOutput struct {
	Pipeline pipeline.Pipeline `json:"pipeline"`
	Tags     []pipeline.Tag    `json:"tags,omitempty"`
}

// cpLoadDeclaration reads the pipeline member with the pipeline package's
// strict loader: every structural and rule problem, with its path (relative
// to the pipeline), makes one InvalidStructureException.
func cpLoadDeclaration(raw json.RawMessage) (pipeline.Pipeline, error) {
	envelope, err := json.Marshal(struct {
		Pipeline json.RawMessage `json:"pipeline"`
	}{raw})
	if err != nil {
		return pipeline.Pipeline{}, cpSerializationError("pipeline: %v", err)
	}
	doc, err := pipeline.Load(envelope)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Code == errs.Validation {
			return pipeline.Pipeline{}, &errs.Error{Code: errs.Validation, Kind: KindStructure,
				Message: "the pipeline structure is invalid", Problems: e.Problems}
		}
		return pipeline.Pipeline{}, err
	}
	return doc.Pipeline, nil
}

func cpCreatePipeline(ctx context.Context, c *cpCall, in *cpCreatePipelineInput) (any, error) {
	p, err := cpLoadDeclaration(in.Pipeline)
	if err != nil {
		return nil, err
	}
	tags := cpToTags(in.Tags)
	out, err := c.svc.CreatePipeline(ctx, p, tags)
	if err != nil {
		return nil, err
	}
	return cpCreatePipelineOutput{Pipeline: out.Pipeline, Tags: tags}, nil
}

type cpGetPipelineInput struct {
	Name    string `json:"name" cp:"required,min=1,max=100,pattern=name"`
	Version *int   `json:"version" cp:"min=1"`
}

func cpGetPipeline(ctx context.Context, c *cpCall, in *cpGetPipelineInput) (any, error) {
	v := 0
	if in.Version != nil {
		v = *in.Version
	}
	return c.svc.GetPipeline(ctx, in.Name, v)
}

type cpUpdatePipelineInput struct {
	Pipeline json.RawMessage `json:"pipeline" cp:"required,object"`
}

type cpUpdatePipelineOutput struct {
	Pipeline pipeline.Pipeline `json:"pipeline"`
}

func cpUpdatePipeline(ctx context.Context, c *cpCall, in *cpUpdatePipelineInput) (any, error) {
	p, err := cpLoadDeclaration(in.Pipeline)
	if err != nil {
		return nil, err
	}
	out, err := c.svc.UpdatePipeline(ctx, p)
	if err != nil {
		return nil, err
	}
	return cpUpdatePipelineOutput{Pipeline: out.Pipeline}, nil
}

type cpPipelineNameInput struct {
	Name string `json:"name" cp:"required,min=1,max=100,pattern=name"`
}

func cpDeletePipeline(ctx context.Context, c *cpCall, in *cpPipelineNameInput) (any, error) {
	return nil, c.svc.DeletePipeline(ctx, in.Name)
}

type cpListPipelinesInput struct {
	NextToken  string `json:"nextToken" cp:"min=1,max=2048"`
	MaxResults *int   `json:"maxResults" cp:"min=1,max=1000"`
}

func cpListPipelines(ctx context.Context, c *cpCall, in *cpListPipelinesInput) (any, error) {
	return c.svc.ListPipelines(ctx, cpIntOr(in.MaxResults, 0), in.NextToken)
}

func cpGetPipelineState(ctx context.Context, c *cpCall, in *cpPipelineNameInput) (any, error) {
	return c.svc.GetPipelineState(ctx, in.Name)
}

// ---- executions ----

type cpPipelineVariable struct {
	Name  string `json:"name" cp:"required,min=1,max=128,pattern=variable"`
	Value string `json:"value" cp:"required,min=1,max=1000"`
}

type cpSourceRevisionOverride struct {
	ActionName    string `json:"actionName" cp:"required,min=1,max=100,pattern=name"`
	RevisionType  string `json:"revisionType" cp:"required,enum=COMMIT_ID|IMAGE_DIGEST|S3_OBJECT_VERSION_ID|S3_OBJECT_KEY"`
	RevisionValue string `json:"revisionValue" cp:"required,min=1,max=1500"`
}

type cpStartPipelineExecutionInput struct {
	Name               string                     `json:"name" cp:"required,min=1,max=100,pattern=name"`
	Variables          []cpPipelineVariable       `json:"variables" cp:"min=1,max=50"`
	ClientRequestToken string                     `json:"clientRequestToken" cp:"min=1,max=128,pattern=token"`
	SourceRevisions    []cpSourceRevisionOverride `json:"sourceRevisions" cp:"max=50"`
}

type cpPipelineExecutionIDOutput struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
}

func cpStartPipelineExecution(ctx context.Context, c *cpCall, in *cpStartPipelineExecutionInput) (any, error) {
	if len(in.SourceRevisions) > 0 {
		return nil, cpInvalidMember("sourceRevisions", "Stageflow runs no source actions that take revision overrides; leave sourceRevisions out")
	}
	var vars map[string]string
	for i, v := range in.Variables {
		if vars == nil {
			vars = map[string]string{}
		}
		if _, dup := vars[v.Name]; dup {
			return nil, cpInvalidMember(fmt.Sprintf("variables[%d].name", i), "variable %q is given more than once", v.Name)
		}
		vars[v.Name] = v.Value
	}
	id, err := c.svc.StartExecution(ctx, in.Name, vars, in.ClientRequestToken, c.caller)
	if err != nil {
		return nil, err
	}
	return cpPipelineExecutionIDOutput{PipelineExecutionID: id}, nil
}

type cpStopPipelineExecutionInput struct {
	PipelineName        string `json:"pipelineName" cp:"required,min=1,max=100,pattern=name"`
	PipelineExecutionID string `json:"pipelineExecutionId" cp:"required,min=1"`
	Abandon             bool   `json:"abandon"`
	Reason              string `json:"reason" cp:"max=200"`
}

func cpStopPipelineExecution(ctx context.Context, c *cpCall, in *cpStopPipelineExecutionInput) (any, error) {
	if err := c.svc.StopExecution(ctx, in.PipelineName, in.PipelineExecutionID, in.Abandon, in.Reason); err != nil {
		return nil, err
	}
	return cpPipelineExecutionIDOutput{PipelineExecutionID: in.PipelineExecutionID}, nil
}

type cpExecutionInput struct {
	PipelineName        string `json:"pipelineName" cp:"required,min=1,max=100,pattern=name"`
	PipelineExecutionID string `json:"pipelineExecutionId" cp:"required,min=1"`
}

type cpGetPipelineExecutionOutput struct {
	PipelineExecution *PipelineExecution `json:"pipelineExecution"`
}

func cpGetPipelineExecution(ctx context.Context, c *cpCall, in *cpExecutionInput) (any, error) {
	e, err := c.svc.GetExecution(ctx, in.PipelineName, in.PipelineExecutionID)
	if err != nil {
		return nil, err
	}
	return cpGetPipelineExecutionOutput{PipelineExecution: e}, nil
}

type cpStageNameFilter struct {
	StageName string `json:"stageName" cp:"min=1,max=100,pattern=name"`
}

type cpPipelineExecutionFilter struct {
	SucceededInStage *cpStageNameFilter `json:"succeededInStage"`
}

type cpListPipelineExecutionsInput struct {
	PipelineName string                     `json:"pipelineName" cp:"required,min=1,max=100,pattern=name"`
	MaxResults   *int                       `json:"maxResults" cp:"min=1,max=100"`
	Filter       *cpPipelineExecutionFilter `json:"filter"`
	NextToken    string                     `json:"nextToken" cp:"min=1,max=2048"`
}

func cpListPipelineExecutions(ctx context.Context, c *cpCall, in *cpListPipelineExecutionsInput) (any, error) {
	if in.Filter != nil && in.Filter.SucceededInStage != nil {
		return nil, cpInvalidMember("filter.succeededInStage", "Stageflow does not support filtering executions by the stage they succeeded in; leave filter.succeededInStage out")
	}
	return c.svc.ListExecutions(ctx, in.PipelineName, "", cpIntOr(in.MaxResults, 0), in.NextToken)
}

type cpLatestInPipelineExecutionFilter struct {
	PipelineExecutionID string `json:"pipelineExecutionId" cp:"required,min=1"`
	StartTimeRange      string `json:"startTimeRange" cp:"required,enum=Latest|All"`
}

type cpActionExecutionFilterInput struct {
	PipelineExecutionID       string                             `json:"pipelineExecutionId" cp:"min=1"`
	LatestInPipelineExecution *cpLatestInPipelineExecutionFilter `json:"latestInPipelineExecution"`
}

type cpListActionExecutionsInput struct {
	PipelineName string                        `json:"pipelineName" cp:"required,min=1,max=100,pattern=name"`
	Filter       *cpActionExecutionFilterInput `json:"filter"`
	MaxResults   *int                          `json:"maxResults" cp:"min=1,max=100"`
	NextToken    string                        `json:"nextToken" cp:"min=1,max=2048"`
}

func cpListActionExecutions(ctx context.Context, c *cpCall, in *cpListActionExecutionsInput) (any, error) {
	var f ActionExecutionFilter
	if in.Filter != nil {
		if in.Filter.LatestInPipelineExecution != nil {
			return nil, cpInvalidMember("filter.latestInPipelineExecution", "Stageflow does not support this filter; use filter.pipelineExecutionId")
		}
		f.PipelineExecutionID = in.Filter.PipelineExecutionID
	}
	return c.svc.ListActionExecutions(ctx, in.PipelineName, f, cpIntOr(in.MaxResults, 0), in.NextToken)
}

// ---- approvals ----

type cpApprovalResult struct {
	Summary string `json:"summary" cp:"required,max=512"`
	Status  string `json:"status" cp:"required,enum=Approved|Rejected"`
}

type cpPutApprovalResultInput struct {
	PipelineName string            `json:"pipelineName" cp:"required,min=1,max=100,pattern=name"`
	StageName    string            `json:"stageName" cp:"required,min=1,max=100,pattern=name"`
	ActionName   string            `json:"actionName" cp:"required,min=1,max=100,pattern=name"`
	Result       *cpApprovalResult `json:"result" cp:"required"`
	Token        string            `json:"token" cp:"required,min=1"`
}

type cpPutApprovalResultOutput struct {
	ApprovedAt *Timestamp `json:"approvedAt,omitempty"`
}

func cpPutApprovalResult(ctx context.Context, c *cpCall, in *cpPutApprovalResultInput) (any, error) {
	at, err := c.svc.PutApprovalResult(ctx, in.PipelineName, in.StageName, in.ActionName, in.Token, in.Result.Status, in.Result.Summary, c.caller)
	if err != nil {
		return nil, err
	}
	return cpPutApprovalResultOutput{ApprovedAt: ts(at)}, nil
}

// ---- custom action types ----

type cpArtifactDetails struct {
	MinimumCount *int `json:"minimumCount" cp:"required,min=0,max=5"`
	MaximumCount *int `json:"maximumCount" cp:"required,min=0,max=5"`
}

func (d *cpArtifactDetails) toDetails() ArtifactDetails {
	return ArtifactDetails{MinimumCount: cpIntOr(d.MinimumCount, 0), MaximumCount: cpIntOr(d.MaximumCount, 0)}
}

type cpActionTypeSettings struct {
	ThirdPartyConfigurationURL string `json:"thirdPartyConfigurationUrl" cp:"min=1,max=2048"`
	EntityURLTemplate          string `json:"entityUrlTemplate" cp:"min=1,max=2048"`
	ExecutionURLTemplate       string `json:"executionUrlTemplate" cp:"min=1,max=2048"`
	RevisionURLTemplate        string `json:"revisionUrlTemplate" cp:"min=1,max=2048"`
}

type cpActionConfigurationProperty struct {
	Name        string `json:"name" cp:"required,min=1,max=50"`
	Required    *bool  `json:"required" cp:"required"`
	Key         *bool  `json:"key" cp:"required"`
	Secret      *bool  `json:"secret" cp:"required"`
	Queryable   bool   `json:"queryable"`
	Description string `json:"description" cp:"min=1,max=160"`
	Type        string `json:"type" cp:"enum=String|Number|Boolean"`
}

type cpCreateCustomActionTypeInput struct {
	Category                string                          `json:"category" cp:"required,enum=Source|Build|Deploy|Test|Invoke|Approval|Compute"`
	Provider                string                          `json:"provider" cp:"required,min=1,max=35,pattern=provider"`
	Version                 string                          `json:"version" cp:"required,min=1,max=9,pattern=provider"`
	Settings                *cpActionTypeSettings           `json:"settings"`
	ConfigurationProperties []cpActionConfigurationProperty `json:"configurationProperties" cp:"max=10"`
	InputArtifactDetails    *cpArtifactDetails              `json:"inputArtifactDetails" cp:"required"`
	OutputArtifactDetails   *cpArtifactDetails              `json:"outputArtifactDetails" cp:"required"`
	Tags                    []cpTag                         `json:"tags"`
}

type cpCreateCustomActionTypeOutput struct {
	ActionType *ActionType `json:"actionType"`
}

func cpCreateCustomActionType(ctx context.Context, c *cpCall, in *cpCreateCustomActionTypeInput) (any, error) {
	if len(in.Tags) > 0 {
		return nil, cpInvalidMember("tags", "Stageflow does not tag custom action types yet; leave tags out")
	}
	ct := CustomActionTypeInput{
		Category: in.Category, Provider: in.Provider, Version: in.Version,
		InputArtifactDetails: in.InputArtifactDetails.toDetails(), OutputArtifactDetails: in.OutputArtifactDetails.toDetails(),
	}
	if s := in.Settings; s != nil {
		ct.Settings = &ActionTypeSettings{ThirdPartyConfigurationURL: s.ThirdPartyConfigurationURL, EntityURLTemplate: s.EntityURLTemplate,
			ExecutionURLTemplate: s.ExecutionURLTemplate, RevisionURLTemplate: s.RevisionURLTemplate}
	}
	for _, p := range in.ConfigurationProperties {
		ct.ConfigurationProperties = append(ct.ConfigurationProperties, ActionConfigurationProperty{
			Name: p.Name, Required: *p.Required, Key: *p.Key, Secret: *p.Secret, Queryable: p.Queryable, Description: p.Description, Type: p.Type,
		})
	}
	at, err := c.svc.CreateCustomActionType(ctx, ct)
	if err != nil {
		return nil, err
	}
	return cpCreateCustomActionTypeOutput{ActionType: at}, nil
}

type cpDeleteCustomActionTypeInput struct {
	Category string `json:"category" cp:"required,enum=Source|Build|Deploy|Test|Invoke|Approval|Compute"`
	Provider string `json:"provider" cp:"required,min=1,max=35,pattern=provider"`
	Version  string `json:"version" cp:"required,min=1,max=9,pattern=provider"`
}

func cpDeleteCustomActionType(ctx context.Context, c *cpCall, in *cpDeleteCustomActionTypeInput) (any, error) {
	return nil, c.svc.DeleteCustomActionType(ctx, in.Category, in.Provider, in.Version)
}

type cpListActionTypesInput struct {
	ActionOwnerFilter string `json:"actionOwnerFilter" cp:"enum=AWS|ThirdParty|Custom"`
	NextToken         string `json:"nextToken" cp:"min=1,max=2048"`
	RegionFilter      string `json:"regionFilter" cp:"min=4,max=30"`
}

type cpListActionTypesOutput struct {
	ActionTypes []ActionType `json:"actionTypes"`
}

func cpListActionTypes(ctx context.Context, c *cpCall, in *cpListActionTypesInput) (any, error) {
	if in.NextToken != "" {
		return nil, errs.Of(errs.Validation, KindNextToken, "invalid nextToken: ListActionTypes returns every action type in one page")
	}
	if in.RegionFilter != "" && in.RegionFilter != c.svc.Region {
		return cpListActionTypesOutput{ActionTypes: []ActionType{}}, nil
	}
	types, err := c.svc.ListActionTypes(ctx, in.ActionOwnerFilter)
	if err != nil {
		return nil, err
	}
	return cpListActionTypesOutput{ActionTypes: types}, nil
}

// ---- jobs ----

type cpPollForJobsInput struct {
	ActionTypeID *cpActionTypeID   `json:"actionTypeId" cp:"required"`
	MaxBatchSize *int              `json:"maxBatchSize" cp:"min=1"`
	QueryParam   map[string]string `json:"queryParam" cp:"max=1"`
}

type cpPollForJobsOutput struct {
	Jobs []Job `json:"jobs"`
}

func cpPollForJobs(ctx context.Context, c *cpCall, in *cpPollForJobsInput) (any, error) {
	if len(in.QueryParam) > 0 {
		return nil, cpInvalidMember("queryParam", "Stageflow does not support queryable action configuration properties; leave queryParam out")
	}
	t := in.ActionTypeID
	jobs, err := c.svc.PollForJobs(ctx, pipeline.ActionTypeID{Category: t.Category, Owner: t.Owner, Provider: t.Provider, Version: t.Version}, cpIntOr(in.MaxBatchSize, 1))
	if err != nil {
		return nil, err
	}
	return cpPollForJobsOutput{Jobs: jobs}, nil
}

type cpAcknowledgeJobInput struct {
	JobID string `json:"jobId" cp:"required,min=1"`
	Nonce string `json:"nonce" cp:"required,min=1,max=50"`
}

type cpAcknowledgeJobOutput struct {
	Status string `json:"status"`
}

func cpAcknowledgeJob(ctx context.Context, c *cpCall, in *cpAcknowledgeJobInput) (any, error) {
	status, err := c.svc.AcknowledgeJob(ctx, in.JobID, in.Nonce)
	if err != nil {
		return nil, err
	}
	return cpAcknowledgeJobOutput{Status: status}, nil
}

type cpJobIDInput struct {
	JobID string `json:"jobId" cp:"required,min=1"`
}

type cpGetJobDetailsOutput struct {
	JobDetails *JobDetails `json:"jobDetails"`
}

func cpGetJobDetails(ctx context.Context, c *cpCall, in *cpJobIDInput) (any, error) {
	d, err := c.svc.GetJobDetails(ctx, in.JobID)
	if err != nil {
		return nil, err
	}
	return cpGetJobDetailsOutput{JobDetails: d}, nil
}

type cpCurrentRevision struct {
	Revision         string          `json:"revision" cp:"required,min=1,max=1500"`
	ChangeIdentifier string          `json:"changeIdentifier" cp:"required,min=1,max=100"`
	Created          json.RawMessage `json:"created"`
	RevisionSummary  string          `json:"revisionSummary" cp:"min=1,max=2048"`
}

type cpExecutionDetails struct {
	Summary             string `json:"summary" cp:"min=1,max=2048"`
	ExternalExecutionID string `json:"externalExecutionId" cp:"min=1,max=1500"`
	PercentComplete     *int   `json:"percentComplete" cp:"min=0,max=100"`
}

type cpPutJobSuccessResultInput struct {
	JobID             string              `json:"jobId" cp:"required,min=1"`
	CurrentRevision   *cpCurrentRevision  `json:"currentRevision"`
	ContinuationToken string              `json:"continuationToken" cp:"min=1,max=2048"`
	ExecutionDetails  *cpExecutionDetails `json:"executionDetails"`
	OutputVariables   map[string]string   `json:"outputVariables" cp:"keypattern=variable"`
}

func cpPutJobSuccessResult(ctx context.Context, c *cpCall, in *cpPutJobSuccessResultInput) (any, error) {
	if in.ContinuationToken != "" && len(in.OutputVariables) > 0 {
		return nil, cpInvalidMember("outputVariables", "outputVariables can be given only without a continuationToken, in the call that ends the job")
	}
	js := JobSuccess{OutputVariables: in.OutputVariables, ContinuationToken: in.ContinuationToken}
	if d := in.ExecutionDetails; d != nil {
		js.Summary, js.ExternalExecutionID = d.Summary, d.ExternalExecutionID
	}
	// currentRevision is accepted and not kept: Stageflow does not track
	// source revisions (executions list no artifactRevisions).
	return nil, c.svc.PutJobSuccessResult(ctx, in.JobID, js)
}

type cpFailureDetails struct {
	Type                string `json:"type" cp:"required,enum=JobFailed|ConfigurationError|PermissionError|RevisionOutOfSync|RevisionUnavailable|SystemUnavailable"`
	Message             string `json:"message" cp:"required,min=1,max=5000"`
	ExternalExecutionID string `json:"externalExecutionId" cp:"min=1,max=1500"`
}

type cpPutJobFailureResultInput struct {
	JobID          string            `json:"jobId" cp:"required,min=1"`
	FailureDetails *cpFailureDetails `json:"failureDetails" cp:"required"`
}

func cpPutJobFailureResult(ctx context.Context, c *cpCall, in *cpPutJobFailureResultInput) (any, error) {
	d := in.FailureDetails
	return nil, c.svc.PutJobFailureResult(ctx, in.JobID, d.Type, d.Message, d.ExternalExecutionID)
}

// ---- tags ----

type cpTagResourceInput struct {
	ResourceArn string  `json:"resourceArn" cp:"required,pattern=arn"`
	Tags        []cpTag `json:"tags" cp:"required"`
}

func cpTagResource(ctx context.Context, c *cpCall, in *cpTagResourceInput) (any, error) {
	return nil, c.svc.TagResource(ctx, in.ResourceArn, cpToTags(in.Tags))
}

type cpUntagResourceInput struct {
	ResourceArn string   `json:"resourceArn" cp:"required,pattern=arn"`
	TagKeys     []string `json:"tagKeys" cp:"required"`
}

func cpUntagResource(ctx context.Context, c *cpCall, in *cpUntagResourceInput) (any, error) {
	for i, k := range in.TagKeys {
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
			return nil, cpInvalidMember(fmt.Sprintf("tagKeys[%d]", i), "Member must have length between 1 and 128")
		}
	}
	return nil, c.svc.UntagResource(ctx, in.ResourceArn, in.TagKeys)
}

type cpListTagsForResourceInput struct {
	ResourceArn string `json:"resourceArn" cp:"required,pattern=arn"`
	NextToken   string `json:"nextToken" cp:"min=1,max=2048"`
	MaxResults  *int   `json:"maxResults" cp:"min=1,max=100"`
}

type cpListTagsForResourceOutput struct {
	Tags []pipeline.Tag `json:"tags"`
}

func cpListTagsForResource(ctx context.Context, c *cpCall, in *cpListTagsForResourceInput) (any, error) {
	if in.NextToken != "" {
		return nil, errs.Of(errs.Validation, KindNextToken, "invalid nextToken: ListTagsForResource returns every tag in one page")
	}
	tags, err := c.svc.ListTags(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return cpListTagsForResourceOutput{Tags: tags}, nil
}

func cpIntOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}
