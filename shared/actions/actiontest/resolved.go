package actiontest

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// ResolvedJob builds the job of a one-action pipeline the way the runner
// does: the pipeline declares the given pipeline variables (with these
// values as defaults) and the engine resolves the action's references
// (engine.New and engine.Advance), so the job's Run is what a provider
// really gets. The action must have no input artifacts.
func (h *Harness) ResolvedJob(t *testing.T, a pipeline.Action, vars map[string]string, log io.Writer) *actions.Job {
	t.Helper()
	p := pipeline.Pipeline{Name: "P", Stages: []pipeline.Stage{{Name: "Build", Actions: []pipeline.Action{a}}}}
	for name, v := range vars {
		p.Variables = append(p.Variables, pipeline.VariableDeclaration{Name: name, DefaultValue: &v})
	}
	now := time.Unix(1_700_000_000, 0)
	e, err := engine.New("e1", "P", 1, p, nil, engine.Trigger{Type: "StartPipelineExecution"}, now)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	d := engine.Advance(e, engine.Env{
		Now:            func() time.Time { return now },
		NewID:          func() string { n++; return "id-" + strconv.Itoa(n) },
		ArtifactBucket: Bucket,
	})
	if len(d.Wave) != 1 {
		t.Fatalf("the engine started %d runs, want 1: %+v", len(d.Wave), e.Actions)
	}
	job := h.Job(a, 0, log)
	run := d.Wave[0]
	run.OutputArtifacts = job.Run.OutputArtifacts
	job.Run = run
	return job
}
