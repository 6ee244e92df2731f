package runner_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

// Execution modes, transitions, retries and rollbacks driven by the local
// runner against the SQLite store: the scenarios of issue 13, races
// included. Every action is gated per execution by a variable (G), so a test
// decides when each execution's action in each stage ends.

// modal loads a V2 pipeline in the given mode with variables G (the gate
// prefix, no default) and, when lanes, StageflowLane (default "main").
func modal(t *testing.T, name, mode string, lanes bool, stages ...pipeline.Stage) pipeline.Pipeline {
	t.Helper()
	def := "main"
	p := pipeline.Pipeline{Name: name, PipelineType: pipeline.TypeV2, ExecutionMode: mode, Stages: stages,
		Variables: []pipeline.VariableDeclaration{{Name: "G"}}}
	if lanes {
		p.Variables = append(p.Variables, pipeline.VariableDeclaration{Name: engine.LaneVariable, DefaultValue: &def})
	}
	return loaded(t, p)
}

// gated is an action that waits on the gate "<G>-<name>".
func gated(name string) pipeline.Action {
	return scripted(name, 1, actiontest.ConfigGate, "#{variables.G}-"+name)
}

// twoStages is Build then Deploy, each one gated action.
func twoStages() []pipeline.Stage {
	return []pipeline.Stage{stage("Build", gated("B")), stage("Deploy", gated("D"))}
}

func (s *system) startGated(t *testing.T, name, gate string, extra ...string) *engine.Execution {
	t.Helper()
	vars := map[string]string{"G": gate}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	return s.start(t, name, vars, "")
}

