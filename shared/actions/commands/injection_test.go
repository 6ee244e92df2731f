package commands

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// payloads are values that run `touch f` when pasted into shell text.
var payloads = []struct{ name, value string }{
	{"command substitution", "$(touch f)"},
	{"semicolon", "; touch f"},
	{"backticks", "`touch f`"},
	{"closing double quote", `"; touch f; "`},
	{"closing single quote", `'; touch f; '`},
	{"newline", "\ntouch f"},
	{"and", "&& touch f"},
	{"pipe", "| touch f"},
	{"IFS", "${IFS}touch${IFS}f"},
}

// positions are the quoting a reference can stand in; want is what the
// command prints for value v.
var positions = []struct {
	name, command string
	want          func(v string) string
}{
	{"unquoted word", `printf '[%s]\n' #{variables.V}`, func(v string) string { return "[" + v + "]" }},
	{"double quotes", `printf '[%s]\n' "#{variables.V}"`, func(v string) string { return "[" + v + "]" }},
	{"single quotes", `printf '[%s]\n' '#{variables.V}'`, func(v string) string { return "[" + v + "]" }},
	{"middle of a word", `printf '[%s]\n' pre#{variables.V}post`, func(v string) string { return "[pre" + v + "post]" }},
	{"middle of a double-quoted word", `printf '[%s]\n' "pre #{variables.V} post"`, func(v string) string { return "[pre " + v + " post]" }},
	{"middle of a single-quoted word", `printf '[%s]\n' 'pre #{variables.V} post'`, func(v string) string { return "[pre " + v + " post]" }},
}

// runResolved runs one Commands action whose references the engine
// resolves against the pipeline variables vars, on /bin/sh.
func runResolved(t *testing.T, vars map[string]string, cmds ...string) (*actiontest.Harness, *engine.Result, string) {
	t.Helper()
	h := actiontest.NewHarness(t)
	var log bytes.Buffer
	res := (&Provider{}).Run(t.Context(), h.ResolvedJob(t, commandsAction(cmds...), vars, &log))
	return h, res, log.String()
}

// noFileF fails when a file named f was created anywhere in the harness.
func noFileF(t *testing.T, h *actiontest.Harness) {
	t.Helper()
	for _, p := range actiontest.FindFiles(t, h.Parent, "f") {
		if filepath.Base(p) == "f" {
			t.Errorf("the value ran as a command: %s exists", p)
		}
	}
}

func TestReferencesAreData(t *testing.T) {
	for _, pos := range positions {
		for _, pl := range payloads {
			t.Run(pos.name+"/"+pl.name, func(t *testing.T) {
				h, res, log := runResolved(t, map[string]string{"V": pl.value}, pos.command)
				noFileF(t, h)
				if res.Status != engine.Succeeded {
					t.Fatalf("result %s/%s: %s\nlog:\n%s", res.Status, res.ErrorCode, res.ErrorMessage, log)
				}
				if want := pos.want(pl.value); !strings.Contains(log, want+"\n") {
					t.Errorf("the command did not print %q verbatim\nlog:\n%s", want, log)
				}
			})
		}
	}
}

func TestReferencesGiveTheirValues(t *testing.T) {
	vars := map[string]string{"NAME": "hello world", "X": "mid", "EMPTY": ""}
	cases := []struct {
		name    string
		cmds    []string
		want    []string // lines of output
		notWant []string
	}{
		{"double quotes", []string{`echo "#{variables.NAME}"`}, []string{"hello world"}, nil},
		{"middle of a word", []string{`echo pre#{variables.X}post`}, []string{"premidpost"}, nil},
		{"one word, not split", []string{`set -- #{variables.NAME}; echo "$#"`}, []string{"1"}, nil},
		{"empty value is an empty word", []string{`set -- #{variables.EMPTY}; echo "args=$#"`}, []string{"args=1"}, nil},
		{"two references, used twice, across commands", []string{`A=#{variables.X}-#{variables.NAME}`, `echo "$A/#{variables.X}"`}, []string{"mid-hello world/mid"}, nil},
		{"execution id", []string{`echo "id=#{codepipeline.PipelineExecutionId}"`}, []string{"id=e1"}, nil},
		{"assignment value", []string{`Y=#{variables.NAME}`, `echo "[$Y]"`}, []string{"[hello world]"}, nil},
		{"parameter expansion default", []string{`echo "${UNSET_ONE:-#{variables.NAME}}"`}, []string{"hello world"}, nil},
		{"command substitution", []string{`echo "$(echo '#{variables.X}')"`}, []string{"mid"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, res, log := runResolved(t, vars, tc.cmds...)
			if res.Status != engine.Succeeded {
				t.Fatalf("result %s/%s: %s\nlog:\n%s", res.Status, res.ErrorCode, res.ErrorMessage, log)
			}
			for _, w := range tc.want {
				if !strings.Contains(log, "\n"+w+"\n") {
					t.Errorf("log lacks the line %q:\n%s", w, log)
				}
			}
		})
	}
}

// refusals are commands whose reference has no data position.
var refusals = []struct{ name, command, msg string }{
	{"heredoc body", "cat <<EOF\n#{variables.V}\nEOF", "a variable reference cannot stand in a heredoc body; use an environment variable"},
	{"quoted heredoc body", "cat <<'EOF'\nx #{variables.V}\nEOF", "a variable reference cannot stand in a heredoc body; use an environment variable"},
	{"comment", "echo hi # #{variables.V}", "a variable reference cannot stand in a comment; use an environment variable"},
	{"variable name", "#{variables.V}=1", "a variable reference cannot stand in a name (of a variable, function or file descriptor); use an environment variable"},
	{"parameter name", "echo ${#{variables.V}}", "a variable reference cannot stand in a name (of a variable, function or file descriptor); use an environment variable"},
	{"arithmetic", "echo $((#{variables.V} + 1))", "a variable reference cannot stand in arithmetic; use an environment variable"},
	{"backquotes", "echo `echo #{variables.V}`", "a variable reference cannot stand in a `…` command substitution (use $(…)); use an environment variable"},
	{"after a backslash", `echo \#{variables.V}`, "a variable reference cannot stand after a backslash; use an environment variable"},
}

func TestReferencesWithoutDataPositionAreRefused(t *testing.T) {
	for _, tc := range refusals {
		t.Run("validation/"+tc.name, func(t *testing.T) {
			v := "x"
			p := &pipeline.Pipeline{Name: "P", Variables: []pipeline.VariableDeclaration{{Name: "V", DefaultValue: &v}},
				Stages: []pipeline.Stage{{Name: "Build", Actions: []pipeline.Action{commandsAction("true", "true", tc.command)}}}}
			want := "stages[0].actions[0].commands[2]: " + tc.msg
			var got []string
			for _, prob := range pipeline.Validate(p) {
				got = append(got, prob.String())
			}
			if len(got) != 1 || !strings.Contains(got[0], want) {
				t.Errorf("problems %q, want one with %q", got, want)
			}
		})
		t.Run("run/"+tc.name, func(t *testing.T) {
			h, res, log := runResolved(t, map[string]string{"V": "; touch f"}, "true", tc.command)
			noFileF(t, h)
			if res.Status != engine.Failed || res.ErrorCode != engine.CodeConfigurationError ||
				!strings.Contains(res.ErrorMessage, "commands[1]: ") || !strings.Contains(res.ErrorMessage, tc.msg) {
				t.Errorf("result %s/%s %q, want a ConfigurationError with %q\nlog:\n%s", res.Status, res.ErrorCode, res.ErrorMessage, tc.msg, log)
			}
		})
	}
}
