package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/actions/custom"
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

// ---------------------------------------------------------------------------
// Executions from start to end.

type runCase struct {
	name   string
	stages []pipeline.Stage
	vars   map[string]string
	// during interacts with the running execution.
	during func(t *testing.T, s *system, e *engine.Execution)
	want   engine.Status
	check  func(t *testing.T, s *system, e *engine.Execution)
}

func TestExecutions(t *testing.T) {
	cases := []runCase{
		{
			name: "three stages, a parallel group, artifacts and variables passed on",
			stages: []pipeline.Stage{
				stage("Source",
					action("Checkout", commandsType, 1,
						run("mkdir -p src", "echo 'package main' > src/main.go", "echo v1.2.3 > VERSION", "export COMMIT=abc123"),
						output("SourceCode", "**/*"), namespace("SourceVars", "COMMIT"))),
				stage("Build",
					action("Compile", commandsType, 1, inputs("SourceCode"),
						run("mkdir -p out", "cp src/main.go out/main.go", "VERSION=$(cat VERSION)"),
						output("Binary", "out/*"), namespace("BuildVars", "VERSION")),
					action("Lint", commandsType, 1, inputs("SourceCode"),
						run("test -f src/main.go", "echo lint passed")),
					action("Package", codeBuildType, 2, inputs("Binary", "SourceCode"),
						config("ProjectName", "local", "BuildspecOverride",
							"version: 0.2\nenv:\n  exported-variables: [PKG]\nphases:\n  build:\n    commands:\n"+
								"      - test -f out/main.go\n"+
								"      - 'PKG=pkg-$(cat \"$CODEBUILD_SRC_DIR_SourceCode/VERSION\")'\n"+
								"      - echo $PKG > out/PKG\nartifacts:\n  files: ['out/**/*']\n"),
						output("Package"), namespace("PkgVars"))),
				stage("Deploy",
					action("Deploy", commandsType, 1, inputs("Package"),
						env("VERSION", "#{BuildVars.VERSION}", "COMMIT", "#{SourceVars.COMMIT}", "PKG", "#{PkgVars.PKG}",
							"EXEC", "#{codepipeline.PipelineExecutionId}", "TARGET", "#{variables.TARGET}"),
						run(`echo "deploying $VERSION ($COMMIT) as $PKG to $TARGET in $EXEC"`, `test "$(cat out/PKG)" = "$PKG"`))),
			},
			vars: map[string]string{"TARGET": "production"},
			want: engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if len(e.Actions) != 5 {
					t.Errorf("%d action runs, want 5", len(e.Actions))
				}
				for _, r := range e.Actions {
					wantStatus(t, r.Action, r.Status, engine.Succeeded)
					if r.Attempt != 1 {
						t.Errorf("%s: attempt %d", r.Action, r.Attempt)
					}
				}
				for _, st := range e.Stages {
					wantStatus(t, "stage "+st.Name, st.Status, engine.Succeeded)
				}
				compile, lint, pkg := latest(t, e, "Build", "Compile"), latest(t, e, "Build", "Lint"), latest(t, e, "Build", "Package")
				if !compile.StartTime.Equal(lint.StartTime) {
					t.Errorf("Compile and Lint were not started together: %s, %s", compile.StartTime, lint.StartTime)
				}
				if pkg.StartTime.Before(compile.EndTime) || pkg.StartTime.Before(lint.EndTime) {
					t.Errorf("Package (runOrder 2) started before its group ended")
				}
				if got := compile.OutputVariables["VERSION"]; got != "v1.2.3" {
					t.Errorf("Compile's VERSION = %q", got)
				}
				deploy := latest(t, e, "Deploy", "Deploy")
				if got := deploy.EnvironmentVariables["PKG"]; got != "pkg-v1.2.3" {
					t.Errorf("Deploy's resolved PKG = %q", got)
				}
				want := "deploying v1.2.3 (abc123) as pkg-v1.2.3 to production in " + e.ID
				if log := readLog(t, deploy); !strings.Contains(log, want) {
					t.Errorf("Deploy's log lacks %q:\n%s", want, log)
				}
				for _, name := range []string{"SourceCode", "Binary", "Package"} {
					f, _, err := s.arts.Open(t.Context(), artifacts.Location{Bucket: bucket, Key: engine.ArtifactKey(e.PipelineName, e.ID, name)})
					if err != nil {
						t.Errorf("artifact %s: %v", name, err)
						continue
					}
					f.Close()
				}
			},
		},
		{
			name: "a failed action fails its stage and the execution; its sibling still ends",
			stages: []pipeline.Stage{
				stage("Prepare", action("Setup", commandsType, 1, run("echo ready"))),
				stage("Test",
					action("Breaks", commandsType, 1, run("echo testing", "exit 3")),
					scripted("Sibling", 1, actiontest.ConfigGate, "sibling"),
					action("Later", commandsType, 2, run("echo never"))),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo never"))),
			},
			during: func(t *testing.T, s *system, e *engine.Execution) {
				s.waitFor(t, e.ID, "Breaks to fail while Sibling runs", func(e *engine.Execution) bool {
					r, ok := e.LatestRun("Test", "Breaks")
					return ok && r.Status == engine.Failed
				})
				now := s.get(t, e.ID)
				wantStatus(t, "execution while Sibling runs", now.Status, engine.InProgress)
				wantStatus(t, "Sibling", latest(t, now, "Test", "Sibling").Status, engine.InProgress)
				s.scripted.Release("sibling")
			},
			want: engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				breaks := latest(t, e, "Test", "Breaks")
				wantStatus(t, "Breaks", breaks.Status, engine.Failed)
				if breaks.ErrorCode != engine.CodeJobFailed || !strings.Contains(breaks.ErrorMessage, "exit 3") {
					t.Errorf("Breaks: %s %q", breaks.ErrorCode, breaks.ErrorMessage)
				}
				wantStatus(t, "Sibling", latest(t, e, "Test", "Sibling").Status, engine.Succeeded)
				wantStatus(t, "stage Test", e.Stages[1].Status, engine.Failed)
				if !strings.Contains(e.StatusSummary, `"Breaks"`) || !strings.Contains(e.StatusSummary, "exit 3") {
					t.Errorf("summary %q does not name the failed action and command", e.StatusSummary)
				}
				if _, ok := e.LatestRun("Test", "Later"); ok {
					t.Error("the next group of the failed stage ran")
				}
				notStarted(t, e, "Deploy")
			},
		},
		{
			name: "an approval waits, then approved",
			stages: []pipeline.Stage{
				stage("Build", action("Build", commandsType, 1, run("export V=7"), namespace("B", "V"))),
				stage("Release", action("Approve", manualType, 1, config("CustomData", "Release version #{B.V}?"))),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo deployed"))),
			},
			during: approve(approval.Approved, "ship it"),
			want:   engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Release", "Approve")
				wantStatus(t, "Approve", r.Status, engine.Succeeded)
				if r.Summary != "ship it" || r.UpdatedBy != "alice" {
					t.Errorf("approval summary %q by %q", r.Summary, r.UpdatedBy)
				}
				if got := r.Configuration["CustomData"]; got != "Release version 7?" {
					t.Errorf("CustomData resolved to %q", got)
				}
				wantStatus(t, "Deploy", latest(t, e, "Deploy", "Deploy").Status, engine.Succeeded)
			},
		},
		{
			name: "an approval waits, then rejected",
			stages: []pipeline.Stage{
				stage("Build", action("Build", commandsType, 1, run("export V=7"), namespace("B", "V"))),
				stage("Release", action("Approve", manualType, 1, config("CustomData", "Release version #{B.V}?"))),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo deployed"))),
			},
			during: approve(approval.Rejected, "not this week"),
			want:   engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Release", "Approve")
				wantStatus(t, "Approve", r.Status, engine.Failed)
				if r.ErrorCode != "Rejected" {
					t.Errorf("error code %q", r.ErrorCode)
				}
				if !strings.Contains(e.StatusSummary, "rejected by alice: not this week") {
					t.Errorf("summary %q lacks the rejection", e.StatusSummary)
				}
				notStarted(t, e, "Deploy")
			},
		},
		{
			name: "a custom action waits for a job worker; its output variables reach the next stage",
			stages: []pipeline.Stage{
				stage("Build", action("Tool", customType, 1,
					config("Target", "#{variables.TARGET}", "Mode", "fast"), namespace("ToolVars"))),
				stage("Deploy", action("Deploy", commandsType, 1,
					env("RESULT", "#{ToolVars.result}"), run(`echo "tool said $RESULT"`))),
			},
			vars: map[string]string{"TARGET": "prod"},
			during: func(t *testing.T, s *system, e *engine.Execution) {
				var jobs []*store.Job
				eventually(t, "a job for the custom action", func() bool {
					var err error
					jobs, err = s.store.PollJobs(t.Context(), customType, 10, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					return len(jobs) > 0
				})
				if len(jobs) != 1 {
					t.Fatalf("%d jobs, want 1", len(jobs))
				}
				j := jobs[0]
				var data custom.JobData
				if err := json.Unmarshal(j.Data, &data); err != nil {
					t.Fatalf("job data %s: %v", j.Data, err)
				}
				if data.Configuration["Target"] != "prod" || data.Configuration["Mode"] != "fast" || data.Stage != "Build" || data.Action != "Tool" {
					t.Errorf("job data %+v", data)
				}
				now := s.get(t, e.ID)
				r := latest(t, now, "Build", "Tool")
				if j.ExecutionID != e.ID || j.ActionRunID != r.ID || j.ID != r.Token || j.PipelineName != e.PipelineName {
					t.Errorf("job %+v does not point to run %s (token %s) of %s", j, r.ID, r.Token, e.ID)
				}
				wantStatus(t, "Tool while its job is out", r.Status, engine.InProgress)
				err := s.runner.Complete(t.Context(), j.ExecutionID, j.ActionRunID, engine.Result{
					Status: engine.Succeeded, Summary: "built", OutputVariables: map[string]string{"result": "built-42"},
					ExternalExecutionID: "tool-run-9", UpdatedBy: "worker-1",
				})
				if err != nil {
					t.Fatal(err)
				}
			},
			want: engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				tool := latest(t, e, "Build", "Tool")
				if tool.ExternalExecutionID != "tool-run-9" || tool.OutputVariables["result"] != "built-42" {
					t.Errorf("Tool run %+v", tool)
				}
				if log := readLog(t, latest(t, e, "Deploy", "Deploy")); !strings.Contains(log, "tool said built-42") {
					t.Errorf("Deploy's log lacks the tool's variable:\n%s", log)
				}
			},
		},
		{
			name: "stop and abandon kills the running action",
			stages: []pipeline.Stage{
				stage("Build", action("Long", commandsType, 1, run("echo starting", "sleep 30", "echo never"))),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo never"))),
			},
			during: func(t *testing.T, s *system, e *engine.Execution) {
				s.waitRunning(t, e.ID, "Build", "Long", "sleep 30")
				if err := s.runner.Stop(t.Context(), e.ID, true, "changed my mind", ""); err != nil {
					t.Fatal(err)
				}
			},
			want: engine.Stopped,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Build", "Long")
				wantStatus(t, "Long", r.Status, engine.Abandoned)
				if r.ErrorCode != engine.CodeAbandoned {
					t.Errorf("error code %q", r.ErrorCode)
				}
				if e.StatusSummary != "stopped: changed my mind" {
					t.Errorf("summary %q", e.StatusSummary)
				}
				wantStatus(t, "stage Build", e.Stages[0].Status, engine.Stopped)
				notStarted(t, e, "Deploy")
				// The build is killed, not left to run its 30 seconds: Close,
				// which waits for the action's goroutine, returns well before.
				ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
				defer cancel()
				if err := s.runner.Close(ctx); err != nil {
					t.Fatalf("the abandoned build was not killed: %v", err)
				}
				if log := readLog(t, r); !strings.Contains(log, "build stopped") || strings.Contains(log, "Running command echo never") {
					t.Errorf("the abandoned build was not stopped:\n%s", log)
				}
				if after := s.get(t, e.ID); after.Status != engine.Stopped || latest(t, after, "Build", "Long").Status != engine.Abandoned {
					t.Errorf("the killed build changed the stopped execution: %s", s.describe(t, e.ID))
				}
			},
		},
		{
			name: "stop and wait lets the running action end",
			stages: []pipeline.Stage{
				stage("Build",
					scripted("Long", 1, actiontest.ConfigGate, "long", actiontest.ConfigSummary, "finished"),
					action("Next", commandsType, 2, run("echo never"))),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo never"))),
			},
			during: func(t *testing.T, s *system, e *engine.Execution) {
				s.scripted.WaitStarted(t, 1, patience)
				if err := s.runner.Stop(t.Context(), e.ID, false, "", ""); err != nil {
					t.Fatal(err)
				}
				now := s.get(t, e.ID)
				wantStatus(t, "execution after stop", now.Status, engine.Stopping)
				wantStatus(t, "stage Build after stop", now.Stages[0].Status, engine.Stopping)
				wantStatus(t, "Long after stop", latest(t, now, "Build", "Long").Status, engine.InProgress)
				s.scripted.Release("long")
			},
			want: engine.Stopped,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Build", "Long")
				wantStatus(t, "Long", r.Status, engine.Succeeded)
				if r.Summary != "finished" {
					t.Errorf("Long did not run to its end: summary %q", r.Summary)
				}
				if e.StatusSummary != "stopped" {
					t.Errorf("summary %q", e.StatusSummary)
				}
				if _, ok := e.LatestRun("Build", "Next"); ok {
					t.Error("an action started after the stop")
				}
				notStarted(t, e, "Deploy")
			},
		},
		{
			name: "an action type that needs AWS fails with a clear message",
			stages: []pipeline.Stage{
				stage("Deploy", action("Deploy", codeDeployType, 1, config("ApplicationName", "app", "DeploymentGroupName", "prod"))),
			},
			want: engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Deploy", "Deploy")
				if r.ErrorCode != engine.CodeConfigurationError || !strings.Contains(r.ErrorMessage, "CodeDeploy") {
					t.Errorf("run %s %q", r.ErrorCode, r.ErrorMessage)
				}
				if !strings.Contains(e.StatusSummary, "runs only when Stageflow is deployed to AWS") {
					t.Errorf("summary %q", e.StatusSummary)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSystem(t, "")
			p := declaration(t, "P", tc.stages...)
			createPipeline(t, s.store, p)
			vars := map[string]string{}
			for k, v := range tc.vars {
				vars[k] = v
			}
			e := s.start(t, p.Name, vars, "")
			if tc.during != nil {
				tc.during(t, s, e)
			}
			final := s.wait(t, e.ID)
			if final.Status != tc.want {
				t.Fatalf("execution %s, want %s: %s", final.Status, tc.want, s.describe(t, e.ID))
			}
			if final.EndTime.IsZero() {
				t.Error("an ended execution needs an end time")
			}
			if tc.check != nil {
				tc.check(t, s, s.get(t, e.ID))
			}
		})
	}
}

