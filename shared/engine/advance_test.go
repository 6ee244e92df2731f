package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// testEnv is a deterministic clock and ID source.
func testEnv() Env {
	var mu sync.Mutex
	n := 0
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return Env{
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			n++
			return t0.Add(time.Duration(n) * time.Second)
		},
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("id-%d", n)
		},
		ArtifactBucket: "local",
	}
}

// pl builds a pipeline from a compact spec: stages separated by "|", actions
// by ",", each action "Name" or "Name@runOrder", optionally with
// ">out" (output artifact), "<in" (input artifact) and "^ns" (namespace).
func pl(t *testing.T, spec string) pipeline.Pipeline {
	t.Helper()
	p := pipeline.Pipeline{Name: "P"}
	for si, sspec := range strings.Split(spec, "|") {
		st := pipeline.Stage{Name: fmt.Sprintf("S%d", si+1)}
		for _, aspec := range strings.Split(sspec, ",") {
			fields := strings.Fields(aspec)
			a := pipeline.Action{ActionTypeID: pipeline.ActionTypeID{Category: "Compute", Owner: "AWS", Provider: "Commands", Version: "1"}}
			name, ro, _ := strings.Cut(fields[0], "@")
			a.Name = name
			if ro != "" {
				var n int
				fmt.Sscan(ro, &n)
				a.RunOrder = &n
			}
			for _, f := range fields[1:] {
				switch f[0] {
				case '>':
					a.OutputArtifacts = append(a.OutputArtifacts, pipeline.OutputArtifact{Name: f[1:]})
				case '<':
					a.InputArtifacts = append(a.InputArtifacts, pipeline.InputArtifact{Name: f[1:]})
				case '^':
					a.Namespace = f[1:]
				case '$':
					k, v, _ := strings.Cut(f[1:], "=")
					if a.Configuration == nil {
						a.Configuration = map[string]string{}
					}
					a.Configuration[k] = v
				}
			}
			st.Actions = append(st.Actions, a)
		}
		p.Stages = append(p.Stages, st)
	}
	return p
}

// drive runs an execution to its end with scripted results. Actions not in
// fail succeed. Within a wave, runs complete in the order of the wave,
// except those listed in last, which complete after the others. It returns
// the trace of decisions.
func drive(t *testing.T, e *Execution, env Env, fail map[string]bool, last map[string]bool) []string {
	t.Helper()
	var trace []string
	d := Advance(e, env)
	for steps := 0; !d.Terminal; steps++ {
		if steps > 1000 {
			t.Fatal("execution does not end")
		}
		if len(d.Wave) == 0 {
			t.Fatalf("not terminal and nothing to run: %+v", e)
		}
		var names []string
		for _, r := range d.Wave {
			names = append(names, r.Stage+"."+r.Action)
		}
		trace = append(trace, "start "+strings.Join(names, " "))
		ordered := append([]ActionRun{}, d.Wave...)
		var late []ActionRun
		ordered = ordered[:0]
		for _, r := range d.Wave {
			if last[r.Action] {
				late = append(late, r)
			} else {
				ordered = append(ordered, r)
			}
		}
		ordered = append(ordered, late...)
		for _, r := range ordered {
			res := Result{Status: Succeeded, OutputVariables: map[string]string{"who": r.Action}}
			if fail[r.Action] {
				res = Result{Status: Failed, ErrorMessage: "exit status 1"}
			}
			before := frozen(t, e)
			if err := Complete(r.ID, res, env.Now())(e); err != nil {
				t.Fatal(err)
			}
			d = Advance(e, env)
			before.check(t, e)
			if len(d.Wave) == 0 && !d.Terminal {
				trace = append(trace, "wait")
			}
		}
	}
	trace = append(trace, string(d.Status))
	return trace
}

// parts is the JSON of what never changes in an execution once written (see
// Execution): the pipeline snapshot and the runs that have ended.
type parts struct {
	pipeline string
	ended    map[string]string
}

