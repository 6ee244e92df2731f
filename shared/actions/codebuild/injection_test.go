package codebuild

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/engine"
)

// override references V in commands (unquoted, where YAML would read " #"
// as a comment, and double-quoted), in a finally list and in env.variables.
const override = `version: 0.2
env:
  exported-variables: [GOT, QUOTED, FROM_ENV]
  variables:
    FROM_ENV: "#{variables.V}"
phases:
  build:
    commands:
      - GOT=#{variables.V}
      - echo #{variables.V}
      - QUOTED="#{variables.V}"
    finally:
      - printf '[%s]\n' '#{variables.V}'
`

func TestBuildspecOverrideReferencesAreData(t *testing.T) {
	cases := []struct {
		name, override, value string
		want                  engine.Status
		msg                   string
	}{
		{"newline that would add a command to the YAML", override, "x\n      - touch f", engine.Succeeded, ""},
		{"newline then a command", override, "\ntouch f", engine.Succeeded, ""},
		{"closing quote and command substitution", override, `"; $(touch f) '`, engine.Succeeded, ""},
		{"reference outside commands and env.variables", "version: 0.2\nphases:\n  build:\n    commands: [\"true\"]\nartifacts:\n  files: ['#{variables.V}']\n",
			"; touch f", engine.Failed, "BuildspecOverride: artifacts.files: a variable reference can stand only in phase commands and env.variables values"},
		{"heredoc in a command", "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        cat <<EOF\n        #{variables.V}\n        EOF\n",
			"; touch f", engine.Failed, "BuildspecOverride: phases.build.commands[0]: a variable reference cannot stand in a heredoc body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := actiontest.NewHarness(t)
			var log bytes.Buffer
			a := codeBuildAction(map[string]string{ConfigBuildspecOverride: tc.override})
			res := (&Provider{}).Run(t.Context(), h.ResolvedJob(t, a, map[string]string{"V": tc.value}, &log))
			for _, p := range actiontest.FindFiles(t, h.Parent, "f") {
				if filepath.Base(p) == "f" {
					t.Errorf("the value ran as a command: %s exists", p)
				}
			}
			if res.Status != tc.want || !strings.Contains(res.ErrorMessage, tc.msg) {
				t.Fatalf("result %s/%s %q, want %s with %q\nlog:\n%s", res.Status, res.ErrorCode, res.ErrorMessage, tc.want, tc.msg, log.String())
			}
			if tc.want != engine.Succeeded {
				return
			}
			for _, name := range []string{"GOT", "QUOTED", "FROM_ENV"} {
				if got := res.OutputVariables[name]; got != tc.value {
					t.Errorf("%s = %q, want the value %q verbatim", name, got, tc.value)
				}
			}
			if want := "[" + tc.value + "]\n"; !strings.Contains(log.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, log.String())
			}
		})
	}
}