func (s *system) locks(t *testing.T, name string) *engine.PipelineLocks {
	t.Helper()
	l, err := s.store.GetPipelineLocks(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Validate(); err != nil {
		t.Fatalf("stage locks of %s: %v", name, err)
	}
	return l
}

// waitsAt waits until the execution is parked in front of stage.
func (s *system) waitsAt(t *testing.T, id, stage, reason string) {
	t.Helper()
	s.waitFor(t, id, "waiting at "+stage, func(e *engine.Execution) bool {
		return e.Wait != nil && e.Wait.Stage == stage && e.Wait.Reason == reason
	})
}

// inStage waits until the execution's action of stage has started.
func (s *system) inStage(t *testing.T, id, stage string) {
	t.Helper()
	s.waitFor(t, id, "in stage "+stage, func(e *engine.Execution) bool {
		for _, st := range e.Stages {
			if st.Name == stage && st.Status == engine.InProgress {
				return true
			}
		}
		return false
	})
}

func TestSupersededReplacesTheWaitingExecution(t *testing.T) {
	s := newSystem(t, "")
	createPipeline(t, s.store, modal(t, "sup", pipeline.ModeSuperseded, false,
		stage("Build", gated("B")),
		stage("Approve", pipeline.Action{Name: "OK", ActionTypeID: manualType, RunOrder: new(1)})))
	for _, g := range []string{"e1", "e2", "e3"} {
		s.scripted.Release(g + "-B")
	}
	e1 := s.startGated(t, "sup", "e1")
	s.inStage(t, e1.ID, "Approve") // its approval is pending
	e2 := s.startGated(t, "sup", "e2")
	s.waitsAt(t, e2.ID, "Approve", engine.WaitStage)
	e3 := s.startGated(t, "sup", "e3")
	s.waitsAt(t, e3.ID, "Approve", engine.WaitStage)
	got := s.wait(t, e2.ID)
	wantStatus(t, "the older waiting execution", got.Status, engine.Superseded)
	if got.StatusSummary == "" || got.Wait != nil {
		t.Errorf("superseded execution: summary %q, wait %+v", got.StatusSummary, got.Wait)
	}
	// The approval pending in the stage was not touched.
	if r := latest(t, s.get(t, e1.ID), "Approve", "OK"); r.Status != engine.InProgress {
		t.Fatalf("the holder's approval is %s", r.Status)
	}
	approveOK(t, s, "sup", e1.ID)
	wantStatus(t, "the holder", s.wait(t, e1.ID).Status, engine.Succeeded)
	s.inStage(t, e3.ID, "Approve")
	approveOK(t, s, "sup", e3.ID)
	wantStatus(t, "the newest", s.wait(t, e3.ID).Status, engine.Succeeded)
	if l := s.locks(t, "sup"); l.Lanes != nil {
		t.Errorf("locks left behind: %+v", l.Lanes)
	}
}

func approveOK(t *testing.T, s *system, name, id string) {
	t.Helper()
	r := latest(t, s.get(t, id), "Approve", "OK")
	if _, err := s.svc.PutApprovalResult(service.LocalCaller(t.Context(), "approver"), service.ApprovalInput{
		PipelineName: name, Stage: "Approve", Action: "OK", Token: r.Token, Status: "Approved", Summary: "fine"}); err != nil {
		t.Fatal(err)
	}
}

// TestArrivingAtOnce: while Build is held, two executions start at the
// same moment and arrive at the locked stage together: SUPERSEDED keeps the
// more recent waiting and ends the other Superseded; QUEUED keeps both, in
// start order.
func TestArrivingAtOnce(t *testing.T) {
	for _, mode := range []string{pipeline.ModeSuperseded, pipeline.ModeQueued} {
		t.Run(mode, func(t *testing.T) {
			s := newSystem(t, "")
			createPipeline(t, s.store, modal(t, "p", mode, false, twoStages()...))
			first := s.startGated(t, "p", "first")
			s.inStage(t, first.ID, "Build")
			var pair [2]*engine.Execution
			var wg sync.WaitGroup
			for i := range pair {
				wg.Go(func() { pair[i] = s.startGated(t, "p", fmt.Sprintf("pair%d", i)) })
			}
			wg.Wait()
			older, newer := pair[0], pair[1]
			if newer.StartTime.Before(older.StartTime) || (newer.StartTime.Equal(older.StartTime) && newer.ID < older.ID) {
				older, newer = newer, older
			}
			if mode == pipeline.ModeSuperseded {
				wantStatus(t, "the older of the pair", s.wait(t, older.ID).Status, engine.Superseded)
				s.waitsAt(t, newer.ID, "Build", engine.WaitStage)
			} else {
				s.waitsAt(t, older.ID, "Build", engine.WaitStage)
				s.waitsAt(t, newer.ID, "Build", engine.WaitStage)
				w := s.locks(t, "p").Lanes[""].Stages["Build"].Waiting
				if len(w) != 2 || w[0].ExecutionID != older.ID || w[1].ExecutionID != newer.ID {
					t.Fatalf("waiting line %+v, want %s then %s", w, older.ID, newer.ID)
				}
			}
			for _, g := range []string{"first", "pair0", "pair1"} {
				s.scripted.Release(g + "-B")
				s.scripted.Release(g + "-D")
			}
			wantStatus(t, "first", s.wait(t, first.ID).Status, engine.Succeeded)
			wantStatus(t, "the newer of the pair", s.wait(t, newer.ID).Status, engine.Succeeded)
			if mode == pipeline.ModeQueued {
				wantStatus(t, "the older of the pair", s.wait(t, older.ID).Status, engine.Succeeded)
				if eo, en := s.get(t, older.ID), s.get(t, newer.ID); eo.EndTime.After(en.EndTime) {
					t.Errorf("QUEUED: the older ended at %v, after the newer at %v", eo.EndTime, en.EndTime)
				}
				assertNoOverlap(t, s, []string{first.ID, older.ID, newer.ID}, "Build", "Deploy")
			}
		})
	}
}

// TestQueuedKeepsStartOrder: five executions queue behind one another; they
// end in the order they started and never share a stage.
func TestQueuedKeepsStartOrder(t *testing.T) {
	s := newSystem(t, "")
	createPipeline(t, s.store, modal(t, "q", pipeline.ModeQueued, false, twoStages()...))
	var ids []string
	for i := range 5 {
		g := fmt.Sprintf("e%d", i)
		ids = append(ids, s.startGated(t, "q", g).ID)
		s.scripted.Release(g + "-B")
		s.scripted.Release(g + "-D")
	}
	for _, id := range ids {
		e := s.wait(t, id)
		wantStatus(t, id, e.Status, engine.Succeeded)
	}
	ended := slices.Clone(ids)
	slices.SortStableFunc(ended, func(a, b string) int { return s.get(t, a).EndTime.Compare(s.get(t, b).EndTime) })
	if !slices.Equal(ended, ids) {
		t.Fatalf("ended in order %v, started %v", ended, ids)
	}
	assertNoOverlap(t, s, ids, "Build", "Deploy")
}

// assertNoOverlap checks that no two of the executions were in one stage
// at the same time.
func assertNoOverlap(t *testing.T, s *system, ids []string, stages ...string) {
	t.Helper()
	for _, name := range stages {
		var spans []struct {
			id       string
			from, to int64
		}
		for _, id := range ids {
			for _, st := range s.get(t, id).Stages {
				if st.Name == name && !st.StartTime.IsZero() {
					spans = append(spans, struct {
						id       string
						from, to int64
					}{id, st.StartTime.UnixNano(), st.EndTime.UnixNano()})
				}
			}
		}
		for i := range spans {
			for j := i + 1; j < len(spans); j++ {
				a, b := spans[i], spans[j]
				if a.from < b.to && b.from < a.to {
					t.Errorf("stage %s: %s and %s were in it at once", name, a.id, b.id)
				}
			}
		}
	}
}

// TestDisabledTransitionHoldsWaiters: executions wait at a disabled
// transition, whatever their mode, and go on when it is enabled; the one in
// the stage goes on meanwhile.
func TestDisabledTransitionHoldsWaiters(t *testing.T) {
	for _, mode := range []string{pipeline.ModeQueued, pipeline.ModeParallel} {
		t.Run(mode, func(t *testing.T) {
			s := newSystem(t, "")
			createPipeline(t, s.store, modal(t, "tr", mode, false, twoStages()...))
			ctx := service.LocalCaller(t.Context(), "operator")
			e1 := s.startGated(t, "tr", "e1")
			s.scripted.Release("e1-B")
			s.inStage(t, e1.ID, "Deploy")
			if err := s.svc.DisableStageTransition(ctx, "tr", "Deploy", service.TransitionInbound, "freeze"); err != nil {
				t.Fatal(err)
			}
			e2 := s.startGated(t, "tr", "e2")
			e3 := s.startGated(t, "tr", "e3")
			s.scripted.Release("e2-B")
			s.scripted.Release("e3-B")
			s.waitsAt(t, e2.ID, "Deploy", engine.WaitTransition)
			s.waitsAt(t, e3.ID, "Deploy", engine.WaitTransition)
			s.scripted.Release("e1-D")
			wantStatus(t, "the execution in the stage", s.wait(t, e1.ID).Status, engine.Succeeded)
			if e := s.get(t, e2.ID); e.Wait == nil || e.Status != engine.InProgress {
				t.Fatalf("e2 went on past the disabled transition: %s, wait %+v", e.Status, e.Wait)
			}
			st, err := s.svc.GetPipelineState(ctx, "tr")
			if err != nil {
				t.Fatal(err)
			}
			deploy := st.StageStates[1]
			if ts := deploy.InboundTransitionState; ts == nil || ts.Enabled || ts.DisabledReason != "freeze" || ts.LastChangedBy == "" || ts.LastChangedAt == nil {
				t.Errorf("inbound transition state %+v", ts)
			}
			if len(deploy.InboundExecutions) != 2 || deploy.InboundExecution == nil || deploy.InboundExecution.PipelineExecutionID != e2.ID {
				t.Errorf("inbound executions %+v", deploy.InboundExecutions)
			}
			if err := s.svc.EnableStageTransition(ctx, "tr", "Deploy", service.TransitionInbound); err != nil {
				t.Fatal(err)
			}
			s.scripted.Release("e2-D")
			s.scripted.Release("e3-D")
			wantStatus(t, "e2", s.wait(t, e2.ID).Status, engine.Succeeded)
			wantStatus(t, "e3", s.wait(t, e3.ID).Status, engine.Succeeded)
			if mode == pipeline.ModeQueued {
				assertNoOverlap(t, s, []string{e1.ID, e2.ID, e3.ID}, "Deploy")
			}
		})
	}
}

// TestStopFreesTheStage: a waiting execution that is stopped leaves the
// line; a holder stopped while half its parallel group is done stops once
// the running action ends (stop and wait) and hands the stage on.
func TestStopFreesTheStage(t *testing.T) {
	s := newSystem(t, "")
	createPipeline(t, s.store, modal(t, "st", pipeline.ModeQueued, false,
		stage("Build", gated("B"), scripted("Fast", 1)), stage("Deploy", gated("D"))))
	ctx := service.LocalCaller(t.Context(), "test")
	e1 := s.startGated(t, "st", "e1")
	s.waitFor(t, e1.ID, "Fast done", func(e *engine.Execution) bool {
		r, ok := e.LatestRun("Build", "Fast")
		return ok && r.Status == engine.Succeeded
	})
	e2 := s.startGated(t, "st", "e2")
	s.waitsAt(t, e2.ID, "Build", engine.WaitStage)
	e3 := s.startGated(t, "st", "e3")
	s.waitsAt(t, e3.ID, "Build", engine.WaitStage)
	if err := s.svc.StopExecution(ctx, "st", e2.ID, false, "not this one"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "the stopped waiter", s.wait(t, e2.ID).Status, engine.Stopped)
	if err := s.svc.StopExecution(ctx, "st", e1.ID, false, "half done"); err != nil {
		t.Fatal(err)
	}
	if e := s.get(t, e1.ID); e.Status != engine.Stopping {
		t.Fatalf("stop and wait with an action running: %s", e.Status)
	}
	s.scripted.Release("e1-B")
	wantStatus(t, "the stopped holder", s.wait(t, e1.ID).Status, engine.Stopped)
	s.scripted.Release("e3-B")
	s.scripted.Release("e3-D")
	wantStatus(t, "the next in line", s.wait(t, e3.ID).Status, engine.Succeeded)
}

// TestRetryAfterFailureInAParallelGroup: a stage whose group has one
// success and one failure is retried: FAILED_ACTIONS runs only the failed
// action again, ALL_ACTIONS both; the execution then goes on with the
// artifacts and variables it had.
func TestRetryAfterFailureInAParallelGroup(t *testing.T) {
	for _, mode := range []string{service.RetryFailedActions, service.RetryAllActions} {
		t.Run(mode, func(t *testing.T) {
			s := newSystem(t, "")
			ok := scripted("OK", 1, actiontest.ConfigOutputVariables, "V=built")
			ok.Namespace = "ns"
			flaky := actiontest.TypedAction(actiontest.ResumableType, "Flaky", 1, actiontest.ConfigResult, actiontest.Wait)
			createPipeline(t, s.store, modal(t, "rt", pipeline.ModeSuperseded, false,
				stage("Build", ok, flaky),
				stage("Deploy", scripted("Use", 1, "Seen", "#{ns.V}"))))
			ctx := service.LocalCaller(t.Context(), "test")
			e := s.startGated(t, "rt", "x")
			run := s.waitFor(t, e.ID, "Flaky waiting", func(e *engine.Execution) bool {
				r, ok := e.LatestRun("Build", "Flaky")
				return ok && r.Status == engine.InProgress
			})
			flakyRun, _ := run.LatestRun("Build", "Flaky")
			if err := s.runner.Complete(ctx, e.ID, flakyRun.ID, engine.Result{Status: engine.Failed, ErrorMessage: "flaked"}); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, "before the retry", s.wait(t, e.ID).Status, engine.Failed)
			if _, err := s.svc.RetryStageExecution(ctx, "rt", "Deploy", e.ID, mode); err == nil {
				t.Fatal("retrying a stage that never ran was accepted")
			}
			if id, err := s.svc.RetryStageExecution(ctx, "rt", "Build", e.ID, mode); err != nil || id != e.ID {
				t.Fatalf("retry: %q, %v", id, err)
			}
			again := s.waitFor(t, e.ID, "Flaky's second attempt", func(e *engine.Execution) bool {
				r, ok := e.LatestRun("Build", "Flaky")
				return ok && r.Attempt == 2 && r.Status == engine.InProgress
			})
			second, _ := again.LatestRun("Build", "Flaky")
			if err := s.runner.Complete(ctx, e.ID, second.ID, engine.Result{Status: engine.Succeeded}); err != nil {
				t.Fatal(err)
			}
			done := s.wait(t, e.ID)
			if done.Status != engine.Succeeded {
				t.Fatalf("after the retry: %s", s.describe(t, e.ID))
			}
			wantOK := 1
			if mode == service.RetryAllActions {
				wantOK = 2
			}
			if n := latest(t, done, "Build", "OK").Attempt; n != wantOK {
				t.Errorf("OK ran %d attempts, want %d", n, wantOK)
			}
			if got := latest(t, done, "Deploy", "Use").Configuration["Seen"]; got != "built" {
				t.Errorf("Deploy saw %q, want the variable of Build", got)
			}
			if done.Stages[0].ManualRetries != 1 || done.Stages[0].LatestRetryTrigger != engine.ManualStageRetry {
				t.Errorf("retry metadata %+v", done.Stages[0])
			}
			if _, err := s.svc.RetryStageExecution(ctx, "rt", "Build", e.ID, mode); err == nil {
				t.Error("retrying a stage that succeeded was accepted")
			}
		})
	}
}

