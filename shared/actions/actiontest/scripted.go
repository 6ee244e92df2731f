// Package actiontest is test support for code that runs actions: Scripted,
// a provider whose every run does what the action's configuration says, and
// Harness, which runs a real provider's jobs against a real artifact folder.
// Nothing outside tests uses it.
package actiontest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// The action types Register serves with a Scripted provider. Runs of Type
// are not resumable (like a build: failed as interrupted after a restart);
// runs of ResumableType are (like an approval: they keep waiting for their
// token, and Run is not called again). Runs of MachineType occupy the
// machine (actions.MachineBound, like a build): they count against the
// runner's cap of parallel actions.
var (
	Type          = pipeline.ActionTypeID{Category: pipeline.CategoryTest, Owner: pipeline.OwnerThirdParty, Provider: "StageflowScripted", Version: "1"}
	ResumableType = pipeline.ActionTypeID{Category: pipeline.CategoryTest, Owner: pipeline.OwnerThirdParty, Provider: "StageflowScriptedResumable", Version: "1"}
	MachineType   = pipeline.ActionTypeID{Category: pipeline.CategoryTest, Owner: pipeline.OwnerThirdParty, Provider: "StageflowScriptedMachine", Version: "1"}
)

// Configuration keys of a scripted action. Without any, a run succeeds at
// once.
const (
	// ConfigResult is Succeeded (the default), Failed, or Wait: Run returns
	// nil and the result must come through the run's token.
	ConfigResult = "Result"
	// ConfigOutputVariables are the output variables of a success: a JSON
	// object, or name=value pairs separated by commas.
	ConfigOutputVariables = "OutputVariables"
	// ConfigErrorCode and ConfigErrorMessage make the failure (JobFailed
	// and "scripted failure" by default).
	ConfigErrorCode    = "ErrorCode"
	ConfigErrorMessage = "ErrorMessage"
	// ConfigSummary is the result's summary.
	ConfigSummary = "Summary"
	// ConfigDelay is a Go duration Run waits before its result.
	ConfigDelay = "Delay"
	// ConfigGate names a gate Run waits on before its result, until the
	// test calls Release with that name.
	ConfigGate = "Gate"
)

// Result values of ConfigResult.
const (
	Succeeded = "Succeeded"
	Failed    = "Failed"
	Wait      = "Wait"
)

// Scripted is a provider for tests, safe for concurrent use. A run whose
// context ends while it waits (Delay, Gate) returns a failed result saying
// so, as a build that is killed does. Every call of Run is recorded before
// it waits; Started and WaitStarted observe them without sleeping.
type Scripted struct {
	mu      sync.Mutex
	jobs    []*actions.Job
	changed chan struct{} // closed and replaced when a job starts
	gates   map[string]chan struct{}
	// running counts the calls of Run under way by action type; peak is
	// its highest value.
	running, peak map[pipeline.ActionTypeID]int
}

var _ actions.Provider = (*Scripted)(nil)

// New makes a scripted provider.
func New() *Scripted {
	return &Scripted{changed: make(chan struct{}), gates: map[string]chan struct{}{},
		running: map[pipeline.ActionTypeID]int{}, peak: map[pipeline.ActionTypeID]int{}}
}

// Register makes a scripted provider and serves Type and ResumableType
// with it in reg.
func Register(reg *actions.Registry) *Scripted {
	s := New()
	reg.Register(Type.Owner, Type.Provider, s)
	reg.Register(ResumableType.Owner, ResumableType.Provider, resumable{s})
	reg.Register(MachineType.Owner, MachineType.Provider, machine{s})
	return s
}

type resumable struct{ *Scripted }

func (resumable) Resumable() bool { return true }

type machine struct{ *Scripted }

func (machine) OccupiesMachine() bool { return true }

// Resumable is false for Type.
func (*Scripted) Resumable() bool { return false }

// Action declares a scripted action of Type with configuration kv (key,
// value, key, value …).
func Action(name string, runOrder int, kv ...string) pipeline.Action {
	return TypedAction(Type, name, runOrder, kv...)
}

// TypedAction declares a scripted action of typ (Type, ResumableType or
// MachineType) with configuration kv.
func TypedAction(typ pipeline.ActionTypeID, name string, runOrder int, kv ...string) pipeline.Action {
	a := pipeline.Action{Name: name, ActionTypeID: typ, RunOrder: &runOrder}
	for i := 0; i+1 < len(kv); i += 2 {
		if a.Configuration == nil {
			a.Configuration = map[string]string{}
		}
		a.Configuration[kv[i]] = kv[i+1]
	}
	return a
}

