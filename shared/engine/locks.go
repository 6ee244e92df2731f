package engine

// Execution modes and stage transitions: the decisions, not yet wired into
// Advance, Step, the stores, the service or the drivers (every execution
// still runs independently, as in PARALLEL mode; see the README's design
// note "Execution modes (engine, not wired yet)").
//
// What CodePipeline documents, in our words, and the rule each becomes here
// (sources: the user guide's "How pipeline executions work", "Set or change
// the pipeline execution mode", "Working with stage transitions", and the
// DisableStageTransition API reference):
//
//  1. A stage works on one execution at a time: it is locked while that
//     execution is in it, and the lock is released when the execution leaves
//     it (the stage ended and the execution moves on) or ends (a failure
//     releases the lock too). Rule here: in SUPERSEDED and QUEUED mode an
//     execution holds at most one stage of its lane; Enter takes the lock,
//     and entering the next stage leaves the previous one (Enter frees it and
//     hands it on), as does End.
//  2. Executions that reach a locked stage wait in front of it. Rule: Enter
//     on a locked stage parks the execution (Waiting, with its position);
//     nobody polls — whoever frees the lock (Leave, End, the next Enter of the
//     holder) hands it to the next waiter and says whom to resume.
//  3. SUPERSEDED (the default): a more recent execution overtakes one that is
//     waiting; only executions between stages are superseded, one waits in
//     front of a locked stage, and the overtaken one does not go on. Rule: at
//     most one SUPERSEDED execution waits for a stage; the more recent one
//     (later start, see Waiter.Started) stays and the older one is returned
//     in Superseded, to be ended with status Superseded. The holder of a
//     stage is never interrupted.
//  4. QUEUED: executions are processed one by one in the order they were
//     queued. Rule: waiters of a stage are kept in start order and the first
//     gets the stage; nobody overtakes. (The driver enters the first stage in
//     the same atomic write that records a new execution, so that arrival
//     order is start order.)
//  5. PARALLEL: executions run at the same time, independently, without
//     waiting for each other. Rule: Enter always enters and records no lock.
//  6. Transitions are the links into stages; they are enabled by default. A
//     disabled (inbound) transition holds executions in front of the stage,
//     where SUPERSEDED still replaces the waiting one by a newer one; when the
//     transition is enabled again, the waiting (latest) execution enters. An
//     execution waiting at a transition disabled for more than 30 days does
//     not resume. Rules: every mode waits at a disabled transition, PARALLEL
//     included (its waiters all resume on enable, without a lock); enabling
//     hands a free stage to the first waiter as Leave does; waiters of a
//     transition disabled longer than TransitionResumeLimit are returned in
//     Expired instead, to be ended Cancelled (CodePipeline leaves them; an
//     execution InProgress for ever is worse). DisableStageTransition and
//     GetPipelineState name a stage, not a lane, so a transition is
//     pipeline-wide: disabling it holds that stage in every lane. Only
//     inbound transitions are modelled (GetPipelineState shows only
//     inboundTransitionState); what an Outbound request does is the
//     service's to decide when it is wired.
//  7. Changing the mode (CodePipeline's table for mode changes, and any
//     UpdatePipeline, which stops what runs): executions started in
//     SUPERSEDED or QUEUED mode are cancelled — waiting ones at once, active
//     ones once their in-progress actions have completed — whatever the new
//     mode, the same mode included; executions started in PARALLEL mode go on
//     independently. Rule: PipelineUpdated drops every SUPERSEDED and QUEUED
//     waiter (CancelNow) and names every holder (CancelAfterActions: a stop
//     that waits, ending Cancelled); holders keep their stage until they end,
//     so no execution of the new version enters beside them. PARALLEL
//     entries are left alone. The mode an entry follows is the one its
//     execution started with (its pipeline snapshot), recorded on the entry.
//  8. Lanes, Stageflow's own (issue 13, item 8): a pipeline that declares a
//     variable named StageflowLane applies its mode per value of that
//     variable; see LaneOf. Lanes never affect each other.
//
// The record and its use. PipelineLocks is one record per pipeline, kept by
// the stores as a record of its own with an optimistic Version like an
// Execution's (its JSON field names are stable: they are its stored form).
// The functions below are pure: no I/O, the clock given as a time. Like
// Advance they change the record in place (never Version, which the store
// bumps) and return what the driver must do to other executions: resume the
// ones handed a stage, end the superseded, cancelled and expired ones. The
// driver writes the locks record and every execution record a result names
// in one atomic multi-record update (a SQLite transaction; DynamoDB
// TransactWriteItems), retrying from the load on a version conflict — that
// update is the next step (the store contract and storetest grow it), as is
// Decision's "wait".
//
// Every function is idempotent for a repeated call (a driver retrying after a
// crash): entering a stage one holds or waits for, leaving a stage one does
// not hold, ending an execution the record does not know change nothing.
// Stage names are checked against the pipeline by the caller.

