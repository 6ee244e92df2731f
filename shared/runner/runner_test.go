package runner_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/actions/custom"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

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
