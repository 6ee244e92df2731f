package engine

import (
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Trigger types of executions the engine starts.
const (
	TriggerManualRollback    = "ManualRollback"
	TriggerAutomatedRollback = "AutomatedRollback"
)

// NewRollback makes the record of an execution that rolls stage back to
// target, an execution in which the stage succeeded: it runs only that
// stage, with target's pipeline version, variables, source revisions and
// lane, resolving its inputs against the succeeded runs of target's earlier
// stages (Inherited).
func NewRollback(id string, target *Execution, stage string, trig Trigger, now time.Time) (*Execution, error) {
	si, ok := target.stageIndex(stage)
	if !ok {
		return nil, errs.Of(errs.NotFound, errs.KindStage, "execution %s has no stage %q", target.ID, stage)
	}
	if target.Stages[si].Status != Succeeded {
		return nil, errs.Of(errs.InvalidState, errs.KindUnableToRollback, "stage %q did not succeed in execution %s", stage, target.ID)
	}
	now = now.UTC()
	e := &Execution{
		ID: id, PipelineName: target.PipelineName, PipelineVersion: target.PipelineVersion, Pipeline: target.Pipeline,
		Status: InProgress, Trigger: trig, Variables: target.Variables, SourceRevisions: target.SourceRevisions,
		StartTime: now, LastUpdateTime: now, Lane: target.Lane,
		Rollback: &Rollback{Stage: stage, Target: target.ID},
	}
	for _, s := range target.Pipeline.Stages {
		e.Stages = append(e.Stages, StageState{Name: s.Name})
	}
	inherited := target.Inherited
	for _, r := range target.Actions {
		if r.StageIndex < si && r.Status == Succeeded {
			r.CallbackToken = ""
			inherited = append(inherited[:len(inherited):len(inherited)], r)
		}
	}
	e.Inherited = inherited
	return e, nil
}

// wantRollback marks the failure of stage si for an automated rollback when
// the stage asks for one on failure (onFailure result ROLLBACK, without
// conditions, which Stageflow does not evaluate) or byCondition (an
// onSuccess condition with result ROLLBACK failed). A rollback execution
// is never rolled back itself, as its target would be a rollback.
func (e *Execution) wantRollback(si int, byCondition bool) {
	if e.Rollback != nil {
		return
	}
	f := e.Pipeline.Stages[si].OnFailure
	if byCondition || (f != nil && f.Result == pipeline.ResultRollback && len(f.Conditions) == 0) {
		e.AutoRollback = e.Stages[si].Name
	}
}