// approve waits for the approval to be handed over, then decides it.
func approve(decision, summary string) func(t *testing.T, s *system, e *engine.Execution) {
	return func(t *testing.T, s *system, e *engine.Execution) {
		now := s.waitFor(t, e.ID, "the approval to wait", func(e *engine.Execution) bool {
			r, ok := e.LatestRun("Release", "Approve")
			return ok && fileExists(r.LogLocation)
		})
		wantStatus(t, "execution waiting for approval", now.Status, engine.InProgress)
		r := latest(t, now, "Release", "Approve")
		wantStatus(t, "approval", r.Status, engine.InProgress)
		if err := s.runner.Complete(t.Context(), e.ID, r.ID, approval.Result(decision, summary, "alice")); err != nil {
			t.Fatal(err)
		}
		// A second decision is refused and changes nothing.
		if err := s.runner.Complete(t.Context(), e.ID, r.ID, approval.Result(approval.Approved, "again", "bob")); err == nil {
			t.Error("a second decision on the same approval was accepted")
		}
	}
}

// ---------------------------------------------------------------------------
// Continue.

// TestContinueDispatchesNothingTwice: Continue on an execution whose action
// is running advances it without handing the action to its provider again;
// on one that has ended it changes nothing.
func TestContinueDispatchesNothingTwice(t *testing.T) {
	s := newSystem(t, "")
	p := declaration(t, "P", stage("Build", scripted("Gated", 1, actiontest.ConfigGate, "continue")), stage("Next", scripted("After", 1)))
	createPipeline(t, s.store, p)
	e := s.start(t, p.Name, nil, "")
	s.scripted.WaitStarted(t, 1, patience)
	for range 3 {
		if err := s.runner.Continue(t.Context(), e.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.scripted.StartedFor("Build", "Gated"); n != 1 {
		t.Fatalf("the running action was started %d times", n)
	}
	s.scripted.Release("continue")
	final := s.wait(t, e.ID)
	wantStatus(t, "execution", final.Status, engine.Succeeded)
	if err := s.runner.Continue(t.Context(), e.ID); err != nil {
		t.Fatal(err)
	}
	if again := s.get(t, e.ID); again.Status != engine.Succeeded || s.scripted.StartedFor("Next", "After") != 1 {
		t.Fatalf("Continue after the end: %s, After started %d times", again.Status, s.scripted.StartedFor("Next", "After"))
	}
}

// ---------------------------------------------------------------------------
// Idempotent start.

func TestStartIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name string
		// again starts the second time while the first execution still runs.
		whileRunning bool
	}{
		{"second start after the end", false},
		{"second start while running", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSystem(t, "")
			p := declaration(t, "P", stage("Build", scripted("Count", 1, actiontest.ConfigGate, "count")))
			createPipeline(t, s.store, p)

			first := s.start(t, p.Name, nil, "token-1")
			if !tc.whileRunning {
				s.scripted.Release("count")
				s.wait(t, first.ID)
			}
			again := s.start(t, p.Name, nil, "token-1")
			if again.ID != first.ID {
				t.Fatalf("second start with the same token made execution %s, not %s", again.ID, first.ID)
			}
			if tc.whileRunning {
				s.scripted.Release("count")
			}
			final := s.wait(t, first.ID)
			wantStatus(t, "execution", final.Status, engine.Succeeded)
			if len(final.Actions) != 1 {
				t.Errorf("%d action runs, want 1", len(final.Actions))
			}
			if n := s.scripted.StartedFor("Build", "Count"); n != 1 {
				t.Errorf("the action ran %d times, want once", n)
			}
			list, _, err := s.store.ListExecutions(t.Context(), store.ExecutionFilter{PipelineName: p.Name}, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Errorf("%d executions, want 1", len(list))
			}

			// Another token starts another execution.
			other := s.start(t, p.Name, nil, "token-2")
			if other.ID == first.ID {
				t.Fatal("a new token returned the old execution")
			}
			wantStatus(t, "second execution", s.wait(t, other.ID).Status, engine.Succeeded)
		})
	}
}

