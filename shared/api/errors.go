package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/stageflow/stageflow/shared/errs"
)

// exceptions maps (code, kind) to CodePipeline's exception name. A code with
// an empty kind is the fallback for that code.
var exceptions = map[errs.Code]map[string]string{
	errs.Validation: {
		"":            "ValidationException",
		KindStructure: "InvalidStructureException",
		KindNextToken: "InvalidNextTokenException",
		KindNonce:     "InvalidNonceException",
	},
	errs.NotFound: {
		"":                    "ResourceNotFoundException",
		KindPipeline:          "PipelineNotFoundException",
		"PipelineVersion":     "PipelineVersionNotFoundException",
		KindPipelineExecution: "PipelineExecutionNotFoundException",
		KindStage:             "StageNotFoundException",
		KindAction:            "ActionNotFoundException",
		KindActionType:        "ActionTypeNotFoundException",
		KindJob:               "JobNotFoundException",
		"Resource":            "ResourceNotFoundException",
	},
	errs.Conflict: {
		"":               "ConflictException",
		KindPipeline:     "PipelineNameInUseException",
		KindActionType:   "ConcurrentModificationException",
		"DuplicatedStop": "DuplicatedStopRequestException",
	},
	errs.InvalidState: {
		"":                              "ConflictException",
		KindApprovalToken:               "InvalidApprovalTokenException",
		KindApprovalAlreadyCompleted:    "ApprovalAlreadyCompletedException",
		KindJobState:                    "InvalidJobStateException",
		"PipelineExecutionNotStoppable": "PipelineExecutionNotStoppableException",
		"ActionExecution":               "ConflictException",
	},
	errs.LimitExceeded: {"": "LimitExceededException"},
	errs.Unauthorized:  {"": "UnrecognizedClientException"},
	errs.Forbidden:     {"": "AccessDeniedException"},
	errs.Unsupported:   {"": "UnsupportedOperationException"},
	errs.Internal:      {"": "InternalFailure"},
}

// statuses maps codes to HTTP statuses (both doors).
var statuses = map[errs.Code]int{
	errs.Validation:    http.StatusBadRequest,
	errs.NotFound:      http.StatusBadRequest, // CodePipeline answers 400 for *NotFoundException
	errs.Conflict:      http.StatusBadRequest, // CodePipeline answers 400 with the exception name
	errs.InvalidState:  http.StatusBadRequest,
	errs.LimitExceeded: http.StatusBadRequest,
	errs.Unauthorized:  http.StatusForbidden,
	errs.Forbidden:     http.StatusForbidden,
	errs.Unsupported:   http.StatusBadRequest,
	errs.Internal:      http.StatusInternalServerError,
}

// restStatuses overrides statuses for the REST door, where resources that
// do not exist are 404 as REST clients expect.
var restStatuses = map[errs.Code]int{
	errs.NotFound:     http.StatusNotFound,
	errs.Conflict:     http.StatusConflict,
	errs.InvalidState: http.StatusConflict,
}

// ErrorInfo is how a door presents an error.
type ErrorInfo struct {
	Status    int
	Exception string
	Message   string
	Problems  []errs.Problem
}

// Describe maps an error to its status, exception name and message. rest
// selects the REST door's statuses.
func Describe(err error, rest bool) ErrorInfo {
	e, ok := errs.As(err)
	if !ok {
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return ErrorInfo{Status: http.StatusServiceUnavailable, Exception: "ServiceUnavailableException", Message: "the request was cancelled"}
		}
		return ErrorInfo{Status: http.StatusInternalServerError, Exception: "InternalFailure", Message: "internal error"}
	}
	kinds := exceptions[e.Code]
	name, ok := kinds[e.Kind]
	if !ok {
		name = kinds[""]
	}
	if name == "" {
		name = "InternalFailure"
	}
	status := statuses[e.Code]
	if s, ok := restStatuses[e.Code]; ok && rest {
		status = s
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := e.Error()
	if e.Code == errs.Internal {
		msg = "internal error"
	}
	return ErrorInfo{Status: status, Exception: name, Message: msg, Problems: e.Problems}
}
