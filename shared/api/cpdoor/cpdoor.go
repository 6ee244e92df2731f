package cpdoor

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
//     application/json, or none: 400 SerializationException;
//   - a body over 1 MiB: 413 RequestEntityTooLargeException;
//   - a body that is not JSON, not one JSON object, or holds a value of the
//     wrong JSON type for its member (e.g. "maxResults": "ten"): 400
//     SerializationException naming the member, as AWS answers type errors
//     in this protocol;
//   - a member the input shape does not have (names are case-sensitive; the
//     message offers the nearest name), a member given twice, an absent
//     required member, or a value breaking the API definition's length,
//     range, pattern or enumeration constraints: 400 ValidationException
//     naming every such member ("N validation errors detected: ..."). A null
//     counts as absent. The words are shared/strictjson's and
//     shared/apispec's, the same as the REST door's and the pipeline
//     loader's.
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
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/api/apierr"
	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/auth/sigv4"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// TargetPrefix prefixes every X-Amz-Target of the API.
const TargetPrefix = "CodePipeline_20150709."

// ContentType is the protocol's content type.
const ContentType = "application/x-amz-json-1.1"

// MaxRequestBytes bounds a request body.
const MaxRequestBytes = 1 << 20

// Exception names of the protocol itself (domain errors take theirs from
// Describe).
const (
	ExceptionUnknownOperation = "UnknownOperationException"
	ExceptionSerialization    = "SerializationException"
	ExceptionTooLarge         = "RequestEntityTooLargeException"
)

// cpCall is one request as an operation sees it.
type cpCall struct {
	svc  *service.Service
	body []byte
}

// cpOperation is one operation: the type of its decoded input, and run,
// which decodes the body and runs it; a nil output is written as {}.
type cpOperation struct {
	input reflect.Type
	run   func(ctx context.Context, c *cpCall) (any, error)
}

// cpOp adapts an operation on a decoded input to a cpOperation.
func cpOp[T any](fn func(ctx context.Context, c *cpCall, in *T) (any, error)) cpOperation {
	return cpOperation{input: reflect.TypeFor[T](), run: func(ctx context.Context, c *cpCall) (any, error) {
		in, err := cpDecode[T](c.body)
		if err != nil {
			return nil, err
		}
		return fn(ctx, c, in)
	}}
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
	"DisableStageTransition": cpOp(cpDisableStageTransition),
	"EnableStageTransition":  cpOp(cpEnableStageTransition),
	"RetryStageExecution":    cpOp(cpRetryStageExecution),
	"RollbackStage":          cpOp(cpRollbackStage),
	"OverrideStageCondition": cpOp(cpOverrideStageCondition),
	"ListRuleTypes":          cpOp(cpListRuleTypes),
	"ListRuleExecutions":     cpOp(cpListRuleExecutions),
	// V1 webhooks (webhooks.go).
	"PutWebhook":                      cpOp(cpPutWebhook),
	"ListWebhooks":                    cpOp(cpListWebhooks),
	"DeleteWebhook":                   cpOp(cpDeleteWebhook),
	"RegisterWebhookWithThirdParty":   cpOp(cpRegisterWebhook),
	"DeregisterWebhookWithThirdParty": cpOp(cpDeregisterWebhook),
}

// cpUnsupported are the operations of the API definition that Stageflow does
// not implement: they answer UnsupportedOperationException, not
// UnknownOperationException, so that a caller learns the operation exists
// but is not available here.
var cpUnsupported = map[string]string{
	"AcknowledgeThirdPartyJob":         "third-party action jobs are not supported",
	"GetActionType":                    "action type definitions (UpdateActionType) are not supported; use ListActionTypes",
	"GetThirdPartyJobDetails":          "third-party action jobs are not supported",
	"ListDeployActionExecutionTargets": "deploy targets are not tracked",
	"PollForThirdPartyJobs":            "third-party action jobs are not supported",
	"PutActionRevision":                "source revisions are not tracked",
	"PutThirdPartyJobFailureResult":    "third-party action jobs are not supported",
	"PutThirdPartyJobSuccessResult":    "third-party action jobs are not supported",
	"UpdateActionType":                 "action type definitions are not supported; use CreateCustomActionType",
}

// Operations lists the operations the door implements, sorted.
func Operations() []string { return slices.Sorted(maps.Keys(cpOperations)) }

