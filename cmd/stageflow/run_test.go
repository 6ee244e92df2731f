package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/store"
)

// TestRunExamples runs every example pipeline with `stageflow run` in a pipe
// (events one per line) and checks the exit code and what it shows.
func TestRunExamples(t *testing.T) {
	examples, _ := filepath.Glob("../../examples/*.json")
	examples = append(examples, "../../examples/failing/test-fails.json")
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	want := map[string]struct {
		code   int
		stdout []string
	}{
		"hello.json": {0, []string{"hello › Hello › SayHello", "Succeeded", "succeeded in"}},
		// Run inside this repository: its own work tree is the source.
		"own-code.json": {0, []string{"own-code › Source › Checkout", "module: module github.com/stageflow/stageflow", "succeeded in"}},
		"build-test-deploy.json": {0, []string{
			"build-test-deploy › Test › UnitTests", "build-test-deploy › Test › SmokeTests",
			"build-test-deploy › Release › ApproveRelease", "build-test-deploy › Release › Deploy", "succeeded in"}},
		"release-train.json": {0, []string{"release-train › Build › Compile", "building lane main for staging", "release-train › Deploy › Ship", "succeeded in"}},
		"test-fails.json": {1, []string{
			"failing-test › Test › AnswerIs42",
			`failed: action "AnswerIs42" in stage "Test" failed` + "\n",
			"── log of Test › AnswerIs42: ",
			"[Test/AnswerIs42] FAIL: expected answer = 42, got:", // the failing log, as it came
			"[Test/AnswerIs42] int answer = 41;",
		}},
	}
	for _, ex := range examples {
		name := filepath.Base(ex)
		w, ok := want[name]
		if !ok {
			t.Errorf("example %s has no expectation in this test", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"run", "--data-dir", t.TempDir(), "--approve", ex}, strings.NewReader(""), &stdout, &stderr)
			if code != w.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, w.code, stdout.String(), stderr.String())
			}
			for _, s := range w.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			if name == "test-fails.json" && strings.Contains(stdout.String(), "NeverRuns") {
				t.Errorf("the stage after the failed one ran:\n%s", stdout.String())
			}
		})
	}
}

func TestRunJSONEvents(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--data-dir", t.TempDir(), "--output", "json", "--var", "GREETING=hi", "--approve", "../../examples/build-test-deploy.json"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var last event
	seen := map[string]bool{}
	for i, l := range lines {
		var ev event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d is not a JSON event: %q", i+1, l)
		}
		if ev.Action != "" {
			seen[ev.Stage+"/"+ev.Action+"/"+string(ev.Status)] = true
		}
		last = ev
	}
	if last.Stage != "" || last.Status != "Succeeded" {
		t.Errorf("last event %+v, want the execution's Succeeded", last)
	}
	for _, k := range []string{"Source/Checkout/InProgress", "Source/Checkout/Succeeded", "Test/UnitTests/Succeeded", "Release/Deploy/Succeeded"} {
		if !seen[k] {
			t.Errorf("no event %s", k)
		}
	}
}

