package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

var lockT0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

// started is the start time of the test execution named e<n> or p<n>: the
// number is its start order.
func started(id string) time.Time {
	var n int
	if len(id) > 1 {
		fmt.Sscanf(id[1:], "%d", &n)
	}
	return lockT0.Add(time.Duration(n) * time.Minute)
}

// lockStep is one event of a scenario and the summary of what it decided.
type lockStep struct {
	do    string // enter, leave, end, disable, enable, update
	id    string
	stage string
	want  string
	lane  string
	mode  string        // overrides the scenario's
	wait  time.Duration // clock moves on by this much before the step
}

func summarize(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func list(name string, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return name + "=" + strings.Join(ids, ",")
}

func resumes(rs []Resume) string {
	var ids []string
	for _, r := range rs {
		at := r.Stage
		if r.Lane != "" {
			at = r.Lane + "/" + r.Stage
		}
		ids = append(ids, r.ExecutionID+"@"+at)
	}
	return list("resume", ids)
}

// apply runs one step on l and returns its summary.
func (s lockStep) apply(t *testing.T, l *PipelineLocks, mode string, now time.Time) string {
	t.Helper()
	if s.mode != "" {
		mode = s.mode
	}
	switch s.do {
	case "enter":
		r, err := Enter(l, Arrival{ExecutionID: s.id, Mode: mode, Lane: s.lane, Started: started(s.id), Stage: s.stage}, now)
		if err != nil {
			return "error: " + err.Error()
		}
		out := string(r.Outcome)
		if r.Outcome == Waits {
			out = fmt.Sprintf("Waiting %d %s", r.Position, r.Reason)
		}
		return summarize(out, list("superseded", r.Superseded), resumes(r.Resume))
	case "leave":
		r := Leave(l, s.id, s.lane, s.stage, now)
		return summarize(resumes(r.Resume), list("expired", r.Expired))
	case "end":
		r := End(l, s.id, now)
		return summarize(resumes(r.Resume), list("expired", r.Expired))
	case "disable":
		if err := DisableTransition(l, s.stage, "frozen for release", "alice", now); err != nil {
			return "error: " + err.Error()
		}
		return ""
	case "enable":
		r := EnableTransition(l, s.stage, now)
		return summarize(resumes(r.Resume), list("expired", r.Expired))
	case "update":
		r := PipelineUpdated(l)
		return summarize(list("now", r.CancelNow), list("after", r.CancelAfterActions))
	}
	t.Fatalf("unknown step %q", s.do)
	return ""
}

func TestLockScenarios(t *testing.T) {
	S, Q, P := pipeline.ModeSuperseded, pipeline.ModeQueued, pipeline.ModeParallel
	// e1 in A, then in B: the start of most scenarios.
	e1InB := []lockStep{
		{do: "enter", id: "e1", stage: "A", want: "Entered"},
		{do: "enter", id: "e1", stage: "B", want: "Entered"},
	}
	scenarios := []struct {
		name  string
		mode  string
		steps []lockStep
	}{
		{"superseded: two arrive at a locked stage, older first", S, append(e1InB,
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e3", stage: "B", want: "Waiting 1 stage superseded=e2"},
			lockStep{do: "leave", id: "e1", stage: "B", want: "resume=e3@B"},
		)},
		{"superseded: two arrive at a locked stage, newer first", S, append(e1InB,
			lockStep{do: "enter", id: "e3", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e2", stage: "B", want: "Superseded"},
			lockStep{do: "end", id: "e2", want: ""},
			lockStep{do: "leave", id: "e1", stage: "B", want: "resume=e3@B"},
		)},
		{"superseded: the stage left is handed on at once", S, []lockStep{
			{do: "enter", id: "e1", stage: "A", want: "Entered"},
			{do: "enter", id: "e2", stage: "A", want: "Waiting 1 stage"},
			{do: "enter", id: "e1", stage: "B", want: "Entered resume=e2@A"},
			{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			{do: "enter", id: "e3", stage: "A", want: "Entered"},
		}},
		{"superseded: an approval pending while a newer execution supersedes the waiting one", S, append(e1InB,
			// e1 waits for its approval in B: it holds B throughout.
			lockStep{do: "enter", id: "e2", stage: "A", want: "Entered"},
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e3", stage: "A", want: "Entered"},
			lockStep{do: "enter", id: "e3", stage: "B", want: "Waiting 1 stage superseded=e2"},
			lockStep{do: "enter", id: "e4", stage: "A", want: "Entered"},
			// Approved: e1 goes on to C, B goes to e3.
			lockStep{do: "enter", id: "e1", stage: "C", want: "Entered resume=e3@B"},
			lockStep{do: "end", id: "e1", want: ""},
		)},
		{"queued: two arrive at a locked stage, older first", Q, append(e1InB,
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e3", stage: "B", want: "Waiting 2 stage"},
			lockStep{do: "leave", id: "e1", stage: "B", want: "resume=e2@B"},
			lockStep{do: "leave", id: "e2", stage: "B", want: "resume=e3@B"},
		)},
		{"queued: two arrive at a locked stage, newer first", Q, append(e1InB,
			lockStep{do: "enter", id: "e3", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "end", id: "e1", want: "resume=e2@B"},
			lockStep{do: "end", id: "e2", want: "resume=e3@B"},
		)},
		{"queued: an execution that ends while waiting leaves the line", Q, append(e1InB,
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e3", stage: "B", want: "Waiting 2 stage"},
			lockStep{do: "end", id: "e2", want: ""},
			lockStep{do: "leave", id: "e1", stage: "B", want: "resume=e3@B"},
		)},
		{"parallel never waits at a stage", P, []lockStep{
			{do: "enter", id: "p1", stage: "A", want: "Entered"},
			{do: "enter", id: "p2", stage: "A", want: "Entered"},
			{do: "enter", id: "p1", stage: "B", want: "Entered"},
			{do: "end", id: "p1", want: ""},
		}},
		{"queued: a transition disabled while executions wait, then enabled", Q, append(e1InB,
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e3", stage: "B", want: "Waiting 2 stage"},
			lockStep{do: "disable", stage: "B"},
			lockStep{do: "leave", id: "e1", stage: "B", want: ""},
			lockStep{do: "enter", id: "e4", stage: "B", want: "Waiting 3 transition"},
			lockStep{do: "enable", stage: "B", want: "resume=e2@B"},
			lockStep{do: "enable", stage: "B", want: ""},
			lockStep{do: "leave", id: "e2", stage: "B", want: "resume=e3@B"},
		)},
		{"superseded: waiting at a disabled transition, superseded there, the latest enters", S, []lockStep{
			{do: "disable", stage: "B"},
			{do: "enter", id: "e1", stage: "A", want: "Entered"},
			{do: "enter", id: "e1", stage: "B", want: "Waiting 1 transition"},
			{do: "enter", id: "e2", stage: "A", want: "Entered"},
			{do: "enter", id: "e2", stage: "B", want: "Waiting 1 transition superseded=e1"},
			{do: "enable", stage: "B", want: "resume=e2@B"},
		}},
		{"parallel waits at a disabled transition and all resume", P, []lockStep{
			{do: "disable", stage: "B"},
			{do: "enter", id: "p2", stage: "B", want: "Waiting 1 transition"},
			{do: "enter", id: "p1", stage: "B", want: "Waiting 1 transition"},
			{do: "enter", id: "p3", stage: "A", want: "Entered"},
			{do: "enable", stage: "B", want: "resume=p1@B,p2@B"},
			{do: "enter", id: "p3", stage: "B", want: "Entered"},
		}},
		{"the holder of a stage is not stopped by disabling its transition", Q, append(e1InB,
			lockStep{do: "disable", stage: "B"},
			lockStep{do: "enter", id: "e1", stage: "C", want: "Entered"},
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 transition"},
		)},
		{"waiters of a transition disabled over 30 days expire", Q, []lockStep{
			{do: "disable", stage: "B"},
			{do: "enter", id: "e1", stage: "B", want: "Waiting 1 transition"},
			{do: "enter", id: "e2", stage: "B", want: "Waiting 2 transition"},
			{do: "enable", stage: "B", wait: TransitionResumeLimit + time.Minute, want: "expired=e1,e2"},
			{do: "enter", id: "e3", stage: "B", want: "Entered"},
		}},
		{"lanes are independent; a transition holds every lane", S, []lockStep{
			{do: "enter", id: "e1", stage: "B", lane: "main", want: "Entered"},
			{do: "enter", id: "e2", stage: "B", lane: "dev", want: "Entered"},
			{do: "enter", id: "e3", stage: "B", lane: "main", want: "Waiting 1 stage"},
			{do: "enter", id: "e4", stage: "B", lane: "dev", want: "Waiting 1 stage"},
			{do: "enter", id: "e5", stage: "B", lane: "dev", want: "Waiting 1 stage superseded=e4"},
			{do: "leave", id: "e1", stage: "B", lane: "dev", want: ""},
			{do: "leave", id: "e1", stage: "B", lane: "main", want: "resume=e3@main/B"},
			{do: "disable", stage: "C"},
			{do: "enter", id: "e3", stage: "C", lane: "main", want: "Waiting 1 transition"},
			{do: "enter", id: "e2", stage: "C", lane: "dev", want: "Waiting 1 transition resume=e5@dev/B"},
			{do: "enable", stage: "C", want: "resume=e2@dev/C,e3@main/C"},
		}},
		{"a pipeline update cancels waiting executions now and running ones after their actions", Q, append(e1InB,
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e3", stage: "A", want: "Entered"},
			lockStep{do: "disable", stage: "C"},
			lockStep{do: "enter", id: "p1", stage: "C", mode: P, want: "Waiting 1 transition"},
			lockStep{do: "update", want: "now=e2 after=e3,e1"},
			// The new version (SUPERSEDED) waits until e1 has ended.
			lockStep{do: "enter", id: "e4", stage: "B", mode: S, want: "Waiting 1 stage"},
			lockStep{do: "end", id: "e1", want: "resume=e4@B"},
			lockStep{do: "enable", stage: "C", want: "resume=p1@C"},
		)},
		{"repeated calls change nothing", Q, append(e1InB,
			lockStep{do: "enter", id: "e1", stage: "B", want: "Entered"},
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "enter", id: "e2", stage: "B", want: "Waiting 1 stage"},
			lockStep{do: "leave", id: "e2", stage: "B", want: ""},
			lockStep{do: "leave", id: "e1", stage: "A", want: ""},
			lockStep{do: "end", id: "nobody", want: ""},
			lockStep{do: "leave", id: "e1", stage: "B", want: "resume=e2@B"},
			lockStep{do: "leave", id: "e1", stage: "B", want: ""},
		)},
		{"bad input is refused", "", []lockStep{
			{do: "enter", id: "e1", stage: "A", mode: "SERIAL", want: `error: execution mode "SERIAL" is not one of SUPERSEDED, QUEUED, PARALLEL`},
			{do: "enter", id: "", stage: "A", mode: S, want: "error: entering a stage needs an execution ID"},
			{do: "enter", id: "e1", stage: "", mode: S, want: "error: execution e1: entering a stage needs a stage name"},
			{do: "disable", stage: "", want: "error: disabling a transition needs a stage name"},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			l := &PipelineLocks{Pipeline: "P"}
			now := lockT0.Add(time.Hour)
			for i, s := range sc.steps {
				now = now.Add(time.Second + s.wait)
				if got := s.apply(t, l, sc.mode, now); got != s.want {
					t.Fatalf("step %d (%s %s %s): got %q, want %q", i, s.do, s.id, s.stage, got, s.want)
				}
				if err := l.Validate(); err != nil {
					t.Fatalf("step %d (%s %s %s): %v", i, s.do, s.id, s.stage, err)
				}
			}
		})
	}
}

func TestLockErrorsAreValidation(t *testing.T) {
	l := &PipelineLocks{}
	if _, err := Enter(l, Arrival{ExecutionID: "e", Mode: "nope", Stage: "A"}, lockT0); !errs.Is(err, errs.Validation) {
		t.Errorf("bad mode: %v", err)
	}
	if err := DisableTransition(l, "A", "", "", lockT0); !errs.Is(err, errs.Validation) {
		t.Errorf("no reason: %v", err)
	}
	if l.Lanes != nil || l.Transitions != nil {
		t.Errorf("refused calls changed the record: %+v", l)
	}
}

func TestLaneOf(t *testing.T) {
	def := "main"
	cases := []struct {
		name string
		vars []pipeline.VariableDeclaration
		vals map[string]string
		want string
	}{
		{"no lane variable", []pipeline.VariableDeclaration{{Name: "Env"}}, map[string]string{"Env": "x", LaneVariable: "y"}, ""},
		{"given at start", []pipeline.VariableDeclaration{{Name: LaneVariable, DefaultValue: &def}}, map[string]string{LaneVariable: "feature-1"}, "feature-1"},
		{"default", []pipeline.VariableDeclaration{{Name: LaneVariable, DefaultValue: &def}}, nil, "main"},
		{"declared, no value", []pipeline.VariableDeclaration{{Name: LaneVariable}}, nil, ""},
	}
	for _, c := range cases {
		p := &pipeline.Pipeline{Variables: c.vars}
		if got := LaneOf(p, c.vals); got != c.want {
			t.Errorf("%s: lane %q, want %q", c.name, got, c.want)
		}
	}
}

// TestLocksStoredForm pins the record's JSON: it is what stores keep, so a
// change of a field name needs a migration.
func TestLocksStoredForm(t *testing.T) {
	l := &PipelineLocks{Pipeline: "P", Version: 7}
	at := lockT0
	mustEnter(t, l, Arrival{ExecutionID: "e1", Mode: pipeline.ModeQueued, Lane: "main", Started: at, Stage: "B"}, at)
	mustEnter(t, l, Arrival{ExecutionID: "e2", Mode: pipeline.ModeQueued, Lane: "main", Started: at.Add(time.Minute), Stage: "B"}, at.Add(time.Hour))
	if err := DisableTransition(l, "C", "frozen", "alice", at); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"pipeline":"P","version":7,"lanes":{"main":{"stages":{"B":{"holder":{"executionId":"e1","mode":"QUEUED","started":"2026-01-02T03:00:00Z","since":"2026-01-02T03:00:00Z"},"waiting":[{"executionId":"e2","mode":"QUEUED","started":"2026-01-02T03:01:00Z","since":"2026-01-02T04:00:00Z"}]}}}},"disabledTransitions":{"C":{"reason":"frozen","by":"alice","at":"2026-01-02T03:00:00Z"}}}`
	if string(b) != want {
		t.Errorf("stored form\n got %s\nwant %s", b, want)
	}
	var back PipelineLocks
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Errorf("read back: %v", err)
	}
	if lane, stage, holds, ok := back.Locate("e2"); lane != "main" || stage != "B" || holds || !ok {
		t.Errorf("Locate(e2) = %q %q %v %v", lane, stage, holds, ok)
	}
}

func mustEnter(t *testing.T, l *PipelineLocks, a Arrival, now time.Time) EnterResult {
	t.Helper()
	r, err := Enter(l, a, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLocksValidate shows each invariant of Validate catching a bad record
// (what a store might load).
func TestLocksValidate(t *testing.T) {
	h := func(id, mode string) *Holder { return &Holder{ExecutionID: id, Mode: mode, Started: lockT0} }
	w := func(id, mode string, min int) Waiter {
		return Waiter{ExecutionID: id, Mode: mode, Started: lockT0.Add(time.Duration(min) * time.Minute)}
	}
	one := func(s *StageLock) *PipelineLocks {
		return &PipelineLocks{Lanes: map[string]*LaneLocks{"": {Stages: map[string]*StageLock{"B": s}}}}
	}
	S, Q, P := pipeline.ModeSuperseded, pipeline.ModeQueued, pipeline.ModeParallel
	cases := []struct {
		name string
		l    *PipelineLocks
		want string // "" valid
	}{
		{"held with a line", one(&StageLock{Holder: h("e1", Q), Waiting: []Waiter{w("e2", Q, 1), w("e3", Q, 2)}}), ""},
		{"parallel holder", one(&StageLock{Holder: h("e1", P)}), "takes no lock"},
		{"two superseded waiters", one(&StageLock{Holder: h("e1", S), Waiting: []Waiter{w("e2", S, 1), w("e3", S, 2)}}), "2 SUPERSEDED executions wait"},
		{"out of order", one(&StageLock{Holder: h("e1", Q), Waiting: []Waiter{w("e3", Q, 2), w("e2", Q, 1)}}), "ahead of the older"},
		{"twice", one(&StageLock{Holder: h("e1", Q), Waiting: []Waiter{w("e1", Q, 1)}}), "is both"},
		{"no ID", one(&StageLock{Holder: h("", Q)}), "without an execution ID"},
		{"bad mode", one(&StageLock{Holder: h("e1", Q), Waiting: []Waiter{w("e2", "X", 1)}}), "not one of"},
		{"stuck behind a free stage", one(&StageLock{Waiting: []Waiter{w("e2", Q, 1)}}), "nothing to wait for"},
		{"parallel stuck behind an enabled transition", one(&StageLock{Holder: h("e1", Q), Waiting: []Waiter{w("p2", P, 1)}}), "nothing to wait for"},
		{"null lane", &PipelineLocks{Lanes: map[string]*LaneLocks{"x": nil}}, "is null"},
	}
	for _, c := range cases {
		err := c.l.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// Behind a disabled transition a free stage may have waiters.
	l := one(&StageLock{Waiting: []Waiter{w("p2", P, 1), w("e3", Q, 2)}})
	l.Transitions = map[string]*DisabledTransition{"B": {Reason: "r", At: lockT0}}
	if err := l.Validate(); err != nil {
		t.Errorf("waiting at a disabled transition: %v", err)
	}
}
