package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// heldLocks returns a valid stage locks record of the pipeline: holder
// holds Build in the default lane, waiter waits for it, lane "hotfix" holds
// Deploy by other, and the transition into Deploy is disabled.
func heldLocks(pipelineName, holder, waiter, other string) *engine.PipelineLocks {
	return &engine.PipelineLocks{
		Pipeline: pipelineName,
		Lanes: map[string]*engine.LaneLocks{
			"": {Stages: map[string]*engine.StageLock{"Build": {
				Holder:  &engine.Holder{ExecutionID: holder, Mode: pipeline.ModeSuperseded, Started: at(0), Since: at(time.Minute)},
				Waiting: []engine.Waiter{{ExecutionID: waiter, Mode: pipeline.ModeSuperseded, Started: at(time.Second), Since: at(2 * time.Minute)}},
			}}},
			"hotfix": {Stages: map[string]*engine.StageLock{"Deploy": {
				Holder: &engine.Holder{ExecutionID: other, Mode: pipeline.ModeQueued, Started: at(2 * time.Second), Since: at(3 * time.Minute)},
			}}},
		},
		Transitions: map[string]*engine.DisabledTransition{"Deploy": {Reason: "freeze", By: "arn:aws:iam::123456789012:user/ops", At: at(time.Hour)}},
	}
}

// normalLocks returns a copy of l with every time in UTC, for DeepEqual.
func normalLocks(l *engine.PipelineLocks) *engine.PipelineLocks {
	c := *l
	c.Lanes = nil
	for name, ln := range l.Lanes {
		if c.Lanes == nil {
			c.Lanes = map[string]*engine.LaneLocks{}
		}
		nl := &engine.LaneLocks{Stages: map[string]*engine.StageLock{}}
		for st, s := range ln.Stages {
			ns := &engine.StageLock{}
			if s.Holder != nil {
				h := *s.Holder
				h.Started, h.Since = h.Started.UTC(), h.Since.UTC()
				ns.Holder = &h
			}
			for _, w := range s.Waiting {
				w.Started, w.Since = w.Started.UTC(), w.Since.UTC()
				ns.Waiting = append(ns.Waiting, w)
			}
			nl.Stages[st] = ns
		}
		c.Lanes[name] = nl
	}
	c.Transitions = nil
	for st, t := range l.Transitions {
		if c.Transitions == nil {
			c.Transitions = map[string]*engine.DisabledTransition{}
		}
		nt := *t
		nt.At = nt.At.UTC()
		c.Transitions[st] = &nt
	}
	return &c
}

func sameLocks(t *testing.T, what string, got, want *engine.PipelineLocks) {
	t.Helper()
	deepEqual(t, what, normalLocks(got), normalLocks(want))
}

func getLocks(t *testing.T, s store.Store, name string) *engine.PipelineLocks {
	t.Helper()
	l, err := s.GetPipelineLocks(t.Context(), name)
	must(t, err)
	return l
}

// lockedExecutions creates the executions of the pipeline named by ids.
func lockedExecutions(t *testing.T, s store.Store, pipelineName string, ids ...string) []*engine.Execution {
	t.Helper()
	var out []*engine.Execution
	for i, id := range ids {
		out = append(out, createExecution(t, s, richExecution(id, pipelineName, at(time.Duration(i)*time.Second))))
	}
	return out
}

// touched returns a copy of e changed as a lock decision changes an
// execution (a new summary and update time), Version kept.
func touched(t *testing.T, s store.Store, id, summary string) *engine.Execution {
	t.Helper()
	e, err := s.GetExecution(t.Context(), id)
	must(t, err)
	e.StatusSummary = summary
	e.LastUpdateTime = e.LastUpdateTime.Add(time.Minute)
	return e
}

// unchanged fails unless the stored execution still is want.
func unchanged(t *testing.T, s store.Store, want *engine.Execution) {
	t.Helper()
	got, err := s.GetExecution(t.Context(), want.ID)
	must(t, err)
	sameExecution(t, got, want)
}

