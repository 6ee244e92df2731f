package service_test

import (
	"context"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TestApplyPipelineStartsOnlyWhenItCreates: ApplyPipeline starts the first
// execution when it creates the pipeline (as CreatePipeline does), none when
// it updates it or finds it unchanged, and none at all under
// WithoutFirstExecution (what `stageflow run` and `serve --load` use).
func TestApplyPipelineStartsOnlyWhenItCreates(t *testing.T) {
	srv := apitest.NewServer(t)
	ctx := service.LocalCaller(t.Context(), "tester")
	quiet := service.WithoutFirstExecution(ctx)
	gate := func(name, action string) pipeline.Pipeline {
		return pipeline.Pipeline{Name: name, Stages: []pipeline.Stage{{Name: "Gate", Actions: []pipeline.Action{{Name: action, ActionTypeID: manualApproval}}}}}
	}
	tests := []struct {
		name       string
		ctx        context.Context
		p          pipeline.Pipeline
		applied    service.Applied
		executions int // of the pipeline after the step
	}{
		{"create", ctx, gate("applied", "Approve"), service.Created, 1},
		{"the same again", ctx, gate("applied", "Approve"), service.Unchanged, 1},
		{"update", ctx, gate("applied", "Again"), service.Updated, 1},
		{"create, WithoutFirstExecution", quiet, gate("quiet", "Approve"), service.Created, 0},
		{"update, WithoutFirstExecution", quiet, gate("quiet", "Again"), service.Updated, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, applied, err := srv.Service.ApplyPipeline(tt.ctx, tt.p, nil)
			if err != nil || applied != tt.applied {
				t.Fatalf("ApplyPipeline: %q, %v; want %q", applied, err, tt.applied)
			}
			out, err := srv.Service.ListExecutions(ctx, tt.p.Name, "", 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(out.PipelineExecutionSummaries); got != tt.executions {
				t.Fatalf("%d executions, want %d", got, tt.executions)
			}
			for _, e := range out.PipelineExecutionSummaries {
				if e.Trigger.TriggerType != service.TriggerCreatePipeline || e.Trigger.TriggerDetail != "tester" {
					t.Errorf("trigger %+v, want CreatePipeline by tester", e.Trigger)
				}
			}
		})
	}
}

// TestCreatePipelineWithoutFirstExecution: the context option keeps one
// CreatePipeline from starting anything; the next one starts as usual.
func TestCreatePipelineWithoutFirstExecution(t *testing.T) {
	srv := apitest.NewServer(t)
	ctx := service.LocalCaller(t.Context(), "tester")
	p := pipeline.Pipeline{Name: "p", Stages: []pipeline.Stage{{Name: "Gate", Actions: []pipeline.Action{{Name: "Approve", ActionTypeID: manualApproval}}}}}
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want int
	}{
		{"quiet", service.WithoutFirstExecution(ctx), 0},
		{"usual", ctx, 1},
	} {
		p.Name = tt.name
		if _, err := srv.Service.CreatePipeline(tt.ctx, p, nil); err != nil {
			t.Fatal(err)
		}
		out, err := srv.Service.ListExecutions(ctx, tt.name, "", 0, "")
		if err != nil || len(out.PipelineExecutionSummaries) != tt.want {
			t.Errorf("%s: executions %+v, %v; want %d", tt.name, out, err, tt.want)
		}
	}
}