func frozen(t *testing.T, e *Execution) parts {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p := parts{pipeline: enc(e.Pipeline), ended: map[string]string{}}
	for i := range e.Actions {
		if r := &e.Actions[i]; r.Status.Terminal() {
			p.ended[r.ID] = enc(r)
		}
	}
	return p
}

// check fails t if a part frozen before has changed in e.
func (p parts) check(t *testing.T, e *Execution) {
	t.Helper()
	now := frozen(t, e)
	if now.pipeline != p.pipeline {
		t.Fatal("the pipeline snapshot changed")
	}
	for id, was := range p.ended {
		if now.ended[id] != was {
			t.Fatalf("ended run %s changed:\nwas %s\nnow %s", id, was, now.ended[id])
		}
	}
}

func TestAdvanceScenarios(t *testing.T) {
	tests := []struct {
		name   string
		spec   string
		fail   []string
		last   []string
		want   []string
		stages []Status
	}{
		{
			name:   "one action",
			spec:   "A",
			want:   []string{"start S1.A", "Succeeded"},
			stages: []Status{Succeeded},
		},
		{
			name:   "stages in sequence",
			spec:   "A|B|C",
			want:   []string{"start S1.A", "start S2.B", "start S3.C", "Succeeded"},
			stages: []Status{Succeeded, Succeeded, Succeeded},
		},
		{
			name:   "same runOrder runs in parallel, groups ascend",
			spec:   "A|T1@2,T2@2,Lint@1,Pack@3",
			want:   []string{"start S1.A", "start S2.Lint", "start S2.T1 S2.T2", "wait", "start S2.Pack", "Succeeded"},
			stages: []Status{Succeeded, Succeeded},
		},
		{
			name:   "gaps in runOrder",
			spec:   "X@10,Y@500,Z@10",
			want:   []string{"start S1.X S1.Z", "wait", "start S1.Y", "Succeeded"},
			stages: []Status{Succeeded},
		},
		{
			name:   "failure mid-group waits for running siblings, later stages never start",
			spec:   "A|T1,T2,T3|Deploy",
			fail:   []string{"T1"},
			want:   []string{"start S1.A", "start S2.T1 S2.T2 S2.T3", "wait", "wait", "Failed"},
			stages: []Status{Succeeded, Failed, ""},
		},
		{
			name:   "failure of the last action of a group",
			spec:   "T1,T2|Deploy",
			fail:   []string{"T2"},
			last:   []string{"T2"},
			want:   []string{"start S1.T1 S1.T2", "wait", "Failed"},
			stages: []Status{Failed, ""},
		},
		{
			name:   "failure stops later groups of the same stage",
			spec:   "A@1,B@2",
			fail:   []string{"A"},
			want:   []string{"start S1.A", "Failed"},
			stages: []Status{Failed},
		},
		{
			name:   "artifacts flow between stages",
			spec:   "Src >code|Build <code >bin|Deploy <bin",
			want:   []string{"start S1.Src", "start S2.Build", "start S3.Deploy", "Succeeded"},
			stages: []Status{Succeeded, Succeeded, Succeeded},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv()
			e, err := New("exec-1", "P", 1, pl(t, tt.spec), nil, Trigger{Type: "Test"}, env.Now())
			if err != nil {
				t.Fatal(err)
			}
			got := drive(t, e, env, set(tt.fail), set(tt.last))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("trace\n got %q\nwant %q", got, tt.want)
			}
			var stages []Status
			for _, s := range e.Stages {
				stages = append(stages, s.Status)
			}
			if !reflect.DeepEqual(stages, tt.stages) {
				t.Errorf("stage statuses %v, want %v", stages, tt.stages)
			}
			if e.EndTime.IsZero() || e.EndTime.Before(e.StartTime) {
				t.Errorf("end time %v not after start %v", e.EndTime, e.StartTime)
			}
			if e.Status == Failed && !strings.Contains(e.StatusSummary, "failed") {
				t.Errorf("summary %q does not say what failed", e.StatusSummary)
			}
		})
	}
}

