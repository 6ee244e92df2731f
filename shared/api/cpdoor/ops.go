package cpdoor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// ---- shapes of the inputs (their api tags name the API definition's shapes) ----

type cpTag struct {
	Key   string `json:"key" api:"required,shape=TagKey"`
	Value string `json:"value" api:"required,shape=TagValue"`
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
	Category string `json:"category" api:"required,shape=ActionCategory"`
	Owner    string `json:"owner" api:"required,shape=ActionOwner"`
	Provider string `json:"provider" api:"required,shape=ActionProvider"`
	Version  string `json:"version" api:"required,shape=Version"`
}

// ---- pipelines ----

type cpCreatePipelineInput struct {
	Pipeline json.RawMessage `json:"pipeline" api:"required,object"`
	Tags     []cpTag         `json:"tags" api:"shape=TagList"`
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
	Name    string `json:"name" api:"required,shape=PipelineName"`
	Version *int   `json:"version" api:"shape=PipelineVersion"`
}

func cpGetPipeline(ctx context.Context, c *cpCall, in *cpGetPipelineInput) (any, error) {
	v := 0
	if in.Version != nil {
		v = *in.Version
	}
	return c.svc.GetPipeline(ctx, in.Name, v)
}

type cpUpdatePipelineInput struct {
	Pipeline json.RawMessage `json:"pipeline" api:"required,object"`
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
	Name string `json:"name" api:"required,shape=PipelineName"`
}

func cpDeletePipeline(ctx context.Context, c *cpCall, in *cpPipelineNameInput) (any, error) {
	_, err := c.svc.DeletePipeline(ctx, in.Name)
	return nil, err
}

type cpListPipelinesInput struct {
	NextToken  string `json:"nextToken" api:"shape=NextToken"`
	MaxResults *int   `json:"maxResults" api:"shape=MaxPipelines"`
}

func cpListPipelines(ctx context.Context, c *cpCall, in *cpListPipelinesInput) (any, error) {
	return c.svc.ListPipelines(ctx, cpIntOr(in.MaxResults, 0), in.NextToken)
}

func cpGetPipelineState(ctx context.Context, c *cpCall, in *cpPipelineNameInput) (any, error) {
	return c.svc.GetPipelineState(ctx, in.Name)
}

// ---- executions ----

type cpPipelineVariable struct {
	Name  string `json:"name" api:"required,shape=PipelineVariableName"`
	Value string `json:"value" api:"required,shape=PipelineVariableValue"`
}

type cpSourceRevisionOverride struct {
	ActionName    string `json:"actionName" api:"required,shape=ActionName"`
	RevisionType  string `json:"revisionType" api:"required,shape=SourceRevisionType"`
	RevisionValue string `json:"revisionValue" api:"required,shape=Revision"`
}

type cpStartPipelineExecutionInput struct {
	Name               string                     `json:"name" api:"required,shape=PipelineName"`
	Variables          []cpPipelineVariable       `json:"variables" api:"shape=PipelineVariableList"`
	ClientRequestToken string                     `json:"clientRequestToken" api:"shape=ClientRequestToken"`
	SourceRevisions    []cpSourceRevisionOverride `json:"sourceRevisions" api:"shape=SourceRevisionOverrideList"`
}

type cpPipelineExecutionIDOutput struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
}

