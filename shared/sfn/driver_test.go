package sfn_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/sfn"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

const testMachine = "arn:aws:states:us-east-1:000000000000:stateMachine:stageflow"

var (
	customType   = pipeline.ActionTypeID{Category: "Deploy", Owner: "Custom", Provider: "Worker", Version: "1"}
	approvalType = pipeline.ActionTypeID{Category: "Approval", Owner: "AWS", Provider: "Manual", Version: "1"}
	commandsType = pipeline.ActionTypeID{Category: "Compute", Owner: "AWS", Provider: "Commands", Version: "1"}
)

// fixture is a service on SQLite driven by the Step Functions driver, with
// a fake Step Functions: the test plays the state machine by calling the
// handlers.
type fixture struct {
	t     *testing.T
	api   *fakeAPI
	drv   *sfn.Driver
	svc   *service.Service
	store *sqlite.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stageflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return time.Now().UTC() }
	api := newFakeAPI()
	drv, err := sfn.New(sfn.Config{
		Store: st, API: api, StateMachineARN: testMachine, Providers: sfn.Providers(st, now),
		Env: engine.Env{Now: now, NewID: uuid.NewString, ArtifactBucket: "artifacts"},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: st, Driver: drv, NoFirstExecution: true, Now: now, Region: "us-east-1", Account: "000000000000"})
	if _, err := svc.CreateCustomActionType(t.Context(), service.CustomActionTypeInput{Category: customType.Category, Provider: customType.Provider, Version: customType.Version,
		InputArtifactDetails: service.ArtifactDetails{MaximumCount: 1}, OutputArtifactDetails: service.ArtifactDetails{MaximumCount: 1}}); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, api: api, drv: drv, svc: svc, store: st}
}

// start creates the pipeline of the given stages and starts it.
func (f *fixture) start(name string, stages ...pipeline.Stage) string {
	f.t.Helper()
	ctx := service.LocalCaller(f.t.Context(), "test")
	if _, err := f.svc.CreatePipeline(ctx, pipeline.Pipeline{Name: name, Stages: stages}, nil); err != nil {
		f.t.Fatal(err)
	}
	e, err := f.svc.StartExecution(ctx, service.StartInput{PipelineName: name})
	if err != nil {
		f.t.Fatal(err)
	}
	return e.ID
}

// startParked is start with the inbound transition of the first stage
// disabled first: the execution waits in front of it, parked.
func (f *fixture) startParked(name string, stages ...pipeline.Stage) string {
	f.t.Helper()
	ctx := service.LocalCaller(f.t.Context(), "test")
	if _, err := f.svc.CreatePipeline(ctx, pipeline.Pipeline{Name: name, Stages: stages}, nil); err != nil {
		f.t.Fatal(err)
	}
	if err := f.svc.DisableStageTransition(ctx, name, stages[0].Name, service.TransitionInbound, "held for the test"); err != nil {
		f.t.Fatal(err)
	}
	e, err := f.svc.StartExecution(ctx, service.StartInput{PipelineName: name})
	if err != nil {
		f.t.Fatal(err)
	}
	if got := f.execution(e.ID); got.Wait == nil || len(got.Actions) != 0 {
		f.t.Fatalf("the execution does not wait at the disabled transition: wait %+v, %d runs", got.Wait, len(got.Actions))
	}
	return e.ID
}