func set(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func TestArtifactsAndVariablesResolve(t *testing.T) {
	env := testEnv()
	p := pl(t, "Src >code ^src|Build <code >bin $Ref=#{src.who} $Exec=#{codepipeline.PipelineExecutionId} $V=#{variables.stage}")
	def := "prod"
	p.Variables = []pipeline.VariableDeclaration{{Name: "stage", DefaultValue: &def}}
	e, err := New("exec-9", "P", 3, p, map[string]string{"stage": "beta"}, Trigger{}, env.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := Advance(e, env)
	src := d.Wave[0]
	if want := (ArtifactRef{Name: "code", Bucket: "local", Key: "P/exec-9/code.zip"}); !reflect.DeepEqual(src.OutputArtifacts, []ArtifactRef{want}) {
		t.Fatalf("outputs %+v", src.OutputArtifacts)
	}
	Complete(src.ID, Result{Status: Succeeded, OutputVariables: map[string]string{"who": "Src says hi"}}, env.Now())(e)
	d = Advance(e, env)
	build := d.Wave[0]
	wantCfg := map[string]string{"Ref": "Src says hi", "Exec": "exec-9", "V": "beta"}
	if !reflect.DeepEqual(build.Configuration, wantCfg) {
		t.Errorf("configuration %v, want %v", build.Configuration, wantCfg)
	}
	if len(build.InputArtifacts) != 1 || build.InputArtifacts[0].Key != "P/exec-9/code.zip" {
		t.Errorf("inputs %+v", build.InputArtifacts)
	}
}

func TestUnresolvableReferenceFailsTheAction(t *testing.T) {
	env := testEnv()
	// The namespace exists in the pipeline but its action produced no such variable.
	e, _ := New("e", "P", 1, pl(t, "Src ^src|Build $X=#{src.missing},Other"), nil, Trigger{}, env.Now())
	d := Advance(e, env)
	Complete(d.Wave[0].ID, Result{Status: Succeeded}, env.Now())(e)
	d = Advance(e, env)
	if len(d.Wave) != 1 || d.Wave[0].Action != "Other" {
		t.Fatalf("wave %+v, want only Other", d.Wave)
	}
	r, _ := e.LatestRun("S2", "Build")
	if r.Status != Failed || r.ErrorCode != CodeConfigurationError || !strings.Contains(r.ErrorMessage, "src.missing") {
		t.Errorf("Build run %+v", r)
	}
	Complete(d.Wave[0].ID, Result{Status: Succeeded}, env.Now())(e)
	if d = Advance(e, env); d.Status != Failed || !d.Terminal {
		t.Errorf("decision %+v, want Failed", d)
	}
}

func TestNewVariables(t *testing.T) {
	def := "x"
	p := pipeline.Pipeline{Name: "P", Variables: []pipeline.VariableDeclaration{{Name: "a", DefaultValue: &def}, {Name: "b"}}}
	tests := []struct {
		name      string
		overrides map[string]string
		want      map[string]string
		problem   string
	}{
		{"defaults and given", map[string]string{"b": "y"}, map[string]string{"a": "x", "b": "y"}, ""},
		{"override a default", map[string]string{"a": "z", "b": "y"}, map[string]string{"a": "z", "b": "y"}, ""},
		{"missing value", nil, nil, "variables.b"},
		{"undeclared", map[string]string{"b": "y", "c": "1"}, nil, "variables.c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New("e", "P", 1, p, tt.overrides, Trigger{}, time.Now())
			if tt.problem != "" {
				if !errs.Is(err, errs.Validation) || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("err %v, want a validation error naming %s", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e.Variables, tt.want) {
				t.Errorf("variables %v, want %v", e.Variables, tt.want)
			}
		})
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		name      string
		abandon   bool
		by        string // who asked ("" unknown)
		wantAfter Status // status right after the request
		runStatus Status // the running action's final status
	}{
		{"stop and wait lets the running action end", false, "arn:aws:iam::000000000000:user/ops", Stopping, Succeeded},
		{"stop and abandon", true, "", Stopped, Abandoned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv()
			e, _ := New("e", "P", 1, pl(t, "A|B"), nil, Trigger{}, env.Now())
			d := Advance(e, env)
			a := d.Wave[0]
			before := frozen(t, e)
			if err := RequestStop(tt.abandon, "by test", tt.by, env.Now())(e); err != nil {
				t.Fatal(err)
			}
			if e.Stop == nil || e.Stop.By != tt.by || e.Stop.Reason != "by test" || e.Stop.Abandon != tt.abandon {
				t.Fatalf("the stop request: %+v, want by %q", e.Stop, tt.by)
			}
			d = Advance(e, env)
			before.check(t, e)
			if d.Status != tt.wantAfter || len(d.Wave) != 0 {
				t.Fatalf("after stop: %+v", d)
			}
			if !tt.abandon {
				Complete(a.ID, Result{Status: Succeeded}, env.Now())(e)
				d = Advance(e, env)
			} else if err := Complete(a.ID, Result{Status: Succeeded}, env.Now())(e); !errs.Is(err, errs.InvalidState) {
				t.Errorf("completing an abandoned run: %v, want InvalidState", err)
			}
			if d.Status != Stopped || !d.Terminal {
				t.Fatalf("final %+v", d)
			}
			if r, _ := e.LatestRun("S1", "A"); r.Status != tt.runStatus {
				t.Errorf("run status %s, want %s", r.Status, tt.runStatus)
			}
			if _, ran := e.LatestRun("S2", "B"); ran {
				t.Error("stage 2 started after stop")
			}
			if err := RequestStop(false, "", "", env.Now())(e); !errs.Is(err, errs.InvalidState) {
				t.Errorf("stopping a stopped execution: %v", err)
			}
		})
	}
}

func TestCompleteTwiceIsRejected(t *testing.T) {
	env := testEnv()
	e, _ := New("e", "P", 1, pl(t, "A,B"), nil, Trigger{}, env.Now())
	d := Advance(e, env)
	if err := Complete(d.Wave[0].ID, Result{Status: Succeeded}, env.Now())(e); err != nil {
		t.Fatal(err)
	}
	if err := Complete(d.Wave[0].ID, Result{Status: Failed}, env.Now())(e); !errs.Is(err, errs.InvalidState) {
		t.Errorf("second completion: %v", err)
	}
	if err := Complete("nope", Result{}, env.Now())(e); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown run: %v", err)
	}
}

