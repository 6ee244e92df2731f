package service

import (
	"context"
	"slices"
	"strings"

	"github.com/stageflow/stageflow/shared/auth"
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
	// Execution control (a stage's ARN for the transitions, the pipeline's
	// for the others; ListRuleTypes on "*").
	OpDisableStageTransition Operation = "codepipeline:DisableStageTransition"
	OpEnableStageTransition  Operation = "codepipeline:EnableStageTransition"
	OpRetryStageExecution    Operation = "codepipeline:RetryStageExecution"
	OpRollbackStage          Operation = "codepipeline:RollbackStage"
	OpOverrideStageCondition Operation = "codepipeline:OverrideStageCondition"
	OpListRuleTypes          Operation = "codepipeline:ListRuleTypes"
	OpListRuleExecutions     Operation = "codepipeline:ListRuleExecutions"

	// What CodePipeline has no action for.
	OpGetExecutionRecord Operation = "stageflow:GetExecutionRecord" // the whole execution record (REST)
	OpWatchExecution     Operation = "stageflow:WatchExecution"     // server-sent events
	OpGetActionLogs      Operation = "stageflow:GetActionLogs"      // an action's log
	OpExpireJobs         Operation = "stageflow:ExpireJobs"         // the server's job timeout sweep

	// The server's access keys and the policies attached to principals.
	OpCreateAccessKey      Operation = "stageflow:CreateAccessKey"
	OpListAccessKeys       Operation = "stageflow:ListAccessKeys"
	OpDeleteAccessKey      Operation = "stageflow:DeleteAccessKey"
	OpPutPrincipalPolicies Operation = "stageflow:PutPrincipalPolicies"
	OpGetPrincipalPolicies Operation = "stageflow:GetPrincipalPolicies"

	// The S3 door's objects, for requests signed with the server's access
	// keys (a job's artifact credentials allow its own artifacts without
	// asking): on arn:aws:s3:::<bucket>/<key>, the list on the bucket's ARN.
	OpGetArtifactObject    Operation = "stageflow:GetArtifactObject"    // GetObject, HeadObject, a copy's source
	OpPutArtifactObject    Operation = "stageflow:PutArtifactObject"    // PutObject, multipart uploads, a copy's destination
	OpDeleteArtifactObject Operation = "stageflow:DeleteArtifactObject" // DeleteObject
	OpListArtifactObjects  Operation = "stageflow:ListArtifactObjects"  // ListObjects(V2), ListMultipartUploads, ListBuckets
)

// Operations lists every operation, for the checks of GetCallerIdentity and
// for tests that walk them all.
func Operations() []Operation {
	return append([]Operation{OpCreatePipeline, OpGetPipeline, OpUpdatePipeline, OpDeletePipeline, OpListPipelines,
		OpGetPipelineState, OpStartPipelineExecution, OpStopPipelineExecution, OpGetPipelineExecution,
		OpListPipelineExecutions, OpListActionExecutions, OpPutApprovalResult, OpCreateCustomActionType,
		OpDeleteCustomActionType, OpListActionTypes, OpPollForJobs, OpAcknowledgeJob, OpGetJobDetails,
		OpPutJobSuccessResult, OpPutJobFailureResult, OpTagResource, OpUntagResource, OpListTagsForResource,
		OpDisableStageTransition, OpEnableStageTransition, OpRetryStageExecution, OpRollbackStage,
		OpOverrideStageCondition, OpListRuleTypes, OpListRuleExecutions,
		OpGetExecutionRecord, OpWatchExecution, OpGetActionLogs, OpExpireJobs,
		OpCreateAccessKey, OpListAccessKeys, OpDeleteAccessKey, OpPutPrincipalPolicies, OpGetPrincipalPolicies,
		OpGetArtifactObject, OpPutArtifactObject, OpDeleteArtifactObject, OpListArtifactObjects,
		OpPutWebhook, OpListWebhooks, OpDeleteWebhook, OpRegisterWebhookWithThirdParty, OpDeregisterWebhookWithThirdParty},
		append(ConnectionOperations(), BucketOperations()...)...)
}

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

// Denied is the error an Authorizer returns for a denial nobody evaluated
// a policy for (an implicit deny), in IAM's words.
func Denied(ctx context.Context, op Operation, resource string) error {
	return DeniedError(CallerFrom(ctx).Principal, op, resource, auth.ImplicitDeny)
}

// DeniedError is the denial of op on resource for principal, worded as IAM
// words it ("User: … is not authorized to perform: … on resource: …
// because …"): an errs.Forbidden error of kind Access, which the doors
// answer as AccessDeniedException (403).
func DeniedError(principal string, op Operation, resource string, d auth.Decision) error {
	why := "because no identity-based policy allows the " + string(op) + " action"
	if d == auth.ExplicitDeny {
		why = "with an explicit deny in an identity-based policy"
	}
	return errs.Of(errs.Forbidden, errs.KindAccess, "User: %s is not authorized to perform: %s on resource: %s %s",
		principal, op, resource, why)
}

// PolicyLookup returns the policies that apply to a caller beyond those it
// carries (Caller.Policies), such as a table for tests. An error is
// returned as it is by the operation asked about (a store failure, say); it
// is not a denial.
type PolicyLookup func(ctx context.Context, caller Caller) ([]*auth.Policy, error)