// ---------------------------------------------------------------------------
// Resume after a crash.

// crash writes what a process that died would leave: an execution whose
// first wave was started and saved, the runs of the actions in handed given
// a log location (as the runner records before calling the provider), none
// of them ever completed.
func crash(t *testing.T, dir string, p pipeline.Pipeline, handed ...string) string {
	t.Helper()
	st := openStore(t, dir)
	defer st.Close()
	createPipeline(t, st, p)
	env := testEnv()
	e, err := engine.New(env.NewID(), p.Name, 1, p, nil, engine.Trigger{Type: "StartPipelineExecution"}, env.Now())
	if err != nil {
		t.Fatal(err)
	}
	e, _, err = st.CreateExecution(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	d := engine.Advance(e, env)
	if len(d.Wave) == 0 {
		t.Fatal("no action started")
	}
	for i := range e.Actions {
		r := &e.Actions[i]
		for _, name := range handed {
			if r.Action == name {
				r.LogLocation = filepath.Join(dir, "logs", e.ID, r.ID+".log")
				if err := os.MkdirAll(filepath.Dir(r.LogLocation), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(r.LogLocation, []byte("[Container] Running command sleep 600\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := st.UpdateExecution(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func TestResume(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stages []pipeline.Stage
		handed []string
		// afterResume checks the state Resume saved and may act on it.
		afterResume func(t *testing.T, s *system, e *engine.Execution)
		want        engine.Status
		check       func(t *testing.T, s *system, e *engine.Execution)
	}{
		{
			name: "a build running at crash time is failed as interrupted",
			stages: []pipeline.Stage{
				stage("Build", action("Long", commandsType, 1, run("sleep 600"))),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo never"))),
			},
			handed: []string{"Long"},
			want:   engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Build", "Long")
				if r.Status != engine.Failed || r.ErrorCode != engine.CodeInterrupted || !strings.Contains(r.ErrorMessage, "interrupted") {
					t.Errorf("Long: %s %s %q", r.Status, r.ErrorCode, r.ErrorMessage)
				}
				if !strings.Contains(e.StatusSummary, "interrupted") {
					t.Errorf("summary %q", e.StatusSummary)
				}
				notStarted(t, e, "Deploy")
			},
		},
		{
			name: "an approval waiting at crash time still waits and can be approved",
			stages: []pipeline.Stage{
				stage("Release", action("Approve", manualType, 1)),
				stage("Deploy", action("Deploy", commandsType, 1, run("echo deployed"))),
			},
			handed: []string{"Approve"},
			afterResume: func(t *testing.T, s *system, e *engine.Execution) {
				wantStatus(t, "execution after resume", e.Status, engine.InProgress)
				r := latest(t, e, "Release", "Approve")
				wantStatus(t, "approval after resume", r.Status, engine.InProgress)
				if err := s.runner.Complete(t.Context(), e.ID, r.ID, approval.Result(approval.Approved, "ok", "alice")); err != nil {
					t.Fatal(err)
				}
			},
			want: engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if log := readLog(t, latest(t, e, "Deploy", "Deploy")); !strings.Contains(log, "deployed") {
					t.Errorf("Deploy's log:\n%s", log)
				}
			},
		},
		{
			name: "a custom job out at crash time still waits for its worker",
			stages: []pipeline.Stage{
				stage("Build", action("Tool", customType, 1)),
			},
			handed: []string{"Tool"},
			afterResume: func(t *testing.T, s *system, e *engine.Execution) {
				r := latest(t, e, "Build", "Tool")
				wantStatus(t, "Tool after resume", r.Status, engine.InProgress)
				if err := s.runner.Complete(t.Context(), e.ID, r.ID, engine.Result{Status: engine.Succeeded}); err != nil {
					t.Fatal(err)
				}
			},
			want: engine.Succeeded,
		},
		{
			name: "a resumable run handed over is not run again; it waits for its token",
			stages: []pipeline.Stage{
				stage("Build", action("Waits", actiontest.ResumableType, 1, config(actiontest.ConfigResult, actiontest.Wait))),
			},
			handed: []string{"Waits"},
			afterResume: func(t *testing.T, s *system, e *engine.Execution) {
				if n := len(s.scripted.Started()); n != 0 {
					t.Errorf("Resume called the provider %d times for a resumable run", n)
				}
				r := latest(t, e, "Build", "Waits")
				wantStatus(t, "Waits after resume", r.Status, engine.InProgress)
				if err := s.runner.Complete(t.Context(), e.ID, r.ID, engine.Result{Status: engine.Succeeded, Summary: "by token"}); err != nil {
					t.Fatal(err)
				}
			},
			want: engine.Succeeded,
		},
		{
			name: "a non-resumable run handed over is failed as interrupted, not run again",
			stages: []pipeline.Stage{
				stage("Build", scripted("Scripted", 1)),
			},
			handed: []string{"Scripted"},
			want:   engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if r := latest(t, e, "Build", "Scripted"); r.ErrorCode != engine.CodeInterrupted {
					t.Errorf("Scripted: %s %q", r.ErrorCode, r.ErrorMessage)
				}
				if n := len(s.scripted.Started()); n != 0 {
					t.Errorf("Resume called the provider %d times for an interrupted run", n)
				}
			},
		},
		{
			name: "a scripted run never handed over is started once",
			stages: []pipeline.Stage{
				stage("Build", scripted("Fresh", 1, actiontest.ConfigOutputVariables, "v=1")),
			},
			want: engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if n := s.scripted.StartedFor("Build", "Fresh"); n != 1 {
					t.Errorf("Fresh started %d times, want once", n)
				}
				if v := latest(t, e, "Build", "Fresh").OutputVariables["v"]; v != "1" {
					t.Errorf("Fresh's output variable v = %q", v)
				}
			},
		},
		{
			name: "a run never handed to its provider is started",
			stages: []pipeline.Stage{
				stage("Build", action("Build", commandsType, 1, run("echo resumed build"))),
			},
			want: engine.Succeeded,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				if log := readLog(t, latest(t, e, "Build", "Build")); !strings.Contains(log, "resumed build") {
					t.Errorf("Build's log:\n%s", log)
				}
			},
		},
		{
			name: "in one group, the interrupted run fails the stage once the restarted one ends",
			stages: []pipeline.Stage{
				stage("Build",
					action("Running", commandsType, 1, run("sleep 600")),
					action("Waiting", commandsType, 1, run("echo restarted"))),
			},
			handed: []string{"Running"},
			want:   engine.Failed,
			check: func(t *testing.T, s *system, e *engine.Execution) {
				wantStatus(t, "Waiting", latest(t, e, "Build", "Waiting").Status, engine.Succeeded)
				r := latest(t, e, "Build", "Running")
				if r.ErrorCode != engine.CodeInterrupted {
					t.Errorf("Running: %s %q", r.ErrorCode, r.ErrorMessage)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			id := crash(t, dir, declaration(t, "P", tc.stages...), tc.handed...)

			s := newSystem(t, dir)
			n, err := s.runner.Resume(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("resumed %d executions, want 1", n)
			}
			if tc.afterResume != nil {
				tc.afterResume(t, s, s.get(t, id))
			}
			final := s.wait(t, id)
			if final.Status != tc.want {
				t.Fatalf("execution %s, want %s: %s", final.Status, tc.want, s.describe(t, id))
			}
			if tc.check != nil {
				tc.check(t, s, s.get(t, id))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Close.

// TestCloseWaitsForRunningActions: Close lets the running action end and
// records its result, starts nothing new, and a later runner resumes the
// execution from there.
func TestCloseWaitsForRunningActions(t *testing.T) {
	dir := t.TempDir()
	s := newSystem(t, dir)
	p := declaration(t, "P",
		stage("Build", scripted("Gated", 1, actiontest.ConfigGate, "gated")),
		stage("Deploy", scripted("After", 1)))
	createPipeline(t, s.store, p)
	e := s.start(t, p.Name, nil, "")
	s.scripted.WaitStarted(t, 1, patience)

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), patience)
		defer cancel()
		closed <- s.runner.Close(ctx)
	}()
	for deadline := time.Now().Add(patience); !s.runner.Closing(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Close never began")
		}
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an action was running", err)
	default:
	}
	s.scripted.Release("gated")
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("Close did not return after the running action ended")
	}

	now := s.get(t, e.ID)
	wantStatus(t, "Gated", latest(t, now, "Build", "Gated").Status, engine.Succeeded)
	wantStatus(t, "execution after Close", now.Status, engine.InProgress)
	after := latest(t, now, "Deploy", "After")
	if after.Status != engine.InProgress || fileExists(after.LogLocation) || s.scripted.StartedFor("Deploy", "After") != 0 {
		t.Fatalf("the next action was handed to a provider while closing: %s, log %q", after.Status, after.LogLocation)
	}

	// A new process picks it up, once this one has let go of the store.
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := newSystem(t, dir)
	if _, err := s2.runner.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	final := s2.wait(t, e.ID)
	wantStatus(t, "execution after resume", final.Status, engine.Succeeded)
	if n := s2.scripted.StartedFor("Deploy", "After"); n != 1 {
		t.Errorf("After was started %d times after the restart, want once", n)
	}
}

// TestCloseDeadline: when the deadline passes, Close cancels the contexts of
// the running actions and their runs end as interrupted (that a build is
// killed on cancellation is the commands provider's test).
func TestCloseDeadline(t *testing.T) {
	s := newSystem(t, "")
	p := declaration(t, "P", stage("Build", scripted("Long", 1, actiontest.ConfigGate, "never")))
	createPipeline(t, s.store, p)
	e := s.start(t, p.Name, nil, "")
	s.scripted.WaitStarted(t, 1, patience)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.runner.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want the deadline error", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Close took %s: the build was not killed", d)
	}
	final := s.get(t, e.ID)
	r := latest(t, final, "Build", "Long")
	if r.Status != engine.Failed || r.ErrorCode != engine.CodeInterrupted {
		t.Errorf("Long: %s %s %q", r.Status, r.ErrorCode, r.ErrorMessage)
	}
	wantStatus(t, "execution", final.Status, engine.Failed)
}

