package service

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// StartInput asks for a new execution of the latest version of a pipeline.
type StartInput struct {
	PipelineName       string
	Variables          map[string]string
	ClientRequestToken string
	// SourceRevisions ask source actions of the pipeline to run on given
	// revisions; each must name a source action.
	SourceRevisions []engine.SourceRevision
	// TriggerType defaults to StartPipelineExecution; TriggerDetail to the
	// caller's principal.
	TriggerType, TriggerDetail string
}

// StartExecution creates an execution of the latest version of a pipeline
// and has the driver begin it. With a ClientRequestToken that an execution
// of this pipeline already used, it returns that execution and starts
// nothing. This is the one place where executions start, for every door,
// `stageflow run`, `serve --start` and the first execution of a new
// pipeline (which goes straight to start: CreatePipeline was authorized).
func (s *Service) StartExecution(ctx context.Context, in StartInput) (*engine.Execution, error) {
	if err := s.authorize(ctx, OpStartPipelineExecution, s.PipelineArn(in.PipelineName)); err != nil {
		return nil, err
	}
	return s.start(ctx, in)
}

// start is StartExecution once authorized.
func (s *Service) start(ctx context.Context, in StartInput) (*engine.Execution, error) {
	if err := checkStartInput(in); err != nil {
		return nil, err
	}
	p, err := s.store.GetPipeline(ctx, in.PipelineName, 0)
	if err != nil {
		return nil, pipelineNotFound(err, in.PipelineName)
	}
	if err := checkSourceRevisionActions(&p.Declaration, in.SourceRevisions); err != nil {
		return nil, err
	}
	trig := engine.Trigger{Type: in.TriggerType, Detail: in.TriggerDetail}
	if trig.Type == "" {
		trig.Type = "StartPipelineExecution"
	}
	if trig.Detail == "" {
		trig.Detail = CallerFrom(ctx).Principal
	}
	e, err := engine.New(s.newID(), p.Name, p.Version, p.Declaration, in.Variables, trig, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.checkWaitingRoom(ctx, p.Name); err != nil {
		return nil, err
	}
	e.ClientRequestToken = in.ClientRequestToken
	e.SourceRevisions = slices.Clone(in.SourceRevisions)
	stored, created, err := s.store.CreateExecution(ctx, e)
	if err != nil {
		return nil, err
	}
	if !created {
		// The token names one request: the same parameters again are the
		// same execution; different ones are refused, not silently answered
		// with the first execution.
		var differ []string
		if !maps.Equal(stored.Variables, e.Variables) {
			differ = append(differ, "variables")
		}
		if !slices.Equal(stored.SourceRevisions, e.SourceRevisions) {
			differ = append(differ, "sourceRevisions")
		}
		if len(differ) > 0 {
			return nil, errs.Invalid("invalid start", []errs.Problem{{Path: "clientRequestToken", Message: fmt.Sprintf(
				"client request token %q was used by execution %s with other parameters (%s)", in.ClientRequestToken, stored.ID, strings.Join(differ, ", "))}})
		}
		return stored, nil
	}
	if err := s.driver.Begin(ctx, stored.ID); err != nil {
		return nil, err
	}
	return stored, nil
}

// checkStartInput applies the API's constraints to what every caller of
// StartExecution gives — the doors check them on the wire already; this
// holds `stageflow run --var` and `serve --start` to the same rules.
func checkStartInput(in StartInput) error {
	var problems []errs.Problem
	if in.ClientRequestToken != "" {
		if msg := apispec.MustLookup("ClientRequestToken").CheckString(in.ClientRequestToken); msg != "" {
			problems = append(problems, errs.Problem{Path: "clientRequestToken", Message: msg})
		}
	}
	if n := len(in.Variables); n > 0 {
		if msg := apispec.MustLookup("PipelineVariableList").CheckCount(n); msg != "" {
			problems = append(problems, errs.Problem{Path: "variables", Message: msg})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(in.Variables)) {
		if msg := apispec.MustLookup("PipelineVariableName").CheckString(k); msg != "" {
			problems = append(problems, errs.Problem{Path: "variables", Message: fmt.Sprintf("name %q: %s", apispec.Truncate(k, 60), msg)})
		}
		if msg := apispec.MustLookup("PipelineVariableValue").CheckString(in.Variables[k]); msg != "" {
			problems = append(problems, errs.Problem{Path: "variables." + k, Message: msg})
		}
	}
	problems = append(problems, checkSourceRevisionShapes(in.SourceRevisions)...)
	if len(problems) > 0 {
		return errs.Invalid("invalid start", problems)
	}
	return nil
}

// execution loads an execution of the named pipeline.
func (s *Service) execution(ctx context.Context, name, id string) (*engine.Execution, error) {
	e, err := s.store.GetExecution(ctx, id)
	if err == nil && e.PipelineName != name {
		err = errs.New(errs.NotFound, "")
	}
	if errs.Is(err, errs.NotFound) {
		if _, perr := s.store.GetPipeline(ctx, name, 0); errs.Is(perr, errs.NotFound) {
			return nil, errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %q does not exist", name)
		}
		return nil, errs.Of(errs.NotFound, errs.KindPipelineExecution, "pipeline %q has no execution %q", name, id)
	}
	return e, err
}

// StopExecution stops an execution.
func (s *Service) StopExecution(ctx context.Context, name, id string, abandon bool, reason string) error {
	if err := s.authorize(ctx, OpStopPipelineExecution, s.PipelineArn(name)); err != nil {
		return err
	}
	if _, err := s.execution(ctx, name, id); err != nil {
		return err
	}
	return s.driver.Stop(ctx, id, abandon, reason, CallerFrom(ctx).Principal)
}

// GetExecution returns an execution as GetPipelineExecution shows it.
func (s *Service) GetExecution(ctx context.Context, name, id string) (*PipelineExecution, error) {
	if err := s.authorize(ctx, OpGetPipelineExecution, s.PipelineArn(name)); err != nil {
		return nil, err
	}
	e, err := s.execution(ctx, name, id)
	if err != nil {
		return nil, err
	}
	out := &PipelineExecution{
		PipelineName: e.PipelineName, PipelineVersion: e.PipelineVersion, PipelineExecutionID: e.ID,
		Status: string(e.Status), StatusSummary: e.StatusSummary, ArtifactRevisions: artifactRevisions(e),
		Trigger:       &ExecutionTrigger{TriggerType: e.Trigger.Type, TriggerDetail: e.Trigger.Detail},
		ExecutionMode: e.Pipeline.EffectiveExecutionMode(), ExecutionType: executionType(e.Rollback),
		RollbackMetadata: rollbackMetadata(e.Rollback),
	}
	for _, k := range slices.Sorted(maps.Keys(e.Variables)) {
		out.Variables = append(out.Variables, ResolvedPipelineVariable{Name: k, ResolvedValue: e.Variables[k]})
	}
	return out, nil
}

// Execution returns the whole execution record (REST and the console show it).
func (s *Service) Execution(ctx context.Context, name, id string) (*engine.Execution, error) {
	if err := s.authorize(ctx, OpGetExecutionRecord, s.PipelineArn(name)); err != nil {
		return nil, err
	}
	e, err := s.execution(ctx, name, id)
	if err != nil {
		return nil, err
	}
	return s.maskedExecution(ctx, e.WithoutDriverTokens())
}

// ListExecutions lists a pipeline's executions, newest first, as
// ListPipelineExecutions shows them (every lane, no lane shown).
func (s *Service) ListExecutions(ctx context.Context, name string, status engine.Status, maxResults int, nextToken string) (*ListPipelineExecutionsOutput, error) {
	page, err := s.listExecutions(ctx, ListExecutionsQuery{PipelineName: name, Status: status, MaxResults: maxResults, NextToken: nextToken}, false)
	if err != nil {
		return nil, err
	}
	out := &ListPipelineExecutionsOutput{PipelineExecutionSummaries: make([]PipelineExecutionSummary, 0, len(page.PipelineExecutionSummaries)), NextToken: page.NextToken}
	for _, r := range page.PipelineExecutionSummaries {
		out.PipelineExecutionSummaries = append(out.PipelineExecutionSummaries, r.PipelineExecutionSummary)
	}
	return out, nil
}

// ListExecutionsIn lists a pipeline's executions, newest first, of q's
// status and lane, each summary naming its lane (Stageflow's own field).
// With a lane, a page may hold fewer than MaxResults executions, none even,
// and still have a NextToken: one call reads at most laneListReads pages of
// the store.
func (s *Service) ListExecutionsIn(ctx context.Context, q ListExecutionsQuery) (*ListExecutionsInOutput, error) {
	return s.listExecutions(ctx, q, true)
}

// listExecutions is both listings; withLanes names each row's lane.
func (s *Service) listExecutions(ctx context.Context, q ListExecutionsQuery, withLanes bool) (*ListExecutionsInOutput, error) {
	name := q.PipelineName
	if err := s.authorize(ctx, OpListPipelineExecutions, s.PipelineArn(name)); err != nil {
		return nil, err
	}
	if err := checkLane(q.Lane); err != nil {
		return nil, err
	}
	if _, err := s.store.GetPipeline(ctx, name, 0); err != nil {
		return nil, pipelineNotFound(err, name)
	}
	filter := store.ExecutionFilter{PipelineName: name, Status: q.Status}
	want := q.MaxResults
	if want <= 0 && q.Lane != nil {
		want = defaultListPage
	}
	lanes := s.newLaneReader(name)
	out := &ListExecutionsInOutput{PipelineExecutionSummaries: []LanedExecutionSummary{}}
	token := q.NextToken
	for reads := 0; ; {
		// Each read asks for what the page still lacks, so that the next
		// token never skips a row that was read and left out.
		rows, next, err := s.store.ListExecutions(ctx, filter, store.Page{Token: token, Limit: want - len(out.PipelineExecutionSummaries)})
		if err != nil {
			return nil, tokenError(err)
		}
		reads++
		token = next
		for _, r := range rows {
			sum, lane, err := s.executionSummary(ctx, r, lanes, withLanes || q.Lane != nil)
			if err != nil {
				return nil, err
			}
			if q.Lane != nil && lane != *q.Lane {
				continue
			}
			row := LanedExecutionSummary{PipelineExecutionSummary: sum}
			if withLanes {
				row.Lane = lane
			}
			out.PipelineExecutionSummaries = append(out.PipelineExecutionSummaries, row)
		}
		if q.Lane == nil || token == "" || len(out.PipelineExecutionSummaries) >= want || reads >= laneListReads {
			break
		}
	}
	out.NextToken = token
	return out, nil
}

// executionSummary is a list row as ListPipelineExecutions shows it and,
// when withLane, the execution's lane.
func (s *Service) executionSummary(ctx context.Context, r store.ExecutionSummary, lanes *laneReader, withLane bool) (PipelineExecutionSummary, string, error) {
	sum := PipelineExecutionSummary{
		PipelineExecutionID: r.ID, Status: string(r.Status), StatusSummary: r.StatusSummary,
		StartTime: ts(r.StartTime), LastUpdateTime: ts(r.LastUpdateTime), SourceRevisions: []SourceRevision{},
		Trigger: &ExecutionTrigger{TriggerType: r.Trigger.Type, TriggerDetail: r.Trigger.Detail}, ExecutionType: "STANDARD",
	}
	l, fromRecord := r.Listing, false
	if l == nil { // a row written before stores kept it: the record has it
		e, err := s.store.GetExecution(ctx, r.ID)
		switch {
		case err == nil:
			l, fromRecord = store.ListingOf(e), true
		case !errs.Is(err, errs.NotFound): // NotFound: deleted meanwhile; the row as listed
			return sum, "", err
		}
	}
	lane := ""
	if l != nil {
		sum.SourceRevisions = sourceRevisions(l.SourceRevisions)
		sum.ExecutionMode = l.ExecutionMode
		if l.Stop != nil && !l.Stop.Cancel {
			sum.StopTrigger = &StopExecutionTrigger{Reason: l.Stop.Reason}
		}
		sum.ExecutionType, sum.RollbackMetadata = executionType(l.Rollback), rollbackMetadata(l.Rollback)
		lane = l.Lane
	}
	if withLane && l != nil && lane == "" && !fromRecord {
		var err error
		if lane, err = lanes.laneOf(ctx, r); err != nil {
			return sum, "", err
		}
	}
	return sum, lane, nil
}

// executionType is STANDARD, or ROLLBACK for a rollback's execution.
func executionType(r *engine.Rollback) string {
	if r != nil {
		return "ROLLBACK"
	}
	return "STANDARD"
}

func rollbackMetadata(r *engine.Rollback) *RollbackMetadata {
	if r == nil {
		return nil
	}
	return &RollbackMetadata{RollbackTargetPipelineExecutionID: r.Target}
}

// GetPipelineState shows, for each stage of the latest version, the latest
// execution that reached it and its actions' latest runs.
func (s *Service) GetPipelineState(ctx context.Context, name string) (*GetPipelineStateOutput, error) {
	return s.GetPipelineStateIn(ctx, name, nil)
}

// GetPipelineStateIn is GetPipelineState of one lane (nil: every lane, as
// GetPipelineState): each stage's latest execution of that lane, and the
// lane's executions waiting to enter it. Transitions are pipeline-wide, the
// same in every lane.
func (s *Service) GetPipelineStateIn(ctx context.Context, name string, lane *string) (*GetPipelineStateOutput, error) {
	if err := s.authorize(ctx, OpGetPipelineState, s.PipelineArn(name)); err != nil {
		return nil, err
	}
	if err := checkLane(lane); err != nil {
		return nil, err
	}
	rec, err := s.store.GetPipeline(ctx, name, 0)
	if err != nil {
		return nil, pipelineNotFound(err, name)
	}
	// The latest execution that reached each stage, however far back it is
	// (as far as an execution that may have reached one: stageHorizon).
	latestOf := map[string]*engine.Execution{}
	missing := map[string]bool{}
	for _, st := range rec.Declaration.Stages {
		missing[st.Name] = true
	}
	horizon := newStageHorizon(s, name)
	err = s.eachExecution(ctx, store.ExecutionFilter{PipelineName: name}, func(e *engine.Execution) bool {
		if lane == nil || e.Lane == *lane {
			for _, st := range rec.Declaration.Stages {
				if latestOf[st.Name] == nil && stageStatus(e, st.Name) != "" {
					latestOf[st.Name] = e
					delete(missing, st.Name)
				}
			}
		}
		return !horizon.over(ctx, e, missing)
	})
	if err != nil {
		return nil, err
	}
	locks, err := s.store.GetPipelineLocks(ctx, name)
	if err != nil {
		return nil, err
	}
	out := &GetPipelineStateOutput{PipelineName: name, PipelineVersion: rec.Version, StageStates: []StageState{},
		Created: ts(rec.Created), Updated: ts(rec.Updated)}
	for _, st := range rec.Declaration.Stages {
		ss := StageState{StageName: st.Name, InboundTransitionState: &TransitionState{Enabled: true}, ActionStates: []ActionState{}}
		if t := locks.Transitions[st.Name]; t != nil {
			ss.InboundTransitionState = &TransitionState{Enabled: false, LastChangedBy: t.By, LastChangedAt: ts(t.At), DisabledReason: t.Reason}
		}
		waiting := locks.WaitingFor(st.Name)
		if lane != nil {
			waiting = locks.WaitingIn(*lane, st.Name)
		}
		for _, w := range waiting {
			ss.InboundExecutions = append(ss.InboundExecutions, StageExecution{PipelineExecutionID: w.ExecutionID, Status: string(engine.InProgress), Type: "STANDARD"})
		}
		if len(ss.InboundExecutions) > 0 {
			ss.InboundExecution = &ss.InboundExecutions[0]
		}
		latest := latestOf[st.Name]
		if latest != nil {
			ss.LatestExecution = &StageExecution{PipelineExecutionID: latest.ID, Status: string(stageStatus(latest, st.Name)), Type: executionType(latest.Rollback)}
			ss.RetryStageMetadata = retryMetadata(latest, st.Name)
			ss.BeforeEntryConditionState = conditionState(latestConditionRun(latest, st.Name, engine.ConditionBeforeEntry))
			ss.OnSuccessConditionState = conditionState(latestConditionRun(latest, st.Name, engine.ConditionOnSuccess))
		}
		for _, a := range st.Actions {
			as := ActionState{ActionName: a.Name}
			if latest != nil {
				if r, ok := latest.LatestRun(st.Name, a.Name); ok {
					as.LatestExecution = actionExecution(r)
				}
				as.CurrentRevision = actionRevision(latest, st.Name, a.Name)
			}
			ss.ActionStates = append(ss.ActionStates, as)
		}
		out.StageStates = append(out.StageStates, ss)
	}
	return out, nil
}

// retryMetadata is a stage's retries in an execution (nil: none).
func retryMetadata(e *engine.Execution, stage string) *RetryStageMetadata {
	for _, st := range e.Stages {
		if st.Name == stage && st.LatestRetryTrigger != "" {
			return &RetryStageMetadata{AutoStageRetryAttempt: st.AutoRetries, ManualStageRetryAttempt: st.ManualRetries, LatestRetryTrigger: st.LatestRetryTrigger}
		}
	}
	return nil
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

// actionDetail is an action run as ListActionExecutions shows it, the
// values of secret configuration properties masked.
func actionDetail(e *engine.Execution, r *engine.ActionRun, sp secretProps) ActionExecutionDetail {
	decl := e.Pipeline.Stages[r.StageIndex].Actions[r.ActionIndex]
	declared, _ := sp.maskConfig(decl.ActionTypeID, decl.Configuration)
	resolved, _ := sp.maskConfig(r.Type, r.Configuration)
	in := &ActionExecutionInput{
		ActionTypeID: r.Type, Configuration: declared, ResolvedConfiguration: resolved,
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

// Bounds of a pipeline's stage locks record (engine.PipelineLocks), which
// holds every execution waiting for a stage and must fit in one stored item
// (DynamoDB: 400 KB): a start that would grow it past them is refused.
const (
	DefaultMaxWaitingExecutions = 1000
	maxLocksRecordBytes         = 256 << 10
)

// checkWaitingRoom refuses a start when the pipeline's executions waiting
// for a stage already fill its stage locks record.
func (s *Service) checkWaitingRoom(ctx context.Context, name string) error {
	l, err := s.store.GetPipelineLocks(ctx, name)
	if err != nil {
		return err
	}
	n := 0
	for _, ln := range l.Lanes {
		for _, st := range ln.Stages {
			n += len(st.Waiting)
		}
	}
	size := 0
	if n > 0 {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		size = len(b)
	}
	if n >= s.maxWaiting || size >= maxLocksRecordBytes {
		return errs.Of(errs.LimitExceeded, errs.KindConcurrentExecutionLimit,
			"pipeline %q has %d executions waiting for a stage, the most Stageflow keeps (%d, or %d KB of stage locks): start again once some have gone on, or stop some", name, n, s.maxWaiting, maxLocksRecordBytes>>10)
	}
	return nil
}
