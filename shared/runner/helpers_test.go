package runner_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/runner"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

const bucket = "stageflow-artifacts"

// patience bounds every wait of these tests.
const patience = 30 * time.Second

var (
	commandsType   = pipeline.ActionTypeID{Category: pipeline.CategoryCompute, Owner: pipeline.OwnerAWS, Provider: "Commands", Version: "1"}
	codeBuildType  = pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: pipeline.OwnerAWS, Provider: "CodeBuild", Version: "1"}
	manualType     = pipeline.ActionTypeID{Category: pipeline.CategoryApproval, Owner: pipeline.OwnerAWS, Provider: "Manual", Version: "1"}
	customType     = pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: pipeline.OwnerCustom, Provider: "MyTool", Version: "1"}
	codeDeployType = pipeline.ActionTypeID{Category: pipeline.CategoryDeploy, Owner: pipeline.OwnerAWS, Provider: "CodeDeploy", Version: "1"}
)

// ---------------------------------------------------------------------------
// The system under test: SQLite file store, artifact folder, the providers
// registered as `stageflow serve` registers them, and the runner.

type system struct {
	dir    string
	store  *sqlite.Store
	runner *runner.Runner
	arts   *artifacts.Store
	// svc starts executions, as it does for every door.
	svc *service.Service
	// scripted serves actiontest.Type and actiontest.ResumableType.
	scripted *actiontest.Scripted
}

func testEnv() engine.Env {
	return engine.Env{Now: func() time.Time { return time.Now().UTC() }, NewID: uuid.NewString, ArtifactBucket: bucket}
}

func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(dir, "stageflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newSystem opens a runner on the data directory dir ("" for a fresh one),
// configured further by configs. Cleanup closes the runner, which must end
// every running action, then the store.
func newSystem(t *testing.T, dir string, configs ...func(*runner.Config)) *system {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st := openStore(t, dir)
	t.Cleanup(func() { st.Close() })
	env := testEnv()
	arts := &artifacts.Store{Root: filepath.Join(dir, "artifacts"), Bucket: bucket}
	reg := embedded.Providers(st, env.Now, embedded.Options{})
	scripted := actiontest.Register(reg)
	cfg := runner.Config{Store: st, Providers: reg, Artifacts: arts, Env: env, DataDir: dir}
	for _, c := range configs {
		c(&cfg)
	}
	r := runner.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("closing the runner: %v (an action was still running)", err)
		}
	})
	svc := service.New(service.Config{Store: st, Driver: r, Now: env.Now, NewID: env.NewID})
	return &system{dir: dir, store: st, runner: r, arts: arts, svc: svc, scripted: scripted}
}

// ---------------------------------------------------------------------------
// Pipelines, built as Go values and loaded from their JSON like any document.

func stage(name string, acts ...pipeline.Action) pipeline.Stage {
	return pipeline.Stage{Name: name, Actions: acts}
}

type opt func(*pipeline.Action)

func action(name string, typ pipeline.ActionTypeID, runOrder int, opts ...opt) pipeline.Action {
	a := pipeline.Action{Name: name, ActionTypeID: typ, RunOrder: &runOrder}
	for _, o := range opts {
		o(&a)
	}
	return a
}

func run(cmds ...string) opt { return func(a *pipeline.Action) { a.Commands = cmds } }

func env(kv ...string) opt {
	return func(a *pipeline.Action) {
		for i := 0; i+1 < len(kv); i += 2 {
			a.EnvironmentVariables = append(a.EnvironmentVariables, pipeline.EnvironmentVariable{Name: kv[i], Value: kv[i+1]})
		}
	}
}

func config(kv ...string) opt {
	return func(a *pipeline.Action) {
		if a.Configuration == nil {
			a.Configuration = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			a.Configuration[kv[i]] = kv[i+1]
		}
	}
}

func inputs(names ...string) opt {
	return func(a *pipeline.Action) {
		for _, n := range names {
			a.InputArtifacts = append(a.InputArtifacts, pipeline.InputArtifact{Name: n})
		}
	}
}

func output(name string, files ...string) opt {
	return func(a *pipeline.Action) {
		a.OutputArtifacts = append(a.OutputArtifacts, pipeline.OutputArtifact{Name: name, Files: files})
	}
}

func namespace(ns string, vars ...string) opt {
	return func(a *pipeline.Action) {
		a.Namespace = ns
		if len(vars) > 0 {
			a.OutputVariables = vars
		}
	}
}

// scripted declares an action of the scripted test provider with
// configuration kv (see actiontest): the runner's tests use it where the
// action's behaviour is not what they are about.
func scripted(name string, runOrder int, kv ...string) pipeline.Action {
	return actiontest.Action(name, runOrder, kv...)
}

