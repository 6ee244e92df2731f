package rest

import (
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// The REST door's own bodies: what it reads and answers besides the
// service's CodePipeline shapes (service.GetPipelineOutput,
// service.ListPipelinesOutput, service.GetPipelineStateOutput, ...) and the
// whole execution record (engine.Execution). Clients decode the same types
// (shared/api/rest/restclient).
//
// The `api` tags of the bodies the door reads name the shapes of
// shared/apispec, the one table of the CodePipeline API's constraints, so
// that both doors refuse the same values with the same words
// (shared/strictjson decodes them).

// RESTUserHeader names the caller, recorded for instance as an approval's
// approver; without it the caller is "anonymous".
const RESTUserHeader = "X-Stageflow-User"

// RESTError is the body of every error answer (status 400 and above).
type RESTError struct {
	Error RESTErrorDetail `json:"error"`
}

// RESTErrorDetail is an error: the exception name as Code (for instance
// PipelineNotFoundException), a sentence, and for a rejected document or
// body the problems found, each at a JSON path.
type RESTErrorDetail struct {
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Problems []errs.Problem `json:"problems,omitempty"`
}

// RESTStartExecution is the body of POST /v1/pipelines/{name}/executions
// (optional: an empty body starts with the pipeline's defaults).
// ClientRequestToken makes the start idempotent: a second start with the
// same token returns the same execution.
// SourceRevisions ask source actions to run on given revisions, as
// StartPipelineExecution's sourceRevisions do.
type RESTStartExecution struct {
	Variables          map[string]string    `json:"variables,omitempty" api:"shape=PipelineVariableList,key=PipelineVariableName,value=PipelineVariableValue"`
	ClientRequestToken string               `json:"clientRequestToken,omitempty" api:"shape=ClientRequestToken"`
	SourceRevisions    []RESTSourceRevision `json:"sourceRevisions,omitempty" api:"shape=SourceRevisionOverrideList"`
}

// RESTSourceRevision asks the source action ActionName to run on a revision
// (CodePipeline's SourceRevisionOverride).
type RESTSourceRevision struct {
	ActionName    string `json:"actionName" api:"required,shape=ActionName"`
	RevisionType  string `json:"revisionType" api:"required,shape=SourceRevisionType"`
	RevisionValue string `json:"revisionValue" api:"required,shape=Revision"`
}

// RESTExecutionID names an execution: the answer of a start (201) and of a
// stop (202).
type RESTExecutionID struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
}

// RESTStopExecution is the body of POST .../executions/{id}/stop (optional).
// Abandon ends running actions instead of letting them finish.
type RESTStopExecution struct {
	Abandon bool   `json:"abandon,omitempty"`
	Reason  string `json:"reason,omitempty" api:"shape=StopPipelineExecutionReason"`
}

// RESTDisableTransition is the body of POST
// /v1/pipelines/{name}/stages/{stage}/disable-transition: Reason (required,
// the characters DisableStageTransition allows) is shown with the disabled
// transition; TransitionType is Inbound when left out.
type RESTDisableTransition struct {
	TransitionType string `json:"transitionType,omitempty" api:"shape=StageTransitionType"`
	Reason         string `json:"reason" api:"required,shape=DisabledReason"`
}

// RESTEnableTransition is the body of POST
// /v1/pipelines/{name}/stages/{stage}/enable-transition (optional);
// TransitionType is Inbound when left out.
type RESTEnableTransition struct {
	TransitionType string `json:"transitionType,omitempty" api:"shape=StageTransitionType"`
}

// RESTRetryStage is the body of POST
// /v1/pipelines/{name}/executions/{id}/stages/{stage}/retry (optional):
// RetryMode FAILED_ACTIONS (the default) or ALL_ACTIONS. The answer (202)
// is a RESTExecutionID.
type RESTRetryStage struct {
	RetryMode string `json:"retryMode,omitempty" api:"shape=StageRetryMode"`
}

// RESTRollbackStage is the body of POST
// /v1/pipelines/{name}/stages/{stage}/rollback: the earlier successful
// execution whose artifacts and variables the stage runs again with. The
// answer (201, with Location) names the new execution.
type RESTRollbackStage struct {
	TargetPipelineExecutionID string `json:"targetPipelineExecutionId" api:"required,shape=PipelineExecutionId"`
}

// RESTOverrideCondition is the body of POST
// /v1/pipelines/{name}/executions/{id}/stages/{stage}/override-condition:
// ConditionType BEFORE_ENTRY or ON_SUCCESS.
type RESTOverrideCondition struct {
	ConditionType string `json:"conditionType" api:"required,shape=ConditionType"`
}

// RESTApproval is the body of POST /v1/pipelines/{name}/approvals; Status is
// "Approved" or "Rejected".
// Token may be left out when the approval is waiting in the execution named
// by ExecutionID, or (without ExecutionID) in exactly one execution.
type RESTApproval struct {
	ExecutionID string `json:"executionId,omitempty" api:"shape=PipelineExecutionId"`
	Stage       string `json:"stage" api:"required,shape=StageName"`
	Action      string `json:"action" api:"required,shape=ActionName"`
	Token       string `json:"token,omitempty" api:"shape=ApprovalToken"`
	Status      string `json:"status" api:"required,shape=ApprovalStatus"`
	Summary     string `json:"summary,omitempty" api:"shape=ApprovalSummary"`
}

// RESTApprovalResult answers an approval.
type RESTApprovalResult struct {
	ApprovedAt *service.Timestamp `json:"approvedAt,omitempty"`
}

// RESTTags is the body of GET and PUT /v1/pipelines/{name}/tags.
type RESTTags struct {
	Tags []pipeline.Tag `json:"tags"`
}

// restTagsInput is RESTTags as PUT reads it, with the API's constraints on
// the tags (pipeline.Tag carries none).
type restTagsInput struct {
	Tags []restTag `json:"tags" api:"required,shape=TagList"`
}

type restTag struct {
	Key   string `json:"key" api:"required,shape=TagKey"`
	Value string `json:"value" api:"required,shape=TagValue"`
}

func (in restTagsInput) tags() []pipeline.Tag {
	out := make([]pipeline.Tag, len(in.Tags))
	for i, t := range in.Tags {
		out[i] = pipeline.Tag(t)
	}
	return out
}

// RESTLogPage is a page of an action run's log, the answer of
// GET .../actions/{runId}/logs without follow. NextOffset counts bytes of
// the log file; Content holds them as text (a page never ends inside a
// character; bytes that are not UTF-8 read as U+FFFD).
type RESTLogPage struct {
	Content    string `json:"content"`
	NextOffset int64  `json:"nextOffset"`
	// Complete is true when the run has ended and the page reaches the end
	// of its log.
	Complete bool `json:"complete"`
}
