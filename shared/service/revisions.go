package service

import (
	"fmt"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// Revisions: what source actions (and any action whose job worker reports
// one) worked on, and the revisions an execution is asked to start from.
//
// As CodePipeline fills them: a run's reported revision (PutJobSuccessResult's
// currentRevision) is its action's currentRevision in GetPipelineState; the
// revisions of the source actions (category Source) make an execution's
// artifactRevisions (one per output artifact of each source action) and its
// summary's sourceRevisions (one per source action), in declaration order.
// Until a source action has reported a revision, the sourceRevisions row of
// an action given an override at start shows the override's value.

// checkSourceRevisionShapes applies the API's constraints to
// StartPipelineExecution's sourceRevisions (the doors check them on the
// wire already) and refuses a revision type given twice for one action.
func checkSourceRevisionShapes(list []engine.SourceRevision) []errs.Problem {
	var problems []errs.Problem
	if n := len(list); n > 0 {
		if msg := apispec.MustLookup("SourceRevisionOverrideList").CheckCount(n); msg != "" {
			problems = append(problems, errs.Problem{Path: "sourceRevisions", Message: msg})
		}
	}
	seen := map[engine.SourceRevision]int{}
	for i, sr := range list {
		at := fmt.Sprintf("sourceRevisions[%d]", i)
		for _, c := range []struct{ member, shape, value string }{
			{"actionName", "ActionName", sr.Action},
			{"revisionType", "SourceRevisionType", sr.Type},
			{"revisionValue", "Revision", sr.Value},
		} {
			if msg := apispec.MustLookup(c.shape).CheckString(c.value); msg != "" {
				problems = append(problems, errs.Problem{Path: at + "." + c.member, Message: msg})
			}
		}
		key := engine.SourceRevision{Action: sr.Action, Type: sr.Type}
		if j, dup := seen[key]; dup {
			problems = append(problems, errs.Problem{Path: at + ".revisionType", Message: fmt.Sprintf(
				"action %q is given a %s revision already in sourceRevisions[%d]", apispec.Truncate(sr.Action, 100), sr.Type, j)})
			continue
		}
		seen[key] = i
	}
	return problems
}

// checkSourceRevisionActions refuses an override whose actionName is not a
// source action of the pipeline version about to run.
func checkSourceRevisionActions(p *pipeline.Pipeline, list []engine.SourceRevision) error {
	var problems []errs.Problem
	var sources []string
	for si := range p.Stages {
		for _, a := range p.Stages[si].Actions {
			if a.ActionTypeID.Category == pipeline.CategorySource {
				sources = append(sources, a.Name)
			}
		}
	}
	for i, sr := range list {
		category, found := "", false
		for si := range p.Stages {
			for _, a := range p.Stages[si].Actions {
				if a.Name == sr.Action && (!found || a.ActionTypeID.Category == pipeline.CategorySource) {
					category, found = a.ActionTypeID.Category, true
				}
			}
		}
		at := fmt.Sprintf("sourceRevisions[%d].actionName", i)
		switch {
		case !found:
			problems = append(problems, errs.Problem{Path: at, Message: fmt.Sprintf("the pipeline has no action named %q%s", sr.Action, strictjson.Suggest(sr.Action, sources))})
		case category != pipeline.CategorySource:
			problems = append(problems, errs.Problem{Path: at, Message: fmt.Sprintf(
				"action %q is a %s action; source revisions can be given only for source actions", sr.Action, category)})
		}
	}
	if len(problems) > 0 {
		return errs.Invalid("invalid start", problems)
	}
	return nil
}

// checkCurrentRevision applies the API's constraints to a reported revision.
func checkCurrentRevision(rev *engine.Revision) error {
	if rev == nil {
		return nil
	}
	var problems []errs.Problem
	for _, c := range []struct{ member, shape, value string }{
		{"currentRevision.revision", "Revision", rev.ID},
		{"currentRevision.changeIdentifier", "RevisionChangeIdentifier", rev.ChangeIdentifier},
	} {
		if msg := apispec.MustLookup(c.shape).CheckString(c.value); msg != "" {
			problems = append(problems, errs.Problem{Path: c.member, Message: msg})
		}
	}
	if rev.Summary != "" {
		if msg := apispec.MustLookup("RevisionSummary").CheckString(rev.Summary); msg != "" {
			problems = append(problems, errs.Problem{Path: "currentRevision.revisionSummary", Message: msg})
		}
	}
	if len(problems) > 0 {
		return errs.Invalid("invalid current revision", problems)
	}
	return nil
}

// sourceActions calls fn with each source action of the execution's
// pipeline, in declaration order, and its latest run that reported a
// revision (nil if none did).
func sourceActions(e *engine.Execution, fn func(a *pipeline.Action, r *engine.ActionRun)) {
	for si := range e.Pipeline.Stages {
		st := &e.Pipeline.Stages[si]
		for ai := range st.Actions {
			if a := &st.Actions[ai]; a.ActionTypeID.Category == pipeline.CategorySource {
				fn(a, latestReported(e, st.Name, a.Name))
			}
		}
	}
}

// latestReported returns the latest run of the action that reported a
// revision, or nil.
func latestReported(e *engine.Execution, stage, action string) *engine.ActionRun {
	var found *engine.ActionRun
	for i := range e.Actions {
		r := &e.Actions[i]
		if r.Stage == stage && r.Action == action && r.CurrentRevision != nil && (found == nil || r.Attempt > found.Attempt) {
			found = r
		}
	}
	return found
}

// revisionCreated is when a reported revision was made: as reported, else
// when the run that reported it ended.
func revisionCreated(r *engine.ActionRun) *Timestamp {
	if t := r.CurrentRevision.Created; !t.IsZero() {
		return ts(t)
	}
	return ts(r.EndTime)
}

// artifactRevisions lists the revisions of an execution's source artifacts
// (GetPipelineExecution).
func artifactRevisions(e *engine.Execution) []ArtifactRevision {
	out := []ArtifactRevision{}
	sourceActions(e, func(_ *pipeline.Action, r *engine.ActionRun) {
		if r == nil {
			return
		}
		rev := r.CurrentRevision
		for _, a := range r.OutputArtifacts {
			out = append(out, ArtifactRevision{
				Name: a.Name, RevisionID: rev.ID, RevisionChangeIdentifier: rev.ChangeIdentifier,
				RevisionSummary: rev.Summary, Created: revisionCreated(r),
			})
		}
	})
	return out
}

// sourceRevisions lists the revisions an execution's source actions run on
// (ListPipelineExecutions): reported, else asked for at start.
func sourceRevisions(e *engine.Execution) []SourceRevision {
	out := []SourceRevision{}
	sourceActions(e, func(a *pipeline.Action, r *engine.ActionRun) {
		if r != nil {
			out = append(out, SourceRevision{ActionName: a.Name, RevisionID: r.CurrentRevision.ID, RevisionSummary: r.CurrentRevision.Summary})
			return
		}
		if v := overrideOf(e.SourceRevisions, a.Name); v != "" {
			out = append(out, SourceRevision{ActionName: a.Name, RevisionID: v})
		}
	})
	return out
}

// overrideOf is the revision asked for the action at start: its value, the
// object version of an S3 source given both a key and a version.
func overrideOf(list []engine.SourceRevision, action string) string {
	v := ""
	for _, sr := range list {
		if sr.Action == action && (v == "" || sr.Type != "S3_OBJECT_KEY") {
			v = sr.Value
		}
	}
	return v
}

// actionRevision is an action's currentRevision in GetPipelineState.
func actionRevision(e *engine.Execution, stage, action string) *ActionRevision {
	r := latestReported(e, stage, action)
	if r == nil {
		return nil
	}
	return &ActionRevision{RevisionID: r.CurrentRevision.ID, RevisionChangeID: r.CurrentRevision.ChangeIdentifier, Created: revisionCreated(r)}
}
