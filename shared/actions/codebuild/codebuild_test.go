package codebuild

import (
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/actions/hostbuild"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/secrets"
)

var codeBuildType = pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: pipeline.OwnerAWS, Provider: "CodeBuild", Version: "1"}

func codeBuildAction(config map[string]string) pipeline.Action {
	return pipeline.Action{Name: "Build", ActionTypeID: codeBuildType, Configuration: config}
}

// spec writes a buildspec whose build phase runs cmds and exports vars.
func spec(vars []string, cmds ...string) string {
	var b strings.Builder
	b.WriteString("version: 0.2\n")
	if len(vars) > 0 {
		b.WriteString("env:\n  exported-variables:\n")
		for _, v := range vars {
			b.WriteString("    - " + v + "\n")
		}
	}
	b.WriteString("phases:\n  build:\n    commands:\n")
	for _, c := range cmds {
		b.WriteString("      - '" + strings.ReplaceAll(c, "'", "''") + "'\n")
	}
	return b.String()
}

func TestProviderRun(t *testing.T) {
	actiontest.RunCases(t, func() actions.Provider { return &Provider{} }, []actiontest.Case{
		{
			Name:   "codebuild: buildspec.yml of the primary input, exported variables",
			Action: codeBuildAction(map[string]string{"ProjectName": "local"}),
			Inputs: []actiontest.Input{{Name: "Src", Files: map[string]string{
				"buildspec.yml": spec([]string{"NAME", "KIND"}, "NAME=$(cat name.txt)", "export KIND=tool"),
				"name.txt":      "widget\n",
			}}},
			Want: engine.Succeeded,
			Vars: map[string]string{"NAME": "widget", "KIND": "tool"},
		},
		{
			Name: "codebuild: inline BuildspecOverride wins over buildspec.yml",
			Action: codeBuildAction(map[string]string{
				ConfigBuildspecOverride: spec([]string{"V"}, "V=inline"),
			}),
			Inputs: []actiontest.Input{{Name: "Src", Files: map[string]string{"buildspec.yml": spec(nil, "false")}}},
			Want:   engine.Succeeded,
			Vars:   map[string]string{"V": "inline"},
		},
		{
			Name: "codebuild: one-line inline BuildspecOverride (flow mapping)",
			Action: codeBuildAction(map[string]string{
				ConfigBuildspecOverride: `{version: 0.2, env: {exported-variables: [V]}, phases: {build: {commands: ["V=flow"]}}}`,
			}),
			Want: engine.Succeeded,
			Vars: map[string]string{"V": "flow"},
		},
		{
			Name:   "codebuild: BuildspecOverride as a path in the source",
			Action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "ci/build.yml"}),
			Inputs: []actiontest.Input{{Name: "Src", Files: map[string]string{
				"ci/build.yml":  spec([]string{"V"}, "V=from-path"),
				"buildspec.yml": spec(nil, "false"),
			}}},
			Want: engine.Succeeded,
			Vars: map[string]string{"V": "from-path"},
		},
		{
			// A path starting with "version" is a path, not inline YAML.
			Name:   "codebuild: BuildspecOverride path named version.yml",
			Action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "version.yml"}),
			Inputs: []actiontest.Input{{Name: "Src", Files: map[string]string{"version.yml": spec([]string{"V"}, "V=versioned")}}},
			Want:   engine.Succeeded,
			Vars:   map[string]string{"V": "versioned"},
		},
		{
			Name:   "codebuild: BuildspecOverride path that does not exist",
			Action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "ci/missing.yml"}),
			Inputs: []actiontest.Input{{Name: "Src", Files: map[string]string{"buildspec.yml": spec(nil, "true")}}},
			Want:   engine.Failed,
			Code:   engine.CodeConfigurationError,
			Msg:    []string{"no buildspec", "ci/missing.yml"},
		},
		{
			Name:   "codebuild: BuildspecOverride path leaving the source",
			Action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "../buildspec.yml"}),
			Inputs: []actiontest.Input{{Name: "Src", Files: map[string]string{"buildspec.yml": spec(nil, "true")}}},
			Want:   engine.Failed,
			Code:   engine.CodeConfigurationError,
			Msg:    []string{"../buildspec.yml", "inside the source"},
		},
		{
			Name:   "codebuild: missing buildspec",
			Action: codeBuildAction(map[string]string{"ProjectName": "local"}),
			Inputs: []actiontest.Input{{Name: "Src", Files: map[string]string{"main.go": "package main\n"}}},
			Want:   engine.Failed,
			Code:   engine.CodeConfigurationError,
			Msg:    []string{"no buildspec", "buildspec.yml", "BuildspecOverride"},
		},
		{
			Name:   "codebuild: invalid buildspec",
			Action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "version: 0.1\nphases:\n  build:\n    commands: [true]\n"}),
			Want:   engine.Failed,
			Code:   engine.CodeConfigurationError,
			Msg:    []string{"BuildspecOverride", "version 0.1"},
		},
		{
			Name: "codebuild: EnvironmentVariables configuration, PLAINTEXT",
			Action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"name":"GREETING","value":"hi $(touch pwned)","type":"PLAINTEXT"},{"name":"UNTYPED","value":"plain"}]`,
				ConfigBuildspecOverride:    "version: 0.2\nenv:\n  variables:\n    GREETING: from-spec\n    SPEC_ONLY: kept\n  exported-variables: [GOT]\nphases:\n  build:\n    commands:\n      - 'GOT=\"$GREETING|$UNTYPED|$SPEC_ONLY\"'\n",
			}),
			Want:  engine.Succeeded,
			Vars:  map[string]string{"GOT": "hi $(touch pwned)|plain|kept"},
			Check: actiontest.NoFile("pwned", "a variable's value was executed"),
		},
		{
			Name: "codebuild: EnvironmentVariables configuration, malformed JSON",
			Action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"name":"X","value":"1"`,
				ConfigBuildspecOverride:    spec(nil, "true"),
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{"EnvironmentVariables must be a JSON list"},
		},
		{
			Name: "codebuild: EnvironmentVariables configuration, entry without a name",
			Action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"value":"1"}]`,
				ConfigBuildspecOverride:    spec(nil, "true"),
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{"EnvironmentVariables[0]", "name is required"},
		},
		{
			Name: "codebuild: two output artifacts: artifacts.files, then secondary-artifacts by identifier",
			Action: actiontest.With(codeBuildAction(map[string]string{
				ConfigBuildspecOverride: spec(nil, "mkdir -p bin docs", "echo app > bin/app", "echo read me > docs/README.md", "echo junk > junk.txt") +
					"artifacts:\n  base-directory: bin\n  files: ['**/*']\n  secondary-artifacts:\n    Docs:\n      files: ['docs/**/*']\n",
			}), func(a *pipeline.Action) { a.OutputArtifacts = actiontest.Outputs("BuildOut", "Docs") }),
			Want: engine.Succeeded,
			Outputs: map[string]map[string]string{
				"BuildOut": {"app": "app\n"},
				"Docs":     {"docs/README.md": "read me\n"},
			},
		},
		{
			Name: "codebuild: output artifact, buildspec without artifacts",
			Action: actiontest.With(codeBuildAction(map[string]string{ConfigBuildspecOverride: spec(nil, "echo x > x")}),
				func(a *pipeline.Action) { a.OutputArtifacts = actiontest.Outputs("Out") }),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{`output artifact "Out"`, "no artifacts for it", "artifacts.files", "secondary-artifacts.Out"},
		},
		{
			Name: "codebuild: second output artifact missing from secondary-artifacts",
			Action: actiontest.With(codeBuildAction(map[string]string{
				ConfigBuildspecOverride: spec(nil, "echo x > x") + "artifacts:\n  files: [x]\n",
			}), func(a *pipeline.Action) { a.OutputArtifacts = actiontest.Outputs("Out", "Extra") }),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{`output artifact "Extra"`, "secondary-artifacts.Extra"},
		},
		{
			Name: "codebuild: PrimarySource picks the primary input",
			Action: codeBuildAction(map[string]string{
				ConfigPrimarySource: "B",
			}),
			Inputs: []actiontest.Input{
				{Name: "A", Files: map[string]string{"buildspec.yml": spec(nil, "false"), "who.txt": "a\n"}},
				{Name: "B", Files: map[string]string{
					"buildspec.yml": spec([]string{"WHO", "OTHER"}, "WHO=$(cat who.txt)", `OTHER=$(cat "$CODEBUILD_SRC_DIR_A/who.txt")`),
					"who.txt":       "b\n",
				}},
			},
			Want: engine.Succeeded,
			Vars: map[string]string{"WHO": "b", "OTHER": "a"},
		},
		{
			Name:   "codebuild: PrimarySource that is no input",
			Action: codeBuildAction(map[string]string{ConfigPrimarySource: "Nope"}),
			Inputs: []actiontest.Input{{Name: "Src", Files: map[string]string{"buildspec.yml": spec(nil, "true")}}},
			Want:   engine.Failed,
			Code:   engine.CodeConfigurationError,
			Msg:    []string{"PrimarySource", `"Nope"`},
		},
	})
}

func TestInlineBuildspec(t *testing.T) {
	for _, tc := range []struct {
		override string
		inline   bool
	}{
		{"version: 0.2\nphases: {}\n", true},
		{"version: 0.2", true},
		{"  version : 0.2", true},
		{"{version: 0.2}", true},
		{"phases:\n  build: {}\nversion: 0.2\n", true},
		{"buildspec.yml", false},
		{"version.yml", false},
		{"versions/buildspec.yml", false},
		{"ci/version-0.2.yaml", false},
		{"", false},
	} {
		if got := inlineBuildspec(tc.override); got != tc.inline {
			t.Errorf("inlineBuildspec(%q) = %v, want %v", tc.override, got, tc.inline)
		}
	}
}

func TestProviderSecrets(t *testing.T) {
	store := secrets.Open(t.TempDir())
	for name, value := range map[string]string{"prod/token": "tok-s3cr3t", "db": `{"password":"pw-s3cr3t"}`, "/param/x": "param-s3cr3t"} {
		if err := store.Put(name, value); err != nil {
			t.Fatal(err)
		}
	}
	masked := func(want ...string) func(t *testing.T, h *actiontest.Harness, res *engine.Result, log string) {
		return func(t *testing.T, _ *actiontest.Harness, _ *engine.Result, log string) {
			for _, w := range want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
			if strings.Contains(log, "s3cr3t") {
				t.Errorf("log shows a secret value:\n%s", log)
			}
		}
	}
	withStore := &Provider{Host: hostbuild.Host{Secrets: store}}
	actiontest.RunCases(t, func() actions.Provider { return withStore }, []actiontest.Case{
		{
			Name: "EnvironmentVariables of types SECRETS_MANAGER and PARAMETER_STORE",
			Action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"name":"TOKEN","value":"prod/token","type":"SECRETS_MANAGER"},{"name":"P","value":"/param/x","type":"PARAMETER_STORE"},{"name":"PLAIN","value":"plain"}]`,
				ConfigBuildspecOverride:    spec(nil, `test "$TOKEN|$P|$PLAIN" = "tok-s3cr3t|param-s3cr3t|plain"`, `echo "token $TOKEN param $P"`),
			}),
			Want:  engine.Succeeded,
			Check: masked("token *** param ***"),
		},
		{
			Name: "buildspec secrets-manager with a JSON key, parameter-store",
			Action: codeBuildAction(map[string]string{
				ConfigBuildspecOverride: "version: 0.2\nenv:\n  secrets-manager:\n    PASS: db:password\n  parameter-store:\n    P: /param/x\nphases:\n  build:\n    commands:\n      - test \"$PASS\" = pw-s3cr3t\n      - echo \"pass $PASS, p $P\"\n",
			}),
			Want:  engine.Succeeded,
			Check: masked("pass ***, p ***"),
		},
		{
			Name: "a missing secret fails with its name",
			Action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"name":"TOKEN","value":"prod/missing","type":"SECRETS_MANAGER"}]`,
				ConfigBuildspecOverride:    spec(nil, "true"),
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{"TOKEN", `secret "prod/missing"`, "stageflow secret put"},
		},
		{
			Name: "a missing buildspec secret fails with its name",
			Action: codeBuildAction(map[string]string{
				ConfigBuildspecOverride: "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: nope\nphases:\n  build:\n    commands: [true]\n",
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{"env.secrets-manager.TOKEN", `secret "nope"`},
		},
		{
			Name: "an unknown type",
			Action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"name":"X","value":"v","type":"VAULT"}]`,
				ConfigBuildspecOverride:    spec(nil, "true"),
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{"EnvironmentVariables[0]", "X", "VAULT", "SECRETS_MANAGER"},
		},
		{
			Name:     "no secret store",
			Provider: &Provider{},
			Action: codeBuildAction(map[string]string{
				ConfigBuildspecOverride: "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: prod/token\nphases:\n  build:\n    commands: [true]\n",
			}),
			Want: engine.Failed,
			Code: engine.CodeConfigurationError,
			Msg:  []string{"env.secrets-manager.TOKEN", "no secret store"},
		},
	})
}
