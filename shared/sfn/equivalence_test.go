package sfn_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// TestEquivalentToTheLocalRunner: the same pipelines, their actions ended
// the same way, run through the local runner and through the Step
// Functions path (the generated definition in the interpreter behind the
// bridge, its Task states calling the advance and dispatch bootstraps under
// the Lambda Runtime Interface Emulator, the store on DynamoDB Local) end
// with the same statuses, the same action order and the same output
// variables.
func TestEquivalentToTheLocalRunner(t *testing.T) {
	vars := map[string]map[string]string{"A": {"V": "a"}, "B": {"V": "b", "W": "2"}, "C": {"V": "c"}}
	tests := []struct {
		sc   scenario
		want engine.Status
	}{
		{scenario{name: "sequential", stages: []pipeline.Stage{
			stage("One", action("A", customType, 0)), stage("Two", action("B", customType, 0)), stage("Three", action("C", customType, 0)),
		}, outputs: vars}, engine.Succeeded},
		{scenario{name: "parallel", stages: []pipeline.Stage{
			stage("Fan", action("A", customType, 1), action("B", customType, 1), action("C", customType, 2)),
		}, outputs: vars}, engine.Succeeded},
		{scenario{name: "failing-parallel", stages: []pipeline.Stage{
			stage("Fan", action("A", customType, 1), action("B", customType, 1), action("C", customType, 1), action("D", customType, 2)),
			stage("After", action("E", customType, 0)),
		}, outputs: vars, fail: map[string]bool{"B": true}}, engine.Failed},
		{scenario{name: "approval", stages: []pipeline.Stage{
			stage("Build", action("A", customType, 0)), stage("Gate", action("Approve", approvalType, 0)), stage("Ship", action("C", customType, 0)),
		}, outputs: vars}, engine.Succeeded},
		{scenario{name: "rejected", stages: []pipeline.Stage{
			stage("Gate", action("Approve", approvalType, 1), action("A", customType, 1)), stage("Ship", action("C", customType, 0)),
		}, outputs: vars, fail: map[string]bool{"Approve": true}}, engine.Failed},
		{scenario{name: "abandon", stages: []pipeline.Stage{
			stage("Build", action("A", customType, 0)), stage("Deploy", action("Hang", customType, 0)), stage("Never", action("C", customType, 0)),
		}, outputs: vars, abandon: "Hang"}, engine.Stopped},
	}
	for _, tt := range tests {
		t.Run(tt.sc.name, func(t *testing.T) {
			local, _ := play(t, runnerSystem(t), tt.sc)
			sfnExec, res := play(t, sfnEmulatedSystem(t), tt.sc)
			want, got := outcome(local), outcome(sfnExec)
			if !slices.Equal(want, got) {
				t.Fatalf("the Step Functions path differs from the local runner:\nrunner:\n  %s\nsfn:\n  %s", strings.Join(want, "\n  "), strings.Join(got, "\n  "))
			}
			if local.Status != tt.want {
				t.Fatalf("both ended %s, want %s:\n  %s", local.Status, tt.want, strings.Join(want, "\n  "))
			}
			wantMachine := "SUCCEEDED"
			if tt.want == engine.Stopped {
				wantMachine = "ABORTED" // StopPipelineExecution with abandon stops the state machine
			}
			if res.Status != wantMachine {
				t.Fatalf("state machine %s (%s %s), want %s", res.Status, res.Error, res.Cause, wantMachine)
			}
			t.Logf("%s", strings.Join(got, "; "))
		})
	}
}