// declaration loads a pipeline from its JSON, as every door does.
func declaration(t *testing.T, name string, stages ...pipeline.Stage) pipeline.Pipeline {
	t.Helper()
	def := func(s string) *string { return &s }
	p := pipeline.Pipeline{
		Name:         name,
		PipelineType: pipeline.TypeV2,
		Variables: []pipeline.VariableDeclaration{
			{Name: "TARGET", DefaultValue: def("staging")},
		},
		Stages: stages,
	}
	return loaded(t, p)
}

func createPipeline(t *testing.T, st store.Store, p pipeline.Pipeline) {
	t.Helper()
	if err := st.CreatePipeline(t.Context(), &store.Pipeline{Name: p.Name, Declaration: p}); err != nil {
		t.Fatal(err)
	}
}

func (s *system) start(t *testing.T, name string, vars map[string]string, token string) *engine.Execution {
	t.Helper()
	e, err := s.svc.StartExecution(service.LocalCaller(t.Context(), "test"), service.StartInput{
		PipelineName: name, Variables: vars, ClientRequestToken: token,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (s *system) wait(t *testing.T, id string) *engine.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	e, err := s.runner.Wait(ctx, id)
	if err != nil {
		t.Fatalf("waiting for execution %s: %v (now: %s)", id, err, s.describe(t, id))
	}
	return e
}

func (s *system) get(t *testing.T, id string) *engine.Execution {
	t.Helper()
	e, err := s.store.GetExecution(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// describe summarizes an execution for failure messages.
func (s *system) describe(t *testing.T, id string) string {
	e, err := s.store.GetExecution(context.WithoutCancel(t.Context()), id)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(string(e.Status) + " " + e.StatusSummary + ";")
	for _, r := range e.Actions {
		b.WriteString(" " + r.Stage + "/" + r.Action + "=" + string(r.Status))
		if r.ErrorMessage != "" {
			b.WriteString(" (" + r.ErrorMessage + ")")
		}
	}
	return b.String()
}

// eventually polls cond until it holds or the patience runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("test ended waiting for %s", what)
		}
	}
}

// waitFor polls the store until cond holds for the execution.
func (s *system) waitFor(t *testing.T, id, what string, cond func(e *engine.Execution) bool) *engine.Execution {
	t.Helper()
	var e *engine.Execution
	eventually(t, what+" (execution "+id+")", func() bool {
		e = s.get(t, id)
		return cond(e)
	})
	return e
}

func latest(t *testing.T, e *engine.Execution, stage, action string) *engine.ActionRun {
	t.Helper()
	r, ok := e.LatestRun(stage, action)
	if !ok {
		t.Fatalf("action %s/%s never ran", stage, action)
	}
	return r
}

// waitRunning waits until the action's log shows that its build is running
// the given command.
func (s *system) waitRunning(t *testing.T, id, stage, action, command string) *engine.ActionRun {
	t.Helper()
	var run *engine.ActionRun
	eventually(t, "action "+action+" to run "+command, func() bool {
		r, ok := s.get(t, id).LatestRun(stage, action)
		if !ok || r.LogLocation == "" {
			return false
		}
		b, _ := os.ReadFile(r.LogLocation)
		run = r
		return strings.Contains(string(b), "Running command "+command)
	})
	return run
}

func readLog(t *testing.T, r *engine.ActionRun) string {
	t.Helper()
	if r.LogLocation == "" {
		t.Fatalf("action %s has no log location", r.Action)
	}
	b, err := os.ReadFile(r.LogLocation)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantStatus(t *testing.T, what string, got, want engine.Status) {
	t.Helper()
	if got != want {
		t.Errorf("%s: status %q, want %q", what, got, want)
	}
}

// notStarted checks that no action of a stage ran.
func notStarted(t *testing.T, e *engine.Execution, stageName string) {
	t.Helper()
	for _, st := range e.Stages {
		if st.Name == stageName && st.Status != "" {
			t.Errorf("stage %s was reached (%s)", stageName, st.Status)
		}
	}
	for _, r := range e.Actions {
		if r.Stage == stageName {
			t.Errorf("action %s of stage %s ran", r.Action, stageName)
		}
	}
}

// loaded is p as the server would keep it: through its JSON and pipeline.Load.
func loaded(t *testing.T, p pipeline.Pipeline) pipeline.Pipeline {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := pipeline.Load(data)
	if err != nil {
		t.Fatalf("invalid test pipeline: %v", err)
	}
	return doc.Pipeline
}