// UnsupportedOperations lists the operations of the API definition the door
// answers with UnsupportedOperationException, sorted.
func UnsupportedOperations() []string { return slices.Sorted(maps.Keys(cpUnsupported)) }

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

// handler serves the protocol.
type handler struct {
	svc *service.Service
}

// NewHandler serves CodePipeline's JSON 1.1 protocol at POST /. It answers
// every other request with a JSON error, never a page. What it learns of a
// request (operation, exception, internal errors) goes to the request log
// through reqlog.
func NewHandler(svc *service.Service) http.Handler {
	return &handler{svc: svc}
}

const cpUsageHint = "this is AWS CodePipeline's JSON 1.1 API: POST / with X-Amz-Target: " + TargetPrefix + "<Operation> and Content-Type: " + ContentType

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rw := w
	requestID := uuid.NewString()
	rw.Header().Set("X-Amzn-Requestid", requestID)
	operation := apispec.Truncate(strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix), 100)
	reqlog.Add(ctx, slog.String("operation", operation))
	exception := ""
	defer func() {
		if exception != "" {
			reqlog.Add(ctx, slog.String("exception", exception))
		}
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
		info := apierr.Describe(err, apierr.CodePipeline)
		exception = info.Exception
		if info.Internal {
			reqlog.Fail(ctx, err)
		}
		cpWriteError(rw, info.Status, info.Exception, info.Message)
		return
	}
	body := []byte("{}")
	if out != nil {
		if body, err = cpMarshal(out); err != nil {
			exception = "InternalFailure"
			reqlog.Fail(ctx, err)
			cpWriteError(rw, http.StatusInternalServerError, exception, "internal error")
			return
		}
	}
	rw.Header().Set("Content-Type", ContentType)
	rw.WriteHeader(http.StatusOK)
	rw.Write(body)
}

// serve routes a request to its operation and runs it.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) (any, error) {
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
	name, ok := strings.CutPrefix(target, TargetPrefix)
	if !ok {
		return nil, cpUnknownOperation(http.StatusBadRequest, "X-Amz-Target %q is not an operation of AWS CodePipeline (2015-07-09); targets start with %s", target, TargetPrefix)
	}
	op, ok := cpOperations[name]
	if !ok {
		if why, known := cpUnsupported[name]; known {
			return nil, errs.New(errs.Unsupported, "Stageflow does not implement the CodePipeline operation %s: %s", name, why)
		}
		return nil, cpUnknownOperation(http.StatusBadRequest, "CodePipeline has no operation %q", name)
	}
	// A web page can send text/plain, form encodings or no body type
	// without a preflight, never these: requiring one keeps other origins out.
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, cpSerializationError("the Content-Type header is missing; send %s", ContentType)
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != ContentType && mt != "application/json") {
		return nil, cpSerializationError("Content-Type %q is not accepted; send %s (or application/json)", ct, ContentType)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &cpProtocolError{status: http.StatusRequestEntityTooLarge, exception: ExceptionTooLarge,
				message: fmt.Sprintf("the request body is larger than the limit of %d bytes", MaxRequestBytes)}
		}
		return nil, cpSerializationError("reading the request body: %v", err)
	}
	ctx := r.Context()
	if !service.CallerFrom(ctx).Verified {
		// Without authentication (--auth none) the caller is the access
		// key ID the request names: a claim, recorded as such.
		key := CallerAccessKeyID(r)
		caller := service.Caller{Principal: key, Door: service.DoorCodePipeline}
		if key != service.Anonymous {
			caller.AccessKeyID = key
		}
		ctx = service.WithCaller(ctx, caller)
	}
	if base := requestBaseURL(r); base != "" {
		ctx = service.WithBaseURL(ctx, base)
	}
	return op.run(ctx, &cpCall{svc: h.svc, body: body})
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
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Amzn-Errortype", exception)
	w.WriteHeader(status)
	w.Write(body)
}

// CallerAccessKeyID returns the access key ID of a SigV4-signed request (the
// Authorization header's Credential, or a presigned URL's X-Amz-Credential),
// or service.Anonymous. The signature is not verified (sigv4.ClaimedAccessKeyID).
func CallerAccessKeyID(r *http.Request) string {
	if id := sigv4.ClaimedAccessKeyID(r); id != "" {
		return id
	}
	return service.Anonymous
}