// TestEquivalentExecutionControl: execution modes, a disabled transition and
// a stage retry end the same way on both paths — every execution of a
// scenario, each with the same statuses and runs (attempts included).
func TestEquivalentExecutionControl(t *testing.T) {
	vars := map[string]map[string]string{"A": {"V": "a"}, "B": {"V": "b"}, "C": {"V": "c"}}
	two := []pipeline.Stage{stage("One", action("A", customType, 0)), stage("Two", action("B", customType, 0))}
	tests := []struct {
		sc   scenario
		want []engine.Status
	}{
		{scenario{name: "queued", mode: pipeline.ModeQueued, starts: 3, stages: two, outputs: vars},
			[]engine.Status{engine.Succeeded, engine.Succeeded, engine.Succeeded}},
		{scenario{name: "superseded", mode: pipeline.ModeSuperseded, starts: 3, stages: two, outputs: vars},
			// The first holds One; the second waits and is replaced by the third.
			[]engine.Status{engine.Succeeded, engine.Superseded, engine.Succeeded}},
		{scenario{name: "transition", mode: pipeline.ModeParallel, starts: 2, disabled: "Two", stages: two, outputs: vars},
			[]engine.Status{engine.Succeeded, engine.Succeeded}},
		{scenario{name: "conditions", mode: pipeline.ModeSuperseded, stages: conditionStages(), outputs: vars},
			[]engine.Status{engine.Succeeded}},
		{scenario{name: "retry", stages: []pipeline.Stage{
			stage("Fan", action("A", customType, 1), action("B", customType, 1)), stage("After", action("C", customType, 0)),
		}, outputs: vars, fail: map[string]bool{"B": true}, retry: engine.RetryFailedActions}, []engine.Status{engine.Succeeded}},
	}
	for _, tt := range tests {
		t.Run(tt.sc.name, func(t *testing.T) {
			local, _ := playAll(t, runnerSystem(t), tt.sc)
			remote, results := playAll(t, sfnEmulatedSystem(t), tt.sc)
			for i := range local {
				want, got := outcome(local[i]), outcome(remote[i])
				if !slices.Equal(want, got) {
					t.Fatalf("execution %d: the Step Functions path differs from the local runner:\nrunner:\n  %s\nsfn:\n  %s", i, strings.Join(want, "\n  "), strings.Join(got, "\n  "))
				}
				if local[i].Status != tt.want[i] {
					t.Fatalf("execution %d: both ended %s, want %s:\n  %s", i, local[i].Status, tt.want[i], strings.Join(want, "\n  "))
				}
				if results[i].Status != "SUCCEEDED" {
					t.Fatalf("execution %d: state machine %s (%s %s)", i, results[i].Status, results[i].Error, results[i].Cause)
				}
			}
			if tt.sc.name == "conditions" {
				if st := local[0].Stages; st[0].Status != engine.Skipped || st[1].Status != engine.Succeeded || len(local[0].Conditions) != 3 {
					t.Fatalf("conditions: stages %+v, %d condition runs", st, len(local[0].Conditions))
				}
			}
		})
	}
}

// conditionStages: One is skipped by its beforeEntry condition (a check that
// fails, result SKIP); Two's onSuccess condition is met; Three's
// beforeEntry condition is met.
func conditionStages() []pipeline.Stage {
	check := func(op, value string) pipeline.Rule {
		return pipeline.Rule{Name: "Check", RuleTypeID: pipeline.RuleTypeID{Category: pipeline.RuleCategory, Owner: pipeline.OwnerAWS, Provider: pipeline.RuleVariableCheck, Version: "1"},
			Configuration: map[string]string{"Operator": op, "Variable": "#{codepipeline.PipelineExecutionId}", "Value": value}}
	}
	one := stage("One", action("A", customType, 0))
	one.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: []pipeline.Condition{{Result: pipeline.ResultSkip, Rules: []pipeline.Rule{check("EQ", "not-this-one")}}}}
	two := stage("Two", action("B", customType, 0))
	two.OnSuccess = &pipeline.SuccessConditions{Conditions: []pipeline.Condition{{Result: pipeline.ResultFail, Rules: []pipeline.Rule{check("CONTAINS", "-")}}}}
	three := stage("Three", action("C", customType, 0))
	three.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: []pipeline.Condition{{Rules: []pipeline.Rule{check("MATCHES", "[0-9a-f-]+")}}}}
	return []pipeline.Stage{one, two, three}
}
