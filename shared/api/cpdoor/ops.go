package cpdoor

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

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
			return pipeline.Pipeline{}, &errs.Error{Code: errs.Validation, Kind: errs.KindStructure,
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
	_, err := c.svc.DeletePipeline(ctx, in.Name)
	return nil, err
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
	e, err := c.svc.StartExecution(ctx, service.StartInput{PipelineName: in.Name, Variables: vars, ClientRequestToken: in.ClientRequestToken})
	if err != nil {
		return nil, err
	}
	return cpPipelineExecutionIDOutput{PipelineExecutionID: e.ID}, nil
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
	PipelineExecution *service.PipelineExecution `json:"pipelineExecution"`
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
	var f service.ActionExecutionFilter
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
	ApprovedAt *service.Timestamp `json:"approvedAt,omitempty"`
}

func cpPutApprovalResult(ctx context.Context, c *cpCall, in *cpPutApprovalResultInput) (any, error) {
	at, err := c.svc.PutApprovalResult(ctx, service.ApprovalInput{PipelineName: in.PipelineName, Stage: in.StageName, Action: in.ActionName, Token: in.Token, Status: in.Result.Status, Summary: in.Result.Summary})
	if err != nil {
		return nil, err
	}
	return cpPutApprovalResultOutput{ApprovedAt: service.TimestampOf(at)}, nil
}

// ---- custom action types ----

type cpArtifactDetails struct {
	MinimumCount *int `json:"minimumCount" cp:"required,min=0,max=5"`
	MaximumCount *int `json:"maximumCount" cp:"required,min=0,max=5"`
}

func (d *cpArtifactDetails) toDetails() service.ArtifactDetails {
	return service.ArtifactDetails{MinimumCount: cpIntOr(d.MinimumCount, 0), MaximumCount: cpIntOr(d.MaximumCount, 0)}
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
	ActionType *service.ActionType `json:"actionType"`
}

func cpCreateCustomActionType(ctx context.Context, c *cpCall, in *cpCreateCustomActionTypeInput) (any, error) {
	if len(in.Tags) > 0 {
		return nil, cpInvalidMember("tags", "Stageflow does not tag custom action types yet; leave tags out")
	}
	ct := service.CustomActionTypeInput{
		Category: in.Category, Provider: in.Provider, Version: in.Version,
		InputArtifactDetails: in.InputArtifactDetails.toDetails(), OutputArtifactDetails: in.OutputArtifactDetails.toDetails(),
	}
	if s := in.Settings; s != nil {
		ct.Settings = &service.ActionTypeSettings{ThirdPartyConfigurationURL: s.ThirdPartyConfigurationURL, EntityURLTemplate: s.EntityURLTemplate,
			ExecutionURLTemplate: s.ExecutionURLTemplate, RevisionURLTemplate: s.RevisionURLTemplate}
	}
	for _, p := range in.ConfigurationProperties {
		ct.ConfigurationProperties = append(ct.ConfigurationProperties, service.ActionConfigurationProperty{
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
	ActionTypes []service.ActionType `json:"actionTypes"`
}

func cpListActionTypes(ctx context.Context, c *cpCall, in *cpListActionTypesInput) (any, error) {
	if in.NextToken != "" {
		return nil, errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken: ListActionTypes returns every action type in one page")
	}
	if in.RegionFilter != "" && in.RegionFilter != c.svc.Region() {
		return cpListActionTypesOutput{ActionTypes: []service.ActionType{}}, nil
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
	Jobs []service.Job `json:"jobs"`
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
	JobDetails *service.JobDetails `json:"jobDetails"`
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
	js := service.JobSuccess{OutputVariables: in.OutputVariables, ContinuationToken: in.ContinuationToken}
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
		return nil, errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken: ListTagsForResource returns every tag in one page")
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