// TestUpdateCancels: updating the pipeline cancels its SUPERSEDED and QUEUED
// executions — the waiting ones at once, the one in a stage once its action
// has ended.
func TestUpdateCancels(t *testing.T) {
	s := newSystem(t, "")
	p := modal(t, "up", pipeline.ModeQueued, false, twoStages()...)
	createPipeline(t, s.store, p)
	ctx := service.LocalCaller(t.Context(), "test")
	e1 := s.startGated(t, "up", "e1")
	s.inStage(t, e1.ID, "Build")
	e2 := s.startGated(t, "up", "e2")
	s.waitsAt(t, e2.ID, "Build", engine.WaitStage)
	p.ExecutionMode = pipeline.ModeParallel
	if _, err := s.svc.UpdatePipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "the waiting execution", s.wait(t, e2.ID).Status, engine.Cancelled)
	if e := s.get(t, e1.ID); e.Status != engine.Stopping {
		t.Fatalf("the holder: %s", e.Status)
	}
	s.scripted.Release("e1-B")
	got := s.wait(t, e1.ID)
	wantStatus(t, "the holder", got.Status, engine.Cancelled)
	if r := latest(t, got, "Build", "B"); r.Status != engine.Succeeded {
		t.Errorf("its action: %s (it should have finished)", r.Status)
	}
	if _, ok := got.LatestRun("Deploy", "D"); ok {
		t.Error("the cancelled execution went on to Deploy")
	}
}