func (f *fixture) advance(in sfn.AdvanceInput) sfn.AdvanceOutput {
	f.t.Helper()
	out, err := f.drv.HandleAdvance(f.t.Context(), in)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// dispatch plays the Dispatch task of a wave item with a fresh token.
func (f *fixture) dispatch(it sfn.WaveItem) string {
	f.t.Helper()
	tok := "token-" + it.RunID
	f.api.openToken(tok)
	if err := f.drv.Dispatch(f.t.Context(), sfn.DispatchInput{ExecutionID: it.ExecutionID, RunID: it.RunID, TaskToken: tok}); err != nil {
		f.t.Fatal(err)
	}
	return tok
}

func (f *fixture) execution(id string) *engine.Execution {
	f.t.Helper()
	e, err := f.store.GetExecution(f.t.Context(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *fixture) run(id, runID string) *engine.ActionRun {
	f.t.Helper()
	r, ok := f.execution(id).Run(runID)
	if !ok {
		f.t.Fatalf("no run %s", runID)
	}
	return r
}

func stage(name string, actions ...pipeline.Action) pipeline.Stage {
	return pipeline.Stage{Name: name, Actions: actions}
}

func action(name string, typ pipeline.ActionTypeID, runOrder int) pipeline.Action {
	a := pipeline.Action{Name: name, ActionTypeID: typ}
	if runOrder > 0 {
		a.RunOrder = &runOrder
	}
	return a
}

func TestNewRejectsBadStateMachineARNs(t *testing.T) {
	for _, arn := range []string{"stageflow", "arn:aws:states:us-east-1:000000000000:activity:x", "arn:aws:lambda:us-east-1:000000000000:function:x"} {
		if _, err := sfn.New(sfn.Config{Store: &sqlite.Store{}, API: newFakeAPI(), StateMachineARN: arn}); err == nil {
			t.Errorf("New accepted the state machine ARN %q", arn)
		}
	}
}

// TestHandlersNeedNoStateMachine: the functions the state machine invokes
// run without its ARN (no cycle in the deployment), while Begin refuses.
func TestHandlersNeedNoStateMachine(t *testing.T) {
	f := newFixture(t)
	id := f.start("no-arn", stage("S", action("A", approvalType, 0)))
	drv, err := sfn.New(sfn.Config{Store: f.store, API: f.api, Providers: sfn.Providers(f.store, func() time.Time { return time.Now().UTC() })})
	if err != nil {
		t.Fatal(err)
	}
	out, err := drv.Advance(t.Context(), sfn.AdvanceInput{ExecutionID: id})
	if err != nil || len(out.Wave) != 1 {
		t.Fatalf("advance: %+v, %v", out, err)
	}
	f.api.openToken("tok")
	if err := drv.Dispatch(t.Context(), sfn.DispatchInput{ExecutionID: id, RunID: out.Wave[0].RunID, TaskToken: "tok"}); err != nil {
		t.Fatal(err)
	}
	if err := drv.Begin(t.Context(), id); err == nil {
		t.Fatal("Begin without a state machine succeeded")
	}
}

// TestBeginStartsOneNamedExecution: Begin starts the state machine named
// after the execution with only its ID as input; a second Begin is harmless;
// an ID Step Functions cannot name is refused.
func TestBeginStartsOneNamedExecution(t *testing.T) {
	f := newFixture(t)
	id := f.start("begin", stage("S", action("A", approvalType, 0)))
	if len(f.api.started) != 1 {
		t.Fatalf("%d StartExecution calls, want 1", len(f.api.started))
	}
	s := f.api.started[0]
	if aws.ToString(s.Name) != id || aws.ToString(s.StateMachineArn) != testMachine || aws.ToString(s.Input) != `{"executionId":"`+id+`"}` {
		t.Fatalf("StartExecution %s %s %s", aws.ToString(s.Name), aws.ToString(s.StateMachineArn), aws.ToString(s.Input))
	}
	if err := f.drv.Begin(t.Context(), id); err != nil {
		t.Fatalf("second Begin: %v", err)
	}
	if err := f.drv.Begin(t.Context(), "a b/c"); !errs.Is(err, errs.Validation) {
		t.Fatalf("Begin with a bad ID: %v", err)
	}
	if got := f.drv.ExecutionARN(id); got != "arn:aws:states:us-east-1:000000000000:execution:stageflow:"+id {
		t.Fatalf("ExecutionARN %s", got)
	}
}

// TestAdvanceReturnsTheWaveAsIdentifiers: the first wave is every action
// of the first runOrder group, with the time left until the run's timeout
// (declared, or the default of its type: engine.ActionTimeout).
func TestAdvanceReturnsTheWaveAsIdentifiers(t *testing.T) {
	f := newFixture(t)
	ten := 10
	a := action("Custom", customType, 1)
	a.TimeoutInMinutes = &ten
	id := f.start("wave", stage("S", a, action("Approve", approvalType, 1), action("Job", customType, 1), action("Later", customType, 2)))
	out := f.advance(sfn.AdvanceInput{ExecutionID: id})
	if out.Next != sfn.NextWave || out.ExecutionID != id || len(out.Wave) != 3 {
		t.Fatalf("advance: %+v", out)
	}
	want := map[string]int{"Custom": 600, "Approve": 7 * 24 * 3600, "Job": int(engine.CustomActionTimeout / time.Second)}
	// The clock is the real one: a slow machine may take a second or two
	// between the start of the runs and the advance.
	near := func(got, want int) bool { return got <= want && got >= want-2 }
	for _, it := range out.Wave {
		r := f.run(id, it.RunID)
		if it.ExecutionID != id || !near(it.TimeoutSeconds, want[r.Action]) {
			t.Errorf("wave item %+v for %s, want timeout %d", it, r.Action, want[r.Action])
		}
	}
	// Only identifiers travel: the state stays small.
	b, _ := json.Marshal(out)
	if len(b) > 600 {
		t.Errorf("advance output of %d bytes: %s", len(b), b)
	}
	// Advancing again (a retried invocation) returns the same wave.
	if again := f.advance(sfn.AdvanceInput{ExecutionID: id}); len(again.Wave) != 3 || again.Wave[0].RunID != out.Wave[0].RunID {
		t.Fatalf("advance again: %+v", again)
	}
	// The timeout counts from the run's start: a run started four minutes
	// ago has six left, one started an hour ago is past its ten minutes and
	// gets the minimum of one second.
	for _, c := range []struct {
		ago  time.Duration
		want int
	}{{4 * time.Minute, 360}, {time.Hour, 1}} {
		e := f.execution(id)
		for i := range e.Actions {
			if e.Actions[i].Action == "Custom" {
				e.Actions[i].StartTime = time.Now().UTC().Add(-c.ago)
			}
		}
		if err := f.store.UpdateExecution(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		for _, it := range f.advance(sfn.AdvanceInput{ExecutionID: id}).Wave {
			if r := f.run(id, it.RunID); r.Action == "Custom" && !near(it.TimeoutSeconds, c.want) {
				t.Errorf("started %s ago: timeout %d, want %d", c.ago, it.TimeoutSeconds, c.want)
			}
		}
	}
}

// TestCompleteRecordsFirstThenSends: an approval's result is in the store
// before its token is sent; when the send fails the result stays recorded,
// and a second completion (late or duplicate) is refused as the local
// runner refuses it but sends the token again.
func TestCompleteRecordsFirstThenSends(t *testing.T) {
	f := newFixture(t)
	id := f.start("approve", stage("S", action("Approve", approvalType, 0)))
	out := f.advance(sfn.AdvanceInput{ExecutionID: id})
	tok := f.dispatch(out.Wave[0])
	runID := out.Wave[0].RunID
	if got := f.run(id, runID).CallbackToken; got != tok {
		t.Fatalf("the run keeps token %q, want %q", got, tok)
	}
	f.api.failSends = 1
	err := f.drv.Complete(t.Context(), id, runID, engine.Result{Status: engine.Succeeded, Summary: "ok"})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("Complete with a failing send: %v", err)
	}
	if r := f.run(id, runID); r.Status != engine.Succeeded || r.Summary != "ok" {
		t.Fatalf("after a failed send the run is %s %q, want the result recorded", r.Status, r.Summary)
	}
	err = f.drv.Complete(t.Context(), id, runID, engine.Result{Status: engine.Failed, ErrorMessage: "late"})
	if !errs.Is(err, errs.InvalidState) {
		t.Fatalf("duplicate Complete: %v, want InvalidState", err)
	}
	sent := f.api.sentTo(tok)
	if len(sent) != 1 || sent[0] != `{"runId":"`+runID+`","status":"Succeeded"}` {
		t.Fatalf("sent %v", sent)
	}
	if r := f.run(id, runID); r.Status != engine.Succeeded {
		t.Fatalf("the duplicate changed the run to %s", r.Status)
	}
	// A third completion: the token is spent; Step Functions refuses it, harmlessly.
	if err := f.drv.Complete(t.Context(), id, runID, engine.Result{Status: engine.Succeeded}); !errs.Is(err, errs.InvalidState) {
		t.Fatalf("third Complete: %v", err)
	}
	if out := f.advance(sfn.AdvanceInput{ExecutionID: id, Ended: []sfn.Ended{{RunID: runID, Status: engine.Succeeded}}}); out.Next != sfn.NextDone {
		t.Fatalf("advance after the approval: %+v", out)
	}
	if e := f.execution(id); e.Status != engine.Succeeded {
		t.Fatalf("execution %s", e.Status)
	}
}

// TestApprovalBeforeDispatch: a result that arrives before Dispatch kept
// the token is recorded; Dispatch then finds the run ended and sends at once.
func TestApprovalBeforeDispatch(t *testing.T) {
	f := newFixture(t)
	id := f.start("early", stage("S", action("Approve", approvalType, 0)))
	out := f.advance(sfn.AdvanceInput{ExecutionID: id})
	runID := out.Wave[0].RunID
	ctx := service.LocalCaller(t.Context(), "approver")
	if _, err := f.svc.PutApprovalResult(ctx, service.ApprovalInput{PipelineName: "early", Stage: "S", Action: "Approve",
		Token: f.run(id, runID).Token, Status: "Rejected", Summary: "no"}); err != nil {
		t.Fatal(err)
	}
	if len(f.api.sent)+len(f.api.refused) != 0 {
		t.Fatalf("sent before any token was kept: %v %v", f.api.sent, f.api.refused)
	}
	tok := f.dispatch(out.Wave[0])
	if sent := f.api.sentTo(tok); len(sent) != 1 || !strings.Contains(sent[0], `"status":"Failed"`) {
		t.Fatalf("dispatch of an ended run sent %v", sent)
	}
	if out := f.advance(sfn.AdvanceInput{ExecutionID: id}); out.Next != sfn.NextDone {
		t.Fatalf("advance: %+v", out)
	}
	if e := f.execution(id); e.Status != engine.Failed {
		t.Fatalf("execution %s, want Failed (rejected)", e.Status)
	}
}

// TestDispatchQueuesACustomJobOnce: a custom action's run becomes one job
// whose ID is the run's completion token, also when Dispatch runs twice.
func TestDispatchQueuesACustomJobOnce(t *testing.T) {
	f := newFixture(t)
	id := f.start("custom", stage("S", action("Work", customType, 0)))
	out := f.advance(sfn.AdvanceInput{ExecutionID: id})
	f.dispatch(out.Wave[0])
	second := "token-retried"
	f.api.openToken(second)
	if err := f.drv.Dispatch(t.Context(), sfn.DispatchInput{ExecutionID: id, RunID: out.Wave[0].RunID, TaskToken: second}); err != nil {
		t.Fatalf("second dispatch: %v", err)
	}
	r := f.run(id, out.Wave[0].RunID)
	if r.Status != engine.InProgress || r.CallbackToken != second {
		t.Fatalf("run %s token %q", r.Status, r.CallbackToken)
	}
	jobs, err := f.svc.PollForJobs(t.Context(), customType, 10)
	if err != nil || len(jobs) != 1 || jobs[0].ID != r.Token {
		t.Fatalf("jobs %+v, %v; want the run's one job", jobs, err)
	}
	if err := f.svc.PutJobSuccessResult(t.Context(), jobs[0].ID, service.JobSuccess{OutputVariables: map[string]string{"V": "1"}}); err != nil {
		t.Fatal(err)
	}
	if sent := f.api.sentTo(second); len(sent) != 1 {
		t.Fatalf("the latest token got %v", sent)
	}
	if r := f.run(id, r.ID); r.OutputVariables["V"] != "1" {
		t.Fatalf("output variables %v", r.OutputVariables)
	}
}

// TestDispatchFailsProvidersThatComeLater: a Commands action fails at once
// with a message saying so, and its task ends.
func TestDispatchFailsProvidersThatComeLater(t *testing.T) {
	f := newFixture(t)
	a := action("Build", commandsType, 0)
	a.Commands = []string{"make"}
	a.OutputArtifacts = []pipeline.OutputArtifact{{Name: "out"}}
	id := f.start("commands", stage("S", a))
	out := f.advance(sfn.AdvanceInput{ExecutionID: id})
	tok := f.dispatch(out.Wave[0])
	r := f.run(id, out.Wave[0].RunID)
	if r.Status != engine.Failed || !strings.Contains(r.ErrorMessage, sfn.ErrNotYet.Error()) {
		t.Fatalf("run %s %q", r.Status, r.ErrorMessage)
	}
	if sent := f.api.sentTo(tok); len(sent) != 1 {
		t.Fatalf("sent %v", sent)
	}
}

// TestTimedOutRunsFail: a Dispatch task that timed out fails its run as
// TimedOut, and the execution with it; a timed-out entry for a run whose
// result arrived meanwhile changes nothing.
func TestTimedOutRunsFail(t *testing.T) {
	f := newFixture(t)
	id := f.start("timeout", stage("S", action("A", approvalType, 1), action("B", approvalType, 1)))
	out := f.advance(sfn.AdvanceInput{ExecutionID: id})
	for _, it := range out.Wave {
		f.dispatch(it)
	}
	a, b := out.Wave[0].RunID, out.Wave[1].RunID
	if err := f.drv.Complete(t.Context(), id, b, engine.Result{Status: engine.Succeeded}); err != nil {
		t.Fatal(err)
	}
	got := f.advance(sfn.AdvanceInput{ExecutionID: id, Ended: []sfn.Ended{{RunID: a, TimedOut: true}, {RunID: b, TimedOut: true}}})
	if got.Next != sfn.NextDone {
		t.Fatalf("advance: %+v", got)
	}
	if r := f.run(id, a); r.Status != engine.Failed || r.ErrorCode != engine.CodeTimedOut || r.ErrorMessage != engine.TimedOut(r).ErrorMessage ||
		!strings.Contains(r.ErrorMessage, "timed out after 7 days without a result") {
		t.Fatalf("timed-out run %s %s %q", r.Status, r.ErrorCode, r.ErrorMessage)
	}
	if e := f.execution(id); e.Status != engine.Failed || !strings.Contains(e.StatusSummary, "timed out after 7 days") {
		t.Fatalf("execution %s %q", e.Status, e.StatusSummary)
	}
	if r := f.run(id, b); r.Status != engine.Succeeded {
		t.Fatalf("completed run became %s", r.Status)
	}
}

// TestStopWithAbandonStopsTheStateMachine: abandon records the stop and
// stops the state machine execution; a stop without abandon lets the
// running actions finish and leaves the state machine running.
func TestStopWithAbandonStopsTheStateMachine(t *testing.T) {
	f := newFixture(t)
	id := f.start("stop", stage("S", action("A", approvalType, 0)))
	out := f.advance(sfn.AdvanceInput{ExecutionID: id})
	f.dispatch(out.Wave[0])
	if err := f.drv.Stop(t.Context(), id, false, "wait", ""); err != nil {
		t.Fatal(err)
	}
	if len(f.api.stopped) != 0 || f.execution(id).Status != engine.Stopping {
		t.Fatalf("stop and wait: %d StopExecution calls, status %s", len(f.api.stopped), f.execution(id).Status)
	}
	if err := f.drv.Stop(t.Context(), id, true, "now", ""); err != nil {
		t.Fatal(err)
	}
	if len(f.api.stopped) != 1 || aws.ToString(f.api.stopped[0].ExecutionArn) != f.drv.ExecutionARN(id) || aws.ToString(f.api.stopped[0].Cause) != "now" {
		t.Fatalf("StopExecution calls %+v", f.api.stopped)
	}
	if e := f.execution(id); e.Status != engine.Stopped || e.Actions[0].Status != engine.Abandoned {
		t.Fatalf("after abandon: %s, run %s", e.Status, e.Actions[0].Status)
	}
}

// TestParkAndContinue: Park keeps the token on a parked execution and
// Continue sends it (once); Park of an execution that is not parked sends
// at once.
func TestParkAndContinue(t *testing.T) {
	f := newFixture(t)
	id := f.startParked("park", stage("S", action("A", approvalType, 0)))
	// Waiting at the disabled transition: nothing in progress, not ended — parked.
	if out := f.advance(sfn.AdvanceInput{ExecutionID: id}); out.Next != sfn.NextPark {
		t.Fatalf("advance of a waiting execution: %+v", out)
	}
	f.api.openToken("park-1")
	if _, err := f.drv.HandleAdvance(t.Context(), sfn.AdvanceInput{ExecutionID: id, ParkToken: "park-1"}); err != nil {
		t.Fatal(err)
	}
	if got := f.execution(id).ParkToken; got != "park-1" || len(f.api.sent) != 0 {
		t.Fatalf("park token %q, %d sends", got, len(f.api.sent))
	}
	// Enabling the transition continues it: its first action starts and
	// the Park token is sent.
	if err := f.svc.EnableStageTransition(service.LocalCaller(t.Context(), "test"), "park", "S", service.TransitionInbound); err != nil {
		t.Fatal(err)
	}
	if sent := f.api.sentTo("park-1"); len(sent) != 1 || sent[0] != "[]" {
		t.Fatalf("continue sent %v", sent)
	}
	e := f.execution(id)
	if e.ParkToken != "" || len(e.Actions) != 1 || e.Actions[0].Status != engine.InProgress {
		t.Fatalf("after continue: token %q, %d runs", e.ParkToken, len(e.Actions))
	}
	if err := f.drv.Continue(t.Context(), id); err != nil || len(f.api.refused) != 0 {
		t.Fatalf("continue without a token: %v, refused %v", err, f.api.refused)
	}
	// Now in progress: a Park task that comes late is sent back at once.
	f.api.openToken("park-2")
	if err := f.drv.Park(t.Context(), id, "park-2"); err != nil {
		t.Fatal(err)
	}
	if sent := f.api.sentTo("park-2"); len(sent) != 1 || f.execution(id).ParkToken != "" {
		t.Fatalf("late park: sent %v, token %q", sent, f.execution(id).ParkToken)
	}
}

// TestStopWakesAParkedExecution: a stop of a parked execution ends it, and
// its Park token is sent so that the state machine's loop ends too.
func TestStopWakesAParkedExecution(t *testing.T) {
	f := newFixture(t)
	id := f.startParked("stop-parked", stage("S", action("A", approvalType, 0)))
	f.api.openToken("park")
	if err := f.drv.Park(t.Context(), id, "park"); err != nil {
		t.Fatal(err)
	}
	if err := f.drv.Stop(t.Context(), id, false, "not today", ""); err != nil {
		t.Fatal(err)
	}
	if e := f.execution(id); e.Status != engine.Stopped || e.ParkToken != "" {
		t.Fatalf("execution %s, park token %q", e.Status, e.ParkToken)
	}
	if sent := f.api.sentTo("park"); len(sent) != 1 {
		t.Fatalf("park token sent %v", sent)
	}
	if out := f.advance(sfn.AdvanceInput{ExecutionID: id}); out.Next != sfn.NextDone {
		t.Fatalf("advance after the stop: %+v", out)
	}
}

// TestHandlersRefuseBadEvents: an event without its identifiers is a
// Validation error, never a panic or a silent success.
func TestHandlersRefuseBadEvents(t *testing.T) {
	f := newFixture(t)
	if _, err := f.drv.HandleAdvance(t.Context(), sfn.AdvanceInput{}); !errs.Is(err, errs.Validation) {
		t.Errorf("advance without executionId: %v", err)
	}
	for _, in := range []sfn.DispatchInput{{}, {ExecutionID: "x", RunID: "y"}, {ExecutionID: "x", TaskToken: "t"}} {
		if err := f.drv.Dispatch(t.Context(), in); !errs.Is(err, errs.Validation) {
			t.Errorf("dispatch %+v: %v", in, err)
		}
	}
	id := f.start("bad", stage("S", action("A", approvalType, 0)))
	if err := f.drv.Dispatch(t.Context(), sfn.DispatchInput{ExecutionID: id, RunID: "nope", TaskToken: "t"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("dispatch of an unknown run: %v", err)
	}
	if out := f.advance(sfn.AdvanceInput{ExecutionID: "gone"}); out.Next != sfn.NextDone {
		t.Errorf("advance of a deleted execution: %+v", out)
	}
}
