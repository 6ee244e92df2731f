package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/pipeline"
)

// A model of the executions that drive a PipelineLocks record, to replay
// random interleavings of starts, stage ends, failures and transition
// switches and check the invariants of issue 13 after every event.

type simState int

const (
	simRunning simState = iota // in a stage (PARALLEL: without a lock)
	simWaiting
	simEnded
)

type simExec struct {
	id      string
	lane    string
	started time.Time
	stage   int
	state   simState
	status  Status // once ended
}

type sim struct {
	t        *testing.T
	rng      *rand.Rand
	mode     string
	stages   int
	l        *PipelineLocks
	now      time.Time
	execs    []*simExec
	byID     map[string]*simExec
	disabled map[int]bool
	// completed are the executions that succeeded, per lane, in order.
	completed map[string][]string
	trace     []string
}

func stageName(i int) string { return fmt.Sprintf("S%d", i) }

func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	tail := s.trace
	if len(tail) > 12 {
		tail = tail[len(tail)-12:]
	}
	s.t.Fatalf("%s\nlast events: %s", fmt.Sprintf(format, args...), strings.Join(tail, " "))
}

func (s *sim) tick() time.Time {
	s.now = s.now.Add(time.Second)
	return s.now
}

// enter sends x into stage i and applies the decision to the model.
func (s *sim) enter(x *simExec, i int) {
	s.trace = append(s.trace, fmt.Sprintf("%s→%s", x.id, stageName(i)))
	r, err := Enter(s.l, Arrival{ExecutionID: x.id, Mode: s.mode, Lane: x.lane, Started: x.started, Stage: stageName(i)}, s.tick())
	if err != nil {
		s.fail("enter %s %d: %v", x.id, i, err)
	}
	x.stage = i
	switch r.Outcome {
	case Entered:
		x.state = simRunning
	case Waits:
		x.state = simWaiting
		if s.mode == pipeline.ModeParallel && !s.disabled[i] {
			s.fail("PARALLEL %s waits at %s, whose transition is enabled", x.id, stageName(i))
		}
	case Overtaken:
		if s.mode != pipeline.ModeSuperseded {
			s.fail("%s superseded in mode %s", x.id, s.mode)
		}
		s.end(x, Superseded)
	default:
		s.fail("enter %s: outcome %q", x.id, r.Outcome)
	}
	for _, id := range r.Superseded {
		old := s.byID[id]
		if s.mode != pipeline.ModeSuperseded {
			s.fail("%s supersedes %s in mode %s", x.id, id, s.mode)
		}
		if old.state != simWaiting || old.stage != i || old.lane != x.lane {
			s.fail("%s supersedes %s, which does not wait for %s/%s", x.id, id, x.lane, stageName(i))
		}
		if !old.started.Before(x.started) {
			s.fail("%s supersedes the more recent %s", x.id, id)
		}
		s.end(old, Superseded)
	}
	s.resume(r.Resume)
}

func (s *sim) resume(rs []Resume) {
	for _, r := range rs {
		x := s.byID[r.ExecutionID]
		if x == nil || x.state != simWaiting || stageName(x.stage) != r.Stage || x.lane != r.Lane {
			s.fail("resume %+v of an execution that does not wait there (%+v)", r, x)
		}
		x.state = simRunning
	}
}

// end ends x and tells the record so.
func (s *sim) end(x *simExec, st Status) {
	s.trace = append(s.trace, fmt.Sprintf("%s:%s", x.id, st))
	x.state, x.status = simEnded, st
	if st == Succeeded {
		s.completed[x.lane] = append(s.completed[x.lane], x.id)
	}
	r := End(s.l, x.id, s.tick())
	if st == Superseded && len(r.Resume) > 0 {
		s.fail("ending the superseded %s resumed %v: it held nothing", x.id, r.Resume)
	}
	s.resume(r.Resume)
}

func (s *sim) finishStage(x *simExec) {
	if x.stage == s.stages-1 {
		s.end(x, Succeeded)
		return
	}
	s.enter(x, x.stage+1)
}

func (s *sim) toggle(i int) {
	if s.disabled[i] {
		s.trace = append(s.trace, "enable "+stageName(i))
		delete(s.disabled, i)
		r := EnableTransition(s.l, stageName(i), s.tick())
		s.resume(r.Resume)
		return
	}
	s.trace = append(s.trace, "disable "+stageName(i))
	s.disabled[i] = true
	if err := DisableTransition(s.l, stageName(i), "hold", "sim", s.tick()); err != nil {
		s.fail("disable: %v", err)
	}
}

// check compares the record with the model and checks the invariants.
func (s *sim) check() {
	s.t.Helper()
	if err := s.l.Validate(); err != nil {
		s.fail("invalid record: %v", err)
	}
	inStage := map[string]string{}
	for _, x := range s.execs {
		lane, stage, holds, found := s.l.Locate(x.id)
		switch {
		case x.state == simEnded:
			if found {
				s.fail("ended %s is still in the record at %s", x.id, stage)
			}
		case x.state == simWaiting:
			if !found || holds || lane != x.lane || stage != stageName(x.stage) {
				s.fail("waiting %s: record says %q %q holds=%v found=%v", x.id, lane, stage, holds, found)
			}
		case s.mode == pipeline.ModeParallel:
			if found {
				s.fail("running PARALLEL %s is in the record", x.id)
			}
		default:
			if !found || !holds || lane != x.lane || stage != stageName(x.stage) {
				s.fail("running %s: record says %q %q holds=%v found=%v", x.id, lane, stage, holds, found)
			}
			key := x.lane + "/" + stageName(x.stage)
			if other, two := inStage[key]; two {
				s.fail("%s and %s are both in %s", other, x.id, key)
			}
			inStage[key] = x.id
		}
	}
}

