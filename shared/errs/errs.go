// Package errs holds Stageflow's one domain error type. Every layer returns
// *Error (or wraps one); each door (REST, CodePipeline JSON 1.1, CLI) maps the
// Code to its own status and exception name in one table.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies a domain error.
type Code string

// The codes. Doors map each to an HTTP status and an exception name.
const (
	Validation    Code = "Validation"   // the request or document is malformed or breaks a rule
	NotFound      Code = "NotFound"     // the named resource does not exist
	Conflict      Code = "Conflict"     // the resource exists already or changed underneath (version check)
	InvalidState  Code = "InvalidState" // the resource is in a state that does not allow the operation
	LimitExceeded Code = "LimitExceeded"
	Unauthorized  Code = "Unauthorized"
	Forbidden     Code = "Forbidden"
	Unsupported   Code = "Unsupported" // the operation or provider is not available in this deployment
	Internal      Code = "Internal"
)

// Codes lists every code, for tests that check each has a mapping.
func Codes() []Code {
	return []Code{Validation, NotFound, Conflict, InvalidState, LimitExceeded, Unauthorized, Forbidden, Unsupported, Internal}
}

// Kind narrows a code to the resource or rule concerned. Kinds are domain
// words; the doors map (Code, Kind) pairs to their exception names and
// statuses in one table (shared/api/apierr).
type Kind string

// The kinds. Every layer uses these constants, never string literals.
const (
	KindNone                     Kind = ""
	KindStructure                Kind = "Structure" // the pipeline document breaks a rule
	KindNextToken                Kind = "NextToken"
	KindNonce                    Kind = "Nonce"
	KindPipeline                 Kind = "Pipeline"
	KindPipelineVersion          Kind = "PipelineVersion"
	KindPipelineExecution        Kind = "PipelineExecution"
	KindStage                    Kind = "Stage"
	KindAction                   Kind = "Action"
	KindActionType               Kind = "ActionType"
	KindActionExecution          Kind = "ActionExecution"
	KindJob                      Kind = "Job"
	KindJobState                 Kind = "JobState"
	KindApprovalToken            Kind = "ApprovalToken"
	KindApprovalAlreadyCompleted Kind = "ApprovalAlreadyCompleted"
	KindDuplicatedStop           Kind = "DuplicatedStop"
	KindNotStoppable             Kind = "NotStoppable" // the execution has ended
	KindResource                 Kind = "Resource"     // a resource named by ARN (tags)
	KindTags                     Kind = "Tags"
	KindArtifact                 Kind = "Artifact"
	KindAccess                   Kind = "Access"                   // the caller's policy does not allow the operation
	KindOutputVariables          Kind = "OutputVariables"          // an action's output variables together
	KindAccessKey                Kind = "AccessKey"                // an access key of the server
	KindPolicy                   Kind = "Policy"                   // a policy document or name given to attach
	KindStageNotRetryable        Kind = "StageNotRetryable"        // RetryStageExecution on a stage that did not fail
	KindNotLatestExecution       Kind = "NotLatestExecution"       // the execution is not the stage's latest
	KindUnableToRollback         Kind = "UnableToRollback"         // RollbackStage refused
	KindExecutionOutdated        Kind = "ExecutionOutdated"        // the rollback target is older than allowed
	KindConditionNotOverridable  Kind = "ConditionNotOverridable"  // OverrideStageCondition refused
	KindConcurrentExecutionLimit Kind = "ConcurrentExecutionLimit" // too many executions of a pipeline at once
	KindWebhook                  Kind = "Webhook"                  // a V1 webhook (PutWebhook)
	KindWebhookFilter            Kind = "WebhookFilter"            // a webhook's filter rule
	KindWebhookAuth              Kind = "WebhookAuth"              // a webhook's authentication parameters
)

// Kinds lists every kind, for tests that check each has a mapping.
func Kinds() []Kind {
	return []Kind{KindNone, KindStructure, KindNextToken, KindNonce, KindPipeline, KindPipelineVersion,
		KindPipelineExecution, KindStage, KindAction, KindActionType, KindActionExecution, KindJob, KindJobState,
		KindApprovalToken, KindApprovalAlreadyCompleted, KindDuplicatedStop, KindNotStoppable, KindResource,
		KindTags, KindArtifact, KindAccess, KindOutputVariables, KindAccessKey, KindPolicy}
}

// Problem is one finding about a document: a JSON path and a plain sentence.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Error is the domain error.
type Error struct {
	Code Code
	// Kind optionally names the resource or exception flavour (Pipeline,
	// Job, ApprovalToken, …), so a door can pick a precise exception name
	// such as PipelineNotFoundException.
	Kind     Kind
	Message  string
	Problems []Problem
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, p := range e.Problems {
		if i == 0 && e.Message != "" {
			b.WriteString(": ")
		} else if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	if e.Err != nil && e.Message == "" && len(e.Problems) == 0 {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New makes an error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Of makes an error of a code and kind with a formatted message.
func Of(code Code, kind Kind, format string, args ...any) *Error {
	return &Error{Code: code, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap wraps err with a code and message.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Invalid makes a Validation error listing problems.
func Invalid(msg string, problems []Problem) *Error {
	return &Error{Code: Validation, Message: msg, Problems: problems}
}

// CodeOf returns the code of err: its *Error's code, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the code.
func Is(err error, code Code) bool {
	return err != nil && CodeOf(err) == code
}

// As returns err's *Error, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