// memStore is an in-memory ExecutionStore with the version check, used to
// test Step; the real stores are tested by storetest.
type memStore struct {
	mu   sync.Mutex
	data map[string][]byte
	ver  map[string]int64
}

func (m *memStore) GetExecution(_ context.Context, id string) (*Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.data[id]
	if !ok {
		return nil, errs.New(errs.NotFound, "no execution %s", id)
	}
	var e Execution
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	e.Version = m.ver[id]
	return &e, nil
}

func (m *memStore) UpdateExecution(_ context.Context, e *Execution) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ver[e.ID] != e.Version {
		return errs.New(errs.Conflict, "version")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	m.data[e.ID] = b
	m.ver[e.ID]++
	e.Version = m.ver[e.ID]
	return nil
}

func TestStepConcurrentCompletions(t *testing.T) {
	env := testEnv()
	const n = 20
	spec := make([]string, n)
	for i := range spec {
		spec[i] = fmt.Sprintf("A%d", i)
	}
	e, _ := New("e", "P", 1, pl(t, strings.Join(spec, ",")+"|Last"), nil, Trigger{}, env.Now())
	st := &memStore{data: map[string][]byte{}, ver: map[string]int64{}}
	if err := st.UpdateExecution(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	_, d, err := Step(t.Context(), st, "e", nil, env)
	if err != nil || len(d.Wave) != n {
		t.Fatalf("first step: %v %d", err, len(d.Wave))
	}
	var wg sync.WaitGroup
	waves := make(chan []ActionRun, n)
	for _, r := range d.Wave {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, d, err := Step(t.Context(), st, "e", Complete(r.ID, Result{Status: Succeeded}, env.Now()), env)
			if err != nil {
				t.Error(err)
			}
			waves <- d.Wave
		}()
	}
	wg.Wait()
	close(waves)
	var started []string
	for w := range waves {
		for _, r := range w {
			started = append(started, r.Action)
		}
	}
	if !reflect.DeepEqual(started, []string{"Last"}) {
		t.Errorf("after concurrent completions the next stage started %v times: %v", len(started), started)
	}
	got, _ := st.GetExecution(t.Context(), "e")
	for _, r := range got.Actions[:n] {
		if r.Status != Succeeded {
			t.Errorf("%s is %s: a completion was lost", r.Action, r.Status)
		}
	}
}

