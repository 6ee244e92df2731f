package buildspec

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
)

// build parses and runs a buildspec, in a fresh work directory unless r
// names one, and returns the result, the log and the work directory.
func build(t *testing.T, spec string, r Run) (*Result, string, string) {
	t.Helper()
	s, err := Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if r.WorkDir == "" {
		r.WorkDir = t.TempDir()
	}
	var log bytes.Buffer
	r.Spec = s
	r.Log = &log
	res, err := Execute(context.Background(), r)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log.String())
	}
	return res, log.String(), r.WorkDir
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return strings.TrimRight(string(b), "\n")
}

type phaseWant struct {
	name, status, failed string
	code                 int
}

func checkPhases(t *testing.T, res *Result, want []phaseWant) {
	t.Helper()
	var got []phaseWant
	for _, p := range res.Phases {
		got = append(got, phaseWant{p.Name, p.Status, p.FailedCommand, p.ExitCode})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("phases\n got %+v\nwant %+v", got, want)
	}
}

func TestExecutePhases(t *testing.T) {
	tests := []struct {
		name      string
		spec      string
		phases    []phaseWant
		succeeded bool
		reason    string
		files     []string // must exist in the work dir afterwards
		absent    []string // must not
	}{
		{
			name: "state carries across commands and phases",
			spec: `version: 0.2
phases:
  install:
    commands:
      - mkdir -p sub/deeper && cd sub
      - export CARRIED=yes; PLAIN=kept
  pre_build:
    commands:
      - cd deeper
  build:
    commands:
      - test "$(basename "$PWD")" = deeper
      - test "$CARRIED" = yes && test "$PLAIN" = kept
      - sh -c 'test "$CARRIED" = yes'
      - touch "$CODEBUILD_SRC_DIR/built"
  post_build:
    commands:
      - test "$CODEBUILD_BUILD_SUCCEEDING" = 1 && touch "$CODEBUILD_SRC_DIR/post"
`,
			phases:    []phaseWant{{"INSTALL", "SUCCEEDED", "", 0}, {"PRE_BUILD", "SUCCEEDED", "", 0}, {"BUILD", "SUCCEEDED", "", 0}, {"POST_BUILD", "SUCCEEDED", "", 0}},
			succeeded: true,
			files:     []string{"built", "post"},
		},
		{
			name: "build failure stops the phase, runs finally and post_build",
			spec: `version: 0.2
phases:
  build:
    commands:
      - touch first
      - "false"
      - touch never
    finally:
      - touch finally1
      - touch finally2
  post_build:
    commands:
      - test "$CODEBUILD_BUILD_SUCCEEDING" = 0 && touch post
`,
			phases: []phaseWant{{"BUILD", "FAILED", "false", 1}, {"POST_BUILD", "SUCCEEDED", "", 0}},
			reason: `phase BUILD failed: command "false" exited with code 1`,
			files:  []string{"first", "finally1", "finally2", "post"},
			absent: []string{"never"},
		},
		{
			name: "install failure skips every later phase",
			spec: `version: 0.2
phases:
  install:
    commands:
      - exit_code() { return "$1"; }; exit_code 7
    finally:
      - touch install-finally
  pre_build:
    commands: [touch pre]
  build:
    commands: [touch build]
  post_build:
    commands: [touch post]
`,
			phases: []phaseWant{{"INSTALL", "FAILED", `exit_code() { return "$1"; }; exit_code 7`, 7}},
			reason: `phase INSTALL failed: command "exit_code() { return \"$1\"; }; exit_code 7" exited with code 7`,
			files:  []string{"install-finally"},
			absent: []string{"pre", "build", "post"},
		},
		{
			name: "pre_build failure skips build and post_build",
			spec: `version: 0.2
phases:
  pre_build:
    commands: ["false"]
  build:
    commands: [touch build]
  post_build:
    commands: [touch post]
`,
			phases: []phaseWant{{"PRE_BUILD", "FAILED", "false", 1}},
			reason: `phase PRE_BUILD failed: command "false" exited with code 1`,
			absent: []string{"build", "post"},
		},
		{
			name: "on-failure CONTINUE goes on but the build fails",
			spec: `version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands: ["false", touch never]
  build:
    commands: [touch build]
`,
			phases: []phaseWant{{"INSTALL", "FAILED", "false", 1}, {"BUILD", "SUCCEEDED", "", 0}},
			reason: `phase INSTALL failed: command "false" exited with code 1`,
			files:  []string{"build"},
			absent: []string{"never"},
		},
		{
			name: "explicit ABORT on build skips post_build",
			spec: `version: 0.2
phases:
  build:
    on-failure: ABORT
    commands: ["exit_code() { return 3; }; exit_code"]
    finally: [touch fin]
  post_build:
    commands: [touch post]
`,
			phases: []phaseWant{{"BUILD", "FAILED", "exit_code() { return 3; }; exit_code", 3}},
			reason: `phase BUILD failed: command "exit_code() { return 3; }; exit_code" exited with code 3`,
			files:  []string{"fin"},
			absent: []string{"post"},
		},
		{
			name: "failing finally command fails the phase",
			spec: `version: 0.2
phases:
  build:
    commands: [touch ok]
    finally: ["false", touch never]
  post_build:
    commands: [touch post]
`,
			phases: []phaseWant{{"BUILD", "FAILED", "false", 1}, {"POST_BUILD", "SUCCEEDED", "", 0}},
			reason: `phase BUILD failed: finally command "false" exited with code 1`,
			files:  []string{"ok", "post"},
			absent: []string{"never"},
		},
		{
			name: "syntax error fails the command, not the shell",
			spec: `version: 0.2
phases:
  build:
    commands: ["if then fi", touch never]
    finally: [touch fin]
  post_build:
    commands: [touch post]
`,
			phases: []phaseWant{{"BUILD", "FAILED", "if then fi", 2}, {"POST_BUILD", "SUCCEEDED", "", 0}},
			reason: `phase BUILD failed: command "if then fi" exited with code 2`,
			files:  []string{"fin", "post"},
			absent: []string{"never"},
		},
		{
			name: "exit in a command ends the build shell",
			spec: `version: 0.2
phases:
  build:
    commands: ["exit 4", touch never]
    finally: [touch fin]
`,
			phases: []phaseWant{{"BUILD", "FAILED", "exit 4", 4}},
			reason: `phase BUILD failed: command "exit 4" ended the build shell with exit code 4; the rest of the build did not run`,
			absent: []string{"never", "fin"},
		},
		{
			name: "exit in finally after a failure",
			spec: `version: 0.2
phases:
  build:
    commands: ["false"]
    finally: ["exit 5"]
  post_build:
    commands: [touch post]
`,
			phases: []phaseWant{{"BUILD", "FAILED", "false", 1}},
			reason: `phase BUILD failed: finally command "exit 5" ended the build shell with exit code 5; the rest of the build did not run`,
			absent: []string{"post"},
		},
		{
			name: "stdin is empty",
			spec: `version: 0.2
phases:
  build:
    commands: [cat, "if read line; then exit 1; fi"]
`,
			phases:    []phaseWant{{"BUILD", "SUCCEEDED", "", 0}},
			succeeded: true,
		},
		{
			name:      "empty phases succeed",
			spec:      "version: 0.2\nphases:\n  install:\n  build:\n    commands: []\n",
			phases:    []phaseWant{{"INSTALL", "SUCCEEDED", "", 0}, {"BUILD", "SUCCEEDED", "", 0}},
			succeeded: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, log, dir := build(t, tc.spec, Run{})
			checkPhases(t, res, tc.phases)
			if res.Succeeded != tc.succeeded {
				t.Errorf("Succeeded = %v, reason %q", res.Succeeded, res.Reason)
			}
			if res.Reason != tc.reason {
				t.Errorf("Reason\n got %s\nwant %s", res.Reason, tc.reason)
			}
			for _, f := range tc.files {
				if !exists(dir, f) {
					t.Errorf("%s was not created", f)
				}
			}
			for _, f := range tc.absent {
				if exists(dir, f) {
					t.Errorf("%s was created", f)
				}
			}
			if t.Failed() {
				t.Logf("log:\n%s", log)
			}
		})
	}
}