func (s *sim) running() []*simExec {
	var out []*simExec
	for _, x := range s.execs {
		if x.state == simRunning {
			out = append(out, x)
		}
	}
	return out
}

// runSim starts n executions over the lanes and drives them through the
// stages in a random interleaving, with failures and transition switches
// when asked, then lets everything finish.
func runSim(t *testing.T, seed uint64, mode string, n, stages int, lanes []string, failures, transitions bool) *sim {
	s := &sim{
		t: t, rng: rand.New(rand.NewPCG(seed, 13)), mode: mode, stages: stages,
		l: &PipelineLocks{Pipeline: "P"}, now: lockT0, byID: map[string]*simExec{},
		disabled: map[int]bool{}, completed: map[string][]string{},
	}
	startedN := 0
	for {
		run := s.running()
		if startedN == n && len(run) == 0 {
			if len(s.disabled) == 0 {
				break
			}
			for i := range stages {
				if s.disabled[i] {
					s.toggle(i)
				}
			}
			s.check()
			continue
		}
		switch k := s.rng.IntN(10); {
		case startedN < n && (k < 3 || len(run) == 0):
			startedN++
			x := &simExec{id: fmt.Sprintf("e%d", startedN), lane: lanes[s.rng.IntN(len(lanes))], started: s.now.Add(time.Millisecond)}
			s.execs = append(s.execs, x)
			s.byID[x.id] = x
			s.enter(x, 0)
		case transitions && k == 3:
			s.toggle(s.rng.IntN(stages))
		case failures && k == 4 && len(run) > 0:
			s.end(run[s.rng.IntN(len(run))], Failed)
		case len(run) > 0:
			s.finishStage(run[s.rng.IntN(len(run))])
		}
		s.check()
	}
	for _, x := range s.execs {
		if x.state != simEnded {
			s.fail("%s never ended (state %d at %s)", x.id, x.state, stageName(x.stage))
		}
	}
	if s.l.Lanes != nil || s.l.Transitions != nil {
		s.fail("record not empty once all ended: %+v", s.l)
	}
	return s
}

func TestLockProperties(t *testing.T) {
	const n, stages = 50, 4
	laneSets := map[string][]string{"one lane": {""}, "two lanes": {"main", "dev"}}
	for _, mode := range []string{pipeline.ModeQueued, pipeline.ModeSuperseded, pipeline.ModeParallel} {
		for laneName, lanes := range laneSets {
			for _, variant := range []struct {
				name                  string
				failures, transitions bool
			}{{"plain", false, false}, {"failures", true, false}, {"transitions", false, true}, {"both", true, true}} {
				t.Run(fmt.Sprintf("%s/%s/%s", mode, laneName, variant.name), func(t *testing.T) {
					for seed := uint64(1); seed <= seeds(); seed++ {
						s := runSim(t, seed, mode, n, stages, lanes, variant.failures, variant.transitions)
						checkOutcomes(t, s, seed, variant.failures)
					}
				})
			}
		}
	}
}

// checkOutcomes checks what each mode promises over a whole run.
func checkOutcomes(t *testing.T, s *sim, seed uint64, failures bool) {
	t.Helper()
	counts := map[Status]int{}
	for _, x := range s.execs {
		counts[x.status]++
	}
	switch s.mode {
	case pipeline.ModeQueued:
		// Completion order equals start order, lane by lane.
		for lane, done := range s.completed {
			var want []string
			for _, x := range s.execs {
				if x.lane == lane && x.status == Succeeded {
					want = append(want, x.id)
				}
			}
			if !slices.Equal(done, want) {
				t.Fatalf("seed %d lane %q: completed %v, started %v", seed, lane, done, want)
			}
		}
		if counts[Superseded] != 0 {
			t.Fatalf("seed %d: %d QUEUED executions superseded", seed, counts[Superseded])
		}
	case pipeline.ModeParallel:
		if counts[Superseded] != 0 {
			t.Fatalf("seed %d: %d PARALLEL executions superseded", seed, counts[Superseded])
		}
		if !failures && counts[Succeeded] != len(s.execs) {
			t.Fatalf("seed %d: %d of %d PARALLEL executions succeeded", seed, counts[Succeeded], len(s.execs))
		}
	case pipeline.ModeSuperseded:
		// Every execution ended Succeeded, Superseded or (with
		// failures) Failed, and the latest of each lane was never
		// superseded.
		latest := map[string]*simExec{}
		for _, x := range s.execs {
			latest[x.lane] = x
		}
		for lane, x := range latest {
			if x.status == Superseded {
				t.Fatalf("seed %d lane %q: the latest execution %s was superseded", seed, lane, x.id)
			}
		}
		if counts[Succeeded]+counts[Superseded]+counts[Failed] != len(s.execs) || !failures && counts[Failed] != 0 {
			t.Fatalf("seed %d: statuses %v", seed, counts)
		}
	}
}

// seeds is how many random interleavings each case replays.
func seeds() uint64 {
	if testing.Short() {
		return 4
	}
	return 20
}
