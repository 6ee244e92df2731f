package sfn_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/sfn"
	"github.com/stageflow/stageflow/shared/sfn/sfntest"
)

// threeStages is a pipeline of three stages, the second with two actions
// in parallel and one after them.
func threeStages(name string) scenario {
	return scenario{name: name, stages: []pipeline.Stage{
		stage("Source", action("Fetch", customType, 0)),
		stage("Build", action("Left", customType, 1), action("Right", customType, 1), action("Join", customType, 2)),
		stage("Deploy", action("Ship", customType, 0)),
	}, outputs: map[string]map[string]string{"Fetch": {"COMMIT": "abc123"}, "Right": {"ARTIFACT": "r.zip"}}}
}

// TestStateMachineRunsAPipeline: the generated definition, executed by
// aws-local-stepfunctions behind the bridge, its Task states calling the
// advance and dispatch bootstraps under the Lambda Runtime Interface
// Emulator with the store on DynamoDB Local, runs a three-stage pipeline
// with a parallel stage to its end: every action once, in order, and the
// state machine succeeds.
func TestStateMachineRunsAPipeline(t *testing.T) {
	sys := sfnEmulatedSystem(t)
	e, res := play(t, sys, threeStages("three"))
	if e.Status != engine.Succeeded {
		t.Fatalf("execution %s: %s", e.Status, e.StatusSummary)
	}
	if res.Status != "SUCCEEDED" {
		t.Fatalf("state machine %s %s %s; node: %s", res.Status, res.Error, res.Cause, res.Stderr)
	}
	var order []string
	for _, r := range e.Actions {
		order = append(order, r.Action)
	}
	if !slices.Equal(order, []string{"Fetch", "Left", "Right", "Join", "Ship"}) {
		t.Fatalf("action order %v", order)
	}
	if r, _ := e.LatestRun("Source", "Fetch"); r.OutputVariables["COMMIT"] != "abc123" {
		t.Fatalf("output variables %v", r.OutputVariables)
	}
	t.Logf("states entered: %v; interpreter events: %d", res.States, res.Events)
	count := map[string]int{}
	for _, s := range res.States {
		count[s]++
	}
	// One loop per wave (Fetch; Left and Right; Join; Ship), then the last Advance.
	if count[sfn.StateAdvance] != 5 || count[sfn.StateWave] != 4 || count[sfn.StateDispatch] != 5 || count[sfn.StateDone] != 1 || count[sfn.StatePark] != 0 {
		t.Fatalf("states entered %v", count)
	}
	// The history Step Functions would keep for this run, from the states
	// the interpreter entered: the formula HistoryEvents documents.
	if got, want := sfn.HistoryEvents(count[sfn.StateWave], count[sfn.StateDispatch]), 11+4*11+5*8; got != want {
		t.Fatalf("HistoryEvents(4 waves, 5 actions) = %d, want %d", got, want)
	}
	calls := sys.bridge.Calls()
	if calls["StartExecution"] != 1 || calls["SendTaskSuccess"] != 5 || calls["StopExecution"] != 0 {
		t.Fatalf("Step Functions calls %v: want one start and one task success per action", calls)
	}
}