// TestRollbackStage: a rollback re-runs one stage with what an earlier
// execution produced before it.
func TestRollbackStage(t *testing.T) {
	s := newSystem(t, "")
	build := scripted("B", 1, actiontest.ConfigOutputVariables, "V=#{variables.G}")
	build.Namespace = "ns"
	createPipeline(t, s.store, modal(t, "rb", pipeline.ModeSuperseded, false,
		stage("Build", build), stage("Deploy", scripted("D", 1, "Version", "#{ns.V}"))))
	ctx := service.LocalCaller(t.Context(), "test")
	v1 := s.startGated(t, "rb", "v1")
	wantStatus(t, "v1", s.wait(t, v1.ID).Status, engine.Succeeded)
	v2 := s.startGated(t, "rb", "v2")
	wantStatus(t, "v2", s.wait(t, v2.ID).Status, engine.Succeeded)
	id, err := s.svc.RollbackStage(ctx, "rb", "Deploy", v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	rb := s.wait(t, id)
	wantStatus(t, "the rollback", rb.Status, engine.Succeeded)
	if got := latest(t, rb, "Deploy", "D").Configuration["Version"]; got != "v1" {
		t.Errorf("the rollback deployed %q, want v1's", got)
	}
	if _, ok := rb.LatestRun("Build", "B"); ok || rb.Trigger.Type != engine.TriggerManualRollback || rb.Rollback == nil || rb.Rollback.Target != v1.ID {
		t.Errorf("rollback record: trigger %+v, rollback %+v, build ran %v", rb.Trigger, rb.Rollback, ok)
	}
	out, err := s.svc.GetExecution(ctx, "rb", id)
	if err != nil {
		t.Fatal(err)
	}
	if out.ExecutionType != "ROLLBACK" || out.RollbackMetadata == nil || out.RollbackMetadata.RollbackTargetPipelineExecutionID != v1.ID {
		t.Errorf("GetPipelineExecution: type %q, metadata %+v", out.ExecutionType, out.RollbackMetadata)
	}
	if _, err := s.svc.RollbackStage(ctx, "rb", "Deploy", "no-such-execution"); err == nil {
		t.Error("a rollback to an unknown execution was accepted")
	}
	if _, err := s.svc.RollbackStage(ctx, "rb", "Deploy", id); !errs.Is(err, errs.InvalidState) || !strings.Contains(err.Error(), "is a rollback") {
		t.Errorf("a rollback to a rollback: %v", err)
	}
	src := scripted("Fetch", 1)
	src.ActionTypeID.Category = pipeline.CategorySource
	createPipeline(t, s.store, pipeline.Pipeline{Name: "src", PipelineType: pipeline.TypeV2, Stages: []pipeline.Stage{stage("Source", src), stage("Deploy", scripted("D", 1))}})
	if _, err := s.svc.RollbackStage(ctx, "src", "Source", v1.ID); !errs.Is(err, errs.InvalidState) || !strings.Contains(err.Error(), "source stage") {
		t.Errorf("a rollback of a source stage: %v", err)
	}
}

// TestLanesAreIndependent: with StageflowLane, executions of one lane
// supersede each other and leave the other lane alone.
func TestLanesAreIndependent(t *testing.T) {
	s := newSystem(t, "")
	createPipeline(t, s.store, modal(t, "ln", pipeline.ModeSuperseded, true, twoStages()...))
	for _, g := range []string{"a1", "a2", "a3", "b1"} {
		s.scripted.Release(g + "-B")
	}
	a1 := s.startGated(t, "ln", "a1", engine.LaneVariable, "a")
	s.inStage(t, a1.ID, "Deploy")
	b1 := s.startGated(t, "ln", "b1", engine.LaneVariable, "b")
	s.inStage(t, b1.ID, "Deploy") // another lane: not held by a1
	a2 := s.startGated(t, "ln", "a2", engine.LaneVariable, "a")
	s.waitsAt(t, a2.ID, "Deploy", engine.WaitStage)
	a3 := s.startGated(t, "ln", "a3", engine.LaneVariable, "a")
	wantStatus(t, "a2", s.wait(t, a2.ID).Status, engine.Superseded)
	for _, g := range []string{"a1", "a3", "b1"} {
		s.scripted.Release(g + "-D")
	}
	for _, id := range []string{a1.ID, a3.ID, b1.ID} {
		wantStatus(t, id, s.wait(t, id).Status, engine.Succeeded)
	}
	if e := s.get(t, b1.ID); e.Lane != "b" {
		t.Errorf("lane %q", e.Lane)
	}
}

// TestAutomaticRetryOnFailure: a stage whose onFailure result is RETRY is
// retried once by itself; a second failure fails the execution.
func TestAutomaticRetryOnFailure(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failures int
		want     engine.Status
	}{{"recovers", 1, engine.Succeeded}, {"fails again", 2, engine.Failed}} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSystem(t, "")
			flaky := actiontest.TypedAction(actiontest.ResumableType, "Flaky", 1, actiontest.ConfigResult, actiontest.Wait)
			build := stage("Build", scripted("OK", 1), flaky)
			build.OnFailure = &pipeline.FailureConditions{Result: pipeline.ResultRetry, RetryConfiguration: &pipeline.RetryConfiguration{RetryMode: service.RetryFailedActions}}
			createPipeline(t, s.store, modal(t, "auto", pipeline.ModeSuperseded, false, build, stage("Deploy", scripted("D", 1))))
			ctx := service.LocalCaller(t.Context(), "test")
			e := s.startGated(t, "auto", "x")
			for attempt := 1; attempt <= tt.failures; attempt++ {
				cur := s.waitFor(t, e.ID, fmt.Sprintf("Flaky attempt %d", attempt), func(e *engine.Execution) bool {
					r, ok := e.LatestRun("Build", "Flaky")
					return ok && r.Attempt == attempt && r.Status == engine.InProgress
				})
				r, _ := cur.LatestRun("Build", "Flaky")
				if err := s.runner.Complete(ctx, e.ID, r.ID, engine.Result{Status: engine.Failed, ErrorMessage: "flaked"}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.failures == 1 {
				cur := s.waitFor(t, e.ID, "Flaky attempt 2", func(e *engine.Execution) bool {
					r, ok := e.LatestRun("Build", "Flaky")
					return ok && r.Attempt == 2 && r.Status == engine.InProgress
				})
				r, _ := cur.LatestRun("Build", "Flaky")
				if err := s.runner.Complete(ctx, e.ID, r.ID, engine.Result{Status: engine.Succeeded}); err != nil {
					t.Fatal(err)
				}
			}
			done := s.wait(t, e.ID)
			wantStatus(t, "execution", done.Status, tt.want)
			if st := done.Stages[0]; st.AutoRetries != 1 || st.LatestRetryTrigger != engine.AutoStageRetry {
				t.Errorf("retry metadata %+v", st)
			}
			if n := latest(t, done, "Build", "OK").Attempt; n != 1 {
				t.Errorf("the action that succeeded ran %d times", n)
			}
		})
	}
}

