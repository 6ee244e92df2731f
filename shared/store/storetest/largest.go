package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// Largest is the shape of the largest pipeline CodePipeline allows, run with
// every stage retried: MaxActionsInPipeline actions in stages of
// MaxActionsPerStage (the most that run at once), each stage run
// LargestAttempts times (failing all but the last), so the execution ends
// with LargestAttempts × MaxActionsInPipeline action runs.
const (
	LargestStages   = pipeline.MaxActionsInPipeline / pipeline.MaxActionsPerStage
	LargestAttempts = 3
)

// largestConfigBytes is the configuration of one action of the largest
// declaration: together they make it close to pipeline.MaxDocumentBytes.
const largestConfigBytes = 1800

// LargestDeclaration returns a declaration of the largest pipeline: LargestStages
// stages of pipeline.MaxActionsPerStage actions, whose configuration values
// (at most 1000 characters each, as the API allows) are random hex, which
// compresses poorly, bringing the document close to pipeline.MaxDocumentBytes.
func LargestDeclaration(name string) pipeline.Pipeline {
	rng := rand.New(rand.NewPCG(1, 2))
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	p := declaration(name)
	for i := range LargestStages {
		st := pipeline.Stage{Name: fmt.Sprintf("Stage%02d", i)}
		for j := range pipeline.MaxActionsPerStage {
			st.Actions = append(st.Actions, pipeline.Action{
				Name:         fmt.Sprintf("Action%02d", j),
				ActionTypeID: pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Shell", Version: "1"},
				Configuration: map[string]string{
					"ProjectName": fmt.Sprintf("project-%02d-%02d", i, j),
					"Blob1":       hex(largestConfigBytes / 2),
					"Blob2":       hex(largestConfigBytes / 2),
				},
				OutputArtifacts: []pipeline.OutputArtifact{{Name: fmt.Sprintf("Out%02d%02d", i, j)}},
				Namespace:       fmt.Sprintf("NS%02d%02d", i, j),
			})
		}
		p.Stages = append(p.Stages, st)
	}
	return p
}

// RunLargest stores the largest pipeline and runs an execution of it through
// s as the engine does: for each stage and attempt, one update starts the
// stage's actions and one ends them. It reads the execution back after each
// stage and at the end, compares it with what was written, and returns it.
func RunLargest(t *testing.T, s store.Store, id string) *engine.Execution {
	t.Helper()
	ctx := t.Context()
	decl := LargestDeclaration("largest")
	if b, _ := json.Marshal(decl); len(b) > pipeline.MaxDocumentBytes {
		t.Fatalf("the largest declaration takes %d bytes, more than a document may (%d)", len(b), pipeline.MaxDocumentBytes)
	}
	p := &store.Pipeline{Name: "largest", Declaration: decl, Created: at(0), Updated: at(0)}
	must(t, s.CreatePipeline(ctx, p))
	gotP, err := s.GetPipeline(ctx, "largest", 0)
	must(t, err)
	deepEqual(t, "largest pipeline", gotP.Declaration, p.Declaration)

	e := &engine.Execution{
		ID: id, PipelineName: "largest", PipelineVersion: 1, Pipeline: p.Declaration,
		Status: engine.InProgress, Trigger: engine.Trigger{Type: "StartPipelineExecution"},
		StartTime: at(0), LastUpdateTime: at(0),
	}
	for _, st := range decl.Stages {
		e.Stages = append(e.Stages, engine.StageState{Name: st.Name})
	}
	createExecution(t, s, e)
	clock := at(0)
	tick := func() time.Time { clock = clock.Add(time.Second); return clock }
	for si, st := range decl.Stages {
		e.Stages[si].Status, e.Stages[si].StartTime = engine.InProgress, tick()
		for attempt := 1; attempt <= LargestAttempts; attempt++ {
			first := len(e.Actions)
			for ai, a := range st.Actions {
				e.Actions = append(e.Actions, engine.ActionRun{
					ID: fmt.Sprintf("%s-%d-%d-%d", id, si, ai, attempt), StageIndex: si, ActionIndex: ai,
					Stage: st.Name, Action: a.Name, RunOrder: 1, Attempt: attempt, Type: a.ActionTypeID,
					Namespace: a.Namespace, Status: engine.InProgress,
					Token:          fmt.Sprintf("token-%s-%d-%d-%d", id, si, ai, attempt),
					Configuration:  a.Configuration,
					InputArtifacts: []engine.ArtifactRef{{Name: "SourceOut", Bucket: "artifacts", Key: "largest/SourceOut/abc.zip"}},
					OutputArtifacts: []engine.ArtifactRef{{Name: a.OutputArtifacts[0].Name, Bucket: "artifacts",
						Key: fmt.Sprintf("largest/%s/%d.zip", a.OutputArtifacts[0].Name, attempt)}},
					StartTime: tick(), LastUpdateTime: clock,
				})
			}
			e.LastUpdateTime = clock
			must(t, s.UpdateExecution(ctx, e))
			for i := first; i < len(e.Actions); i++ {
				r := &e.Actions[i]
				r.EndTime, r.LastUpdateTime = tick(), clock
				if attempt < LargestAttempts {
					r.Status, r.ErrorCode, r.ErrorMessage = engine.Failed, "JobFailed", fmt.Sprintf("attempt %d failed", attempt)
				} else {
					r.Status, r.Summary = engine.Succeeded, "built"
					r.OutputVariables = map[string]string{"CommitId": fmt.Sprintf("%040d", i), "Attempt": fmt.Sprint(attempt)}
				}
			}
			e.LastUpdateTime = clock
			must(t, s.UpdateExecution(ctx, e))
		}
		e.Stages[si].Status, e.Stages[si].EndTime = engine.Succeeded, tick()
		must(t, s.UpdateExecution(ctx, e))
		got, err := s.GetExecution(ctx, id)
		must(t, err)
		sameExecution(t, got, e)
	}
	e.Status, e.EndTime, e.LastUpdateTime = engine.Succeeded, tick(), clock
	must(t, s.UpdateExecution(ctx, e))
	got, err := s.GetExecution(ctx, id)
	must(t, err)
	if len(got.Actions) != LargestAttempts*pipeline.MaxActionsInPipeline {
		t.Fatalf("read back %d action runs, want %d", len(got.Actions), LargestAttempts*pipeline.MaxActionsInPipeline)
	}
	sameExecution(t, got, e)
	last := e.Actions[len(e.Actions)-1]
	byToken, err := s.ExecutionByRunToken(ctx, last.Token)
	must(t, err)
	if byToken.ID != id {
		t.Fatalf("ExecutionByRunToken(%s) = %s, want %s", last.Token, byToken.ID, id)
	}
	return got
}
