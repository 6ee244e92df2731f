// Package api is Stageflow's service layer and its two HTTP doors: REST under
// /v1/... and CodePipeline's own JSON 1.1 protocol at POST /. Both doors call
// the same Service methods, which speak CodePipeline's API shapes (types.go)
// and return *errs.Error; each door maps error codes to statuses and
// exception names in one table (errors.go).
package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/actions/custom"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/runner"
	"github.com/stageflow/stageflow/shared/store"
)

// Runner is the driver the service starts, completes and stops executions with.
type Runner interface {
	Start(ctx context.Context, in runner.StartInput) (*engine.Execution, error)
	Complete(ctx context.Context, executionID, runID string, res engine.Result) error
	Stop(ctx context.Context, executionID string, abandon bool, reason string) error
}

// ArtifactAccess tells job workers how to reach the artifact store.
type ArtifactAccess struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Service implements every operation once for both doors.
type Service struct {
	Store  store.Store
	Runner Runner
	Now    func() time.Time
	// Region and Account make ARNs (arn:aws:codepipeline:<region>:<account>:<name>).
	Region, Account string
	// Artifacts is handed to job workers as artifactCredentials.
	Artifacts ArtifactAccess
}

// Exception-flavour kinds on errs.Error, mapped to exception names by the doors.
const (
	KindPipeline                 = "Pipeline"
	KindPipelineExecution        = "PipelineExecution"
	KindStructure                = "Structure"
	KindStage                    = "Stage"
	KindAction                   = "Action"
	KindActionType               = "ActionType"
	KindJob                      = "Job"
	KindJobState                 = "JobState"
	KindNonce                    = "Nonce"
	KindApprovalToken            = "ApprovalToken"
	KindApprovalAlreadyCompleted = "ApprovalAlreadyCompleted"
	KindNextToken                = "NextToken"
)

// PipelineArn is the ARN of a pipeline.
func (s *Service) PipelineArn(name string) string {
	return "arn:aws:codepipeline:" + s.Region + ":" + s.Account + ":" + name
}

// ---- pipelines ----

// CreatePipeline validates and stores version 1 of a pipeline.
func (s *Service) CreatePipeline(ctx context.Context, p pipeline.Pipeline, tags []pipeline.Tag) (*GetPipelineOutput, error) {
	if err := validatePipeline(&p); err != nil {
		return nil, err
	}
	rec := &store.Pipeline{Name: p.Name, Declaration: p, Tags: tags}
	if err := s.Store.CreatePipeline(ctx, rec); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Of(errs.Conflict, KindPipeline, "a pipeline named %q already exists", p.Name)
		}
		return nil, err
	}
	if len(tags) > 0 {
		if err := s.Store.TagResource(ctx, s.PipelineArn(p.Name), tags); err != nil {
			return nil, err
		}
	}
	return s.pipelineOutput(rec), nil
}

// UpdatePipeline stores the next version of a pipeline.
func (s *Service) UpdatePipeline(ctx context.Context, p pipeline.Pipeline) (*GetPipelineOutput, error) {
	if err := validatePipeline(&p); err != nil {
		return nil, err
	}
	rec, err := s.Store.UpdatePipeline(ctx, &store.Pipeline{Name: p.Name, Declaration: p})
	if err != nil {
		return nil, pipelineNotFound(err, p.Name)
	}
	return s.pipelineOutput(rec), nil
}

// GetPipeline returns a version of a pipeline (0: the latest).
func (s *Service) GetPipeline(ctx context.Context, name string, version int) (*GetPipelineOutput, error) {
	rec, err := s.Store.GetPipeline(ctx, name, version)
	if err != nil {
		if version > 0 && errs.Is(err, errs.NotFound) {
			if _, e2 := s.Store.GetPipeline(ctx, name, 0); e2 == nil {
				return nil, errs.Of(errs.NotFound, "PipelineVersion", "pipeline %q has no version %d", name, version)
			}
		}
		return nil, pipelineNotFound(err, name)
	}
	return s.pipelineOutput(rec), nil
}