func TestRunRejects(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"name": "x", "stages": [{"name": "S", "actions": []}], "bogus": 1}`), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"approval without terminal or --approve", []string{"run", "--data-dir", dir, "../../examples/build-test-deploy.json"}, 1, "there is no terminal to ask on"},
		{"invalid pipeline", []string{"run", "--data-dir", dir, bad}, 1, "bogus"},
		{"bad --var", []string{"run", "--data-dir", dir, "--var", "novalue", "../../examples/hello.json"}, 2, "want NAME=VALUE"},
		{"undeclared variable", []string{"run", "--data-dir", dir, "--var", "NOPE=1", "../../examples/hello.json"}, 1, "variables.NOPE"},
		{"bad output", []string{"run", "--data-dir", dir, "-o", "yaml", "../../examples/hello.json"}, 2, `--output must be "text" or "json"`},
		{"no file", []string{"run", "--data-dir", dir}, 2, "accepts 1 arg(s), received 0"},
		{"two files", []string{"run", "--data-dir", dir, "a.json", "b.json"}, 2, "accepts 1 arg(s), received 2"},
		{"missing file", []string{"run", "--data-dir", dir, filepath.Join(dir, "none.json")}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String()+stdout.String(), tt.stderr) {
				t.Errorf("exit %d, output:\n%s%s\nwant exit %d and %q", code, stdout.String(), stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}

// A data directory another process has open is refused at once, with what
// to do about it.
func TestRunRefusesADataDirInUse(t *testing.T) {
	dir := t.TempDir()
	sys, err := embedded.Open(embedded.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(t.Context())
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--data-dir", dir, "../../examples/hello.json"}, strings.NewReader(""), &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if code != 1 || !strings.Contains(out, "is in use") || !strings.Contains(out, "--data-dir") ||
		!strings.Contains(out, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("exit %d, output:\n%s\nwant exit 1 naming the holder and --data-dir", code, out)
	}
}

// TestRunTwiceKeepsVersions runs a pipeline, changes it and runs it again on
// the same data dir: the store keeps both versions, and each run started
// exactly one execution (creating the pipeline starts none of its own).
func TestRunTwiceKeepsVersions(t *testing.T) {
	dir := t.TempDir()
	doc := func(msg string) string {
		return `{"name": "twice", "stages": [{"name": "S", "actions": [{"name": "A",
			"actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
			"commands": ["echo ` + msg + `"]}]}]}`
	}
	file := filepath.Join(dir, "p.json")
	for i, msg := range []string{"one", "two", "two"} {
		os.WriteFile(file, []byte(doc(msg)), 0o644)
		var out bytes.Buffer
		if code := run([]string{"run", "--data-dir", dir, file}, strings.NewReader(""), &out, &out); code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, code, out.String())
		}
	}
	sys, err := embedded.Open(embedded.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(t.Context())
	p, err := sys.Store.GetPipeline(t.Context(), "twice", 0)
	if err != nil || p.Version != 2 {
		t.Fatalf("latest version %v, %v; want 2 (an unchanged document adds no version)", p, err)
	}
	v1, err := sys.Store.GetPipeline(t.Context(), "twice", 1)
	if err != nil || v1.Declaration.Stages[0].Actions[0].Commands[0] != "echo one" {
		t.Fatalf("version 1: %+v, %v", v1, err)
	}
	rows, _, err := sys.Store.ListExecutions(t.Context(), store.ExecutionFilter{PipelineName: "twice"}, store.Page{})
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d executions, %v; want 3, one per run", len(rows), err)
	}
	for _, r := range rows {
		if r.Trigger.Type != "StageflowRun" {
			t.Errorf("execution %s has trigger %+v, want StageflowRun", r.ID, r.Trigger)
		}
	}
}

// `run` shows what the actions print: every line, prefixed with its action,
// before the final status line (the last one unterminated); --quiet shows
// the events alone; --output json has one object per line with "log".
func TestRunShowsActionOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.json")
	os.WriteFile(file, []byte(`{"name": "talk", "stages": [{"name": "S", "actions": [
		{"name": "Count", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
		 "commands": ["seq 1 3000", "printf 'no newline at the end'"]},
		{"name": "Other", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
		 "commands": ["echo from the other one"]}]}]}`), 0o644)

	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", "--data-dir", dir, file}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	final := strings.Index(out, "\nexecution ")
	if final < 0 || !strings.Contains(out[final:], "succeeded in") || !strings.Contains(out[final:], "(logs: "+filepath.Join(dir, "logs")) {
		t.Fatalf("no final line naming the logs:\n%s", out)
	}
	next := 0
	for _, l := range strings.Split(out[:final], "\n") {
		if rest, ok := strings.CutPrefix(l, "[S/Count] "); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' && !strings.Contains(rest, " ") {
			next++
			if rest != fmt.Sprint(next) {
				t.Fatalf("line %d of Count's output is %q", next, rest)
			}
		}
	}
	if next != 3000 {
		t.Errorf("%d of the 3000 lines of Count's output before the final line", next)
	}
	for _, want := range []string{"[S/Count] no newline at the end", "[S/Other] from the other one\n"} {
		if !strings.Contains(out[:final], want) {
			t.Errorf("output lacks %q before the final line", want)
		}
	}
	// An action's output comes before the event of its end.
	if i, j := strings.Index(out, "[S/Other] from the other one"), strings.Index(out, "talk › S › Other"+strings.Repeat(" ", 24)+" Succeeded"); i < 0 || j < i {
		t.Errorf("Other's output (at %d) is not before its Succeeded event (at %d):\n%s", i, j, out[max(0, len(out)-2000):])
	}

	stdout.Reset()
	if code := run([]string{"run", "--data-dir", dir, "--quiet", file}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("--quiet: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "[S/") || !strings.Contains(stdout.String(), "talk › S › Count") {
		t.Errorf("--quiet shows more or less than the events:\n%s", stdout.String())
	}

	stdout.Reset()
	if code := run([]string{"run", "--data-dir", dir, "-o", "json", file}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("--output json: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	logs := 0
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev struct {
			Stage, Action, RunID, Log string
			Status                    string
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		if ev.Log != "" {
			logs++
			if ev.Stage != "S" || ev.RunID == "" || ev.Status != "" {
				t.Errorf("log object %q", l)
			}
		}
	}
	if logs < 3002 {
		t.Errorf("%d log objects, want every line", logs)
	}
}

// A failed action's error is printed once, in its event, not again in the
// execution's event and the final line; its log's lines once, as they came
// (with --quiet, its tail at the end).
func TestRunPrintsTheFailureOnce(t *testing.T) {
	const errText = "ended the build shell with exit code 1"
	for _, quiet := range []bool{false, true} {
		args := []string{"run", "--data-dir", t.TempDir(), "../../examples/failing/test-fails.json"}
		if quiet {
			args = append(args, "--quiet")
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), &stdout, &stderr); code != 1 {
			t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
		var errs, fails int
		for _, l := range strings.Split(stdout.String(), "\n") {
			if strings.Contains(l, "[Container]") {
				continue // the build's own report in its log
			}
			if strings.Contains(l, errText) {
				errs++
			}
			if strings.HasSuffix(l, "] FAIL: expected answer = 42, got:") || l == "  FAIL: expected answer = 42, got:" {
				fails++
			}
		}
		if errs != 1 || fails != 1 {
			t.Errorf("quiet %v: the error printed %d times, the log's FAIL line %d times:\n%s", quiet, errs, fails, stdout.String())
		}
		if got := strings.Contains(stdout.String(), "── last lines of Test › AnswerIs42"); got != quiet {
			t.Errorf("quiet %v: the log's tail shown %v", quiet, got)
		}
	}
}

// The examples are what users copy: a hostile variable value stays data all
// the way through them, into the generated script and its run, and is
// printed as given.
func TestExampleKeepsAHostileVariableAsData(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	value := `$(touch ` + marker + `); ` + "`touch " + marker + "`" + `; "; touch ` + marker + ` #`
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--data-dir", t.TempDir(), "--var", "GREETING=" + value, "--approve", "../../examples/build-test-deploy.json"},
		strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the variable's value ran as shell: %s exists", marker)
	}
	if !strings.Contains(stdout.String(), value+", world") {
		t.Errorf("the greeting is not printed as given:\n%s", stdout.String())
	}
}
