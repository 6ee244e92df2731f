package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TestPipelineStateHorizon: GetPipelineState finds each stage's latest
// execution however old, and stops looking for a stage once no older
// execution can have reached it (no version it may run declares it).
func TestPipelineStateHorizon(t *testing.T) {
	commands := pipeline.ActionTypeID{Category: "Compute", Owner: "AWS", Provider: "Commands", Version: "1"}
	decl := func(stages ...string) pipeline.Pipeline {
		p := pipeline.Pipeline{Name: "h", PipelineType: pipeline.TypeV2}
		for _, s := range stages {
			p.Stages = append(p.Stages, pipeline.Stage{Name: s, Actions: []pipeline.Action{{Name: "Run", ActionTypeID: commands, Commands: []string{"true"}}}})
		}
		return p
	}
	// exec is a stored execution: of a version, reaching stages, maybe a
	// rollback; declared, when set, replaces its snapshot's stages (a
	// record no version could have written, to see where the walk stops).
	type exec struct {
		version  int
		reached  []string
		rollback bool
		declared []string
	}
	cases := []struct {
		name     string
		versions [][]string // the stages of versions 1, 2, …
		history  []exec     // oldest first
		want     map[string]int
	}{
		{"a stage added by the latest version", [][]string{{"A"}, {"A", "X"}},
			[]exec{{1, []string{"A"}, false, nil}, {1, []string{"A"}, false, nil}},
			map[string]int{"A": 1, "X": -1}},
		{"a stage removed, then added again", [][]string{{"A", "X"}, {"A"}, {"A", "X"}},
			[]exec{{1, []string{"A", "X"}, false, nil}, {1, []string{"A"}, false, nil}, {2, []string{"A"}, false, nil}, {2, []string{"A"}, false, nil}},
			map[string]int{"A": 3, "X": 0}},
		{"a rollback runs an older version", [][]string{{"A"}, {"A", "X"}},
			[]exec{{1, []string{"A"}, false, nil}, {2, []string{"A", "X"}, false, nil}, {1, []string{"A"}, true, nil}},
			map[string]int{"A": 2, "X": 1}},
		{"the walk stops at the horizon", [][]string{{"A"}, {"A", "X"}},
			[]exec{{1, []string{"A", "X"}, false, []string{"A", "X"}}, {1, []string{"A"}, false, nil}},
			map[string]int{"A": 1, "X": -1}},
		{"a stage not reached lately", [][]string{{"A", "X"}},
			[]exec{{1, []string{"A", "X"}, false, nil}, {1, []string{"A"}, false, nil}, {1, []string{"A"}, false, nil}},
			map[string]int{"A": 2, "X": 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
			svc := srv.Service
			ctx := service.LocalCaller(t.Context(), "test")
			createPipeline(t, svc, decl(tc.versions[0]...))
			for _, v := range tc.versions[1:] {
				if _, err := svc.UpdatePipeline(ctx, decl(v...)); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now().Add(-time.Hour)
			var ids []string
			for i, x := range tc.history {
				snap := decl(tc.versions[x.version-1]...)
				if x.declared != nil {
					snap = decl(x.declared...)
				}
				e := &engine.Execution{ID: fmt.Sprintf("0000000%d-0000-4000-8000-000000000000", i), PipelineName: "h", PipelineVersion: x.version,
					Pipeline: snap, Status: engine.Succeeded, StartTime: start.Add(time.Duration(i) * time.Minute)}
				e.LastUpdateTime = e.StartTime.Add(time.Second)
				for _, st := range snap.Stages {
					s := engine.StageState{Name: st.Name}
					for _, r := range x.reached {
						if r == st.Name {
							s.Status = engine.Succeeded
						}
					}
					e.Stages = append(e.Stages, s)
				}
				if x.rollback {
					e.Rollback = &engine.Rollback{Stage: "A", Target: ids[0]}
				}
				if _, _, err := srv.System.Store.CreateExecution(t.Context(), e); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, e.ID)
			}
			state, err := svc.GetPipelineState(ctx, "h")
			if err != nil {
				t.Fatal(err)
			}
			for _, ss := range state.StageStates {
				want, ok := tc.want[ss.StageName]
				if !ok {
					t.Fatalf("stage %s in the state", ss.StageName)
				}
				got := -1
				if ss.LatestExecution != nil {
					for i, id := range ids {
						if id == ss.LatestExecution.PipelineExecutionID {
							got = i
						}
					}
				}
				if got != want {
					t.Errorf("stage %s: latest execution #%d, want #%d", ss.StageName, got, want)
				}
			}
		})
	}
}
