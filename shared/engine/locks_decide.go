package engine

import (
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// The decisions on a PipelineLocks record; the rules they follow are listed
// at the top of locks.go. Each changes the record in place and returns what
// the driver must do to the executions it names, in the same atomic write.

// Enter asks for a.Stage of a.Lane on behalf of a.ExecutionID at time now. An
// execution that held another stage (the one it has just finished) leaves it
// first, and whoever that hands it to is in Resume. The outcome:
//   - Entered: the execution is in the stage (SUPERSEDED and QUEUED hold it
//     until they leave or end; PARALLEL records nothing);
//   - Waiting: it is parked in front of the stage (locked, or its inbound
//     transition disabled) at Position; a later Leave, End or
//     EnableTransition resumes it;
//   - Superseded: SUPERSEDED only, a more recent execution already waits for
//     the stage, so this one goes no further and ends Superseded.
//
// A SUPERSEDED execution that waits replaces an older one waiting for the
// same stage: that one is in Superseded. Asking again for a stage one holds
// or waits for changes nothing and answers the same.
func Enter(l *PipelineLocks, a Arrival, now time.Time) (EnterResult, error) {
	if a.ExecutionID == "" {
		return EnterResult{}, errs.Of(errs.Validation, errs.KindPipelineExecution, "entering a stage needs an execution ID")
	}
	if a.Stage == "" {
		return EnterResult{}, errs.Of(errs.Validation, errs.KindNone, "execution %s: entering a stage needs a stage name", a.ExecutionID)
	}
	if err := checkMode(a.Mode); err != nil {
		return EnterResult{}, err
	}
	now = now.UTC()
	disabled := l.Transitions[a.Stage] != nil
	reason := WaitStage
	if disabled {
		reason = WaitTransition
	}
	if s := l.stage(a.Lane, a.Stage, false); s != nil {
		if s.Holder != nil && s.Holder.ExecutionID == a.ExecutionID {
			return EnterResult{Outcome: Entered}, nil
		}
		for i, w := range s.Waiting {
			if w.ExecutionID == a.ExecutionID {
				return EnterResult{Outcome: Waits, Position: i + 1, Reason: reason}, nil
			}
		}
	}
	var res EnterResult
	res.Resume = l.release(a.ExecutionID, now)
	defer l.prune()

	if a.Mode == pipeline.ModeParallel && !disabled {
		res.Outcome = Entered
		return res, nil
	}
	s := l.stage(a.Lane, a.Stage, true)
	if a.Mode != pipeline.ModeParallel && !disabled && s.Holder == nil {
		s.Holder = &Holder{ExecutionID: a.ExecutionID, Mode: a.Mode, Started: a.Started, Since: now}
		res.Outcome = Entered
		return res, nil
	}
	if a.Mode == pipeline.ModeSuperseded {
		for i, w := range s.Waiting {
			if w.Mode != pipeline.ModeSuperseded {
				continue
			}
			if newer(w.Started, w.ExecutionID, a.Started, a.ExecutionID) {
				res.Outcome = Overtaken
				return res, nil
			}
			s.Waiting = append(s.Waiting[:i:i], s.Waiting[i+1:]...)
			res.Superseded = append(res.Superseded, w.ExecutionID)
			break
		}
	}
	// In start order: an older execution never waits behind a newer one.
	at := len(s.Waiting)
	for at > 0 && newer(s.Waiting[at-1].Started, s.Waiting[at-1].ExecutionID, a.Started, a.ExecutionID) {
		at--
	}
	w := Waiter{ExecutionID: a.ExecutionID, Mode: a.Mode, Started: a.Started, Since: now}
	s.Waiting = append(s.Waiting[:at:at], append([]Waiter{w}, s.Waiting[at:]...)...)
	res.Outcome, res.Position, res.Reason = Waits, at+1, reason
	return res, nil
}

// Leave frees stage of lane if executionID holds it (its stage has ended and
// it goes on to no other stage through Enter) and hands the stage to the next
// waiter: QUEUED the first in line, SUPERSEDED the only one. Leaving a stage
// one does not hold changes nothing.
func Leave(l *PipelineLocks, executionID, lane, stage string, now time.Time) Released {
	s := l.stage(lane, stage, false)
	if s == nil || s.Holder == nil || s.Holder.ExecutionID != executionID {
		return Released{}
	}
	s.Holder = nil
	r := Released{Resume: l.handOver(lane, stage, now.UTC())}
	l.prune()
	return r
}

// End releases everything an execution that has ended (Succeeded, Failed,
// Stopped, Cancelled, Superseded) holds or waits for, in any lane, and says
// whom the freed stages go to. Ending an execution the record does not know
// changes nothing.
func End(l *PipelineLocks, executionID string, now time.Time) Released {
	r := Released{Resume: l.release(executionID, now.UTC())}
	l.prune()
	return r
}

// release takes executionID out of the record and hands on what it held.
func (l *PipelineLocks) release(executionID string, now time.Time) []Resume {
	var out []Resume
	for _, lane := range sortedKeys(l.Lanes) {
		ln := l.Lanes[lane]
		for _, stage := range sortedKeys(ln.Stages) {
			s := ln.Stages[stage]
			for i, w := range s.Waiting {
				if w.ExecutionID == executionID {
					s.Waiting = append(s.Waiting[:i:i], s.Waiting[i+1:]...)
					break
				}
			}
			if s.Holder != nil && s.Holder.ExecutionID == executionID {
				s.Holder = nil
				out = append(out, l.handOver(lane, stage, now)...)
			}
		}
	}
	return out
}

// handOver resumes, behind an enabled transition, the PARALLEL waiters of a
// stage and, if the stage is free, gives it to the first waiter that takes a
// lock.
func (l *PipelineLocks) handOver(lane, stage string, now time.Time) []Resume {
	if l.Transitions[stage] != nil {
		return nil
	}
	s := l.stage(lane, stage, false)
	if s == nil {
		return nil
	}
	var out []Resume
	kept := s.Waiting[:0:0]
	for _, w := range s.Waiting {
		switch {
		case w.Mode == pipeline.ModeParallel:
			out = append(out, Resume{ExecutionID: w.ExecutionID, Lane: lane, Stage: stage})
		case s.Holder == nil:
			s.Holder = &Holder{ExecutionID: w.ExecutionID, Mode: w.Mode, Started: w.Started, Since: now}
			out = append(out, Resume{ExecutionID: w.ExecutionID, Lane: lane, Stage: stage})
		default:
			kept = append(kept, w)
		}
	}
	s.Waiting = kept
	return out
}

// DisableTransition disables the inbound transition of stage, in every lane:
// from now on executions wait in front of it, whatever their mode; the one in
// the stage goes on. Disabling it again replaces the reason, who and when.
func DisableTransition(l *PipelineLocks, stage, reason, by string, now time.Time) error {
	if stage == "" {
		return errs.Of(errs.Validation, errs.KindNone, "disabling a transition needs a stage name")
	}
	if reason == "" {
		return errs.Of(errs.Validation, errs.KindNone, "disabling the transition into %q needs a reason", stage)
	}
	if l.Transitions == nil {
		l.Transitions = map[string]*DisabledTransition{}
	}
	l.Transitions[stage] = &DisabledTransition{Reason: reason, By: by, At: now.UTC()}
	return nil
}

// EnableTransition enables the inbound transition of stage again and lets its
// waiters in, lane by lane, as Leave would: PARALLEL ones all, and the stage,
// if free, to the first of the others. If the transition was disabled for
// longer than TransitionResumeLimit, the waiters are not resumed but Expired.
// Enabling an enabled transition changes nothing.
func EnableTransition(l *PipelineLocks, stage string, now time.Time) Released {
	t := l.Transitions[stage]
	if t == nil {
		return Released{}
	}
	now = now.UTC()
	delete(l.Transitions, stage)
	expired := now.Sub(t.At) > TransitionResumeLimit
	var r Released
	for _, lane := range sortedKeys(l.Lanes) {
		s := l.Lanes[lane].Stages[stage]
		if s == nil {
			continue
		}
		if expired {
			for _, w := range s.Waiting {
				r.Expired = append(r.Expired, w.ExecutionID)
			}
			s.Waiting = nil
			continue
		}
		r.Resume = append(r.Resume, l.handOver(lane, stage, now)...)
	}
	l.prune()
	return r
}

// PipelineUpdated decides what an update of the pipeline (a new execution
// mode, or the same one) does to the executions the record knows: the
// SUPERSEDED and QUEUED ones waiting are cancelled now and dropped; those in
// a stage are cancelled once their in-progress actions have completed, and
// keep the stage until they End. PARALLEL ones go on. Disabled transitions
// stay.
func PipelineUpdated(l *PipelineLocks) UpdateResult {
	var r UpdateResult
	for _, lane := range sortedKeys(l.Lanes) {
		ln := l.Lanes[lane]
		for _, stage := range sortedKeys(ln.Stages) {
			s := ln.Stages[stage]
			kept := s.Waiting[:0:0]
			for _, w := range s.Waiting {
				if w.Mode == pipeline.ModeParallel {
					kept = append(kept, w)
				} else {
					r.CancelNow = append(r.CancelNow, w.ExecutionID)
				}
			}
			s.Waiting = kept
			if s.Holder != nil {
				r.CancelAfterActions = append(r.CancelAfterActions, s.Holder.ExecutionID)
			}
		}
	}
	l.prune()
	return r
}

// Locate says where the record has an execution: the lane and stage it holds
// or waits for.
func (l *PipelineLocks) Locate(executionID string) (lane, stage string, holds, found bool) {
	for _, ln := range sortedKeys(l.Lanes) {
		for _, st := range sortedKeys(l.Lanes[ln].Stages) {
			s := l.Lanes[ln].Stages[st]
			if s.Holder != nil && s.Holder.ExecutionID == executionID {
				return ln, st, true, true
			}
			for _, w := range s.Waiting {
				if w.ExecutionID == executionID {
					return ln, st, false, true
				}
			}
		}
	}
	return "", "", false, false
}