// DeletePipeline deletes every version of a pipeline and its tags.
func (s *Service) DeletePipeline(ctx context.Context, name string) error {
	if err := s.Store.DeletePipeline(ctx, name); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil // CodePipeline's DeletePipeline of an unknown name succeeds
		}
		return err
	}
	tags, err := s.Store.ListTags(ctx, s.PipelineArn(name))
	if err != nil || len(tags) == 0 {
		return err
	}
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = t.Key
	}
	return s.Store.UntagResource(ctx, s.PipelineArn(name), keys)
}

// ListPipelines lists pipelines by name, a page at a time.
func (s *Service) ListPipelines(ctx context.Context, maxResults int, nextToken string) (*ListPipelinesOutput, error) {
	rows, next, err := s.Store.ListPipelines(ctx, store.Page{Token: nextToken, Limit: maxResults})
	if err != nil {
		return nil, tokenError(err)
	}
	out := &ListPipelinesOutput{Pipelines: []PipelineSummary{}, NextToken: next}
	for _, r := range rows {
		out.Pipelines = append(out.Pipelines, PipelineSummary{
			Name: r.Name, Version: r.Version, PipelineType: r.PipelineType, ExecutionMode: r.ExecutionMode,
			Created: ts(r.Created), Updated: ts(r.Updated),
		})
	}
	return out, nil
}

func (s *Service) pipelineOutput(rec *store.Pipeline) *GetPipelineOutput {
	p := rec.Declaration
	v := rec.Version
	p.Version = &v
	return &GetPipelineOutput{Pipeline: p, Metadata: &PipelineMetadata{
		PipelineArn: s.PipelineArn(rec.Name), Created: ts(rec.Created), Updated: ts(rec.Updated),
	}}
}

func validatePipeline(p *pipeline.Pipeline) error {
	if problems := pipeline.Validate(p); len(problems) > 0 {
		e := errs.Invalid("the pipeline structure is invalid", problems)
		e.Kind = KindStructure
		return e
	}
	return nil
}

func pipelineNotFound(err error, name string) error {
	if errs.Is(err, errs.NotFound) {
		return errs.Of(errs.NotFound, KindPipeline, "pipeline %q does not exist", name)
	}
	return err
}

func tokenError(err error) error {
	if e, ok := errs.As(err); ok && e.Code == errs.Validation {
		return errs.Of(errs.Validation, KindNextToken, "%s", e.Message)
	}
	return err
}

// ---- executions ----

// StartExecution starts an execution of the latest version of a pipeline.
func (s *Service) StartExecution(ctx context.Context, name string, vars map[string]string, clientRequestToken, triggerDetail string) (string, error) {
	e, err := s.Runner.Start(ctx, runner.StartInput{
		PipelineName: name, Variables: vars, ClientRequestToken: clientRequestToken,
		Trigger: engine.Trigger{Type: "StartPipelineExecution", Detail: triggerDetail},
	})
	if err != nil {
		return "", pipelineNotFound(err, name)
	}
	return e.ID, nil
}

// execution loads an execution of the named pipeline.
func (s *Service) execution(ctx context.Context, name, id string) (*engine.Execution, error) {
	e, err := s.Store.GetExecution(ctx, id)
	if err == nil && e.PipelineName != name {
		err = errs.New(errs.NotFound, "")
	}
	if errs.Is(err, errs.NotFound) {
		if _, perr := s.Store.GetPipeline(ctx, name, 0); errs.Is(perr, errs.NotFound) {
			return nil, errs.Of(errs.NotFound, KindPipeline, "pipeline %q does not exist", name)
		}
		return nil, errs.Of(errs.NotFound, KindPipelineExecution, "pipeline %q has no execution %q", name, id)
	}
	return e, err
}

// StopExecution stops an execution.
func (s *Service) StopExecution(ctx context.Context, name, id string, abandon bool, reason string) error {
	if _, err := s.execution(ctx, name, id); err != nil {
		return err
	}
	return s.Runner.Stop(ctx, id, abandon, reason)
}