func TestStepEventErrorDoesNotSave(t *testing.T) {
	env := testEnv()
	st := &memStore{data: map[string][]byte{}, ver: map[string]int64{}}
	e, _ := New("e", "P", 1, pl(t, "A"), nil, Trigger{}, env.Now())
	st.UpdateExecution(t.Context(), e)
	before := st.ver["e"]
	_, _, err := Step(t.Context(), st, "e", Complete("nope", Result{}, env.Now()), env)
	if !errs.Is(err, errs.NotFound) || st.ver["e"] != before {
		t.Errorf("err %v, version %d → %d", err, before, st.ver["e"])
	}
}

// A source action's run is handed the revisions asked for it at start; the
// revision it reports is kept on the run and on its output artifacts, and
// reaches the runs that take them.
func TestRevisions(t *testing.T) {
	env := testEnv()
	p := pl(t, "Src >code,Other >docs|Build <code <docs")
	p.Stages[0].Actions[0].ActionTypeID = pipeline.ActionTypeID{Category: "Source", Owner: "Custom", Provider: "Git", Version: "1"}
	e, err := New("exec-r", "P", 1, p, nil, Trigger{}, env.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.SourceRevisions = []SourceRevision{{Action: "Src", Type: "COMMIT_ID", Value: "abc"}, {Action: "Other", Type: "COMMIT_ID", Value: "def"}}
	d := Advance(e, env)
	if len(d.Wave) != 2 {
		t.Fatalf("wave %+v", d.Wave)
	}
	src, other := d.Wave[0], d.Wave[1]
	if want := e.SourceRevisions[:1]; !reflect.DeepEqual(src.SourceRevisions, want) {
		t.Errorf("the source run was handed %+v, want %+v", src.SourceRevisions, want)
	}
	if other.SourceRevisions != nil {
		t.Errorf("an action that is not a source was handed %+v", other.SourceRevisions)
	}
	created := time.Date(2026, 1, 1, 10, 0, 0, 0, time.FixedZone("X", 3600))
	rev := &Revision{ID: "abc", ChangeIdentifier: "2026-01-01", Summary: "msg", Created: created}
	frozenOutputs := e.Actions[0].OutputArtifacts
	if err := Complete(src.ID, Result{Status: Succeeded, CurrentRevision: rev}, env.Now())(e); err != nil {
		t.Fatal(err)
	}
	rev.ID = "changed by the caller afterwards"
	if err := Complete(other.ID, Result{Status: Succeeded}, env.Now())(e); err != nil {
		t.Fatal(err)
	}
	r, _ := e.Run(src.ID)
	if want := (Revision{ID: "abc", ChangeIdentifier: "2026-01-01", Summary: "msg", Created: created.UTC()}); r.CurrentRevision == nil || *r.CurrentRevision != want {
		t.Errorf("the run's currentRevision = %+v, want %+v", r.CurrentRevision, want)
	}
	if r.OutputArtifacts[0].Revision != "abc" || frozenOutputs[0].Revision != "" {
		t.Errorf("output artifacts %+v (the run's earlier slice %+v must not change)", r.OutputArtifacts, frozenOutputs)
	}
	d = Advance(e, env)
	build := d.Wave[0]
	if len(build.InputArtifacts) != 2 || build.InputArtifacts[0].Revision != "abc" || build.InputArtifacts[1].Revision != "" {
		t.Errorf("the build's inputs %+v, want code at revision abc and docs without one", build.InputArtifacts)
	}
}