// NewPolicyAuthorizer returns the authorization hook of a server with
// access control on. It allows a local caller (DoorLocal: this process)
// everything; denies an unverified caller everything; allows a caller the
// gateway authorized (Caller.GatewayAuthorized) that carries no policy
// whatever the gateway allowed; and otherwise evaluates the caller's
// policies (Caller.Policies, then those lookup adds; lookup may be nil)
// with IAM's rules (auth.Evaluate), against the request context the
// service attached (the resource's tags, read only when a policy has an
// aws:ResourceTag condition; the tags the request carries).
func NewPolicyAuthorizer(lookup PolicyLookup) Authorizer {
	return func(ctx context.Context, op Operation, resource string) error {
		caller := CallerFrom(ctx)
		if caller.Door == DoorLocal {
			return nil
		}
		if !caller.Verified {
			return DeniedError(caller.Principal, op, resource, auth.ImplicitDeny)
		}
		policies := caller.Policies
		if lookup != nil {
			more, err := lookup(ctx, caller)
			if err != nil {
				return err
			}
			policies = append(slices.Clip(policies), more...)
		}
		if caller.GatewayAuthorized && len(policies) == 0 {
			return nil
		}
		rc, err := requestContextFrom(ctx).evaluated(ctx, policies)
		if err != nil {
			return err
		}
		d, _ := auth.Evaluate(policies, string(op), resource, rc)
		if d == auth.Allowed {
			return nil
		}
		return DeniedError(caller.Principal, op, resource, d)
	}
}

// StaticPolicies returns a lookup from a fixed table, for tests and simple
// setups: a caller gets the policies of its access key ID, or, without
// one, of its principal; anyone else gets none.
func StaticPolicies(m map[string][]*auth.Policy) PolicyLookup {
	return func(_ context.Context, c Caller) ([]*auth.Policy, error) {
		if c.AccessKeyID != "" {
			return m[c.AccessKeyID], nil
		}
		return m[c.Principal], nil
	}
}

// authorize asks the hook; every exported operation calls it first.
func (s *Service) authorize(ctx context.Context, op Operation, resource string) error {
	return s.authorizeTagging(ctx, op, resource, nil, nil)
}

// authorizeTagging asks the hook about an operation that carries tags
// (CreatePipeline's and TagResource's) or tag keys (UntagResource's): the
// request context it attaches holds them, and the resource's tags to read
// if a policy asks.
func (s *Service) authorizeTagging(ctx context.Context, op Operation, resource string, tags []pipeline.Tag, keys []string) error {
	rc := &requestContext{requestTags: tags, tagKeys: keys}
	if op != OpCreatePipeline && s.isPipelineArn(resource) {
		// CreatePipeline's pipeline has no tags yet (the request's are
		// aws:RequestTag); only pipelines carry tags here.
		rc.resourceTags = func(ctx context.Context) ([]pipeline.Tag, error) { return s.store.ListTags(ctx, resource) }
	}
	return s.authz(context.WithValue(ctx, requestContextKey{}, rc), op, resource)
}

// isPipelineArn reports whether arn is this server's ARN of a pipeline
// (not of a stage, an action or an action type).
func (s *Service) isPipelineArn(arn string) bool {
	name, ok := strings.CutPrefix(arn, s.arnPrefix())
	return ok && name != "" && !strings.ContainsAny(name, "/:")
}

type requestContextKey struct{}

// requestContext is what the service tells the authorizer about a request
// beyond its operation and resource, for the policies' conditions.
type requestContext struct {
	resourceTags func(context.Context) ([]pipeline.Tag, error) // nil: the resource carries no tags
	requestTags  []pipeline.Tag
	tagKeys      []string
}

func requestContextFrom(ctx context.Context) *requestContext {
	rc, _ := ctx.Value(requestContextKey{}).(*requestContext)
	return rc
}

// evaluated builds the request context for auth.Evaluate, reading the
// resource's tags only when a policy has an aws:ResourceTag condition. A
// failure to read them is the operation's error, not a decision.
func (rc *requestContext) evaluated(ctx context.Context, policies []*auth.Policy) (*auth.RequestContext, error) {
	if rc == nil {
		return nil, nil
	}
	out := &auth.RequestContext{TagKeys: rc.tagKeys}
	if rc.requestTags != nil {
		out.RequestTags = tagMap(rc.requestTags)
		if out.TagKeys == nil {
			for _, t := range rc.requestTags {
				out.TagKeys = append(out.TagKeys, t.Key)
			}
		}
	}
	if rc.resourceTags != nil && auth.UsesResourceTags(policies) {
		tags, err := rc.resourceTags(ctx)
		if err != nil {
			return nil, err
		}
		out.ResourceTags = tagMap(tags)
	}
	return out, nil
}

func tagMap(tags []pipeline.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func (s *Service) arnPrefix() string {
	return "arn:aws:codepipeline:" + s.region + ":" + s.account + ":"
}

// PipelineArn is the ARN of a pipeline.
func (s *Service) PipelineArn(name string) string { return s.arnPrefix() + name }

// StageArn is the ARN of a stage of a pipeline (the transitions'
// resource): the pipeline's ARN, then /stage.
func (s *Service) StageArn(name, stage string) string { return s.PipelineArn(name) + "/" + stage }

// ActionArn is the ARN of an action of a pipeline (PutApprovalResult's
// resource): the pipeline's ARN, then /stage/action.
func (s *Service) ActionArn(name, stage, action string) string {
	return s.PipelineArn(name) + "/" + stage + "/" + action
}

// ActionTypeArn is the ARN of an action type.
func (s *Service) ActionTypeArn(id pipeline.ActionTypeID) string {
	return s.arnPrefix() + "actiontype:" + strings.Join([]string{id.Owner, id.Category, id.Provider, id.Version}, "/")
}
