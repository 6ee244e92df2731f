package service

import (
	"context"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Operation names an operation as IAM policies do: CodePipeline's action
// names, and stageflow: actions for what CodePipeline lacks.
type Operation string

// The operations the service asks Authorize about.
const (
	OpCreatePipeline         Operation = "codepipeline:CreatePipeline"
	OpGetPipeline            Operation = "codepipeline:GetPipeline"
	OpUpdatePipeline         Operation = "codepipeline:UpdatePipeline"
	OpDeletePipeline         Operation = "codepipeline:DeletePipeline"
	OpListPipelines          Operation = "codepipeline:ListPipelines"
	OpGetPipelineState       Operation = "codepipeline:GetPipelineState"
	OpStartPipelineExecution Operation = "codepipeline:StartPipelineExecution"
	OpStopPipelineExecution  Operation = "codepipeline:StopPipelineExecution"
	OpGetPipelineExecution   Operation = "codepipeline:GetPipelineExecution"
	OpListPipelineExecutions Operation = "codepipeline:ListPipelineExecutions"
	OpListActionExecutions   Operation = "codepipeline:ListActionExecutions"
	OpPutApprovalResult      Operation = "codepipeline:PutApprovalResult"
	OpCreateCustomActionType Operation = "codepipeline:CreateCustomActionType"
	OpDeleteCustomActionType Operation = "codepipeline:DeleteCustomActionType"
	OpListActionTypes        Operation = "codepipeline:ListActionTypes"
	OpPollForJobs            Operation = "codepipeline:PollForJobs"
	OpAcknowledgeJob         Operation = "codepipeline:AcknowledgeJob"
	OpGetJobDetails          Operation = "codepipeline:GetJobDetails"
	OpPutJobSuccessResult    Operation = "codepipeline:PutJobSuccessResult"
	OpPutJobFailureResult    Operation = "codepipeline:PutJobFailureResult"
	OpTagResource            Operation = "codepipeline:TagResource"
	OpUntagResource          Operation = "codepipeline:UntagResource"
	OpListTagsForResource    Operation = "codepipeline:ListTagsForResource"

	// What CodePipeline has no action for.
	OpGetExecutionRecord Operation = "stageflow:GetExecutionRecord" // the whole execution record (REST)
	OpWatchExecution     Operation = "stageflow:WatchExecution"     // server-sent events
	OpGetActionLogs      Operation = "stageflow:GetActionLogs"      // an action's log
	OpExpireJobs         Operation = "stageflow:ExpireJobs"         // the server's job timeout sweep
)

// AllResources is the resource of operations on no particular resource
// (ListPipelines, the job calls), as IAM writes it.
const AllResources = "*"

// Authorizer decides whether the caller in ctx may perform op on resource
// (an ARN, or AllResources). It returns nil to allow, or an error — an
// *errs.Error of code Forbidden for a denial — that the operation returns
// as it is.
type Authorizer func(ctx context.Context, op Operation, resource string) error

// AllowAll allows everything: the service's default until access control
// is configured.
func AllowAll(context.Context, Operation, string) error { return nil }

// Denied is the error an Authorizer returns for a denial.
func Denied(ctx context.Context, op Operation, resource string) error {
	return errs.Of(errs.Forbidden, errs.KindAccess, "%s is not authorized to perform %s on resource %s",
		CallerFrom(ctx).Principal, op, resource)
}

// authorize asks the hook; every exported operation calls it first.
func (s *Service) authorize(ctx context.Context, op Operation, resource string) error {
	return s.authz(ctx, op, resource)
}

func (s *Service) arnPrefix() string {
	return "arn:aws:codepipeline:" + s.region + ":" + s.account + ":"
}

// PipelineArn is the ARN of a pipeline.
func (s *Service) PipelineArn(name string) string { return s.arnPrefix() + name }

// ActionArn is the ARN of an action of a pipeline (PutApprovalResult's
// resource): the pipeline's ARN, then /stage/action.
func (s *Service) ActionArn(name, stage, action string) string {
	return s.PipelineArn(name) + "/" + stage + "/" + action
}

// ActionTypeArn is the ARN of an action type.
func (s *Service) ActionTypeArn(id pipeline.ActionTypeID) string {
	return s.arnPrefix() + "actiontype:" + strings.Join([]string{id.Owner, id.Category, id.Provider, id.Version}, "/")
}
