package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
)

// TestLaneFlags: `executions --lane` lists one lane's executions, with a
// LANE column when any row has a lane, and `status --lane` shows a lane's
// latest execution.
func TestLaneFlags(t *testing.T) {
	dir := t.TempDir()
	load := filepath.Join(dir, "pipelines")
	if err := os.Mkdir(load, 0o755); err != nil {
		t.Fatal(err)
	}
	const body = `"stages": [{"name": "Build", "actions": [{"name": "Ok",
	  "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}]`
	files := map[string]string{
		"laned.json": `{"name": "laned", "pipelineType": "V2", "variables": [{"name": "StageflowLane", "defaultValue": "main"}], ` + body + `}`,
		"plain.json": `{"name": "plain", "pipelineType": "V2", ` + body + `}`,
	}
	for name, doc := range files {
		if err := os.WriteFile(filepath.Join(load, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := startServer(t, filepath.Join(dir, "data"), "--load", load)
	start := func(pipeline string, args ...string) string {
		t.Helper()
		code, out := cliAs(t, s, nil, append([]string{"start", pipeline}, args...)...)
		if code != 0 {
			t.Fatalf("start %s %v: %d %s", pipeline, args, code, out)
		}
		id := strings.TrimSpace(out)
		s.waitExecution(t, pipeline, id, "the execution to succeed", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })
		return id
	}
	a1 := start("laned", "--var", "StageflowLane=feature/a")
	b1 := start("laned", "--var", "StageflowLane=feature/b")
	a2 := start("laned", "--var", "StageflowLane=feature/a")
	m1 := start("laned")
	p1 := start("plain")

	row := func(id, lane string) string { return `(?m)^` + id + `\s+Succeeded\s+` + regexp.QuoteMeta(lane) + `\s` }
	cases := []struct {
		args    []string
		code    int
		want    []string // regular expressions the output matches
		notWant []string // and does not
	}{
		{[]string{"executions", "laned"}, 0,
			[]string{`(?m)^EXECUTION\s+STATUS\s+LANE\s+STARTED`, row(m1, "main"), row(a2, "feature/a"), row(b1, "feature/b"), row(a1, "feature/a")}, nil},
		{[]string{"executions", "laned", "--lane", "feature/a"}, 0,
			[]string{`(?m)^EXECUTION\s+STATUS\s+LANE\s+STARTED`, row(a2, "feature/a"), row(a1, "feature/a")}, []string{b1, m1}},
		{[]string{"executions", "laned", "--lane", "feature/a", "--max", "1"}, 0, []string{row(a2, "feature/a")}, []string{a1, b1, m1}},
		{[]string{"executions", "laned", "--lane", "feature/b", "-o", "json"}, 0, []string{`"pipelineExecutionId": "` + b1 + `"`, `"lane": "feature/b"`}, []string{a1, a2, m1}},
		{[]string{"executions", "laned", "--lane", "nowhere"}, 0, []string{`(?m)^EXECUTION\s+STATUS\s+STARTED`}, []string{a1, a2, b1, m1}},
		{[]string{"executions", "laned", "--lane", "two\nlines"}, 1, []string{`ValidationException|lane`}, nil},
		{[]string{"executions", "laned", "--max", "0"}, 2, []string{`--max must be 1\.\.100, got 0`}, nil},
		{[]string{"executions", "plain"}, 0, []string{`(?m)^EXECUTION\s+STATUS\s+STARTED`, `(?m)^` + p1 + `\s+Succeeded\s+\d`}, []string{"LANE"}},
		{[]string{"executions", "plain", "--lane", ""}, 0, []string{`(?m)^` + p1 + `\s`}, []string{"LANE"}},
		{[]string{"status", "laned", "--lane", "feature/b", "-o", "json"}, 0, []string{`"id": "` + b1 + `"`}, nil},
		{[]string{"status", "laned", "--lane", "feature/a", "-o", "json"}, 0, []string{`"id": "` + a2 + `"`}, nil},
		{[]string{"status", "laned", "-o", "json"}, 0, []string{`"id": "` + m1 + `"`}, nil},
		{[]string{"status", "laned", "--lane", "nowhere"}, 1, []string{`pipeline laned has no executions in lane "nowhere"`}, nil},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out := cliAs(t, s, nil, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d:\n%s", code, c.code, out)
			}
			for _, w := range c.want {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("the output lacks %s:\n%s", w, out)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(out, w) {
					t.Errorf("the output has %s:\n%s", w, out)
				}
			}
		})
	}
}
