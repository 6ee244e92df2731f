package commands

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/actions/hostbuild"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/secrets"
)

var commandsType = pipeline.ActionTypeID{Category: pipeline.CategoryCompute, Owner: pipeline.OwnerAWS, Provider: "Commands", Version: "1"}

func commandsAction(cmds ...string) pipeline.Action {
	return pipeline.Action{Name: "Run", ActionTypeID: commandsType, Commands: cmds}
}

// crafted zips an entry list by hand, bypassing every check of ZipDir.
func crafted(entries ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range entries {
		w, err := zw.Create(name)
		if err != nil {
			panic(err) // writing to memory does not fail
		}
		io.WriteString(w, "payload of "+name+"\n")
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestProviderRun(t *testing.T) {
	t.Setenv("STAGEFLOW_TEST_SECRET", "s3cr3t")
	actiontest.RunCases(t, func() actions.Provider { return &Provider{} }, []actiontest.Case{
		{
			Name: "commands: output variables, one of them exported",
			Action: actiontest.With(commandsAction("FIRST=one", "export SECOND=two", "echo $FIRST $SECOND"), func(a *pipeline.Action) {
				a.OutputVariables = []string{"FIRST", "SECOND", "NEVER_SET"}
			}),
			Want: engine.Succeeded,
			Vars: map[string]string{"FIRST": "one", "SECOND": "two", "NEVER_SET": ""},
			Check: func(t *testing.T, h *actiontest.Harness, res *engine.Result, log string) {
				if !strings.Contains(log, "one two") {
					t.Errorf("log lacks the commands' output:\n%s", log)
				}
			},
		},
		{
			Name: "commands: output variables over the combined limit fail the action",
			Action: actiontest.With(commandsAction("BIG=$(printf '%0122880d' 0)"), func(a *pipeline.Action) {
				a.OutputVariables = []string{"BIG"}
			}),
			Want: engine.Failed,
			Code: engine.CodeJobFailed,
			Msg:  []string{"122883 characters", "at most 122880"},
		},
		{
			Name: "commands: output variables at the combined limit",
			Action: actiontest.With(commandsAction("BIG=$(printf '%0122877d' 0)"), func(a *pipeline.Action) {
				a.OutputVariables = []string{"BIG"}
			}),
			Want: engine.Succeeded,
			Check: func(t *testing.T, _ *actiontest.Harness, res *engine.Result, _ string) {
				if n := len(res.OutputVariables["BIG"]); n != 122877 {
					t.Errorf("BIG has %d characters, want 122877", n)
				}
			},
		},
		{
			Name:   "commands: no output variables declared",
			Action: commandsAction("export X=1"),
			Want:   engine.Succeeded,
			Vars:   nil,
		},
		{
			Name: "commands: environment variables reach commands, values are not evaluated",
			Action: actiontest.With(commandsAction(`GOT="$GREETING|$TRICKY"`), func(a *pipeline.Action) {
				a.EnvironmentVariables = []pipeline.EnvironmentVariable{
					{Name: "GREETING", Value: "hello world"},
					{Name: "TRICKY", Value: "$(touch pwned1) `touch pwned2`; touch pwned3", Type: "PLAINTEXT"},
				}
				a.OutputVariables = []string{"GOT"}
			}),
			Want:  engine.Succeeded,
			Vars:  map[string]string{"GOT": "hello world|$(touch pwned1) `touch pwned2`; touch pwned3"},
			Check: actiontest.NoFile("pwned", "a variable's value was executed"),
		},
		{
			Name: "commands: SECRETS_MANAGER environment variable without a secret store",
			Action: actiontest.With(commandsAction("true"), func(a *pipeline.Action) {
				a.EnvironmentVariables = []pipeline.EnvironmentVariable{{Name: "TOKEN", Value: "prod/token", Type: "SECRETS_MANAGER"}}
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{"TOKEN", "prod/token", "no secret store"},
		},
		{
			Name:     "commands: SECRETS_MANAGER environment variable from the secret store, masked in the log",
			Provider: &Provider{Host: hostbuild.Host{Secrets: secretStore(t, "prod/token", "tok-s3cr3t")}},
			Action: actiontest.With(commandsAction(`test "$TOKEN" = tok-s3cr3t`, `echo "token $TOKEN"`), func(a *pipeline.Action) {
				a.EnvironmentVariables = []pipeline.EnvironmentVariable{{Name: "TOKEN", Value: "prod/token", Type: "SECRETS_MANAGER"}}
			}),
			Want: engine.Succeeded,
			Check: func(t *testing.T, _ *actiontest.Harness, _ *engine.Result, log string) {
				if !strings.Contains(log, "token ***") || strings.Contains(log, "s3cr3t") {
					t.Errorf("log does not mask the secret:\n%s", log)
				}
			},
		},
		{
			Name: "commands: an unknown environment variable type",
			Action: actiontest.With(commandsAction("true"), func(a *pipeline.Action) {
				a.EnvironmentVariables = []pipeline.EnvironmentVariable{{Name: "TOKEN", Value: "v", Type: "VAULT"}}
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{"TOKEN", "VAULT", "PLAINTEXT"},
		},
		{
			Name: "commands: the server's environment stays out, the base and declared variables come in",
			Action: actiontest.With(commandsAction("env > env.txt", "ls / > /dev/null", `echo "tmp=$TMPDIR"`), func(a *pipeline.Action) {
				a.EnvironmentVariables = []pipeline.EnvironmentVariable{{Name: "DECLARED", Value: "yes"}}
			}),
			Want: engine.Succeeded,
			Check: func(t *testing.T, h *actiontest.Harness, res *engine.Result, log string) {
				envTxt := readFound(t, h, "env.txt")
				for _, bad := range []string{"STAGEFLOW_TEST_SECRET", "s3cr3t"} {
					if strings.Contains(envTxt, bad) {
						t.Errorf("the action's env shows %q:\n%s", bad, envTxt)
					}
				}
				for _, want := range []string{"DECLARED=yes\n", "PATH=", "HOME=", "TMPDIR=" + h.WorkDir} {
					if !strings.Contains(envTxt, want) {
						t.Errorf("the action's env lacks %q:\n%s", want, envTxt)
					}
				}
			},
		},
		{
			Name:   "commands: no commands",
			Action: commandsAction(),
			Want:   engine.Failed,
			Code:   engine.CodeConfigurationError,
			Msg:    []string{"no commands"},
		},
		{
			Name: "commands: output artifacts from files patterns",
			Action: actiontest.With(commandsAction(
				"mkdir -p dist/sub",
				"echo a > dist/a.txt",
				"echo b > dist/sub/b.txt",
				"echo notes > notes.txt",
				"echo scratch > scratch.txt",
			), func(a *pipeline.Action) {
				a.OutputArtifacts = []pipeline.OutputArtifact{
					{Name: "Dist", Files: []string{"dist/**/*"}},
					{Name: "Notes", Files: []string{"notes.txt"}},
				}
			}),
			Want: engine.Succeeded,
			Outputs: map[string]map[string]string{
				"Dist":  {"dist/a.txt": "a\n", "dist/sub/b.txt": "b\n"},
				"Notes": {"notes.txt": "notes\n"},
			},
		},
		{
			Name: "commands: output artifact without files",
			Action: actiontest.With(commandsAction("echo hi > hi.txt"), func(a *pipeline.Action) {
				a.OutputArtifacts = actiontest.Outputs("Out")
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{`output artifact "Out"`, "no files"},
		},
		{
			Name: "commands: output files matching nothing",
			Action: actiontest.With(commandsAction("true"), func(a *pipeline.Action) {
				a.OutputArtifacts = []pipeline.OutputArtifact{{Name: "Out", Files: []string{"dist/**/*"}}}
			}),
			Want: engine.Failed,
			Code: engine.CodeJobFailed,
			Msg:  []string{`output artifact "Out"`, "no file matches", "dist/**/*"},
		},
		{
			Name: "commands: inputs: the first is the cwd and CODEBUILD_SRC_DIR, the others CODEBUILD_SRC_DIR_<name>",
			Action: actiontest.With(commandsAction(
				`HELLO=$(cat hello.txt)`,
				`NESTED=$(cat sub/nested.txt)`,
				`EXTRA=$(cat "$CODEBUILD_SRC_DIR_Extra/extra.txt")`,
				`if [ "$(pwd)" = "$CODEBUILD_SRC_DIR" ]; then SAME=yes; else SAME=no; fi`,
				`SRC=$CODEBUILD_SRC_DIR`,
			), func(a *pipeline.Action) {
				a.OutputVariables = []string{"HELLO", "NESTED", "EXTRA", "SAME", "SRC"}
			}),
			Inputs: []actiontest.Input{
				{Name: "Src", Files: map[string]string{"hello.txt": "hi\n", "sub/nested.txt": "deep\n"}},
				{Name: "Extra", Files: map[string]string{"extra.txt": "more\n"}},
			},
			Want: engine.Succeeded,
			Check: func(t *testing.T, h *actiontest.Harness, res *engine.Result, log string) {
				v := res.OutputVariables
				want := map[string]string{"HELLO": "hi", "NESTED": "deep", "EXTRA": "more", "SAME": "yes"}
				for k, w := range want {
					if v[k] != w {
						t.Errorf("%s = %q, want %q", k, v[k], w)
					}
				}
				if rel, err := filepath.Rel(h.WorkDir, v["SRC"]); err != nil || !filepath.IsLocal(rel) {
					t.Errorf("CODEBUILD_SRC_DIR = %q is not inside the work dir %s", v["SRC"], h.WorkDir)
				}
			},
		},
		{
			Name:   "commands: failing command",
			Action: commandsAction("echo before", "false", "echo never"),
			Want:   engine.Failed,
			Code:   engine.CodeJobFailed,
			Msg:    []string{`"false"`, "BUILD", "exit"},
			Check: func(t *testing.T, h *actiontest.Harness, res *engine.Result, log string) {
				if !strings.Contains(log, "before") || strings.Contains(log, "echo never") {
					t.Errorf("the commands after the failed one should not run:\n%s", log)
				}
			},
		},
		{
			Name:           "commands: timeout kills the build",
			Provider:       &Provider{hostbuild.Host{TimeoutUnit: 200 * time.Millisecond}},
			Action:         commandsAction("sleep 30", "echo never"),
			TimeoutMinutes: 1,
			Want:           engine.Failed,
			Code:           engine.CodeTimedOut,
			Msg:            []string{"timed out", "sleep 30"},
			Check: func(t *testing.T, h *actiontest.Harness, res *engine.Result, log string) {
				if h.Elapsed > 15*time.Second {
					t.Errorf("the build was not killed at its timeout: the run took %s", h.Elapsed)
				}
			},
		},

		// Unsafe input artifacts.
		{
			Name:   "zip-slip entry ../evil",
			Action: commandsAction("touch ran"),
			Inputs: []actiontest.Input{{Name: "Src", Raw: crafted("ok.txt", "../evil")}},
			Want:   engine.Failed,
			Code:   engine.CodeJobFailed,
			Msg:    []string{`input artifact "Src"`, `"../evil"`, "escapes"},
			Check:  checkNoEscape,
		},
		{
			Name:   "zip-slip entry leaving the work dir",
			Action: commandsAction("touch ran"),
			Inputs: []actiontest.Input{{Name: "Src", Raw: crafted("ok.txt", "../../../evil")}},
			Want:   engine.Failed,
			Code:   engine.CodeJobFailed,
			Msg:    []string{`"../../../evil"`, "escapes"},
			Check:  checkNoEscape,
		},
	})
}

// checkNoEscape checks that an unsafe input artifact wrote nothing outside
// its own directory and that no command ran.
func checkNoEscape(t *testing.T, h *actiontest.Harness, res *engine.Result, log string) {
	t.Helper()
	if found := actiontest.FindFiles(t, h.Parent, "evil"); len(found) > 0 {
		t.Errorf("the unsafe entry was written: %v", found)
	}
	if found := actiontest.FindFiles(t, h.Parent, "ran"); len(found) > 0 {
		t.Errorf("the commands ran despite the unsafe input: %v", found)
	}
	entries, err := os.ReadDir(h.Parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "work" {
		t.Errorf("something was written beside the work dir: %v", entries)
	}
	if !strings.Contains(log, "../") {
		t.Errorf("the log does not say why the action failed:\n%s", log)
	}
}

// TestProviderRunCanceled checks that canceling the context (the runner
// closing, or an abandoned action) kills the build at once and reports the
// run as interrupted.
func TestProviderRunCanceled(t *testing.T) {
	h := actiontest.NewHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	log := &actiontest.LockedBuffer{}
	marker := filepath.Join(t.TempDir(), "started")
	a := actiontest.With(commandsAction(`touch "$MARKER"`, "sleep 30"), func(a *pipeline.Action) {
		a.EnvironmentVariables = []pipeline.EnvironmentVariable{{Name: "MARKER", Value: marker}}
	})
	done := make(chan *engine.Result, 1)
	start := time.Now()
	go func() { done <- (&Provider{}).Run(ctx, h.Job(a, 0, log)) }()

	waitFor(t, func() bool { _, err := os.Stat(marker); return err == nil }, "the build to start")
	cancel()
	var res *engine.Result
	select {
	case res = <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the build was not killed when its context was canceled\nlog:\n%s", log.String())
	}
	if res.Status != engine.Failed || res.ErrorCode != engine.CodeInterrupted {
		t.Fatalf("result %s/%s (%s), want Failed/%s", res.Status, res.ErrorCode, res.ErrorMessage, engine.CodeInterrupted)
	}
	if !strings.Contains(res.ErrorMessage, "stopped") {
		t.Errorf("error message %q does not say the build was stopped", res.ErrorMessage)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the run took %s", d)
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// readFound reads the one file of that name under the harness's work
// directory.
func readFound(t *testing.T, h *actiontest.Harness, name string) string {
	t.Helper()
	found := actiontest.FindFiles(t, h.WorkDir, name)
	if len(found) != 1 {
		t.Fatalf("want one %s under the work directory, found %v", name, found)
	}
	b, err := os.ReadFile(found[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// secretStore makes a secret store holding one secret.
func secretStore(t *testing.T, name, value string) *secrets.Store {
	t.Helper()
	s := secrets.Open(t.TempDir())
	if err := s.Put(name, value); err != nil {
		t.Fatal(err)
	}
	return s
}
