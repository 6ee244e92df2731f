package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/engine"
)

// stageHorizon tells GetPipelineState's walk through the history, newest
// first, when no older execution can have reached the stages still looked
// for, so that a stage no execution reached (one added by the latest
// version) does not make it read the whole history.
//
// The bound: an execution that is not a rollback runs the version that was
// the latest when it started, so every execution started before it (a
// rollback runs an older version) runs that version or an older one. Once
// such an execution of version w is met and no version up to w declares
// any of the stages still missing, the walk is over. The versions are read
// from w down, each at most once per walk: the stages still missing only
// shrink, and w only goes down as the walk goes back. (A start racing an
// update of the pipeline can break that order for an instant: an execution
// of the older version started just after one of the newer. Met later in
// the walk, the newer one makes it look again from its version; met first,
// the older one may end the walk before a stage's latest execution, until
// a newer execution reaches that stage.)
type stageHorizon struct {
	s       *Service
	name    string
	top     int  // the highest version that bounded the walk (0: none yet)
	next    int  // the highest version not looked at yet
	hit     int  // a version looked at that declares a missing stage (0: none)
	unknown bool // a version could not be read: never stop early
	stages  map[int][]string
}

func newStageHorizon(s *Service, name string) *stageHorizon {
	return &stageHorizon{s: s, name: name, stages: map[int][]string{}}
}

// over says whether the executions older than e, the execution just
// walked, can be skipped, given the stages still missing.
func (h *stageHorizon) over(ctx context.Context, e *engine.Execution, missing map[string]bool) bool {
	if len(missing) == 0 {
		return true
	}
	w := e.PipelineVersion
	if h.unknown || e.Rollback != nil || w < 1 {
		return false // no bound from this one (a rollback, or a record naming no version)
	}
	if w > h.top {
		h.top, h.next, h.hit = w, w, 0 // the first bound, or a newer version than one met before
	}
	if h.next > w {
		h.next = w // the versions above w no longer matter
	}
	if h.hit > w {
		h.hit = 0
	}
	if h.hit > 0 {
		if h.declares(ctx, h.hit, missing) {
			return false
		}
		h.hit = 0 // the stages it declared were found meanwhile
	}
	for ; h.next >= 1; h.next-- {
		if h.declares(ctx, h.next, missing) {
			h.hit = h.next
			h.next--
			return false
		}
	}
	return !h.unknown
}

// declares says whether version v of the pipeline declares one of the
// stages (a version that cannot be read counts as declaring them).
func (h *stageHorizon) declares(ctx context.Context, v int, stages map[string]bool) bool {
	names, ok := h.stages[v]
	if !ok {
		rec, err := h.s.store.GetPipeline(ctx, h.name, v)
		if err != nil {
			h.unknown = true
			return true
		}
		for _, st := range rec.Declaration.Stages {
			names = append(names, st.Name)
		}
		h.stages[v] = names
	}
	for _, n := range names {
		if stages[n] {
			return true
		}
	}
	return false
}