var lockTests = []test{
	{"NoRecordIsEmptyVersion0", func(t *testing.T, s store.Store) {
		got := getLocks(t, s, "alpha")
		deepEqual(t, "the locks of a pipeline without any", got, &engine.PipelineLocks{Pipeline: "alpha"})
		_, err := s.GetPipelineLocks(t.Context(), "")
		wantCode(t, err, errs.Validation, "")
	}},
	{"RoundTrip", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		execs := lockedExecutions(t, s, "alpha", "exec-1", "exec-2", "exec-3")
		e1, e2 := touched(t, s, "exec-1", "holds Build"), touched(t, s, "exec-2", "waits for Build")
		l := heldLocks("alpha", "exec-1", "exec-2", "exec-3")
		must(t, s.UpdateLocks(ctx, l, []*engine.Execution{e1, e2}))
		if l.Version != 1 || e1.Version != 2 || e2.Version != 2 {
			t.Fatalf("versions after the first write: locks %d, executions %d, %d; want 1, 2, 2", l.Version, e1.Version, e2.Version)
		}
		got := getLocks(t, s, "alpha")
		sameLocks(t, "locks read back", got, l)
		unchanged(t, s, e1)
		unchanged(t, s, e2)
		unchanged(t, s, execs[2])

		// The record read is the caller's; so is the one written.
		got.Transitions["Deploy"].Reason = "changed by the caller"
		l.Lanes[""].Stages["Build"].Holder.ExecutionID = "changed too"
		sameLocks(t, "locks read again", getLocks(t, s, "alpha"), heldLocksVersion(1))

		// Next version: exec-1 leaves Build, exec-2 gets it; no execution
		// at all in the write is fine too.
		next := getLocks(t, s, "alpha")
		st := next.Lanes[""].Stages["Build"]
		st.Holder = &engine.Holder{ExecutionID: "exec-2", Mode: pipeline.ModeSuperseded, Started: at(time.Second), Since: at(4 * time.Minute)}
		st.Waiting = nil
		must(t, s.UpdateLocks(ctx, next, nil))
		if next.Version != 2 {
			t.Fatalf("Version = %d after the second write, want 2", next.Version)
		}
		sameLocks(t, "second version", getLocks(t, s, "alpha"), next)
		// Emptied, the record stays, at its next version.
		empty := &engine.PipelineLocks{Pipeline: "alpha", Version: 2}
		must(t, s.UpdateLocks(ctx, empty, nil))
		deepEqual(t, "emptied locks", getLocks(t, s, "alpha"), &engine.PipelineLocks{Pipeline: "alpha", Version: 3})
		// Other pipelines have their own.
		deepEqual(t, "another pipeline's locks", getLocks(t, s, "bravo"), &engine.PipelineLocks{Pipeline: "bravo"})
	}},
	{"LocksVersionConflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		lockedExecutions(t, s, "alpha", "exec-1")
		first := heldLocks("alpha", "exec-1", "exec-2", "exec-3")
		must(t, s.UpdateLocks(ctx, first, nil))
		stale := getLocks(t, s, "alpha") // version 1
		must(t, s.UpdateLocks(ctx, getLocks(t, s, "alpha"), nil))
		want := getLocks(t, s, "alpha") // version 2

		e1 := touched(t, s, "exec-1", "not written")
		for _, tc := range []struct {
			name    string
			version int64
		}{{"create over a record", 0}, {"stale version", 1}, {"future version", 9}} {
			l := getLocks(t, s, "alpha")
			l.Version = tc.version
			l.Transitions = nil
			err := s.UpdateLocks(ctx, l, []*engine.Execution{e1})
			wantCode(t, err, errs.Conflict, errs.KindPipeline)
			if l.Version != tc.version || e1.Version != 1 {
				t.Fatalf("%s: versions changed by a failed write: locks %d, execution %d", tc.name, l.Version, e1.Version)
			}
		}
		wantCode(t, s.UpdateLocks(ctx, stale, nil), errs.Conflict, errs.KindPipeline)
		sameLocks(t, "locks after the conflicts", getLocks(t, s, "alpha"), want)
		unchanged(t, s, createdCopy("exec-1", "alpha", 0))

		// A version given for a pipeline without a record conflicts too:
		// the caller read before the record went away.
		wantCode(t, s.UpdateLocks(ctx, &engine.PipelineLocks{Pipeline: "bravo", Version: 3}, nil), errs.Conflict, errs.KindPipeline)
		deepEqual(t, "locks of bravo", getLocks(t, s, "bravo"), &engine.PipelineLocks{Pipeline: "bravo"})
	}},
	{"StaleExecutionFailsTheWholeWrite", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		lockedExecutions(t, s, "alpha", "exec-1", "exec-2", "exec-3")
		base := heldLocks("alpha", "exec-1", "exec-2", "exec-3")
		must(t, s.UpdateLocks(ctx, base, nil))
		before := map[string]*engine.Execution{}
		for _, id := range []string{"exec-1", "exec-3"} {
			e, err := s.GetExecution(ctx, id)
			must(t, err)
			before[id] = e
		}
		// exec-2 moves on under the caller's feet.
		stale := touched(t, s, "exec-2", "stale copy")
		moved := touched(t, s, "exec-2", "moved on")
		must(t, s.UpdateExecution(ctx, moved))

		for _, tc := range []struct {
			name string
			mid  *engine.Execution
			code errs.Code
		}{
			{"stale", stale, errs.Conflict},
			{"unknown", func() *engine.Execution {
				e := richExecution("ghost", "alpha", at(0))
				e.Version = 1
				return e
			}(), errs.NotFound},
		} {
			l := getLocks(t, s, "alpha")
			l.Lanes = nil
			e1, e3 := touched(t, s, "exec-1", "not written"), touched(t, s, "exec-3", "not written")
			err := s.UpdateLocks(ctx, l, []*engine.Execution{e1, tc.mid, e3})
			wantCode(t, err, tc.code, errs.KindPipelineExecution)
			if l.Version != 1 || e1.Version != 1 || e3.Version != 1 {
				t.Fatalf("%s: versions changed by a failed write: locks %d, executions %d, %d", tc.name, l.Version, e1.Version, e3.Version)
			}
			sameLocks(t, tc.name+": locks after the failed write", getLocks(t, s, "alpha"), base)
			unchanged(t, s, before["exec-1"])
			unchanged(t, s, before["exec-3"])
			unchanged(t, s, moved)
		}
	}},
	{"CreateFromVersion0", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		execs := lockedExecutions(t, s, "alpha", "exec-1")
		l := getLocks(t, s, "alpha")
		l.Lanes = heldLocks("alpha", "exec-1", "exec-2", "exec-3").Lanes
		e1 := touched(t, s, "exec-1", "holds Build")
		must(t, s.UpdateLocks(ctx, l, []*engine.Execution{e1}))
		if l.Version != 1 || e1.Version != execs[0].Version+1 {
			t.Fatalf("versions: locks %d, execution %d", l.Version, e1.Version)
		}
		sameLocks(t, "created locks", getLocks(t, s, "alpha"), l)
		unchanged(t, s, e1)
	}},
	{"DeletePipelineRemovesLocks", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		createPipeline(t, s, "alpha", "Source", "Build", "Deploy")
		createPipeline(t, s, "bravo", "Source")
		lockedExecutions(t, s, "alpha", "exec-1")
		must(t, s.UpdateLocks(ctx, heldLocks("alpha", "exec-1", "exec-2", "exec-3"), []*engine.Execution{touched(t, s, "exec-1", "holds")}))
		other := heldLocks("bravo", "b-1", "b-2", "b-3")
		must(t, s.UpdateLocks(ctx, other, nil))
		must(t, s.DeletePipeline(ctx, "alpha"))
		deepEqual(t, "locks of a deleted pipeline", getLocks(t, s, "alpha"), &engine.PipelineLocks{Pipeline: "alpha"})
		sameLocks(t, "locks of the pipeline left", getLocks(t, s, "bravo"), other)
		// A pipeline created again under the name starts from Version 0.
		createPipeline(t, s, "alpha", "Source")
		again := &engine.PipelineLocks{Pipeline: "alpha", Transitions: map[string]*engine.DisabledTransition{"Source": {Reason: "new", At: at(0)}}}
		must(t, s.UpdateLocks(ctx, again, nil))
		sameLocks(t, "locks of the pipeline created again", getLocks(t, s, "alpha"), again)
	}},
	{"ConcurrentUpdatesOneWins", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		lockedExecutions(t, s, "alpha", "exec-1", "exec-2")
		for round, version := range []int64{0, 1} { // creating, then updating
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				errs2 = make([]error, 2)
				tries = make([]*engine.PipelineLocks, 2)
				execs = make([]*engine.Execution, 2)
				read  = make([]int64, 2)
			)
			for i := range 2 {
				id := fmt.Sprint("exec-", i+1)
				l := getLocks(t, s, "alpha")
				if l.Version != version {
					t.Fatalf("round %d: read version %d, want %d", round, l.Version, version)
				}
				l.Lanes = map[string]*engine.LaneLocks{"": {Stages: map[string]*engine.StageLock{"Build": {
					Holder: &engine.Holder{ExecutionID: id, Mode: pipeline.ModeQueued, Started: at(0), Since: at(time.Duration(round) * time.Minute)}}}}}
				tries[i], execs[i] = l, touched(t, s, id, fmt.Sprintf("round %d", round))
				read[i] = execs[i].Version
			}
			for i := range 2 {
				wg.Go(func() {
					<-start
					errs2[i] = s.UpdateLocks(ctx, tries[i], []*engine.Execution{execs[i]})
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs2 {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Fatalf("round %d: both writes of version %d succeeded", round, version)
					}
					winner = i
				case !errs.Is(err, errs.Conflict):
					t.Fatalf("round %d: the losing write failed with %v, want Conflict", round, err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no write succeeded: %v", round, errs2)
			}
			loser := 1 - winner
			sameLocks(t, "the winner's locks", getLocks(t, s, "alpha"), tries[winner])
			unchanged(t, s, execs[winner])
			if execs[loser].Version != read[loser] || execs[winner].Version != read[winner]+1 || tries[winner].Version != version+1 || tries[loser].Version != version {
				t.Fatalf("round %d: versions after the race: executions %d, %d (read %v), locks %d, %d", round, execs[0].Version, execs[1].Version, read, tries[0].Version, tries[1].Version)
			}
			got, err := s.GetExecution(ctx, execs[loser].ID)
			must(t, err)
			if got.Version != execs[loser].Version || got.StatusSummary == execs[loser].StatusSummary {
				t.Fatalf("round %d: the loser's execution was written (version %d, summary %q)", round, got.Version, got.StatusSummary)
			}
		}
	}},
	{"ExecutionsWrittenAsUpdateExecutionDoes", func(t *testing.T, s store.Store) {
		// An execution written with the locks reads back whole, however
		// a store keeps it (ended runs moved apart, run-token pointers),
		// by ID and by the token of a run the write added.
		ctx := t.Context()
		lockedExecutions(t, s, "alpha", "exec-1", "exec-2")
		l := heldLocks("alpha", "exec-1", "exec-2", "exec-3")
		e1, e2 := touched(t, s, "exec-1", "many runs"), touched(t, s, "exec-2", "a token changes")
		for i := range 150 {
			e1.Actions = append(e1.Actions, actionRun(fmt.Sprint("exec-1-more-", i), i, at(time.Duration(i)*time.Second)))
			e1.Actions[len(e1.Actions)-1].Token = fmt.Sprint("token-more-", i)
		}
		e2.ClientRequestToken = "tok-2"
		must(t, s.UpdateLocks(ctx, l, []*engine.Execution{e1, e2}))
		unchanged(t, s, e1)
		unchanged(t, s, e2)
		for _, i := range []int{0, 99, 149} {
			x, err := s.ExecutionByRunToken(ctx, fmt.Sprint("token-more-", i))
			if err != nil || x.ID != "exec-1" {
				t.Fatalf("ExecutionByRunToken of a run written with the locks (%d): %v", i, err)
			}
		}
		// Another write of both, as UpdateExecution would make it.
		e1.Status, e1.EndTime = engine.Succeeded, at(time.Hour)
		l.Lanes = nil
		must(t, s.UpdateLocks(ctx, l, []*engine.Execution{e1, e2}))
		unchanged(t, s, e1)
		again := richExecution("exec-9", "alpha", at(time.Hour))
		again.ClientRequestToken = "tok-2"
		got, _, err := s.CreateExecution(ctx, again)
		must(t, err)
		if got.ID != "exec-2" {
			t.Fatalf("the client request token written with the locks names %s, want exec-2", got.ID)
		}
		active, err := s.ListActiveExecutions(ctx)
		must(t, err)
		deepEqual(t, "active executions", active, []string{"exec-2"})
	}},
	{"RefusesBadInput", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		lockedExecutions(t, s, "alpha", "exec-1")
		lockedExecutions(t, s, "bravo", "exec-b")
		bad := heldLocks("alpha", "exec-1", "exec-1", "exec-3") // exec-1 holds and waits
		for _, tc := range []struct {
			name  string
			locks *engine.PipelineLocks
			execs []*engine.Execution
		}{
			{"no pipeline", &engine.PipelineLocks{}, nil},
			{"nil record", nil, nil},
			{"broken invariant", bad, nil},
			{"execution of another pipeline", &engine.PipelineLocks{Pipeline: "alpha"}, []*engine.Execution{touched(t, s, "exec-b", "x")}},
			{"execution given twice", &engine.PipelineLocks{Pipeline: "alpha"}, []*engine.Execution{touched(t, s, "exec-1", "x"), touched(t, s, "exec-1", "y")}},
		} {
			err := s.UpdateLocks(ctx, tc.locks, tc.execs)
			if e, ok := errs.As(err); !ok || e.Code != errs.Validation {
				t.Fatalf("%s: got %v, want a Validation error", tc.name, err)
			}
		}
		deepEqual(t, "locks after refused writes", getLocks(t, s, "alpha"), &engine.PipelineLocks{Pipeline: "alpha"})
		unchanged(t, s, createdCopy("exec-1", "alpha", 0))
		unchanged(t, s, createdCopy("exec-b", "bravo", 0))
	}},
}

// heldLocksVersion is the record of RoundTrip's first write, as stored.
func heldLocksVersion(v int64) *engine.PipelineLocks {
	l := heldLocks("alpha", "exec-1", "exec-2", "exec-3")
	l.Version = v
	return l
}

// createdCopy is what lockedExecutions stored as the i-th execution.
func createdCopy(id, pipelineName string, i int) *engine.Execution {
	e := richExecution(id, pipelineName, at(time.Duration(i)*time.Second))
	e.Version = 1
	return e
}
