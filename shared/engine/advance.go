package engine

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Error codes the engine itself puts on action runs.
const (
	CodeConfigurationError = "ConfigurationError" // a variable reference or input artifact could not be resolved
	CodeInterrupted        = "Interrupted"        // the process running the action stopped
	CodeAbandoned          = "Abandoned"          // the execution was stopped with abandon
	CodeTimedOut           = "TimedOut"
	CodeJobFailed          = "JobFailed"
)

// Advance computes the next state of e in place and tells the driver what to
// do next. It is pure: everything it needs is in e and env.
//
// Semantics, as CodePipeline's: stages run in order; inside a stage the
// actions run in groups by ascending runOrder, each group's actions in
// parallel, and the next group starts only when every action of the current
// group has ended. A failed action fails its stage, and the stage the
// execution, once the other actions of its group have ended. A stop request
// starts no new action: "stop and wait" lets running actions end (Stopping),
// "stop and abandon" abandons them at once; then the execution is Stopped.
func Advance(e *Execution, env Env) Decision {
	if e.Status.Terminal() {
		return Decision{Status: e.Status, Terminal: true}
	}
	now := env.Now().UTC()
	e.LastUpdateTime = now
	if len(e.Stages) == 0 {
		for _, s := range e.Pipeline.Stages {
			e.Stages = append(e.Stages, StageState{Name: s.Name})
		}
	}
	if e.Status == "" {
		e.Status = InProgress
	}
	if e.StartTime.IsZero() {
		e.StartTime = now
	}
	if e.Stop != nil {
		return stop(e, now)
	}
	for {
		si := currentStage(e)
		if si < 0 {
			return finish(e, Succeeded, "", now)
		}
		st := &e.Stages[si]
		if st.Status == "" {
			if env.Gated && env.Admitted != st.Name {
				return Decision{Status: e.Status, Enter: st.Name}
			}
			e.Wait = nil
			st.Status = InProgress
			st.StartTime = now
			st.EndTime = time.Time{}
			if st.Retry != "" {
				if wave := e.beginRetry(si, env, now); len(wave) > 0 {
					return Decision{Wave: wave, Status: e.Status}
				}
			}
		}
		if st.RunOrder == 0 {
			// beforeEntry: evaluated before the stage's first action.
			c := e.condition(si, pipeline.ConditionBeforeEntry, env, now)
			switch c.state {
			case condWaiting:
				return Decision{Wave: c.wave, Status: e.Status, RecheckAt: c.recheck}
			case condFailed:
				st.EndTime = now
				if c.result == pipeline.ResultSkip {
					st.Status = Skipped
					continue
				}
				st.Status = Failed
				e.wantRollback(si, false)
				return finish(e, Failed, fmt.Sprintf("the beforeEntry condition of stage %q failed: %s", st.Name, c.summary), now)
			}
		}
		if st.RunOrder != 0 {
			group := e.latestRuns(si, st.RunOrder)
			if anyStatus(group, InProgress) {
				return Decision{Status: e.Status}
			}
			if failed := firstFailed(group); failed != nil {
				if mode, ok := autoRetry(e, si); ok {
					// onFailure: RETRY — once, in the stage the
					// execution still holds.
					st.AutoRetries++
					st.LatestRetryTrigger = AutoStageRetry
					st.Retry = mode
					if wave := e.beginRetry(si, env, now); len(wave) > 0 {
						return Decision{Wave: wave, Status: e.Status}
					}
					continue
				}
				st.Status = Failed
				st.EndTime = now
				e.wantRollback(si, false)
				return finish(e, Failed, fmt.Sprintf("action %q in stage %q failed: %s", failed.Action, failed.Stage, failureText(failed)), now)
			}
		}
		next := nextRunOrder(&e.Pipeline.Stages[si], st.RunOrder)
		if next == 0 {
			c := e.condition(si, pipeline.ConditionOnSuccess, env, now)
			switch c.state {
			case condWaiting:
				return Decision{Wave: c.wave, Status: e.Status, RecheckAt: c.recheck}
			case condFailed:
				st.Status = Failed
				st.EndTime = now
				e.wantRollback(si, c.result == pipeline.ResultRollback)
				return finish(e, Failed, fmt.Sprintf("the onSuccess condition of stage %q failed: %s", st.Name, c.summary), now)
			}
			st.Status = Succeeded
			st.EndTime = now
			continue
		}
		st.RunOrder = next
		var wave []ActionRun
		for ai := range e.Pipeline.Stages[si].Actions {
			a := &e.Pipeline.Stages[si].Actions[ai]
			if a.EffectiveRunOrder() != next {
				continue
			}
			run := e.newRun(si, ai, env, now)
			e.Actions = append(e.Actions, run)
			if run.Status == InProgress {
				wave = append(wave, run)
			}
		}
		if len(wave) > 0 {
			return Decision{Wave: wave, Status: e.Status}
		}
		// Every action of the group failed to start; the next turn of the
		// loop fails the stage.
	}
}

// MaxAutoRetries is how many times a stage whose onFailure result is RETRY
// is retried automatically in one execution (CodePipeline: one attempt).
const MaxAutoRetries = 1

