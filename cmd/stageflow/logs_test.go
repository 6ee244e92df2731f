package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
)

// logs -f without --action follows the whole execution: started while an
// approval waits, it prints the actions before it and, once approved, the
// ones after, each line prefixed, and ends with the execution. logs
// --output json prints one object per line.
func TestLogsFollowTheExecution(t *testing.T) {
	s := startServer(t, t.TempDir())
	cli := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code := run(append(args, "--endpoint", s.endpoint), strings.NewReader(""), &out, &out)
		return code, out.String()
	}
	commands := `"actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}`
	file := filepath.Join(t.TempDir(), "gated.json")
	os.WriteFile(file, []byte(`{"name": "gated", "stages": [
		{"name": "One", "actions": [{"name": "First", `+commands+`, "commands": ["echo first line", "echo second line"]}]},
		{"name": "Gate", "actions": [{"name": "Wait", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
		{"name": "Two", "actions": [{"name": "Last", `+commands+`, "commands": ["echo the last line"]}]}]}`), 0o644)
	if code, out := cli("pipeline", "apply", file); code != 0 || !strings.Contains(out, "created pipeline gated (version 1)") {
		t.Fatalf("apply: %d %s", code, out)
	}
	// Creating the pipeline started its first execution: follow that one.
	id := s.onlyExecution(t, "gated", "CreatePipeline")
	s.waitExecution(t, "gated", id, "the approval to wait", func(e *engine.Execution) bool {
		r, ok := e.LatestRun("Gate", "Wait")
		return ok && r.Status == engine.InProgress
	})
	type result struct {
		code int
		out  string
	}
	done := make(chan result, 1)
	go func() {
		code, out := cli("logs", "-f", "gated")
		done <- result{code, out}
	}()
	if code, out := cli("approve", "gated"); code != 0 {
		t.Fatalf("approve: %d %s", code, out)
	}
	got := <-done
	if got.code != 0 {
		t.Fatalf("logs -f: exit %d\n%s", got.code, got.out)
	}
	for _, want := range []string{"[One/First] first line\n", "[One/First] second line\n", "[Two/Last] the last line\n"} {
		if !strings.Contains(got.out, want) {
			t.Errorf("logs -f lacks %q:\n%s", want, got.out)
		}
	}
	if i, j := strings.Index(got.out, "[One/First] first line"), strings.Index(got.out, "[One/First] second line"); j < i {
		t.Errorf("lines out of order:\n%s", got.out)
	}

	code, out := cli("logs", "gated", id, "--action", "Two/Last", "-o", "json")
	if code != 0 {
		t.Fatalf("logs -o json: %d %s", code, out)
	}
	found := false
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev logEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		if ev.Stage != "Two" || ev.Action != "Last" || ev.ExecutionID != id || ev.RunID == "" {
			t.Errorf("object %q", l)
		}
		found = found || ev.Log == "the last line"
	}
	if !found {
		t.Errorf("no object with the line:\n%s", out)
	}
	// -f and --output json together: objects of every action.
	code, out = cli("logs", "-f", "gated", id, "-o", "json")
	if code != 0 || !strings.Contains(out, `"action":"First","runId":`) || !strings.Contains(out, `"log":"the last line"`) {
		t.Errorf("logs -f -o json: %d\n%s", code, out)
	}
}

// pipeline apply creates, leaves an unchanged pipeline alone and stores a
// new version of a changed one.
func TestPipelineApply(t *testing.T) {
	s := startServer(t, t.TempDir())
	file := filepath.Join(t.TempDir(), "p.json")
	doc := func(msg string) {
		os.WriteFile(file, []byte(`{"name": "applied", "stages": [{"name": "S", "actions": [{"name": "A",
			"actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["echo `+msg+`"]}]}]}`), 0o644)
	}
	for _, st := range []struct {
		msg  string
		want string
	}{
		{"one", "created pipeline applied (version 1)"},
		{"one", "pipeline applied unchanged (version 1)"},
		{"two", "updated pipeline applied (version 2)"},
	} {
		doc(st.msg)
		var out bytes.Buffer
		if code := run([]string{"pipeline", "apply", file, "--endpoint", s.endpoint}, strings.NewReader(""), &out, &out); code != 0 || !strings.Contains(out.String(), st.want) {
			t.Fatalf("apply %s: exit %d %q, want %q", st.msg, code, out.String(), st.want)
		}
	}
}

// Every problem is printed once: not by cobra and by us, nor in a message
// and again in the lines of its problems; and no message has a doubled
// word.
func TestProblemsArePrintedOnce(t *testing.T) {
	s := startServer(t, t.TempDir())
	five := filepath.Join(testdata, "invalid", "five-mistakes.json")
	malformed := filepath.Join(t.TempDir(), "malformed.json")
	os.WriteFile(malformed, []byte("{\n"), 0o644)
	ep := []string{"--endpoint", s.endpoint}
	cases := [][]string{
		append([]string{"pipeline", "create", five}, ep...),
		append([]string{"pipeline", "create", malformed}, ep...),
		append([]string{"pipeline", "update", five}, ep...),
		append([]string{"pipeline", "apply", five}, ep...),
		append([]string{"status", "nope"}, ep...),
		append([]string{"logs", "nope"}, ep...),
		append([]string{"approve", "nope"}, ep...),
		append([]string{"pipeline", "get"}, ep...),
		append([]string{"start", "--bogus", "x"}, ep...),
		{"run", "--data-dir", t.TempDir(), five},
		{"run", "--data-dir", t.TempDir(), malformed},
		{"validate", five},
		{"frobnicate"},
	}
	for _, args := range cases {
		var stdout, stderr bytes.Buffer
		code := run(args, strings.NewReader(""), &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if code == 0 || strings.TrimSpace(out) == "" {
			t.Errorf("stageflow %s: exit %d, output %q: want a failure that says why", strings.Join(args, " "), code, out)
		}
		for _, frag := range []string{`unknown field "timeout"`, "must be 1..999, got 0", "the document ends too early", `pipeline "nope" does not exist`, "unknown flag: --bogus", "accepts 1 arg(s)", `unknown command "frobnicate"`} {
			if n := strings.Count(out, frag); n > 1 {
				t.Errorf("stageflow %s: %q printed %d times:\n%s", strings.Join(args, " "), frag, n, out)
			}
		}
		if strings.Contains(out, "Error:") || strings.Contains(out, "Usage:") {
			t.Errorf("stageflow %s: cobra's own report:\n%s", strings.Join(args, " "), out)
		}
		if p := messageProblems(out); len(p) > 0 {
			t.Errorf("stageflow %s: %v:\n%s", strings.Join(args, " "), p, out)
		}
	}
}
