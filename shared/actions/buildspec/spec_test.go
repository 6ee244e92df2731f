package buildspec

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
)

const fullSpec = `
version: 0.2
run-as: builder
env:
  shell: bash
  variables:
    NODE_ENV: production
    PORT: 8080
    FLAG: yes
    EMPTY:
  exported-variables:
    - IMAGE_TAG
    - NODE_ENV
  git-credential-helper: yes
phases:
  install:
    runtime-versions:
      nodejs: 20
    commands:
      - npm ci
  pre_build:
    on-failure: continue
    commands: [ "npm run lint" ]
  build:
    on-failure: ABORT
    commands:
      - npm test
      - |
        if [ -n "$X" ]; then
          echo multi
        fi
      - "echo key: value"
    finally:
      - echo done
  post_build:
    commands:
      - echo post
artifacts:
  files:
    - 'dist/**/*'
    - appspec.yml
  base-directory: .
  discard-paths: no
  name: web-$(date +%s)
  exclude-paths: ['**/*.map']
  secondary-artifacts:
    docs:
      files: '**/*'
      base-directory: docs
      discard-paths: yes
cache:
  paths: ['/root/.npm/**/*']
`

func TestParseFull(t *testing.T) {
	s, err := Parse([]byte(fullSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "0.2" || s.Env.Shell != "bash" {
		t.Errorf("version %q shell %q", s.Version, s.Env.Shell)
	}
	wantVars := map[string]string{"NODE_ENV": "production", "PORT": "8080", "FLAG": "yes", "EMPTY": ""}
	if !reflect.DeepEqual(s.Env.Variables, wantVars) {
		t.Errorf("variables %v", s.Env.Variables)
	}
	if !reflect.DeepEqual(s.Env.ExportedVariables, []string{"IMAGE_TAG", "NODE_ENV"}) {
		t.Errorf("exported %v", s.Env.ExportedVariables)
	}
	var names []string
	for _, p := range s.Phases {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "INSTALL,PRE_BUILD,BUILD,POST_BUILD" {
		t.Errorf("phases %v", names)
	}
	if got := s.Phase(PhasePreBuild).OnFailure; got != OnFailureContinue {
		t.Errorf("pre_build on-failure %q", got)
	}
	if got := s.Phase(PhaseInstall).OnFailure; got != OnFailureDefault {
		t.Errorf("install on-failure %q", got)
	}
	b := s.Phase(PhaseBuild)
	if b.OnFailure != OnFailureAbort || len(b.Commands) != 3 || b.Commands[2] != "echo key: value" || !strings.Contains(b.Commands[1], "echo multi\nfi") {
		t.Errorf("build phase %+v", b)
	}
	if !reflect.DeepEqual(b.Finally, []string{"echo done"}) {
		t.Errorf("finally %v", b.Finally)
	}
	a := s.Artifacts
	if a == nil || !reflect.DeepEqual(a.Files, []string{"dist/**/*", "appspec.yml"}) || a.DiscardPaths || a.BaseDirectory != "." || a.Name != "web-$(date +%s)" || !reflect.DeepEqual(a.ExcludePaths, []string{"**/*.map"}) {
		t.Errorf("artifacts %+v", a)
	}
	d, ok := a.Secondary["docs"]
	if !ok || !reflect.DeepEqual(d.Files, []string{"**/*"}) || !d.DiscardPaths || d.BaseDirectory != "docs" {
		t.Errorf("secondary %+v", a.Secondary)
	}
	wantIgnored := []string{"run-as", "env.git-credential-helper", "phases.install.runtime-versions", "cache"}
	if !reflect.DeepEqual(s.Ignored, wantIgnored) {
		t.Errorf("ignored %v, want %v", s.Ignored, wantIgnored)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"not yaml", "version: [0.2", []string{"not valid YAML"}},
		{"empty", "", []string{"empty"}},
		{"a list", "- a\n- b\n", []string{"must be a mapping"}},
		{"version 0.1", "version: 0.1\nphases: {build: {commands: [x]}}", []string{"version: buildspec version 0.1 is not supported"}},
		{"version 1.0", "version: 1.0\nphases: {build: {commands: [x]}}", []string{`version: unsupported buildspec version "1.0"`}},
		{"no version", "phases: {build: {commands: [x]}}", []string{"version: required"}},
		{"no phases", "version: 0.2\n", []string{"phases: required"}},
		{"unknown key", "version: 0.2\nphase: {}\nphases: {}", []string{"phase: unknown key"}},
		{"duplicate key", "version: 0.2\nversion: 0.2\nphases: {}", []string{"version: duplicate key"}},
		{"unknown phase", "version: 0.2\nphases: {deploy: {commands: [x]}}", []string{"phases.deploy: unknown phase"}},
		{"unquoted colon", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n", []string{"phases.build.commands[0]: must be a string", "quote"}},
		{"commands a map", "version: 0.2\nphases: {build: {commands: {a: b}}}", []string{"phases.build.commands: must be a list"}},
		{"bad on-failure", "version: 0.2\nphases: {build: {on-failure: retry, commands: [x]}}", []string{`phases.build.on-failure: must be ABORT or CONTINUE, not "retry"`}},
		{"unknown phase key", "version: 0.2\nphases: {build: {command: [x]}}", []string{"phases.build.command: unknown key"}},
		{"runtime-versions outside install", "version: 0.2\nphases: {build: {runtime-versions: {go: 1}, commands: [x]}}", []string{"phases.build.runtime-versions: allowed in the install phase only"}},
		{"bad shell", "version: 0.2\nenv: {shell: zsh}\nphases: {}", []string{`env.shell: unsupported shell "zsh"`}},
		{"bad variable name", "version: 0.2\nenv: {variables: {A-B: x}}\nphases: {}", []string{"env.variables.A-B: not a valid variable name"}},
		{"variable not scalar", "version: 0.2\nenv: {variables: {A: [x]}}\nphases: {}", []string{"env.variables.A: must be a single value"}},
		{"bad exported name", "version: 0.2\nenv: {exported-variables: [\"A; rm -rf /\"]}\nphases: {}", []string{"env.exported-variables[0]", "not a valid variable name"}},
		{"AWS_ exported", "version: 0.2\nenv: {exported-variables: [AWS_REGION]}\nphases: {}", []string{"env.exported-variables[0]", "AWS_"}},
		{"artifacts without files", "version: 0.2\nphases: {}\nartifacts: {name: x}", []string{"artifacts.files: required"}},
		{"secondary without files", "version: 0.2\nphases: {}\nartifacts: {secondary-artifacts: {out: {name: x}}}", []string{"artifacts.secondary-artifacts.out.files: required"}},
		{"discard-paths", "version: 0.2\nphases: {}\nartifacts: {files: [x], discard-paths: maybe}", []string{`artifacts.discard-paths: must be yes or no, not "maybe"`}},
		{"escaping pattern", "version: 0.2\nphases: {}\nartifacts: {files: [../secret]}", []string{"artifacts.files[0]", "must not leave the source directory"}},
		{"absolute pattern", "version: 0.2\nphases: {}\nartifacts: {files: [/etc/passwd]}", []string{"artifacts.files[0]", "relative"}},
		{"malformed pattern", "version: 0.2\nphases: {}\nartifacts: {files: ['a/[b']}", []string{"artifacts.files[0]", "malformed"}},
		{"several problems", "version: 0.3\nenv: {shell: fish}\nphases: {build: {on-failure: x}}", []string{"version:", "env.shell:", "phases.build.on-failure:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if !errs.Is(err, errs.Validation) {
				t.Errorf("error code %s, want Validation", errs.CodeOf(err))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseKeepsParameterStore(t *testing.T) {
	s, err := Parse([]byte("version: 0.2\nenv:\n  parameter-store: {PASS: /prod/pass}\n  secrets-manager: {KEY: 'arn:secret:key'}\nphases: {build: {commands: [true]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Env.ParameterStore["PASS"] != "/prod/pass" || s.Env.SecretsManager["KEY"] != "arn:secret:key" {
		t.Errorf("env %+v", s.Env)
	}
}

func TestFromCommands(t *testing.T) {
	s := FromCommands([]string{"make", "make test"})
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(s.Phases) != 1 || s.Phases[0].Name != PhaseBuild || len(s.Phases[0].Commands) != 2 {
		t.Errorf("spec %+v", s)
	}
}

func TestValidateCodeBuiltSpec(t *testing.T) {
	s := &Spec{Version: "0.2", Env: Env{ExportedVariables: []string{"$(id)"}}, Phases: []Phase{{Name: PhaseBuild}, {Name: PhaseInstall}}}
	err := s.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad spec")
	}
	for _, w := range []string{"env.exported-variables[0]", "phases.install: phase listed twice or out of order"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