// autoRetry says whether stage si, which has just failed, is retried
// automatically, and with which mode: its onFailure result is RETRY, it has
// not used its attempt, and no stop is asked for.
func autoRetry(e *Execution, si int) (string, bool) {
	f := e.Pipeline.Stages[si].OnFailure
	if e.Stop != nil || f == nil || f.Result != pipeline.ResultRetry || e.Stages[si].AutoRetries >= MaxAutoRetries {
		return "", false
	}
	if f.RetryConfiguration != nil && f.RetryConfiguration.RetryMode == RetryAllActions {
		return RetryAllActions, true
	}
	return RetryFailedActions, true
}

// stop handles an execution with a stop request.
func stop(e *Execution, now time.Time) Decision {
	running := false
	e.endConditions(Abandoned, now)
	for r := range e.EveryRun() {
		if r.Status != InProgress {
			continue
		}
		if e.Stop.Abandon {
			r.Status = Abandoned
			r.ErrorCode = CodeAbandoned
			r.ErrorMessage = "the execution was stopped and this action abandoned"
			if r.Summary == QueuedSummary {
				r.Summary = "" // it waited for a slot: it no longer does
			}
			r.EndTime = now
			r.LastUpdateTime = now
			continue
		}
		running = true
	}
	for i := range e.Stages {
		st := &e.Stages[i]
		if st.Status == InProgress || st.Status == Stopping {
			if running {
				st.Status = Stopping
			} else {
				st.Status = Stopped
				st.EndTime = now
			}
		}
	}
	if running {
		e.Status = Stopping
		return Decision{Status: Stopping}
	}
	if e.Stop.Cancel {
		e.Wait = nil
		for i := range e.Stages {
			if e.Stages[i].Status == Stopped {
				e.Stages[i].Status = Cancelled
			}
		}
		return finish(e, Cancelled, "cancelled: "+e.Stop.Reason, now)
	}
	summary := "stopped"
	if e.Stop.Reason != "" {
		summary = "stopped: " + e.Stop.Reason
	}
	e.Wait = nil
	return finish(e, Stopped, summary, now)
}

func finish(e *Execution, s Status, summary string, now time.Time) Decision {
	e.Status = s
	if summary != "" {
		e.StatusSummary = summary
	}
	e.EndTime = now
	return Decision{Status: s, Terminal: true}
}

// currentStage is the index of the first stage that has not succeeded, or -1.
// A rollback execution runs its one stage.
func currentStage(e *Execution) int {
	for i := range e.Stages {
		if e.Rollback != nil && e.Stages[i].Name != e.Rollback.Stage {
			continue
		}
		if st := e.Stages[i].Status; st != Succeeded && st != Skipped {
			return i
		}
	}
	return -1
}

// nextRunOrder is the smallest runOrder of the stage greater than after, or 0.
func nextRunOrder(s *pipeline.Stage, after int) int {
	next := 0
	for i := range s.Actions {
		ro := s.Actions[i].EffectiveRunOrder()
		if ro > after && (next == 0 || ro < next) {
			next = ro
		}
	}
	return next
}

// latestRuns returns, for each action of stage si with the given runOrder,
// its latest attempt.
func (e *Execution) latestRuns(si, runOrder int) []*ActionRun {
	latest := map[int]*ActionRun{}
	for i := range e.Actions {
		r := &e.Actions[i]
		if r.StageIndex == si && r.RunOrder == runOrder {
			if cur, ok := latest[r.ActionIndex]; !ok || r.Attempt >= cur.Attempt {
				latest[r.ActionIndex] = r
			}
		}
	}
	out := make([]*ActionRun, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ActionIndex < out[j].ActionIndex })
	return out
}

func anyStatus(runs []*ActionRun, s Status) bool {
	for _, r := range runs {
		if r.Status == s {
			return true
		}
	}
	return false
}

func firstFailed(runs []*ActionRun) *ActionRun {
	for _, r := range runs {
		if r.Status != Succeeded {
			return r
		}
	}
	return nil
}

func failureText(r *ActionRun) string {
	switch {
	case r.ErrorMessage != "":
		return r.ErrorMessage
	case r.Summary != "":
		return r.Summary
	}
	return strings.ToLower(string(r.Status))
}

// newRun starts an attempt of action ai of stage si: resolves its variables
// and input artifacts. A run whose inputs cannot be resolved is created
// Failed with a ConfigurationError and is not part of the wave.
func (e *Execution) newRun(si, ai int, env Env, now time.Time) ActionRun {
	attempt := 1
	for i := range e.Actions {
		if r := &e.Actions[i]; r.StageIndex == si && r.ActionIndex == ai && r.Attempt >= attempt {
			attempt = r.Attempt + 1
		}
	}
	return e.makeRun(si, ai, &e.Pipeline.Stages[si].Actions[ai], attempt, env, now)
}