func cpStartPipelineExecution(ctx context.Context, c *cpCall, in *cpStartPipelineExecutionInput) (any, error) {
	var revs []engine.SourceRevision
	for _, sr := range in.SourceRevisions {
		revs = append(revs, engine.SourceRevision{Action: sr.ActionName, Type: sr.RevisionType, Value: sr.RevisionValue})
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
	e, err := c.svc.StartExecution(ctx, service.StartInput{
		PipelineName: in.Name, Variables: vars, ClientRequestToken: in.ClientRequestToken, SourceRevisions: revs,
	})
	if err != nil {
		return nil, err
	}
	return cpPipelineExecutionIDOutput{PipelineExecutionID: e.ID}, nil
}

type cpStopPipelineExecutionInput struct {
	PipelineName        string `json:"pipelineName" api:"required,shape=PipelineName"`
	PipelineExecutionID string `json:"pipelineExecutionId" api:"required,shape=PipelineExecutionId"`
	Abandon             bool   `json:"abandon"`
	Reason              string `json:"reason" api:"shape=StopPipelineExecutionReason"`
}

func cpStopPipelineExecution(ctx context.Context, c *cpCall, in *cpStopPipelineExecutionInput) (any, error) {
	if err := c.svc.StopExecution(ctx, in.PipelineName, in.PipelineExecutionID, in.Abandon, in.Reason); err != nil {
		return nil, err
	}
	return cpPipelineExecutionIDOutput{PipelineExecutionID: in.PipelineExecutionID}, nil
}

type cpExecutionInput struct {
	PipelineName        string `json:"pipelineName" api:"required,shape=PipelineName"`
	PipelineExecutionID string `json:"pipelineExecutionId" api:"required,shape=PipelineExecutionId"`
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
	StageName string `json:"stageName" api:"shape=StageName"`
}

type cpPipelineExecutionFilter struct {
	SucceededInStage *cpStageNameFilter `json:"succeededInStage"`
}

type cpListPipelineExecutionsInput struct {
	PipelineName string                     `json:"pipelineName" api:"required,shape=PipelineName"`
	MaxResults   *int                       `json:"maxResults" api:"shape=MaxResults"`
	Filter       *cpPipelineExecutionFilter `json:"filter"`
	NextToken    string                     `json:"nextToken" api:"shape=NextToken"`
}

func cpListPipelineExecutions(ctx context.Context, c *cpCall, in *cpListPipelineExecutionsInput) (any, error) {
	if in.Filter != nil && in.Filter.SucceededInStage != nil {
		return nil, cpInvalidMember("filter.succeededInStage", "Stageflow does not support filtering executions by the stage they succeeded in; leave filter.succeededInStage out")
	}
	return c.svc.ListExecutions(ctx, in.PipelineName, "", cpIntOr(in.MaxResults, 0), in.NextToken)
}

type cpLatestInPipelineExecutionFilter struct {
	PipelineExecutionID string `json:"pipelineExecutionId" api:"required,shape=PipelineExecutionId"`
	StartTimeRange      string `json:"startTimeRange" api:"required,shape=StartTimeRange"`
}

type cpActionExecutionFilterInput struct {
	PipelineExecutionID       string                             `json:"pipelineExecutionId" api:"shape=PipelineExecutionId"`
	LatestInPipelineExecution *cpLatestInPipelineExecutionFilter `json:"latestInPipelineExecution"`
}

type cpListActionExecutionsInput struct {
	PipelineName string                        `json:"pipelineName" api:"required,shape=PipelineName"`
	Filter       *cpActionExecutionFilterInput `json:"filter"`
	MaxResults   *int                          `json:"maxResults" api:"shape=MaxResults"`
	NextToken    string                        `json:"nextToken" api:"shape=NextToken"`
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
	Summary string `json:"summary" api:"required,shape=ApprovalSummary"`
	Status  string `json:"status" api:"required,shape=ApprovalStatus"`
}

type cpPutApprovalResultInput struct {
	PipelineName string            `json:"pipelineName" api:"required,shape=PipelineName"`
	StageName    string            `json:"stageName" api:"required,shape=StageName"`
	ActionName   string            `json:"actionName" api:"required,shape=ActionName"`
	Result       *cpApprovalResult `json:"result" api:"required"`
	Token        string            `json:"token" api:"required,shape=ApprovalToken"`
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
	MinimumCount *int `json:"minimumCount" api:"required,shape=MinimumArtifactCount"`
	MaximumCount *int `json:"maximumCount" api:"required,shape=MaximumArtifactCount"`
}

func (d *cpArtifactDetails) toDetails() service.ArtifactDetails {
	return service.ArtifactDetails{MinimumCount: cpIntOr(d.MinimumCount, 0), MaximumCount: cpIntOr(d.MaximumCount, 0)}
}

type cpActionTypeSettings struct {
	ThirdPartyConfigurationURL string `json:"thirdPartyConfigurationUrl" api:"shape=Url"`
	EntityURLTemplate          string `json:"entityUrlTemplate" api:"shape=UrlTemplate"`
	ExecutionURLTemplate       string `json:"executionUrlTemplate" api:"shape=UrlTemplate"`
	RevisionURLTemplate        string `json:"revisionUrlTemplate" api:"shape=UrlTemplate"`
}

type cpActionConfigurationProperty struct {
	Name        string `json:"name" api:"required,shape=ActionConfigurationKey"`
	Required    *bool  `json:"required" api:"required"`
	Key         *bool  `json:"key" api:"required"`
	Secret      *bool  `json:"secret" api:"required"`
	Queryable   bool   `json:"queryable"`
	Description string `json:"description" api:"shape=Description"`
	Type        string `json:"type" api:"shape=ActionConfigurationPropertyType"`
}

type cpCreateCustomActionTypeInput struct {
	Category                string                          `json:"category" api:"required,shape=ActionCategory"`
	Provider                string                          `json:"provider" api:"required,shape=ActionProvider"`
	Version                 string                          `json:"version" api:"required,shape=Version"`
	Settings                *cpActionTypeSettings           `json:"settings"`
	ConfigurationProperties []cpActionConfigurationProperty `json:"configurationProperties" api:"shape=ActionConfigurationPropertyList"`
	InputArtifactDetails    *cpArtifactDetails              `json:"inputArtifactDetails" api:"required"`
	OutputArtifactDetails   *cpArtifactDetails              `json:"outputArtifactDetails" api:"required"`
	Tags                    []cpTag                         `json:"tags" api:"shape=TagList"`
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
	Category string `json:"category" api:"required,shape=ActionCategory"`
	Provider string `json:"provider" api:"required,shape=ActionProvider"`
	Version  string `json:"version" api:"required,shape=Version"`
}

func cpDeleteCustomActionType(ctx context.Context, c *cpCall, in *cpDeleteCustomActionTypeInput) (any, error) {
	return nil, c.svc.DeleteCustomActionType(ctx, in.Category, in.Provider, in.Version)
}

type cpListActionTypesInput struct {
	ActionOwnerFilter string `json:"actionOwnerFilter" api:"shape=ActionOwner"`
	NextToken         string `json:"nextToken" api:"shape=NextToken"`
	RegionFilter      string `json:"regionFilter" api:"shape=AWSRegionName"`
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
	ActionTypeID *cpActionTypeID   `json:"actionTypeId" api:"required"`
	MaxBatchSize *int              `json:"maxBatchSize" api:"shape=MaxBatchSize"`
	QueryParam   map[string]string `json:"queryParam" api:"shape=QueryParamMap"`
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
	JobID string `json:"jobId" api:"required,shape=JobId"`
	Nonce string `json:"nonce" api:"required,shape=Nonce"`
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
	JobID string `json:"jobId" api:"required,shape=JobId"`
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
	Revision         string          `json:"revision" api:"required,shape=Revision"`
	ChangeIdentifier string          `json:"changeIdentifier" api:"required,shape=RevisionChangeIdentifier"`
	Created          json.RawMessage `json:"created"`
	RevisionSummary  string          `json:"revisionSummary" api:"shape=RevisionSummary"`
}

type cpExecutionDetails struct {
	Summary             string `json:"summary" api:"shape=ExecutionSummary"`
	ExternalExecutionID string `json:"externalExecutionId" api:"shape=ExecutionId"`
	PercentComplete     *int   `json:"percentComplete" api:"shape=Percentage"`
}

type cpPutJobSuccessResultInput struct {
	JobID             string              `json:"jobId" api:"required,shape=JobId"`
	CurrentRevision   *cpCurrentRevision  `json:"currentRevision"`
	ContinuationToken string              `json:"continuationToken" api:"shape=ContinuationToken"`
	ExecutionDetails  *cpExecutionDetails `json:"executionDetails"`
	OutputVariables   map[string]string   `json:"outputVariables" api:"shape=OutputVariablesMap"`
}

func cpPutJobSuccessResult(ctx context.Context, c *cpCall, in *cpPutJobSuccessResultInput) (any, error) {
	if in.ContinuationToken != "" && len(in.OutputVariables) > 0 {
		return nil, cpInvalidMember("outputVariables", "outputVariables can be given only without a continuationToken, in the call that ends the job")
	}
	js := service.JobSuccess{OutputVariables: in.OutputVariables, ContinuationToken: in.ContinuationToken}
	if d := in.ExecutionDetails; d != nil {
		js.Summary, js.ExternalExecutionID = d.Summary, d.ExternalExecutionID
	}
	if r := in.CurrentRevision; r != nil {
		js.CurrentRevision = &engine.Revision{ID: r.Revision, ChangeIdentifier: r.ChangeIdentifier, Summary: r.RevisionSummary}
		if len(r.Created) > 0 && string(r.Created) != "null" {
			var t service.Timestamp
			if err := t.UnmarshalJSON(r.Created); err != nil {
				return nil, cpSerializationError("currentRevision.created: %s is not a timestamp (epoch seconds in the years 1 to 9999, or an RFC 3339 string)", apispec.Truncate(string(r.Created), 40))
			}
			js.CurrentRevision.Created = time.Time(t)
		}
	}
	return nil, c.svc.PutJobSuccessResult(ctx, in.JobID, js)
}

type cpFailureDetails struct {
	Type                string `json:"type" api:"required,shape=FailureType"`
	Message             string `json:"message" api:"required,shape=Message"`
	ExternalExecutionID string `json:"externalExecutionId" api:"shape=ExecutionId"`
}

type cpPutJobFailureResultInput struct {
	JobID          string            `json:"jobId" api:"required,shape=JobId"`
	FailureDetails *cpFailureDetails `json:"failureDetails" api:"required"`
}

func cpPutJobFailureResult(ctx context.Context, c *cpCall, in *cpPutJobFailureResultInput) (any, error) {
	d := in.FailureDetails
	return nil, c.svc.PutJobFailureResult(ctx, in.JobID, d.Type, d.Message, d.ExternalExecutionID)
}

// ---- tags ----

type cpTagResourceInput struct {
	ResourceArn string  `json:"resourceArn" api:"required,shape=ResourceArn"`
	Tags        []cpTag `json:"tags" api:"required,shape=TagList"`
}

func cpTagResource(ctx context.Context, c *cpCall, in *cpTagResourceInput) (any, error) {
	return nil, c.svc.TagResource(ctx, in.ResourceArn, cpToTags(in.Tags))
}

type cpUntagResourceInput struct {
	ResourceArn string   `json:"resourceArn" api:"required,shape=ResourceArn"`
	TagKeys     []string `json:"tagKeys" api:"required,shape=TagKeyList"`
}

func cpUntagResource(ctx context.Context, c *cpCall, in *cpUntagResourceInput) (any, error) {
	return nil, c.svc.UntagResource(ctx, in.ResourceArn, in.TagKeys)
}

type cpListTagsForResourceInput struct {
	ResourceArn string `json:"resourceArn" api:"required,shape=ResourceArn"`
	NextToken   string `json:"nextToken" api:"shape=NextToken"`
	MaxResults  *int   `json:"maxResults" api:"shape=MaxResults"`
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
