package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Stage conditions as the API shows them: the condition states of
// GetPipelineState and ListRuleExecutions.

// StageConditionState is a stage's beforeEntry or onSuccess condition in
// GetPipelineState: its latest evaluation and its rules'.
type StageConditionState struct {
	LatestExecution *StageConditionsExecution `json:"latestExecution,omitempty"`
	ConditionStates []ConditionState          `json:"conditionStates,omitempty"`
}

// StageConditionsExecution is the status of a stage's conditions.
type StageConditionsExecution struct {
	Status  string `json:"status,omitempty"`
	Summary string `json:"summary,omitempty"`
}

// ConditionState is one condition of a stage.
type ConditionState struct {
	LatestExecution *ConditionExecution `json:"latestExecution,omitempty"`
	RuleStates      []RuleState         `json:"ruleStates,omitempty"`
}

// ConditionExecution is the latest evaluation of one condition.
type ConditionExecution struct {
	Status           string     `json:"status,omitempty"`
	Summary          string     `json:"summary,omitempty"`
	LastStatusChange *Timestamp `json:"lastStatusChange,omitempty"`
}

// RuleState is one rule of a condition.
type RuleState struct {
	RuleName        string         `json:"ruleName,omitempty"`
	LatestExecution *RuleExecution `json:"latestExecution,omitempty"`
}

// RuleExecution is the latest run of a rule.
type RuleExecution struct {
	RuleExecutionID  string     `json:"ruleExecutionId,omitempty"`
	Status           string     `json:"status,omitempty"`
	Summary          string     `json:"summary,omitempty"`
	LastStatusChange *Timestamp `json:"lastStatusChange,omitempty"`
	LastUpdatedBy    string     `json:"lastUpdatedBy,omitempty"`
}

// conditionState is the state of the condition run cr (nil: none).
func conditionState(cr *engine.ConditionRun) *StageConditionState {
	if cr == nil {
		return nil
	}
	out := &StageConditionState{LatestExecution: &StageConditionsExecution{Status: string(cr.Status), Summary: cr.Summary}}
	byCondition := map[int]*ConditionState{}
	var order []int
	for _, rr := range cr.Rules {
		cs := byCondition[rr.Condition]
		if cs == nil {
			cs = &ConditionState{LatestExecution: &ConditionExecution{Status: string(cr.Status), Summary: cr.Summary, LastStatusChange: ts(cr.LastUpdateTime)}}
			byCondition[rr.Condition] = cs
			order = append(order, rr.Condition)
		}
		cs.RuleStates = append(cs.RuleStates, RuleState{RuleName: rr.Name, LatestExecution: &RuleExecution{
			RuleExecutionID: rr.ID, Status: ruleStatus(rr.Status), Summary: rr.Summary, LastStatusChange: ts(rr.LastUpdateTime), LastUpdatedBy: cr.OverriddenBy}})
	}
	for _, ci := range order {
		out.ConditionStates = append(out.ConditionStates, *byCondition[ci])
	}
	return out
}

// ruleStatus is a rule run's status in the API's RuleExecutionStatus.
func ruleStatus(s engine.Status) string {
	if s == engine.Overridden {
		return string(engine.Abandoned)
	}
	return string(s)
}

// latestConditionRun is the latest evaluation of kind of stage in e.
func latestConditionRun(e *engine.Execution, stage, kind string) *engine.ConditionRun {
	var out *engine.ConditionRun
	for i := range e.Conditions {
		if cr := &e.Conditions[i]; cr.Stage == stage && cr.Kind == kind {
			out = cr
		}
	}
	return out
}

// RuleExecutionDetail is a row of ListRuleExecutions.
type RuleExecutionDetail struct {
	PipelineExecutionID string               `json:"pipelineExecutionId"`
	RuleExecutionID     string               `json:"ruleExecutionId"`
	PipelineVersion     int                  `json:"pipelineVersion"`
	StageName           string               `json:"stageName"`
	RuleName            string               `json:"ruleName"`
	StartTime           *Timestamp           `json:"startTime,omitempty"`
	LastUpdateTime      *Timestamp           `json:"lastUpdateTime,omitempty"`
	UpdatedBy           string               `json:"updatedBy,omitempty"`
	Status              string               `json:"status"`
	Input               *RuleExecutionInput  `json:"input,omitempty"`
	Output              *RuleExecutionOutput `json:"output,omitempty"`
}