// Run records the job, waits as configured and returns the scripted result.
func (s *Scripted) Run(ctx context.Context, job *actions.Job) *engine.Result {
	cfg := job.Run.Configuration
	s.mu.Lock()
	s.jobs = append(s.jobs, job)
	typ := job.Run.Type
	s.running[typ]++
	s.peak[typ] = max(s.peak[typ], s.running[typ])
	defer func() {
		s.mu.Lock()
		s.running[typ]--
		s.mu.Unlock()
	}()
	close(s.changed)
	s.changed = make(chan struct{})
	gate := s.gate(cfg[ConfigGate])
	s.mu.Unlock()
	fmt.Fprintf(job.Log, "[Scripted] %s/%s started\n", job.Run.Stage, job.Run.Action)

	var delay <-chan time.Time
	if d := cfg[ConfigDelay]; d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			return actions.Failed(engine.CodeConfigurationError, "%s %q: %v", ConfigDelay, d, err)
		}
		t := time.NewTimer(dur)
		defer t.Stop()
		delay = t.C
	}
	for delay != nil || gate != nil {
		select {
		case <-delay:
			delay = nil
		case <-gate:
			gate = nil
		case <-ctx.Done():
			return actions.Failed(engine.CodeInterrupted, "scripted action stopped while waiting: %v", ctx.Err())
		}
	}
	switch r := cfg[ConfigResult]; r {
	case "", Succeeded:
		vars, err := parseVars(cfg[ConfigOutputVariables])
		if err != nil {
			return actions.Failed(engine.CodeConfigurationError, "%s: %v", ConfigOutputVariables, err)
		}
		return &engine.Result{Status: engine.Succeeded, Summary: cfg[ConfigSummary], OutputVariables: vars}
	case Failed:
		res := &engine.Result{Status: engine.Failed, Summary: cfg[ConfigSummary], ErrorCode: cfg[ConfigErrorCode], ErrorMessage: cfg[ConfigErrorMessage]}
		if res.ErrorCode == "" {
			res.ErrorCode = engine.CodeJobFailed
		}
		if res.ErrorMessage == "" {
			res.ErrorMessage = "scripted failure"
		}
		return res
	case Wait:
		return nil
	default:
		return actions.Failed(engine.CodeConfigurationError, "%s %q: want %s, %s or %s", ConfigResult, r, Succeeded, Failed, Wait)
	}
}

// gate returns the channel of a named gate (nil for none); s.mu is held.
func (s *Scripted) gate(name string) chan struct{} {
	if name == "" {
		return nil
	}
	g, ok := s.gates[name]
	if !ok {
		g = make(chan struct{})
		s.gates[name] = g
	}
	return g
}

// Release opens a gate: the runs waiting on it, and those that will, go on.
// Releasing a gate twice is harmless.
func (s *Scripted) Release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gate(name)
	select {
	case <-g:
	default:
		close(g)
	}
}

// Started returns the jobs Run was called with, in call order.
func (s *Scripted) Started() []*actions.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*actions.Job(nil), s.jobs...)
}

// Peak returns the most calls of Run for actions of type typ that were
// under way at once.
func (s *Scripted) Peak(typ pipeline.ActionTypeID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak[typ]
}

// StartedFor counts the calls of Run for an action (stage/action name).
func (s *Scripted) StartedFor(stage, action string) int {
	n := 0
	for _, j := range s.Started() {
		if j.Run.Stage == stage && j.Run.Action == action {
			n++
		}
	}
	return n
}

// WaitStarted waits until Run has been called n times in all, or fails t
// after timeout; it returns the jobs started so far.
func (s *Scripted) WaitStarted(t testing.TB, n int, timeout time.Duration) []*actions.Job {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		jobs, changed := append([]*actions.Job(nil), s.jobs...), s.changed
		s.mu.Unlock()
		if len(jobs) >= n {
			return jobs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("scripted provider: %d runs started within %s, want %d", len(jobs), timeout, n)
		}
	}
}

// parseVars reads a JSON object or name=value,name=value.
func parseVars(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	vars := map[string]string{}
	if strings.HasPrefix(s, "{") {
		if err := json.Unmarshal([]byte(s), &vars); err != nil {
			return nil, err
		}
		return vars, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q is not name=value", kv)
		}
		vars[strings.TrimSpace(k)] = v
	}
	return vars, nil
}