// GetExecution returns an execution as GetPipelineExecution shows it.
func (s *Service) GetExecution(ctx context.Context, name, id string) (*PipelineExecution, error) {
	e, err := s.execution(ctx, name, id)
	if err != nil {
		return nil, err
	}
	out := &PipelineExecution{
		PipelineName: e.PipelineName, PipelineVersion: e.PipelineVersion, PipelineExecutionID: e.ID,
		Status: string(e.Status), StatusSummary: e.StatusSummary, ArtifactRevisions: []any{},
		Trigger:       &ExecutionTrigger{TriggerType: e.Trigger.Type, TriggerDetail: e.Trigger.Detail},
		ExecutionMode: e.Pipeline.EffectiveExecutionMode(), ExecutionType: "STANDARD",
	}
	for _, k := range slices.Sorted(maps.Keys(e.Variables)) {
		out.Variables = append(out.Variables, ResolvedPipelineVariable{Name: k, ResolvedValue: e.Variables[k]})
	}
	return out, nil
}

// Execution returns the whole execution record (REST and the console show it).
func (s *Service) Execution(ctx context.Context, name, id string) (*engine.Execution, error) {
	return s.execution(ctx, name, id)
}

// ListExecutions lists a pipeline's executions, newest first.
func (s *Service) ListExecutions(ctx context.Context, name string, status engine.Status, maxResults int, nextToken string) (*ListPipelineExecutionsOutput, error) {
	if _, err := s.Store.GetPipeline(ctx, name, 0); err != nil {
		return nil, pipelineNotFound(err, name)
	}
	rows, next, err := s.Store.ListExecutions(ctx, store.ExecutionFilter{PipelineName: name, Status: status}, store.Page{Token: nextToken, Limit: maxResults})
	if err != nil {
		return nil, tokenError(err)
	}
	out := &ListPipelineExecutionsOutput{PipelineExecutionSummaries: []PipelineExecutionSummary{}, NextToken: next}
	for _, r := range rows {
		out.PipelineExecutionSummaries = append(out.PipelineExecutionSummaries, PipelineExecutionSummary{
			PipelineExecutionID: r.ID, Status: string(r.Status), StatusSummary: r.StatusSummary,
			StartTime: ts(r.StartTime), LastUpdateTime: ts(r.LastUpdateTime), SourceRevisions: []any{},
			Trigger: &ExecutionTrigger{TriggerType: r.Trigger.Type, TriggerDetail: r.Trigger.Detail}, ExecutionType: "STANDARD",
		})
	}
	return out, nil
}

// recentExecutionsScanned bounds how many recent executions GetPipelineState
// and an unfiltered ListActionExecutions look at.
const recentExecutionsScanned = 25