// RuleExecutionInput is what a rule ran with.
type RuleExecutionInput struct {
	RuleTypeID            pipeline.RuleTypeID `json:"ruleTypeId"`
	Configuration         map[string]string   `json:"configuration,omitempty"`
	ResolvedConfiguration map[string]string   `json:"resolvedConfiguration,omitempty"`
	Region                string              `json:"region,omitempty"`
}

// RuleExecutionOutput is how a rule ended.
type RuleExecutionOutput struct {
	ExecutionResult *RuleExecutionResult `json:"executionResult,omitempty"`
}

// RuleExecutionResult is a rule's result.
type RuleExecutionResult struct {
	ExternalExecutionID      string `json:"externalExecutionId,omitempty"`
	ExternalExecutionSummary string `json:"externalExecutionSummary,omitempty"`
}

// ListRuleExecutionsOutput is a page of rule executions, newest first.
type ListRuleExecutionsOutput struct {
	RuleExecutionDetails []RuleExecutionDetail `json:"ruleExecutionDetails"`
	NextToken            string                `json:"nextToken,omitempty"`
}

// ListRuleExecutions lists the rule runs of a pipeline's stage conditions,
// newest first: those of one execution (executionID), or of its whole
// history, a page at a time.
func (s *Service) ListRuleExecutions(ctx context.Context, name, executionID string, maxResults int, nextToken string) (*ListRuleExecutionsOutput, error) {
	if err := s.authorize(ctx, OpListRuleExecutions, s.PipelineArn(name)); err != nil {
		return nil, err
	}
	out := &ListRuleExecutionsOutput{RuleExecutionDetails: []RuleExecutionDetail{}}
	// The rules of an execution, in order: condition runs, then their rules.
	type rule struct {
		cr *engine.ConditionRun
		rr *engine.RuleRun
	}
	var of string
	var all []rule
	rulesOf := func(e *engine.Execution) []rule {
		if of != e.ID {
			of, all = e.ID, nil
			for i := range e.Conditions {
				for j := range e.Conditions[i].Rules {
					all = append(all, rule{&e.Conditions[i], &e.Conditions[i].Rules[j]})
				}
			}
		}
		return all
	}
	next, err := s.pageHistory(ctx, name, executionID, maxResults, nextToken,
		func(e *engine.Execution) (int, error) { return len(rulesOf(e)), nil },
		func(*engine.Execution, int) bool { return true },
		func(e *engine.Execution, i int) {
			r := rulesOf(e)[i]
			out.RuleExecutionDetails = append(out.RuleExecutionDetails, ruleDetail(e, r.cr, r.rr))
		})
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	return out, nil
}

func ruleDetail(e *engine.Execution, cr *engine.ConditionRun, rr *engine.RuleRun) RuleExecutionDetail {
	d := RuleExecutionDetail{
		PipelineExecutionID: e.ID, RuleExecutionID: rr.ID, PipelineVersion: e.PipelineVersion, StageName: cr.Stage, RuleName: rr.Name,
		StartTime: ts(rr.StartTime), LastUpdateTime: ts(rr.LastUpdateTime), UpdatedBy: cr.OverriddenBy, Status: ruleStatus(rr.Status),
		Input: &RuleExecutionInput{RuleTypeID: rr.Type,
			ResolvedConfiguration: rr.ResolvedConfiguration},
		Output: &RuleExecutionOutput{ExecutionResult: &RuleExecutionResult{ExternalExecutionID: rr.RunID, ExternalExecutionSummary: rr.Summary}},
	}
	if cr.StageIndex < len(e.Pipeline.Stages) {
		if decl := declaredRule(&e.Pipeline.Stages[cr.StageIndex], cr.Kind, rr.Condition, rr.Index); decl != nil {
			d.Input.Configuration, d.Input.Region = decl.Configuration, decl.Region
		}
	}
	return d
}

// declaredRule is the declaration of rule ri of condition ci of kind of a
// stage (nil if the snapshot has none there).
func declaredRule(st *pipeline.Stage, kind string, ci, ri int) *pipeline.Rule {
	var conds []pipeline.Condition
	switch {
	case kind == engine.ConditionBeforeEntry && st.BeforeEntry != nil:
		conds = st.BeforeEntry.Conditions
	case kind == engine.ConditionOnSuccess && st.OnSuccess != nil:
		conds = st.OnSuccess.Conditions
	}
	if ci < 0 || ci >= len(conds) || ri < 0 || ri >= len(conds[ci].Rules) {
		return nil
	}
	return &conds[ci].Rules[ri]
}
