package engine

import "github.com/stageflow/stageflow/shared/pipeline"

// Revisions as CodePipeline shows them: a run's reported revision is its
// action's currentRevision; the source actions' (category Source) make an
// execution's artifactRevisions and its list row's sourceRevisions. Until a
// source action has reported a revision, its row shows the revision asked
// for at start (StartPipelineExecution's sourceRevisions).

// ListedRevision is a row of an execution summary's sourceRevisions.
type ListedRevision struct {
	Action     string `json:"actionName"`
	RevisionID string `json:"revisionId,omitempty"`
	Summary    string `json:"revisionSummary,omitempty"`
}

// EachSourceAction calls fn with each source action of the execution's
// pipeline, in declaration order, and its latest run that reported a
// revision (nil if none did).
func (e *Execution) EachSourceAction(fn func(a *pipeline.Action, reported *ActionRun)) {
	for si := range e.Pipeline.Stages {
		st := &e.Pipeline.Stages[si]
		for ai := range st.Actions {
			if a := &st.Actions[ai]; a.ActionTypeID.Category == pipeline.CategorySource {
				fn(a, e.LatestReported(st.Name, a.Name))
			}
		}
	}
}

// LatestReported returns the latest run of the action that reported a
// revision, or nil.
func (e *Execution) LatestReported(stage, action string) *ActionRun {
	var found *ActionRun
	for i := range e.Actions {
		r := &e.Actions[i]
		if r.Stage == stage && r.Action == action && r.CurrentRevision != nil && (found == nil || r.Attempt > found.Attempt) {
			found = r
		}
	}
	return found
}

// RequestedRevision is the revision asked for the action at start: its
// value, the object version of an S3 source given both a key and a version;
// "" when none was.
func (e *Execution) RequestedRevision(action string) string {
	v := ""
	for _, sr := range e.SourceRevisions {
		if sr.Action == action && (v == "" || sr.Type != "S3_OBJECT_KEY") {
			v = sr.Value
		}
	}
	return v
}

// ListedSourceRevisions are the revisions the execution's source actions run
// on, one row per source action that has one: reported, else asked for.
func (e *Execution) ListedSourceRevisions() []ListedRevision {
	var out []ListedRevision
	e.EachSourceAction(func(a *pipeline.Action, r *ActionRun) {
		if r != nil {
			out = append(out, ListedRevision{Action: a.Name, RevisionID: r.CurrentRevision.ID, Summary: r.CurrentRevision.Summary})
			return
		}
		if v := e.RequestedRevision(a.Name); v != "" {
			out = append(out, ListedRevision{Action: a.Name, RevisionID: v})
		}
	})
	return out
}