func (s *Service) recentExecutions(ctx context.Context, name string) ([]*engine.Execution, error) {
	rows, _, err := s.Store.ListExecutions(ctx, store.ExecutionFilter{PipelineName: name}, store.Page{Limit: recentExecutionsScanned})
	if err != nil {
		return nil, err
	}
	out := make([]*engine.Execution, 0, len(rows))
	for _, r := range rows {
		e, err := s.Store.GetExecution(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// GetPipelineState shows, for each stage of the latest version, the latest
// execution that reached it and its actions' latest runs.
func (s *Service) GetPipelineState(ctx context.Context, name string) (*GetPipelineStateOutput, error) {
	rec, err := s.Store.GetPipeline(ctx, name, 0)
	if err != nil {
		return nil, pipelineNotFound(err, name)
	}
	recent, err := s.recentExecutions(ctx, name)
	if err != nil {
		return nil, err
	}
	out := &GetPipelineStateOutput{PipelineName: name, PipelineVersion: rec.Version, StageStates: []StageState{},
		Created: ts(rec.Created), Updated: ts(rec.Updated)}
	for _, st := range rec.Declaration.Stages {
		ss := StageState{StageName: st.Name, InboundTransitionState: &TransitionState{Enabled: true}, ActionStates: []ActionState{}}
		var latest *engine.Execution
		for _, e := range recent { // newest first
			if stageStatus(e, st.Name) != "" {
				latest = e
				break
			}
		}
		if latest != nil {
			ss.LatestExecution = &StageExecution{PipelineExecutionID: latest.ID, Status: string(stageStatus(latest, st.Name)), Type: "STANDARD"}
		}
		for _, a := range st.Actions {
			as := ActionState{ActionName: a.Name}
			if latest != nil {
				if r, ok := latest.LatestRun(st.Name, a.Name); ok {
					as.LatestExecution = actionExecution(r)
				}
			}
			ss.ActionStates = append(ss.ActionStates, as)
		}
		out.StageStates = append(out.StageStates, ss)
	}
	return out, nil
}

func stageStatus(e *engine.Execution, stage string) engine.Status {
	for _, st := range e.Stages {
		if st.Name == stage {
			return st.Status
		}
	}
	return ""
}

func actionExecution(r *engine.ActionRun) *ActionExecution {
	ae := &ActionExecution{
		ActionExecutionID: r.ID, Status: string(r.Status), Summary: r.Summary, LastStatusChange: ts(r.LastUpdateTime),
		LastUpdatedBy: r.UpdatedBy, ExternalExecutionID: r.ExternalExecutionID, ExternalExecutionURL: r.ExternalExecutionURL,
	}
	if r.Status == engine.InProgress && r.Type.Category == pipeline.CategoryApproval {
		ae.Token = r.Token // the approval token, as GetPipelineState shows it
	}
	if r.ErrorCode != "" || r.ErrorMessage != "" {
		ae.ErrorDetails = &ErrorDetails{Code: r.ErrorCode, Message: r.ErrorMessage}
	}
	return ae
}

// ActionExecutionFilter narrows ListActionExecutions.
type ActionExecutionFilter struct {
	PipelineExecutionID string
	Stage, Action       string // REST filters
	Status              engine.Status
}

// ListActionExecutions lists action executions, newest first.
func (s *Service) ListActionExecutions(ctx context.Context, name string, f ActionExecutionFilter, maxResults int, nextToken string) (*ListActionExecutionsOutput, error) {
	var execs []*engine.Execution
	if f.PipelineExecutionID != "" {
		e, err := s.execution(ctx, name, f.PipelineExecutionID)
		if err != nil {
			return nil, err
		}
		execs = []*engine.Execution{e}
	} else {
		if _, err := s.Store.GetPipeline(ctx, name, 0); err != nil {
			return nil, pipelineNotFound(err, name)
		}
		var err error
		if execs, err = s.recentExecutions(ctx, name); err != nil {
			return nil, err
		}
	}
	var all []ActionExecutionDetail
	for _, e := range execs {
		for i := len(e.Actions) - 1; i >= 0; i-- {
			r := &e.Actions[i]
			if (f.Stage != "" && r.Stage != f.Stage) || (f.Action != "" && r.Action != f.Action) || (f.Status != "" && r.Status != f.Status) {
				continue
			}
			all = append(all, actionDetail(e, r))
		}
	}
	start := 0
	if nextToken != "" {
		n, err := strconv.Atoi(nextToken)
		if err != nil || n < 0 || n > len(all) {
			return nil, errs.Of(errs.Validation, KindNextToken, "invalid nextToken")
		}
		start = n
	}
	if maxResults <= 0 || maxResults > 100 {
		maxResults = 100
	}
	end := min(start+maxResults, len(all))
	out := &ListActionExecutionsOutput{ActionExecutionDetails: append([]ActionExecutionDetail{}, all[start:end]...)}
	if end < len(all) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

func actionDetail(e *engine.Execution, r *engine.ActionRun) ActionExecutionDetail {
	decl := e.Pipeline.Stages[r.StageIndex].Actions[r.ActionIndex]
	in := &ActionExecutionInput{
		ActionTypeID: r.Type, Configuration: decl.Configuration, ResolvedConfiguration: r.Configuration,
		RoleArn: decl.RoleArn, Region: decl.Region, InputArtifacts: []ArtifactDetail{}, Namespace: r.Namespace,
	}
	for _, a := range r.InputArtifacts {
		in.InputArtifacts = append(in.InputArtifacts, ArtifactDetail{Name: a.Name, S3Location: &S3Location{Bucket: a.Bucket, Key: a.Key}})
	}
	out := &ActionExecutionOutput{OutputArtifacts: []ArtifactDetail{}, OutputVariables: r.OutputVariables}
	for _, a := range r.OutputArtifacts {
		out.OutputArtifacts = append(out.OutputArtifacts, ArtifactDetail{Name: a.Name, S3Location: &S3Location{Bucket: a.Bucket, Key: a.Key}})
	}
	if r.Status != engine.InProgress {
		out.ExecutionResult = &ActionExecutionResult{
			ExternalExecutionID: r.ExternalExecutionID, ExternalExecutionSummary: r.Summary, ExternalExecutionURL: r.ExternalExecutionURL,
		}
		if r.ErrorCode != "" || r.ErrorMessage != "" {
			out.ExecutionResult.ErrorDetails = &ErrorDetails{Code: r.ErrorCode, Message: r.ErrorMessage}
		}
	}
	return ActionExecutionDetail{
		PipelineExecutionID: e.ID, ActionExecutionID: r.ID, PipelineVersion: e.PipelineVersion,
		StageName: r.Stage, ActionName: r.Action, StartTime: ts(r.StartTime), LastUpdateTime: ts(r.LastUpdateTime),
		UpdatedBy: r.UpdatedBy, Status: string(r.Status), Input: in, Output: out,
	}
}

// ---- approvals ----

// PutApprovalResult approves or rejects a waiting manual approval.
func (s *Service) PutApprovalResult(ctx context.Context, name, stage, action, token, status, summary, by string) (time.Time, error) {
	rec, err := s.Store.GetPipeline(ctx, name, 0)
	if err != nil {
		return time.Time{}, pipelineNotFound(err, name)
	}
	if status != approval.Approved && status != approval.Rejected {
		return time.Time{}, errs.New(errs.Validation, "result.status must be Approved or Rejected, got %q", status)
	}
	if !hasStage(rec.Declaration, stage) {
		return time.Time{}, errs.Of(errs.NotFound, KindStage, "pipeline %q has no stage %q", name, stage)
	}
	if !hasAction(rec.Declaration, stage, action) {
		return time.Time{}, errs.Of(errs.NotFound, KindAction, "stage %q of pipeline %q has no action %q", stage, name, action)
	}
	recent, err := s.recentExecutions(ctx, name)
	if err != nil {
		return time.Time{}, err
	}
	for _, e := range recent {
		r, ok := e.RunByToken(token)
		if !ok || r.Stage != stage || r.Action != action || r.Type.Category != pipeline.CategoryApproval {
			continue
		}
		if r.Status != engine.InProgress {
			return time.Time{}, errs.Of(errs.InvalidState, KindApprovalAlreadyCompleted, "the approval %q was already completed (%s)", action, r.Status)
		}
		res := approval.Result(status, summary, by)
		if err := s.Runner.Complete(ctx, e.ID, r.ID, res); err != nil {
			if errs.Is(err, errs.InvalidState) {
				return time.Time{}, errs.Of(errs.InvalidState, KindApprovalAlreadyCompleted, "the approval %q was already completed", action)
			}
			return time.Time{}, err
		}
		return s.Now().UTC(), nil
	}
	return time.Time{}, errs.Of(errs.InvalidState, KindApprovalToken, "the approval token is not valid for action %q of stage %q", action, stage)
}

func hasStage(p pipeline.Pipeline, stage string) bool {
	for _, s := range p.Stages {
		if s.Name == stage {
			return true
		}
	}
	return false
}

func hasAction(p pipeline.Pipeline, stage, action string) bool {
	for _, s := range p.Stages {
		if s.Name == stage {
			for _, a := range s.Actions {
				if a.Name == action {
					return true
				}
			}
		}
	}
	return false
}

// ---- custom action types ----

// CreateCustomActionType registers a custom action type.
func (s *Service) CreateCustomActionType(ctx context.Context, in CustomActionTypeInput) (*ActionType, error) {
	id := pipeline.ActionTypeID{Category: in.Category, Owner: pipeline.OwnerCustom, Provider: in.Provider, Version: in.Version}
	at := &ActionType{ID: id, Settings: in.Settings, ActionConfigurationProperties: in.ConfigurationProperties,
		InputArtifactDetails: in.InputArtifactDetails, OutputArtifactDetails: in.OutputArtifactDetails}
	if problems := checkActionType(at); len(problems) > 0 {
		return nil, errs.Invalid("invalid custom action type", problems)
	}
	def, err := json.Marshal(at)
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateActionType(ctx, &store.CustomActionType{ID: id, Definition: def, Created: s.Now().UTC()}); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Of(errs.Conflict, KindActionType, "the action type %s exists already", id)
		}
		return nil, err
	}
	return at, nil
}

func checkActionType(at *ActionType) []errs.Problem {
	var p []errs.Problem
	for _, prob := range pipeline.Validate(&pipeline.Pipeline{Name: "x", Stages: []pipeline.Stage{{Name: "x", Actions: []pipeline.Action{{Name: "x", ActionTypeID: at.ID}}}}}) {
		if field, ok := strings.CutPrefix(prob.Path, "stages[0].actions[0].actionTypeId."); ok && field != "" {
			p = append(p, errs.Problem{Path: field, Message: prob.Message})
		}
	}
	for _, d := range []struct {
		path string
		ad   ArtifactDetails
	}{{"inputArtifactDetails", at.InputArtifactDetails}, {"outputArtifactDetails", at.OutputArtifactDetails}} {
		if d.ad.MinimumCount < 0 || d.ad.MinimumCount > 5 || d.ad.MaximumCount < 0 || d.ad.MaximumCount > 5 || d.ad.MinimumCount > d.ad.MaximumCount {
			p = append(p, errs.Problem{Path: d.path, Message: "minimumCount and maximumCount must be 0..5 with minimumCount ≤ maximumCount"})
		}
	}
	return p
}

// DeleteCustomActionType removes a custom action type.
func (s *Service) DeleteCustomActionType(ctx context.Context, category, provider, version string) error {
	err := s.Store.DeleteActionType(ctx, pipeline.ActionTypeID{Category: category, Owner: pipeline.OwnerCustom, Provider: provider, Version: version})
	if errs.Is(err, errs.NotFound) {
		return errs.Of(errs.NotFound, KindActionType, "no custom action type %s/%s/%s", category, provider, version)
	}
	return err
}

// builtinActionTypes are the AWS-owned types Stageflow runs locally.
var builtinActionTypes = []ActionType{
	{ID: pipeline.ActionTypeID{Category: "Compute", Owner: "AWS", Provider: "Commands", Version: "1"}, InputArtifactDetails: ArtifactDetails{0, 10}, OutputArtifactDetails: ArtifactDetails{0, 1}},
	{ID: pipeline.ActionTypeID{Category: "Build", Owner: "AWS", Provider: "CodeBuild", Version: "1"}, InputArtifactDetails: ArtifactDetails{1, 5}, OutputArtifactDetails: ArtifactDetails{0, 5}},
	{ID: pipeline.ActionTypeID{Category: "Test", Owner: "AWS", Provider: "CodeBuild", Version: "1"}, InputArtifactDetails: ArtifactDetails{1, 5}, OutputArtifactDetails: ArtifactDetails{0, 5}},
	{ID: pipeline.ActionTypeID{Category: "Approval", Owner: "AWS", Provider: "Manual", Version: "1"}, InputArtifactDetails: ArtifactDetails{0, 0}, OutputArtifactDetails: ArtifactDetails{0, 0}},
}

// ListActionTypes lists the built-in and custom action types.
func (s *Service) ListActionTypes(ctx context.Context, owner string) ([]ActionType, error) {
	var out []ActionType
	if owner == "" || owner == pipeline.OwnerAWS {
		out = append(out, builtinActionTypes...)
	}
	if owner == "" || owner == pipeline.OwnerCustom {
		types, err := s.Store.ListActionTypes(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range types {
			var at ActionType
			if err := json.Unmarshal(t.Definition, &at); err != nil {
				at = ActionType{ID: t.ID}
			}
			out = append(out, at)
		}
	}
	if out == nil {
		out = []ActionType{}
	}
	return out, nil
}

// ---- jobs ----

// PollForJobs hands out queued jobs of a custom action type.
func (s *Service) PollForJobs(ctx context.Context, typ pipeline.ActionTypeID, maxBatch int) ([]Job, error) {
	if !s.actionTypeExists(ctx, typ) {
		return nil, errs.Of(errs.NotFound, KindActionType, "no action type %s; create it with CreateCustomActionType", typ)
	}
	if maxBatch <= 0 {
		maxBatch = 1
	}
	jobs, err := s.Store.PollJobs(ctx, typ, maxBatch, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	out := []Job{}
	for _, j := range jobs {
		data, err := s.jobData(j)
		if err != nil {
			return nil, err
		}
		out = append(out, Job{ID: j.ID, Data: data, Nonce: j.Nonce, AccountID: s.Account})
	}
	return out, nil
}

func (s *Service) actionTypeExists(ctx context.Context, typ pipeline.ActionTypeID) bool {
	types, err := s.Store.ListActionTypes(ctx)
	if err != nil {
		return false
	}
	for _, t := range types {
		if t.ID == typ {
			return true
		}
	}
	return false
}

func (s *Service) jobData(j *store.Job) (JobData, error) {
	var d custom.JobData
	if err := json.Unmarshal(j.Data, &d); err != nil {
		return JobData{}, fmt.Errorf("job %s: %w", j.ID, err)
	}
	arts := func(refs []engine.ArtifactRef) []Artifact {
		out := []Artifact{}
		for _, r := range refs {
			out = append(out, Artifact{Name: r.Name, Location: ArtifactLocation{Type: "S3", S3Location: JobS3Location{BucketName: r.Bucket, ObjectKey: r.Key}}})
		}
		return out
	}
	return JobData{
		ActionTypeID:        j.ActionTypeID,
		ActionConfiguration: ActionConfiguration{Configuration: d.Configuration},
		PipelineContext: PipelineContext{
			PipelineName: j.PipelineName, Stage: StageContext{Name: d.Stage},
			Action:      ActionContext{Name: d.Action, ActionExecutionID: j.ActionRunID},
			PipelineArn: s.PipelineArn(j.PipelineName), PipelineExecutionID: j.ExecutionID,
		},
		InputArtifacts:  arts(d.InputArtifacts),
		OutputArtifacts: arts(d.OutputArtifacts),
		ArtifactCredentials: &AWSSessionCredentials{
			AccessKeyID: s.Artifacts.AccessKeyID, SecretAccessKey: s.Artifacts.SecretAccessKey, SessionToken: s.Artifacts.SessionToken,
		},
		ContinuationToken: j.ContinuationToken,
	}, nil
}

func (s *Service) job(ctx context.Context, id string) (*store.Job, error) {
	j, err := s.Store.GetJob(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Of(errs.NotFound, KindJob, "no job %q", id)
	}
	return j, err
}

// AcknowledgeJob confirms a worker took a job; it returns the job's status.
func (s *Service) AcknowledgeJob(ctx context.Context, id, nonce string) (string, error) {
	for {
		j, err := s.job(ctx, id)
		if err != nil {
			return "", err
		}
		if j.Nonce != nonce {
			return "", errs.Of(errs.Validation, KindNonce, "the nonce does not match job %q", id)
		}
		if j.Status != store.JobDispatched {
			return string(j.Status), nil
		}
		j.Status = store.JobInProgress
		j.Updated = s.Now().UTC()
		if err := s.Store.UpdateJob(ctx, j); errs.Is(err, errs.Conflict) {
			continue
		} else if err != nil {
			return "", err
		}
		return string(j.Status), nil
	}
}

// GetJobDetails returns a job's data.
func (s *Service) GetJobDetails(ctx context.Context, id string) (*JobDetails, error) {
	j, err := s.job(ctx, id)
	if err != nil {
		return nil, err
	}
	data, err := s.jobData(j)
	if err != nil {
		return nil, err
	}
	return &JobDetails{ID: j.ID, Data: data, AccountID: s.Account}, nil
}

// JobSuccess is PutJobSuccessResult's input.
type JobSuccess struct {
	OutputVariables     map[string]string
	ContinuationToken   string
	Summary             string
	ExternalExecutionID string
}

// PutJobSuccessResult ends a job successfully, or with a continuation token
// sends it back to the queue for another round of the same action.
func (s *Service) PutJobSuccessResult(ctx context.Context, id string, in JobSuccess) error {
	j, err := s.finishJob(ctx, id, func(j *store.Job) {
		if in.ContinuationToken != "" {
			// Another round of the same action: back to the queue with a
			// fresh nonce and a fresh deadline of the same length.
			if timeout := j.Deadline.Sub(j.Created); timeout > 0 {
				j.Deadline = s.Now().UTC().Add(timeout)
			}
			j.Status = store.JobQueued
			j.ContinuationToken = in.ContinuationToken
			j.Nonce = newNonce()
			return
		}
		j.Status = store.JobSucceeded
	})
	if err != nil || in.ContinuationToken != "" {
		return err
	}
	return s.Runner.Complete(ctx, j.ExecutionID, j.ActionRunID, engine.Result{
		Status: engine.Succeeded, Summary: in.Summary, OutputVariables: in.OutputVariables,
		ExternalExecutionID: in.ExternalExecutionID, UpdatedBy: "job worker",
	})
}

// PutJobFailureResult ends a job with a failure.
func (s *Service) PutJobFailureResult(ctx context.Context, id, failureType, message, externalID string) error {
	j, err := s.finishJob(ctx, id, func(j *store.Job) { j.Status = store.JobFailed })
	if err != nil {
		return err
	}
	return s.Runner.Complete(ctx, j.ExecutionID, j.ActionRunID, engine.Result{
		Status: engine.Failed, ErrorCode: failureType, ErrorMessage: message, ExternalExecutionID: externalID, UpdatedBy: "job worker",
	})
}

// finishJob applies a change to a job a worker holds (Dispatched or InProgress).
func (s *Service) finishJob(ctx context.Context, id string, change func(*store.Job)) (*store.Job, error) {
	for {
		j, err := s.job(ctx, id)
		if err != nil {
			return nil, err
		}
		if j.Status != store.JobDispatched && j.Status != store.JobInProgress {
			return nil, errs.Of(errs.InvalidState, KindJobState, "job %q is %s; only a job a worker holds can be completed", id, j.Status)
		}
		change(j)
		j.Updated = s.Now().UTC()
		if err := s.Store.UpdateJob(ctx, j); errs.Is(err, errs.Conflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		return j, nil
	}
}

// ExpireJobs times out jobs past their deadline and fails their actions. The
// server calls it periodically; it returns how many jobs it timed out.
func (s *Service) ExpireJobs(ctx context.Context) (int, error) {
	jobs, err := s.Store.ListExpiredJobs(ctx, s.Now().UTC())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		j.Status = store.JobTimedOut
		j.Updated = s.Now().UTC()
		if err := s.Store.UpdateJob(ctx, j); err != nil {
			continue // a worker finished it meanwhile
		}
		n++
		err := s.Runner.Complete(ctx, j.ExecutionID, j.ActionRunID, engine.Result{
			Status: engine.Failed, ErrorCode: engine.CodeTimedOut, ErrorMessage: "no job worker completed the job before its timeout",
		})
		if err != nil && !errs.Is(err, errs.InvalidState) {
			return n, err
		}
	}
	return n, nil
}

// ---- tags ----

// TagResource, UntagResource and ListTags act on a pipeline's tags by ARN.
func (s *Service) TagResource(ctx context.Context, arn string, tags []pipeline.Tag) error {
	if err := s.checkArn(ctx, arn); err != nil {
		return err
	}
	return s.Store.TagResource(ctx, arn, tags)
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	if err := s.checkArn(ctx, arn); err != nil {
		return err
	}
	return s.Store.UntagResource(ctx, arn, keys)
}

// ListTags lists a resource's tags.
func (s *Service) ListTags(ctx context.Context, arn string) ([]pipeline.Tag, error) {
	if err := s.checkArn(ctx, arn); err != nil {
		return nil, err
	}
	tags, err := s.Store.ListTags(ctx, arn)
	if tags == nil {
		tags = []pipeline.Tag{}
	}
	return tags, err
}

func (s *Service) checkArn(ctx context.Context, arn string) error {
	prefix := "arn:aws:codepipeline:" + s.Region + ":" + s.Account + ":"
	if len(arn) <= len(prefix) || arn[:len(prefix)] != prefix {
		return errs.Of(errs.NotFound, "Resource", "no resource %q (pipeline ARNs here start with %s)", arn, prefix)
	}
	if _, err := s.Store.GetPipeline(ctx, arn[len(prefix):], 0); err != nil {
		if errs.Is(err, errs.NotFound) {
			return errs.Of(errs.NotFound, "Resource", "no resource %q", arn)
		}
		return err
	}
	return nil
}

func newNonce() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