// makeRun is newRun for action a (the declared action ai of stage si, or a
// Commands rule's action, ai -1) at the given attempt.
func (e *Execution) makeRun(si, ai int, a *pipeline.Action, attempt int, env Env, now time.Time) ActionRun {
	stage := &e.Pipeline.Stages[si]
	run := ActionRun{
		ID:             env.NewID(),
		Token:          env.NewID(),
		StageIndex:     si,
		ActionIndex:    ai,
		Stage:          stage.Name,
		Action:         a.Name,
		RunOrder:       a.EffectiveRunOrder(),
		Attempt:        attempt,
		Type:           a.ActionTypeID,
		Namespace:      a.Namespace,
		Status:         InProgress,
		StartTime:      now,
		LastUpdateTime: now,
	}
	if a.TimeoutInMinutes != nil {
		run.TimeoutInMinutes = *a.TimeoutInMinutes
	}
	if a.ActionTypeID.Category == pipeline.CategorySource {
		for _, sr := range e.SourceRevisions {
			if sr.Action == a.Name {
				run.SourceRevisions = append(run.SourceRevisions, sr)
			}
		}
	}
	if env.LogLocation != nil {
		run.LogLocation = env.LogLocation(e.ID, run.ID)
	}
	var problems []string
	record := func(ns, name string) (string, bool) {
		v, ok := e.lookup(ns, name)
		if ok {
			if run.References == nil {
				run.References = map[string]string{}
			}
			run.References[ns+"."+name] = v
		}
		return v, ok
	}
	resolve := func(where, s string) string {
		out, err := pipeline.Substitute(s, record)
		if err != nil {
			problems = append(problems, where+": "+err.Error())
		}
		return out
	}
	if a.Configuration != nil {
		run.Configuration = make(map[string]string, len(a.Configuration))
		for k, v := range a.Configuration {
			run.Configuration[k] = resolve("configuration."+k, v)
		}
	}
	for i, c := range a.Commands {
		resolve(fmt.Sprintf("commands[%d]", i), c) // records the values; the command stays as written
		run.Commands = append(run.Commands, c)
	}
	if a.EnvironmentVariables != nil {
		run.EnvironmentVariables = make(map[string]string, len(a.EnvironmentVariables))
		for _, ev := range a.EnvironmentVariables {
			run.EnvironmentVariables[ev.Name] = resolve("environmentVariables."+ev.Name, ev.Value)
		}
	}
	for _, in := range a.InputArtifacts {
		ref, ok := e.producedArtifact(in.Name)
		if !ok {
			problems = append(problems, fmt.Sprintf("input artifact %q was not produced by an earlier action of this execution", in.Name))
			continue
		}
		run.InputArtifacts = append(run.InputArtifacts, ref)
	}
	// The pipeline's declared artifact store is kept but not used: artifacts
	// live in Stageflow's own store (env.ArtifactBucket).
	bucket := env.ArtifactBucket
	for _, out := range a.OutputArtifacts {
		run.OutputArtifacts = append(run.OutputArtifacts, ArtifactRef{
			Name:   out.Name,
			Bucket: bucket,
			Key:    ArtifactKey(e.PipelineName, e.ID, out.Name),
		})
	}
	if len(problems) > 0 {
		run.Status = Failed
		run.ErrorCode = CodeConfigurationError
		run.ErrorMessage = strings.Join(problems, "; ")
		run.EndTime = now
	}
	return run
}

// ArtifactKey is the object key of an output artifact of an execution:
// "<pipeline>/<executionId>/<artifact>.zip", each component escaped by
// artifacts.EscapeComponent, so that pipelines named "." or ".." (which
// CodePipeline's name pattern allows) get the keys "%2E/..." and
// "%2E%2E/..." instead of keys no store accepts.
func ArtifactKey(pipelineName, executionID, artifact string) string {
	return artifacts.EscapeComponent(pipelineName) + "/" + artifacts.EscapeComponent(executionID) + "/" + artifacts.EscapeComponent(artifact) + ".zip"
}

// lookup resolves a variable reference against the execution: the
// codepipeline namespace, pipeline variables, and the output variables of
// succeeded actions by namespace.
func (e *Execution) lookup(ns, name string) (string, bool) {
	switch ns {
	case "codepipeline":
		if name == "PipelineExecutionId" {
			return e.ID, true
		}
		return "", false
	case "variables":
		v, ok := e.Variables[name]
		return v, ok
	}
	for _, runs := range [][]ActionRun{e.Actions, e.Inherited} {
		for i := len(runs) - 1; i >= 0; i-- {
			r := &runs[i]
			if r.Namespace == ns && r.Status == Succeeded {
				v, ok := r.OutputVariables[name]
				return v, ok
			}
		}
	}
	return "", false
}

// producedArtifact finds the output artifact of a succeeded run by name.
func (e *Execution) producedArtifact(name string) (ArtifactRef, bool) {
	for _, runs := range [][]ActionRun{e.Actions, e.Inherited} {
		for i := len(runs) - 1; i >= 0; i-- {
			r := &runs[i]
			if r.Status != Succeeded {
				continue
			}
			for _, o := range r.OutputArtifacts {
				if o.Name == name {
					return o, true
				}
			}
		}
	}
	return ArtifactRef{}, false
}