// TestWaitingRoomIsBounded: a start that would make more executions wait
// for a stage than the service keeps is refused, with nothing created.
func TestWaitingRoomIsBounded(t *testing.T) {
	s := newSystem(t, "")
	svc := service.New(service.Config{Store: s.store, Driver: s.runner, MaxWaitingExecutions: 2})
	createPipeline(t, s.store, modal(t, "full", pipeline.ModeQueued, false, twoStages()...))
	ctx := service.LocalCaller(t.Context(), "test")
	var ids []string
	for i := range 3 { // one in Build, two waiting
		e, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "full", Variables: map[string]string{"G": fmt.Sprint("e", i)}})
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		ids = append(ids, e.ID)
	}
	_, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "full", Variables: map[string]string{"G": "e3"}})
	if !errs.Is(err, errs.LimitExceeded) || !strings.Contains(err.Error(), "2 executions waiting") {
		t.Fatalf("a fourth start: %v", err)
	}
	list, _, err := s.store.ListExecutions(t.Context(), store.ExecutionFilter{PipelineName: "full"}, store.Page{})
	if err != nil || len(list) != 3 {
		t.Fatalf("%d executions stored (%v), want 3", len(list), err)
	}
	for _, id := range ids {
		s.scripted.Release(s.get(t, id).Variables["G"] + "-B")
		s.scripted.Release(s.get(t, id).Variables["G"] + "-D")
	}
	for _, id := range ids {
		wantStatus(t, id, s.wait(t, id).Status, engine.Succeeded)
	}
}