// TestStateMachineFailedParallelAction: one failing action of a parallel
// group does not abort its sibling, which ends as its worker says; the
// stage and the execution fail, the next stage never starts, and the state
// machine itself succeeds (the failure is data, decided by Advance). As
// TestStateMachineRunsAPipeline, through the bootstraps under the emulator.
func TestStateMachineFailedParallelAction(t *testing.T) {
	sys := sfnEmulatedSystem(t)
	sc := threeStages("three-failing")
	sc.fail = map[string]bool{"Left": true}
	e, res := play(t, sys, sc)
	if e.Status != engine.Failed || !strings.Contains(e.StatusSummary, "Left") {
		t.Fatalf("execution %s: %s", e.Status, e.StatusSummary)
	}
	if res.Status != "SUCCEEDED" {
		t.Fatalf("state machine %s %s %s", res.Status, res.Error, res.Cause)
	}
	want := []string{"Fetch Succeeded", "Left Failed", "Right Succeeded"}
	var got []string
	for _, r := range e.Actions {
		got = append(got, r.Action+" "+string(r.Status))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	if e.Stages[1].Status != engine.Failed || e.Stages[2].Status != "" {
		t.Fatalf("stages %+v", e.Stages)
	}
}

// TestHandlerFailureIsVisible: an error of our own handler ends the state
// machine in HandlerFailed with the handler's error and message, never
// swallowed or retried as if it were Lambda's.
func TestHandlerFailureIsVisible(t *testing.T) {
	var calls atomic.Int32
	sys := sfnSystemWith(t, func(next sfntest.Invoke) sfntest.Invoke {
		return func(ctx context.Context, fn string, payload json.RawMessage) (json.RawMessage, error) {
			if fn == advanceFunction {
				calls.Add(1)
				return nil, errs.Of(errs.Internal, errs.KindNone, "the store is unreachable")
			}
			return next(ctx, fn, payload)
		}
	})
	ctx := service.LocalCaller(t.Context(), "test")
	if _, err := sys.svc.CreatePipeline(ctx, pipeline.Pipeline{Name: "broken", Stages: []pipeline.Stage{stage("S", action("A", customType, 0))}}, nil); err != nil {
		t.Fatal(err)
	}
	started, err := sys.svc.StartExecution(ctx, service.StartInput{PipelineName: "broken"})
	if err != nil {
		t.Fatal(err)
	}
	res := sys.settle(t, started.ID)
	if res.Status != "FAILED" || res.Error != "Error" || !strings.Contains(res.Cause, "the store is unreachable") || !slices.Contains(res.States, sfn.StateHandlerFailed) {
		t.Fatalf("state machine %s, error %q, cause %q; want FAILED in %s with the handler's message", res.Status, res.Error, res.Cause, sfn.StateHandlerFailed)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("advance invoked %d times; our handler's errors are not retried", n)
	}
}

// TestParkedExecutionContinues: an execution that waits at a disabled
// transition parks its state machine in Park, with the token kept on the
// execution; enabling the transition sends it: the execution advances,
// dispatches its wave and ends.
func TestParkedExecutionContinues(t *testing.T) {
	sys := sfnSystemWith(t, nil)
	ctx := service.LocalCaller(t.Context(), "test")
	if _, err := sys.svc.CreatePipeline(ctx, pipeline.Pipeline{Name: "parked", Stages: []pipeline.Stage{stage("S", action("A", customType, 0))}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := sys.svc.DisableStageTransition(ctx, "parked", "S", service.TransitionInbound, "held for the test"); err != nil {
		t.Fatal(err)
	}
	started, err := sys.svc.StartExecution(ctx, service.StartInput{PipelineName: "parked"})
	if err != nil {
		t.Fatal(err)
	}
	id := started.ID
	waitFor(t, "the park token kept", func() bool {
		e, err := sys.store.GetExecution(ctx, id)
		return err == nil && e.ParkToken != ""
	})
	if jobs, _ := sys.svc.PollForJobs(ctx, customType, 10); len(jobs) != 0 {
		t.Fatalf("a parked execution dispatched %d jobs", len(jobs))
	}
	if err := sys.svc.EnableStageTransition(ctx, "parked", "S", service.TransitionInbound); err != nil {
		t.Fatal(err)
	}
	var jobs []service.Job
	waitFor(t, "the job of the continued execution", func() bool {
		jobs, err = sys.svc.PollForJobs(ctx, customType, 10)
		return err == nil && len(jobs) == 1
	})
	if err := sys.svc.PutJobSuccessResult(ctx, jobs[0].ID, service.JobSuccess{}); err != nil {
		t.Fatal(err)
	}
	res := sys.settle(t, id)
	e, _ := sys.store.GetExecution(ctx, id)
	if res.Status != "SUCCEEDED" || e.Status != engine.Succeeded || e.ParkToken != "" {
		t.Fatalf("state machine %s, execution %s, park token %q", res.Status, e.Status, e.ParkToken)
	}
	if !slices.Equal(res.States, []string{sfn.StateAdvance, sfn.StateRoute, sfn.StatePark, sfn.StateAdvance, sfn.StateRoute,
		sfn.StateWave, sfn.StateDispatch, sfn.StateAdvance, sfn.StateRoute, sfn.StateDone}) {
		t.Fatalf("states %v", res.States)
	}
}

// waitFor polls cond until it holds, for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