func TestExecuteLogMarkers(t *testing.T) {
	_, log, _ := build(t, "version: 0.2\nphases:\n  build:\n    commands: [echo hello-out, echo hello-err >&2]\n", Run{})
	for _, want := range []string{
		"[Container] Entering phase BUILD\n",
		"[Container] Running command echo hello-out\nhello-out\n",
		"hello-err\n",
		"[Container] Phase complete: BUILD State: SUCCEEDED\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestExecuteExportedVariables(t *testing.T) {
	spec := `version: 0.2
env:
  variables:
    FROM_SPEC: "spec value"
  exported-variables:
    - FROM_SPEC
    - IMAGE_TAG
    - TRICKY
    - MULTILINE
    - NEVER_SET
    - CODEBUILD_BUILD_SUCCEEDING
phases:
  build:
    commands:
      - export IMAGE_TAG=v1.2.3
      - TRICKY="it's \"quoted\", has  spaces, \$HOME and \$(touch pwned)"
      - MULTILINE="$(printf 'line1\nline2\n\ttabbed')"
  post_build:
    commands:
      - FROM_SPEC="changed in post_build"
`
	res, log, dir := build(t, spec, Run{})
	if !res.Succeeded {
		t.Fatalf("build failed: %s\n%s", res.Reason, log)
	}
	want := map[string]string{
		"FROM_SPEC":                  "changed in post_build",
		"IMAGE_TAG":                  "v1.2.3",
		"TRICKY":                     `it's "quoted", has  spaces, $HOME and $(touch pwned)`,
		"MULTILINE":                  "line1\nline2\n\ttabbed",
		"NEVER_SET":                  "",
		"CODEBUILD_BUILD_SUCCEEDING": "1",
	}
	if !reflect.DeepEqual(res.Exported, want) {
		t.Errorf("exported\n got %q\nwant %q", res.Exported, want)
	}
	if exists(dir, "pwned") {
		t.Error("a value was executed")
	}
}

func TestValuesAreNeverExecuted(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	inj := "$(touch " + marker + ") `touch " + marker + "` '; touch " + marker + "; '"
	s := FromCommands([]string{
		`echo "$INJ"`,
		`echo $INJ`,
		`test "$INJ" = "$CONFIG_INJ"`,
	})
	s.Env.Variables = map[string]string{"INJ": inj}
	s.Env.ExportedVariables = []string{"INJ"}
	var log bytes.Buffer
	res, err := Execute(context.Background(), Run{Spec: s, WorkDir: t.TempDir(), Env: []string{"CONFIG_INJ=" + inj}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded {
		t.Fatalf("build failed: %s\n%s", res.Reason, log.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a variable value was executed")
	}
	if res.Exported["INJ"] != inj {
		t.Errorf("exported %q", res.Exported["INJ"])
	}
	if !strings.Contains(log.String(), inj) {
		t.Errorf("value not echoed verbatim:\n%s", log.String())
	}
}

func TestExecuteBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	spec := `version: 0.2
env:
  shell: bash
phases:
  install:
    commands:
      - shopt -s extglob; arr=(a b c)
  build:
    commands:
      - '[[ ${#arr[@]} == 3 ]] && echo "$BASH_VERSION" > bash.txt'
      - 'x=abc; [[ $x == +(a|b|c) ]]'
`
	res, log, dir := build(t, spec, Run{})
	if !res.Succeeded {
		t.Fatalf("build failed: %s\n%s", res.Reason, log)
	}
	if read(t, dir, "bash.txt") == "" {
		t.Error("not run by bash")
	}
}

func TestExecuteSetupErrors(t *testing.T) {
	ok := FromCommands([]string{"true"})
	withParam := FromCommands([]string{"true"})
	withParam.Env.ParameterStore = map[string]string{"P": "/x"}
	withSecret := FromCommands([]string{"true"})
	withSecret.Env.SecretsManager = map[string]string{"S": "arn"}
	badName := FromCommands([]string{"true"})
	badName.Env.ExportedVariables = []string{"X;id"}
	tests := []struct {
		name string
		run  Run
		code errs.Code
		want string
	}{
		{"no spec", Run{WorkDir: t.TempDir()}, errs.Validation, "no buildspec"},
		{"parameter store without a store", Run{Spec: withParam, WorkDir: t.TempDir()}, errs.Unsupported, "env.parameter-store.P: no secret store"},
		{"secrets manager without a store", Run{Spec: withSecret, WorkDir: t.TempDir()}, errs.Unsupported, "env.secrets-manager.S: no secret store"},
		{"missing secret", Run{Spec: withSecret, WorkDir: t.TempDir(), Secrets: fakeSecrets{}}, errs.Validation, `env.secrets-manager.S: secret "arn" is not stored`},
		{"missing action secret", Run{Spec: ok, WorkDir: t.TempDir(), Secrets: fakeSecrets{}, SecretEnv: []SecretVar{{Name: "T", Type: TypeParameterStore, Ref: "/p"}}}, errs.Validation, `environment variable T: secret "/p" is not stored`},
		{"bad exported name", Run{Spec: badName, WorkDir: t.TempDir()}, errs.Validation, "env.exported-variables[0]"},
		{"missing work dir", Run{Spec: ok, WorkDir: filepath.Join(t.TempDir(), "nope")}, errs.Validation, "is not a directory"},
		{"bad env entry", Run{Spec: ok, WorkDir: t.TempDir(), Env: []string{"NOEQUALS"}}, errs.Validation, "not NAME=value"},
		{"missing secondary", Run{Spec: ok, WorkDir: t.TempDir(), Secondary: map[string]string{"B": "/nonexistent/dir"}}, errs.Validation, "secondary source B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Execute(context.Background(), tc.run)
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			if errs.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v (%s), want %s containing %q", err, errs.CodeOf(err), tc.code, tc.want)
			}
		})
	}
}

// alive reports whether pid is a live process (zombies count as dead).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func pids(t *testing.T, dir, name string) []int {
	t.Helper()
	var out []int
	for _, f := range strings.Fields(read(t, dir, name)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// waitDead polls until the processes are gone; a killed orphan takes a
// moment to be reaped.
func waitDead(t *testing.T, ids []int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range ids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d still running", pid)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestExecuteTimeoutKillsProcessGroup(t *testing.T) {
	spec := `version: 0.2
phases:
  build:
    commands:
      - sleep 60 & echo $! > pids; sh -c 'sleep 60 & echo $! >> pids; sleep 60' & echo $! >> pids; sleep 60
      - touch never
    finally:
      - touch never-finally
  post_build:
    commands: [touch never-post]
`
	start := time.Now()
	res, log, dir := build(t, spec, Run{Timeout: 500 * time.Millisecond})
	elapsed := time.Since(start)
	if elapsed > 10*time.Second {
		t.Fatalf("Execute took %s", elapsed)
	}
	if res.Succeeded || !res.TimedOut {
		t.Fatalf("result %+v", res)
	}
	if len(res.Phases) != 1 || res.Phases[0].Status != StatusTimedOut || res.Phases[0].ExitCode != -1 || !strings.HasPrefix(res.Phases[0].FailedCommand, "sleep 60 &") {
		t.Errorf("phases %+v", res.Phases)
	}
	if !strings.HasPrefix(res.Reason, `build timed out after 500ms in phase BUILD while running command "sleep 60 &`) {
		t.Errorf("reason %q", res.Reason)
	}
	if !strings.Contains(log, "[Container] Build failed: build timed out") {
		t.Errorf("log:\n%s", log)
	}
	for _, f := range []string{"never", "never-finally", "never-post"} {
		if exists(dir, f) {
			t.Errorf("%s ran after the timeout", f)
		}
	}
	ids := pids(t, dir, "pids")
	if len(ids) != 3 {
		t.Fatalf("pids %v", ids)
	}
	waitDead(t, ids)
}

func TestExecuteKillsLeftoverBackgroundProcesses(t *testing.T) {
	spec := `version: 0.2
phases:
  build:
    commands:
      - sleep 60 & echo $! > pids
      - echo done
`
	start := time.Now()
	res, log, dir := build(t, spec, Run{})
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Fatalf("Execute took %s", elapsed)
	}
	if !res.Succeeded {
		t.Fatalf("build failed: %s\n%s", res.Reason, log)
	}
	waitDead(t, pids(t, dir, "pids"))
}

func TestExecuteCanceled(t *testing.T) {
	s := FromCommands([]string{"touch started", "sleep 60"})
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	res, err := Execute(ctx, Run{Spec: s, WorkDir: dir})
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Execute took %s", time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if res == nil || res.Succeeded || res.TimedOut || len(res.Phases) != 1 || res.Phases[0].Status != StatusStopped || res.Phases[0].FailedCommand != "sleep 60" {
		t.Fatalf("result %+v", res)
	}
	if !strings.HasPrefix(res.Reason, "build stopped") {
		t.Errorf("reason %q", res.Reason)
	}
}

func TestDriverScriptQuoting(t *testing.T) {
	s := FromCommands([]string{`echo 'single' "double" \back $VAR`, "multi\nline"})
	s.Env.Variables = map[string]string{"SECRET_VALUE_NOT_IN_SCRIPT": "s3cr3t-value"}
	script := driverScript(s, true)
	if strings.Contains(script, "s3cr3t-value") {
		t.Error("a variable value was written into the script")
	}
	if !strings.Contains(script, `'echo '\''single'\'' "double" \back $VAR'`) {
		t.Errorf("command not quoted as expected:\n%s", script)
	}
	if !strings.Contains(script, "'multi\nline'") {
		t.Errorf("multi-line command not kept:\n%s", script)
	}
}