func TestWait(t *testing.T) {
	s := newSystem(t, "")
	p := declaration(t, "P", stage("Build", scripted("Gated", 1, actiontest.ConfigGate, "gated")))
	createPipeline(t, s.store, p)
	e := s.start(t, p.Name, nil, "")

	// Giving up a wait is an error of its context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.runner.Wait(ctx, e.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a canceled context: %v", err)
	}
	// Several waiters all get the end.
	results := make(chan *engine.Execution, 3)
	for range 3 {
		go func() {
			ctx, cancel := context.WithTimeout(t.Context(), patience)
			defer cancel()
			e, err := s.runner.Wait(ctx, e.ID)
			if err != nil {
				t.Error(err)
			}
			results <- e
		}()
	}
	s.scripted.Release("gated")
	for range 3 {
		if got := <-results; got == nil || got.Status != engine.Succeeded {
			t.Errorf("a waiter got %+v", got)
		}
	}
	// Waiting for an ended execution returns it at once.
	wantStatus(t, "ended execution", s.wait(t, e.ID).Status, engine.Succeeded)
	// An unknown execution is an error.
	if _, err := s.runner.Wait(t.Context(), "no-such-execution"); err == nil {
		t.Error("Wait for an unknown execution succeeded")
	}
}

// fileExists reports whether the runner created a file: it creates a run's
// log just before handing the run to its provider.
func fileExists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}
