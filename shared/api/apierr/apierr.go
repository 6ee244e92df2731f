// Package apierr is the one table that turns domain errors (*errs.Error: a
// code and a kind) into what the HTTP doors answer: CodePipeline's exception
// name and the status of the CodePipeline door and of the REST door. The
// service, the engine and the stores speak only errs codes and kinds; this
// is the edge where CodePipeline's vocabulary begins.
//
// A test checks that every code has a row, that every kind appears in the
// table, and that every (code, kind) pair the code base builds with errs.Of
// has an entry of its own.
package apierr

import (
	"context"
	"errors"
	"net/http"

	"github.com/stageflow/stageflow/shared/errs"
)

// row is how the doors answer one code: its statuses and, per kind, the
// exception name (KindNone: the code's own exception).
type row struct {
	status     int // the CodePipeline door (CodePipeline answers 400 for its client errors)
	restStatus int // the REST door, where a missing resource is 404 and a conflict 409
	exceptions map[errs.Kind]string
}

var table = map[errs.Code]row{
	errs.Validation: {http.StatusBadRequest, http.StatusBadRequest, map[errs.Kind]string{
		errs.KindNone:              "ValidationException",
		errs.KindStructure:         "InvalidStructureException",
		errs.KindNextToken:         "InvalidNextTokenException",
		errs.KindNonce:             "InvalidNonceException",
		errs.KindPipeline:          "ValidationException",
		errs.KindPipelineExecution: "ValidationException",
		errs.KindActionType:        "ValidationException",
		errs.KindJob:               "ValidationException",
		errs.KindResource:          "ValidationException",
		errs.KindTags:              "InvalidTagsException",
		errs.KindArtifact:          "ValidationException",
		errs.KindAccessKey:         "ValidationException",
		errs.KindPolicy:            "MalformedPolicyDocumentException",
		errs.KindWebhook:           "ValidationException",
		errs.KindWebhookFilter:     "InvalidWebhookFilterPatternException",
		errs.KindWebhookAuth:       "InvalidWebhookAuthenticationParametersException",
	}},
	errs.NotFound: {http.StatusBadRequest, http.StatusNotFound, map[errs.Kind]string{
		errs.KindNone:              "ResourceNotFoundException",
		errs.KindPipeline:          "PipelineNotFoundException",
		errs.KindPipelineVersion:   "PipelineVersionNotFoundException",
		errs.KindPipelineExecution: "PipelineExecutionNotFoundException",
		errs.KindStage:             "StageNotFoundException",
		errs.KindAction:            "ActionNotFoundException",
		errs.KindActionType:        "ActionTypeNotFoundException",
		errs.KindActionExecution:   "ActionExecutionNotFoundException",
		errs.KindJob:               "JobNotFoundException",
		errs.KindResource:          "ResourceNotFoundException",
		errs.KindArtifact:          "ResourceNotFoundException",
		errs.KindAccessKey:         "NoSuchEntityException",
		errs.KindPolicy:            "NoSuchEntityException",
		errs.KindWebhook:           "WebhookNotFoundException",
	}},
	errs.Conflict: {http.StatusBadRequest, http.StatusConflict, map[errs.Kind]string{
		errs.KindNone:              "ConflictException",
		errs.KindPipeline:          "PipelineNameInUseException",
		errs.KindPipelineExecution: "ConflictException",
		errs.KindActionType:        "ConcurrentModificationException",
		errs.KindJob:               "ConflictException",
		errs.KindDuplicatedStop:    "DuplicatedStopRequestException",
		errs.KindAccessKey:         "EntityAlreadyExistsException",
		errs.KindWebhook:           "ConcurrentModificationException",
	}},
	errs.InvalidState: {http.StatusBadRequest, http.StatusConflict, map[errs.Kind]string{
		errs.KindNone:                     "ConflictException",
		errs.KindApprovalToken:            "InvalidApprovalTokenException",
		errs.KindApprovalAlreadyCompleted: "ApprovalAlreadyCompletedException",
		errs.KindJobState:                 "InvalidJobStateException",
		errs.KindNotStoppable:             "PipelineExecutionNotStoppableException",
		errs.KindActionExecution:          "ConflictException",
		errs.KindStageNotRetryable:        "StageNotRetryableException",
		errs.KindNotLatestExecution:       "NotLatestPipelineExecutionException",
		errs.KindUnableToRollback:         "UnableToRollbackStageException",
		errs.KindExecutionOutdated:        "PipelineExecutionOutdatedException",
		errs.KindConditionNotOverridable:  "ConditionNotOverridableException",
	}},
	errs.LimitExceeded: {http.StatusBadRequest, http.StatusBadRequest, map[errs.Kind]string{
		errs.KindNone:                     "LimitExceededException",
		errs.KindTags:                     "TooManyTagsException",
		errs.KindOutputVariables:          "OutputVariablesSizeExceededException",
		errs.KindAccessKey:                "LimitExceededException",
		errs.KindPolicy:                   "LimitExceededException",
		errs.KindPipeline:                 "LimitExceededException",
		errs.KindConcurrentExecutionLimit: "ConcurrentPipelineExecutionsLimitExceededException",
	}},
	errs.Unauthorized: {http.StatusForbidden, http.StatusForbidden, map[errs.Kind]string{
		errs.KindNone: "UnrecognizedClientException",
	}},
	errs.Forbidden: {http.StatusForbidden, http.StatusForbidden, map[errs.Kind]string{
		errs.KindNone:   "AccessDeniedException",
		errs.KindAccess: "AccessDeniedException",
	}},
	errs.Unsupported: {http.StatusBadRequest, http.StatusBadRequest, map[errs.Kind]string{
		errs.KindNone: "UnsupportedOperationException",
	}},
	errs.Internal: {http.StatusInternalServerError, http.StatusInternalServerError, map[errs.Kind]string{
		errs.KindNone: "InternalFailure",
	}},
}

// Info is how a door presents an error.
type Info struct {
	Status    int
	Exception string
	Message   string
	Problems  []errs.Problem
	// Internal is set for errors whose detail must not reach the caller
	// (it is logged instead): anything that is not a domain error, and
	// domain errors of code Internal.
	Internal bool
}

// Door selects a door's statuses.
type Door int

// The doors.
const (
	CodePipeline Door = iota
	REST
)

// Describe maps an error to its status, exception name and message for a
// door. Internal errors are answered without their detail.
func Describe(err error, door Door) Info {
	e, ok := errs.As(err)
	if !ok {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return Info{Status: http.StatusServiceUnavailable, Exception: "ServiceUnavailableException", Message: "the request was cancelled"}
		}
		return Info{Status: http.StatusInternalServerError, Exception: "InternalFailure", Message: "internal error", Internal: true}
	}
	r, ok := table[e.Code]
	if !ok {
		r = table[errs.Internal]
	}
	name, ok := r.exceptions[e.Kind]
	if !ok {
		name = r.exceptions[errs.KindNone]
	}
	status := r.status
	if door == REST {
		status = r.restStatus
	}
	if e.Code == errs.Internal {
		return Info{Status: http.StatusInternalServerError, Exception: "InternalFailure", Message: "internal error", Internal: true}
	}
	return Info{Status: status, Exception: name, Message: e.Error(), Problems: e.Problems}
}
