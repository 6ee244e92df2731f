package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const testdata = "../../shared/pipeline/testdata"

func TestCLI(t *testing.T) {
	valid := filepath.Join(testdata, "valid", "v2-full.json")
	valid2 := filepath.Join(testdata, "valid", "single-commands-stage.json")
	five := filepath.Join(testdata, "invalid", "five-mistakes.json")
	missing := filepath.Join(t.TempDir(), "missing.json")
	fivePaths := []string{
		"stages[1].timeout",
		"stages[1].name",
		"stages[1].actions[1].name",
		"stages[1].actions[1].runOrder",
		"stages[1].actions[1].inputArtifacts[0]",
	}

	cases := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    []string // lines or fragments expected in stdout
		stderr    []string // fragments expected in stderr
		jsonCheck func(t *testing.T, reports []report)
	}{
		{
			name:   "valid files",
			args:   []string{"validate", valid, valid2},
			code:   0,
			stdout: []string{valid + ": valid\n", valid2 + ": valid\n"},
		},
		{
			name:   "five mistakes",
			args:   []string{"validate", five},
			code:   1,
			stdout: prefixed(five+": ", fivePaths),
		},
		{
			name:   "valid and invalid",
			args:   []string{"validate", valid, five},
			code:   1,
			stdout: append([]string{valid + ": valid\n"}, prefixed(five+": ", fivePaths)...),
		},
		{
			name:   "unreadable file",
			args:   []string{"validate", missing, valid},
			code:   1,
			stdout: []string{valid + ": valid\n"},
			stderr: []string{missing + ": cannot read the file: no such file or directory"},
		},
		{
			name:   "directory",
			args:   []string{"validate", testdata},
			code:   1,
			stderr: []string{testdata + ": cannot read the file: it is a directory"},
		},
		{
			name:   "stdin",
			args:   []string{"validate", "-"},
			stdin:  `{"name": "p", "stages": [{"name": "S", "actions": []}]}`,
			code:   1,
			stdout: []string{"-: stages[0].actions: must have at least one action\n"},
		},
		{
			name:   "malformed JSON",
			args:   []string{"validate", "-"},
			stdin:  "{\n  \"name\": ",
			code:   1,
			stdout: []string{"-: line 2, column "},
		},
		{
			name:   "unknown AWS provider",
			args:   []string{"validate", "-"},
			stdin:  `{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Command", "version": "1"}, "commands": ["true"]}]}]}`,
			code:   1,
			stdout: []string{`-: stages[0].actions[0].actionTypeId.provider: unknown provider "Command" for owner AWS (did you mean "Commands"?)` + "\n"},
		},
		{
			name:   "Commands action without commands",
			args:   []string{"validate", "-"},
			stdin:  `{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}]}]}`,
			code:   1,
			stdout: []string{"-: stages[0].actions[0].commands: a Commands action needs at least one command\n"},
		},
		{
			name:   "CodeBuild configuration key typo",
			args:   []string{"validate", "-"},
			stdin:  `{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}, "configuration": {"BuildSpecOverride": "x.yml"}}]}]}`,
			code:   1,
			stdout: []string{`-: stages[0].actions[0].configuration.BuildSpecOverride: unknown configuration key "BuildSpecOverride" of a CodeBuild action (did you mean "BuildspecOverride"?)`},
		},
		{
			name: "json output",
			args: []string{"validate", "--output", "json", valid, five, missing},
			code: 1,
			jsonCheck: func(t *testing.T, reports []report) {
				if len(reports) != 3 {
					t.Fatalf("want 3 reports, got %d", len(reports))
				}
				if r := reports[0]; r.File != valid || !r.Valid || r.Problems == nil || len(r.Problems) != 0 {
					t.Errorf("valid file: %+v", r)
				}
				r := reports[1]
				if r.File != five || r.Valid || len(r.Problems) != len(fivePaths) {
					t.Fatalf("five mistakes: %+v", r)
				}
				for i, p := range r.Problems {
					if p.Path != fivePaths[i] || p.Message == "" {
						t.Errorf("problem %d: %+v, want path %s", i, p, fivePaths[i])
					}
				}
				if r := reports[2]; r.File != missing || r.Valid || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, "cannot read the file") {
					t.Errorf("missing file: %+v", r)
				}
			},
		},
		{
			name: "json output all valid",
			args: []string{"validate", "-o", "json", valid},
			code: 0,
			jsonCheck: func(t *testing.T, reports []report) {
				if len(reports) != 1 || !reports[0].Valid {
					t.Errorf("got %+v", reports)
				}
			},
		},
		{name: "no files", args: []string{"validate"}, code: 2, stderr: []string{"validate needs at least one FILE"}},
		{name: "bad output", args: []string{"validate", "-o", "yaml", valid}, code: 2, stderr: []string{`--output must be "text" or "json"`}},
		{name: "unknown flag", args: []string{"validate", "--bogus", valid}, code: 2, stderr: []string{"unknown flag: --bogus"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`}},
		{name: "unknown subcommand", args: []string{"pipeline", "lst"}, code: 2, stderr: []string{`unknown command "lst" for "stageflow pipeline" (did you mean "list"?)`}},
		{name: "no subcommand", args: []string{"pipeline"}, code: 2, stderr: []string{"stageflow pipeline needs a subcommand"}},
		{name: "missing argument", args: []string{"pipeline", "get"}, code: 2, stderr: []string{"accepts 1 arg(s), received 0"}},
		{name: "too many arguments", args: []string{"status", "p", "e", "x"}, code: 2, stderr: []string{"accepts between 1 and 2 arg(s), received 3"}},
		{name: "unknown flag of a client command", args: []string{"start", "--bogus", "p"}, code: 2, stderr: []string{"unknown flag: --bogus"}},
		{name: "bad --var of start", args: []string{"start", "p", "--var", "x"}, code: 2, stderr: []string{"want NAME=VALUE"}},
		{name: "no slot for actions", args: []string{"run", "--max-parallel-actions", "0", valid2}, code: 2, stderr: []string{"--max-parallel-actions must be at least 1, got 0"}},
		{name: "negative keep-failed-work", args: []string{"run", "--keep-failed-work", "-1h", valid2}, code: 2, stderr: []string{"--keep-failed-work must not be negative"}},
		{name: "retention too short", args: []string{"serve", "--retention", "10s"}, code: 2, stderr: []string{"--retention must be 0 (keep forever) or at least 1h0m0s, got 10s"}},
		{name: "--version", args: []string{"--version"}, code: 0, stdout: []string{"stageflow dev (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"}},
		{
			name:   "version",
			args:   []string{"version"},
			code:   0,
			stdout: []string{"stageflow dev (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"},
		},
		{name: "version takes no args", args: []string{"version", "x"}, code: 2, stderr: []string{"takes no arguments"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if tc.jsonCheck != nil {
				var reports []report
				if err := json.Unmarshal(stdout.Bytes(), &reports); err != nil {
					t.Fatalf("--output json is not a JSON array of reports: %v\n%s", err, stdout.String())
				}
				tc.jsonCheck(t, reports)
			}
		})
	}
}

// report is the JSON shape of one file's result, decoded independently of
// the command's own type.
type report struct {
	File     string `json:"file"`
	Valid    bool   `json:"valid"`
	Problems []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"problems"`
}

func prefixed(prefix string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = prefix + p + ": "
	}
	return out
}

func TestEveryLineOfFiveMistakesNamesTheFile(t *testing.T) {
	five := filepath.Join(testdata, "invalid", "five-mistakes.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", five}, os.Stdin, &stdout, &stderr); code != 1 {
		t.Fatalf("exit code %d", code)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("want 5 lines, got %d:\n%s", len(lines), stdout.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, five+": stages[1].") {
			t.Errorf("line %q is not FILE: path: message", l)
		}
	}
}