import (
	"fmt"
	"sort"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// LaneVariable is the pipeline variable whose value is an execution's lane.
const LaneVariable = "StageflowLane"

// TransitionResumeLimit is how long a transition may stay disabled and still
// let its waiting executions resume when it is enabled (CodePipeline: 30
// days).
const TransitionResumeLimit = 30 * 24 * time.Hour

// LaneOf is the lane of an execution of p with the given variables (the
// declared defaults overridden by the values given at start, as
// Execution.Variables holds them): the value of StageflowLane when p
// declares that variable, else "" (the pipeline's one lane). It is fixed when
// the execution starts.
func LaneOf(p *pipeline.Pipeline, vars map[string]string) string {
	for _, v := range p.Variables {
		if v.Name == LaneVariable {
			if val, ok := vars[LaneVariable]; ok {
				return val
			}
			if v.DefaultValue != nil {
				return *v.DefaultValue
			}
			return ""
		}
	}
	return ""
}

// PipelineLocks is the shared execution-control state of one pipeline: per
// lane, who holds and who waits for each stage, and the pipeline's disabled
// inbound transitions. It is a stored record (JSON field names are its stored
// form), versioned like an Execution.
type PipelineLocks struct {
	Pipeline string `json:"pipeline"`
	// Version is the optimistic-concurrency counter kept by the store.
	Version int64 `json:"version"`
	// Lanes by lane value ("" when the pipeline has no lanes); a lane
	// with nothing held or waiting is dropped.
	Lanes map[string]*LaneLocks `json:"lanes,omitempty"`
	// Transitions are the disabled inbound transitions, by stage name;
	// an enabled transition has no entry. They hold every lane.
	Transitions map[string]*DisabledTransition `json:"disabledTransitions,omitempty"`
}

// LaneLocks is the state of one lane: its stages that are held or waited for.
type LaneLocks struct {
	Stages map[string]*StageLock `json:"stages"`
}

// StageLock is one stage of one lane: the execution in it (SUPERSEDED and
// QUEUED only) and the executions waiting to enter it, in the order they get
// it.
type StageLock struct {
	Holder  *Holder  `json:"holder,omitempty"`
	Waiting []Waiter `json:"waiting,omitempty"`
}

// Holder is the execution holding a stage.
type Holder struct {
	ExecutionID string `json:"executionId"`
	// Mode is the execution mode the execution started with.
	Mode string `json:"mode"`
	// Started is when the execution started: the order of recency.
	Started time.Time `json:"started"`
	// Since is when it entered the stage.
	Since time.Time `json:"since"`
}

// Waiter is an execution waiting to enter a stage.
type Waiter struct {
	ExecutionID string    `json:"executionId"`
	Mode        string    `json:"mode"`
	Started     time.Time `json:"started"`
	// Since is when it began to wait.
	Since time.Time `json:"since"`
}

// DisabledTransition is a disabled inbound transition (DisableStageTransition).
type DisabledTransition struct {
	Reason string    `json:"reason"`
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at"`
}

// Arrival is an execution asking to enter a stage.
type Arrival struct {
	ExecutionID string
	Mode        string // the mode of the execution's pipeline snapshot
	Lane        string // LaneOf the execution
	Started     time.Time
	Stage       string
}

// Outcome says what Enter did with the arriving execution.
type Outcome string

// Outcomes.
const (
	Entered   Outcome = "Entered"    // it is in the stage: go on
	Waits     Outcome = "Waiting"    // it is parked in front of the stage
	Overtaken Outcome = "Superseded" // a more recent execution already waits: end it Superseded
)

// Resume is a parked execution to wake: it now holds (SUPERSEDED, QUEUED) or
// may enter (PARALLEL) Stage of Lane.
type Resume struct {
	ExecutionID string
	Lane        string
	Stage       string
}

// EnterResult is what Enter decided.
type EnterResult struct {
	Outcome Outcome
	// Position is the 1-based place in the stage's waiting line (Waiting).
	Position int
	// Reason says why it waits: WaitStage (locked) or WaitTransition
	// (disabled).
	Reason string
	// Superseded are older executions that were waiting for the stage
	// and are replaced by this one: end each Superseded.
	Superseded []string
	// Resume are executions handed the stage this one left.
	Resume []Resume
}

// Wait reasons.
const (
	WaitStage      = "stage"
	WaitTransition = "transition"
)

// Released is what freeing a stage, ending an execution or enabling a
// transition decided.
type Released struct {
	Resume []Resume
	// Expired are executions that waited at a transition disabled for
	// longer than TransitionResumeLimit: end each Cancelled.
	Expired []string
}

// UpdateResult is what a pipeline update decided (PipelineUpdated).
type UpdateResult struct {
	// CancelNow are waiting executions: end each Cancelled at once.
	CancelNow []string
	// CancelAfterActions are executions in a stage: start no new action
	// and end Cancelled once the in-progress ones have completed (then
	// End frees their stage).
	CancelAfterActions []string
}

func checkMode(mode string) error {
	switch mode {
	case pipeline.ModeSuperseded, pipeline.ModeQueued, pipeline.ModeParallel:
		return nil
	}
	return errs.Of(errs.Validation, errs.KindNone, "execution mode %q is not one of %s, %s, %s", mode, pipeline.ModeSuperseded, pipeline.ModeQueued, pipeline.ModeParallel)
}

// lane returns the lane, made when create is set (else nil when absent).
func (l *PipelineLocks) lane(name string, create bool) *LaneLocks {
	if ln := l.Lanes[name]; ln != nil || !create {
		return ln
	}
	if l.Lanes == nil {
		l.Lanes = map[string]*LaneLocks{}
	}
	ln := &LaneLocks{Stages: map[string]*StageLock{}}
	l.Lanes[name] = ln
	return ln
}

func (l *PipelineLocks) stage(lane, stage string, create bool) *StageLock {
	ln := l.lane(lane, create)
	if ln == nil {
		return nil
	}
	if ln.Stages == nil {
		ln.Stages = map[string]*StageLock{}
	}
	if s := ln.Stages[stage]; s != nil || !create {
		return s
	}
	s := &StageLock{}
	ln.Stages[stage] = s
	return s
}

// prune drops stages with nothing held or waiting and empty lanes, so the
// record only holds what is live.
func (l *PipelineLocks) prune() {
	for name, ln := range l.Lanes {
		for st, s := range ln.Stages {
			if s.Holder == nil && len(s.Waiting) == 0 {
				delete(ln.Stages, st)
			}
		}
		if len(ln.Stages) == 0 {
			delete(l.Lanes, name)
		}
	}
	if len(l.Lanes) == 0 {
		l.Lanes = nil
	}
	if len(l.Transitions) == 0 {
		l.Transitions = nil
	}
}

// sortedKeys returns a map's keys in order, so that results do not depend on
// map iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// newer reports whether a started after b (ties broken by ID), the order of
// recency.
func newer(aStarted time.Time, aID string, bStarted time.Time, bID string) bool {
	if !aStarted.Equal(bStarted) {
		return aStarted.After(bStarted)
	}
	return aID > bID
}

// Validate checks the record's invariants: every execution holds or waits
// for at most one stage in the whole record, holders are SUPERSEDED or
// QUEUED, at most one SUPERSEDED execution waits per stage, entries name an
// execution and a known mode, waiters are in start order. A store may call it
// on what it loads; the tests call it after every event.
func (l *PipelineLocks) Validate() error {
	seen := map[string]string{}
	place := func(id, lane, stage, what string) error {
		if id == "" {
			return fmt.Errorf("lane %q stage %q: %s without an execution ID", lane, stage, what)
		}
		here := fmt.Sprintf("%s lane %q stage %q", what, lane, stage)
		if prev, dup := seen[id]; dup {
			return fmt.Errorf("execution %s is both %s and %s", id, prev, here)
		}
		seen[id] = here
		return nil
	}
	for _, lane := range sortedKeys(l.Lanes) {
		ln := l.Lanes[lane]
		if ln == nil {
			return fmt.Errorf("lane %q is null", lane)
		}
		for _, stage := range sortedKeys(ln.Stages) {
			s := ln.Stages[stage]
			if s == nil {
				return fmt.Errorf("lane %q stage %q is null", lane, stage)
			}
			if h := s.Holder; h != nil {
				if err := place(h.ExecutionID, lane, stage, "holding"); err != nil {
					return err
				}
				if h.Mode != pipeline.ModeSuperseded && h.Mode != pipeline.ModeQueued {
					return fmt.Errorf("lane %q stage %q: held by %s in mode %q, which takes no lock", lane, stage, h.ExecutionID, h.Mode)
				}
			}
			superseded := 0
			for i, w := range s.Waiting {
				if err := place(w.ExecutionID, lane, stage, "waiting"); err != nil {
					return err
				}
				if err := checkMode(w.Mode); err != nil {
					return fmt.Errorf("lane %q stage %q: waiter %s: %v", lane, stage, w.ExecutionID, err)
				}
				if w.Mode == pipeline.ModeSuperseded {
					superseded++
				}
				if i > 0 && newer(s.Waiting[i-1].Started, s.Waiting[i-1].ExecutionID, w.Started, w.ExecutionID) {
					return fmt.Errorf("lane %q stage %q: waiter %s is ahead of the older %s", lane, stage, s.Waiting[i-1].ExecutionID, w.ExecutionID)
				}
			}
			if superseded > 1 {
				return fmt.Errorf("lane %q stage %q: %d SUPERSEDED executions wait", lane, stage, superseded)
			}
			// Behind an enabled transition only a held stage has
			// waiters, and never PARALLEL ones: anything else would
			// wait for ever, since nothing would resume it.
			if l.Transitions[stage] == nil {
				for _, w := range s.Waiting {
					if s.Holder == nil || w.Mode == pipeline.ModeParallel {
						return fmt.Errorf("lane %q stage %q: %s waits with nothing to wait for (transition enabled, stage %s)", lane, stage, w.ExecutionID, map[bool]string{true: "free", false: "held"}[s.Holder == nil])
					}
				}
			}
		}
	}
	for _, stage := range sortedKeys(l.Transitions) {
		if l.Transitions[stage] == nil {
			return fmt.Errorf("transition into %q is null", stage)
		}
	}
	return nil
}

// WaitingFor lists the executions waiting to enter stage, in every lane
// (lanes in order, each lane's line in its order).
func (l *PipelineLocks) WaitingFor(stage string) []Waiter {
	var out []Waiter
	for _, lane := range sortedKeys(l.Lanes) {
		if s := l.Lanes[lane].Stages[stage]; s != nil {
			out = append(out, s.Waiting...)
		}
	}
	return out
}

// WaitingIn lists the executions of one lane waiting to enter stage, in the
// order they get it (nil: none).
func (l *PipelineLocks) WaitingIn(lane, stage string) []Waiter {
	if ln := l.Lanes[lane]; ln != nil {
		if s := ln.Stages[stage]; s != nil && len(s.Waiting) > 0 {
			return append([]Waiter(nil), s.Waiting...)
		}
	}
	return nil
}
