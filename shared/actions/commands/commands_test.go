package commands

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

const testBucket = "test-artifacts"

var (
	commandsType  = pipeline.ActionTypeID{Category: pipeline.CategoryCompute, Owner: pipeline.OwnerAWS, Provider: "Commands", Version: "1"}
	codeBuildType = pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: pipeline.OwnerAWS, Provider: "CodeBuild", Version: "1"}
	codeDeployTyp = pipeline.ActionTypeID{Category: pipeline.CategoryDeploy, Owner: pipeline.OwnerAWS, Provider: "CodeDeploy", Version: "1"}
)

// artifactKey is the object key of an artifact of the test execution.
func artifactKey(name string) string { return "P/e1/" + name + ".zip" }

// harness holds what one provider run needs: a real artifact folder store and
// a work directory inside a parent directory that must stay otherwise empty.
type harness struct {
	store   *artifacts.Store
	parent  string
	workDir string
	elapsed time.Duration
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	parent := t.TempDir()
	workDir := filepath.Join(parent, "work")
	if err := os.Mkdir(workDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &harness{
		store:   &artifacts.Store{Root: t.TempDir(), Bucket: testBucket},
		parent:  parent,
		workDir: workDir,
	}
}

// input is an input artifact to store before the run: files to zip, or a
// zip built by hand.
type input struct {
	name  string
	files map[string]string
	raw   []byte
}

func (h *harness) put(t *testing.T, in input) {
	t.Helper()
	data := in.raw
	if data == nil {
		dir := t.TempDir()
		for name, content := range in.files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := artifacts.ZipDir(dir, &buf); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	if _, err := h.store.PutKey(t.Context(), artifactKey(in.name), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// artifact reads a stored artifact's zip: file name → content.
func (h *harness) artifact(t *testing.T, name string) map[string]string {
	t.Helper()
	f, size, err := h.store.Open(t.Context(), artifacts.Location{Bucket: testBucket, Key: artifactKey(name)})
	if err != nil {
		t.Fatalf("output artifact %s: %v", name, err)
	}
	defer f.Close()
	zr, err := zip.NewReader(f, size)
	if err != nil {
		t.Fatalf("output artifact %s: %v", name, err)
	}
	out := map[string]string{}
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[zf.Name] = string(b)
	}
	return out
}

// findFiles lists the paths under root whose base name starts with prefix.
func findFiles(t *testing.T, root, prefix string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), prefix) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// job builds the job of an action as the runner would: the run's resolved
// inputs are the declaration's (no variable references here), its artifact
// locations point into the test store.
func (h *harness) job(a pipeline.Action, timeoutMinutes int, log io.Writer) *actions.Job {
	run := engine.ActionRun{
		ID: "run-1", Token: "token-1", Stage: "Build", Action: a.Name, RunOrder: 1, Attempt: 1,
		Type: a.ActionTypeID, Status: engine.InProgress,
		Configuration: a.Configuration, Commands: a.Commands, TimeoutInMinutes: timeoutMinutes,
	}
	if a.EnvironmentVariables != nil {
		run.EnvironmentVariables = map[string]string{}
		for _, ev := range a.EnvironmentVariables {
			run.EnvironmentVariables[ev.Name] = ev.Value
		}
	}
	for _, in := range a.InputArtifacts {
		run.InputArtifacts = append(run.InputArtifacts, engine.ArtifactRef{Name: in.Name, Bucket: testBucket, Key: artifactKey(in.Name)})
	}
	for _, out := range a.OutputArtifacts {
		run.OutputArtifacts = append(run.OutputArtifacts, engine.ArtifactRef{Name: out.Name, Bucket: testBucket, Key: artifactKey(out.Name)})
	}
	return &actions.Job{
		PipelineName: "P", ExecutionID: "e1", Run: run, Action: a,
		WorkDir: h.workDir, Log: log, Artifacts: h.store,
	}
}

type providerCase struct {
	name string
	// provider runs the job; nil means a plain &Provider{}.
	provider actions.Provider
	action   pipeline.Action
	// inputs are stored first and become the action's input artifacts,
	// in order.
	inputs         []input
	timeoutMinutes int

	want    engine.Status
	code    string            // wanted ErrorCode
	msg     []string          // substrings of ErrorMessage
	vars    map[string]string // wanted OutputVariables, exactly
	outputs map[string]map[string]string
	check   func(t *testing.T, h *harness, res *engine.Result, log string)
}

func commandsAction(cmds ...string) pipeline.Action {
	return pipeline.Action{Name: "Run", ActionTypeID: commandsType, Commands: cmds}
}

func codeBuildAction(config map[string]string) pipeline.Action {
	return pipeline.Action{Name: "Build", ActionTypeID: codeBuildType, Configuration: config}
}

// with returns a copy of a with changes applied.
func with(a pipeline.Action, change func(*pipeline.Action)) pipeline.Action {
	change(&a)
	return a
}

func outputs(names ...string) []pipeline.OutputArtifact {
	var out []pipeline.OutputArtifact
	for _, n := range names {
		out = append(out, pipeline.OutputArtifact{Name: n})
	}
	return out
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
	cases := []providerCase{
		// Commands action.
		{
			name: "commands: output variables, one of them exported",
			action: with(commandsAction("FIRST=one", "export SECOND=two", "echo $FIRST $SECOND"), func(a *pipeline.Action) {
				a.OutputVariables = []string{"FIRST", "SECOND", "NEVER_SET"}
			}),
			want: engine.Succeeded,
			vars: map[string]string{"FIRST": "one", "SECOND": "two", "NEVER_SET": ""},
			check: func(t *testing.T, h *harness, res *engine.Result, log string) {
				if !strings.Contains(log, "one two") {
					t.Errorf("log lacks the commands' output:\n%s", log)
				}
			},
		},
		{
			name:   "commands: no output variables declared",
			action: commandsAction("export X=1"),
			want:   engine.Succeeded,
			vars:   nil,
		},
		{
			name: "commands: environment variables reach commands, values are not evaluated",
			action: with(commandsAction(`GOT="$GREETING|$TRICKY"`), func(a *pipeline.Action) {
				a.EnvironmentVariables = []pipeline.EnvironmentVariable{
					{Name: "GREETING", Value: "hello world"},
					{Name: "TRICKY", Value: "$(touch pwned1) `touch pwned2`; touch pwned3", Type: "PLAINTEXT"},
				}
				a.OutputVariables = []string{"GOT"}
			}),
			want: engine.Succeeded,
			vars: map[string]string{"GOT": "hello world|$(touch pwned1) `touch pwned2`; touch pwned3"},
			check: func(t *testing.T, h *harness, res *engine.Result, log string) {
				if found := findFiles(t, h.parent, "pwned"); len(found) > 0 {
					t.Errorf("a variable's value was executed: %v", found)
				}
			},
		},
		{
			name: "commands: SECRETS_MANAGER environment variable",
			action: with(commandsAction("true"), func(a *pipeline.Action) {
				a.EnvironmentVariables = []pipeline.EnvironmentVariable{{Name: "TOKEN", Value: "prod/token", Type: "SECRETS_MANAGER"}}
			}),
			want: engine.Failed,
			code: engine.CodeConfigurationError,
			msg:  []string{"TOKEN", "SECRETS_MANAGER", "PLAINTEXT"},
		},
		{
			name:   "commands: no commands",
			action: commandsAction(),
			want:   engine.Failed,
			code:   engine.CodeConfigurationError,
			msg:    []string{"no commands"},
		},
		{
			name: "commands: output artifacts from files patterns",
			action: with(commandsAction(
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
			want: engine.Succeeded,
			outputs: map[string]map[string]string{
				"Dist":  {"dist/a.txt": "a\n", "dist/sub/b.txt": "b\n"},
				"Notes": {"notes.txt": "notes\n"},
			},
		},
		{
			name: "commands: output artifact without files",
			action: with(commandsAction("echo hi > hi.txt"), func(a *pipeline.Action) {
				a.OutputArtifacts = outputs("Out")
			}),
			want: engine.Failed,
			code: engine.CodeConfigurationError,
			msg:  []string{`output artifact "Out"`, "no files"},
		},
		{
			name: "commands: output files matching nothing",
			action: with(commandsAction("true"), func(a *pipeline.Action) {
				a.OutputArtifacts = []pipeline.OutputArtifact{{Name: "Out", Files: []string{"dist/**/*"}}}
			}),
			want: engine.Failed,
			code: engine.CodeJobFailed,
			msg:  []string{`output artifact "Out"`, "no file matches", "dist/**/*"},
		},
		{
			name: "commands: inputs: the first is the cwd and CODEBUILD_SRC_DIR, the others CODEBUILD_SRC_DIR_<name>",
			action: with(commandsAction(
				`HELLO=$(cat hello.txt)`,
				`NESTED=$(cat sub/nested.txt)`,
				`EXTRA=$(cat "$CODEBUILD_SRC_DIR_Extra/extra.txt")`,
				`if [ "$(pwd)" = "$CODEBUILD_SRC_DIR" ]; then SAME=yes; else SAME=no; fi`,
				`SRC=$CODEBUILD_SRC_DIR`,
			), func(a *pipeline.Action) {
				a.OutputVariables = []string{"HELLO", "NESTED", "EXTRA", "SAME", "SRC"}
			}),
			inputs: []input{
				{name: "Src", files: map[string]string{"hello.txt": "hi\n", "sub/nested.txt": "deep\n"}},
				{name: "Extra", files: map[string]string{"extra.txt": "more\n"}},
			},
			want: engine.Succeeded,
			check: func(t *testing.T, h *harness, res *engine.Result, log string) {
				v := res.OutputVariables
				want := map[string]string{"HELLO": "hi", "NESTED": "deep", "EXTRA": "more", "SAME": "yes"}
				for k, w := range want {
					if v[k] != w {
						t.Errorf("%s = %q, want %q", k, v[k], w)
					}
				}
				if rel, err := filepath.Rel(h.workDir, v["SRC"]); err != nil || !filepath.IsLocal(rel) {
					t.Errorf("CODEBUILD_SRC_DIR = %q is not inside the work dir %s", v["SRC"], h.workDir)
				}
			},
		},
		{
			name:   "commands: failing command",
			action: commandsAction("echo before", "false", "echo never"),
			want:   engine.Failed,
			code:   engine.CodeJobFailed,
			msg:    []string{`"false"`, "BUILD", "exit"},
			check: func(t *testing.T, h *harness, res *engine.Result, log string) {
				if !strings.Contains(log, "before") || strings.Contains(log, "echo never") {
					t.Errorf("the commands after the failed one should not run:\n%s", log)
				}
			},
		},
		{
			name:           "commands: timeout kills the build",
			provider:       &Provider{timeoutUnit: 200 * time.Millisecond},
			action:         commandsAction("sleep 30", "echo never"),
			timeoutMinutes: 1,
			want:           engine.Failed,
			code:           engine.CodeTimedOut,
			msg:            []string{"timed out", "sleep 30"},
			check: func(t *testing.T, h *harness, res *engine.Result, log string) {
				if h.elapsed > 15*time.Second {
					t.Errorf("the build was not killed at its timeout: the run took %s", h.elapsed)
				}
			},
		},

		// CodeBuild action.
		{
			name:   "codebuild: buildspec.yml of the primary input, exported variables",
			action: codeBuildAction(map[string]string{"ProjectName": "local"}),
			inputs: []input{{name: "Src", files: map[string]string{
				"buildspec.yml": spec([]string{"NAME", "KIND"}, "NAME=$(cat name.txt)", "export KIND=tool"),
				"name.txt":      "widget\n",
			}}},
			want: engine.Succeeded,
			vars: map[string]string{"NAME": "widget", "KIND": "tool"},
		},
		{
			name: "codebuild: inline BuildspecOverride wins over buildspec.yml",
			action: codeBuildAction(map[string]string{
				ConfigBuildspecOverride: spec([]string{"V"}, "V=inline"),
			}),
			inputs: []input{{name: "Src", files: map[string]string{"buildspec.yml": spec(nil, "false")}}},
			want:   engine.Succeeded,
			vars:   map[string]string{"V": "inline"},
		},
		{
			name: "codebuild: one-line inline BuildspecOverride (flow mapping)",
			action: codeBuildAction(map[string]string{
				ConfigBuildspecOverride: `{version: 0.2, env: {exported-variables: [V]}, phases: {build: {commands: ["V=flow"]}}}`,
			}),
			want: engine.Succeeded,
			vars: map[string]string{"V": "flow"},
		},
		{
			name:   "codebuild: BuildspecOverride as a path in the source",
			action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "ci/build.yml"}),
			inputs: []input{{name: "Src", files: map[string]string{
				"ci/build.yml":  spec([]string{"V"}, "V=from-path"),
				"buildspec.yml": spec(nil, "false"),
			}}},
			want: engine.Succeeded,
			vars: map[string]string{"V": "from-path"},
		},
		{
			// A path starting with "version" is a path, not inline YAML.
			name:   "codebuild: BuildspecOverride path named version.yml",
			action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "version.yml"}),
			inputs: []input{{name: "Src", files: map[string]string{"version.yml": spec([]string{"V"}, "V=versioned")}}},
			want:   engine.Succeeded,
			vars:   map[string]string{"V": "versioned"},
		},
		{
			name:   "codebuild: BuildspecOverride path that does not exist",
			action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "ci/missing.yml"}),
			inputs: []input{{name: "Src", files: map[string]string{"buildspec.yml": spec(nil, "true")}}},
			want:   engine.Failed,
			code:   engine.CodeConfigurationError,
			msg:    []string{"no buildspec", "ci/missing.yml"},
		},
		{
			name:   "codebuild: BuildspecOverride path leaving the source",
			action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "../buildspec.yml"}),
			inputs: []input{{name: "Src", files: map[string]string{"buildspec.yml": spec(nil, "true")}}},
			want:   engine.Failed,
			code:   engine.CodeConfigurationError,
			msg:    []string{"../buildspec.yml", "inside the source"},
		},
		{
			name:   "codebuild: missing buildspec",
			action: codeBuildAction(map[string]string{"ProjectName": "local"}),
			inputs: []input{{name: "Src", files: map[string]string{"main.go": "package main\n"}}},
			want:   engine.Failed,
			code:   engine.CodeConfigurationError,
			msg:    []string{"no buildspec", "buildspec.yml", "BuildspecOverride"},
		},
		{
			name:   "codebuild: invalid buildspec",
			action: codeBuildAction(map[string]string{ConfigBuildspecOverride: "version: 0.1\nphases:\n  build:\n    commands: [true]\n"}),
			want:   engine.Failed,
			code:   engine.CodeConfigurationError,
			msg:    []string{"BuildspecOverride", "version 0.1"},
		},
		{
			name: "codebuild: EnvironmentVariables configuration, PLAINTEXT",
			action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"name":"GREETING","value":"hi $(touch pwned)","type":"PLAINTEXT"},{"name":"UNTYPED","value":"plain"}]`,
				ConfigBuildspecOverride:    "version: 0.2\nenv:\n  variables:\n    GREETING: from-spec\n    SPEC_ONLY: kept\n  exported-variables: [GOT]\nphases:\n  build:\n    commands:\n      - 'GOT=\"$GREETING|$UNTYPED|$SPEC_ONLY\"'\n",
			}),
			want: engine.Succeeded,
			vars: map[string]string{"GOT": "hi $(touch pwned)|plain|kept"},
			check: func(t *testing.T, h *harness, res *engine.Result, log string) {
				if found := findFiles(t, h.parent, "pwned"); len(found) > 0 {
					t.Errorf("a variable's value was executed: %v", found)
				}
			},
		},
		{
			name: "codebuild: EnvironmentVariables configuration, SECRETS_MANAGER",
			action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"name":"TOKEN","value":"prod/token","type":"SECRETS_MANAGER"}]`,
				ConfigBuildspecOverride:    spec(nil, "true"),
			}),
			want: engine.Failed,
			code: engine.CodeConfigurationError,
			msg:  []string{"EnvironmentVariables[0]", "TOKEN", "SECRETS_MANAGER", "only PLAINTEXT"},
		},
		{
			name: "codebuild: EnvironmentVariables configuration, malformed JSON",
			action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"name":"X","value":"1"`,
				ConfigBuildspecOverride:    spec(nil, "true"),
			}),
			want: engine.Failed,
			code: engine.CodeConfigurationError,
			msg:  []string{"EnvironmentVariables must be a JSON list"},
		},
		{
			name: "codebuild: EnvironmentVariables configuration, entry without a name",
			action: codeBuildAction(map[string]string{
				ConfigEnvironmentVariables: `[{"value":"1"}]`,
				ConfigBuildspecOverride:    spec(nil, "true"),
			}),
			want: engine.Failed,
			code: engine.CodeConfigurationError,
			msg:  []string{"EnvironmentVariables[0]", "name is required"},
		},
		{
			name: "codebuild: buildspec using secrets-manager",
			action: codeBuildAction(map[string]string{
				ConfigBuildspecOverride: "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: prod/token\nphases:\n  build:\n    commands: [true]\n",
			}),
			want: engine.Failed,
			code: engine.CodeConfigurationError,
			msg:  []string{"secrets-manager"},
		},
		{
			name: "codebuild: two output artifacts: artifacts.files, then secondary-artifacts by identifier",
			action: with(codeBuildAction(map[string]string{
				ConfigBuildspecOverride: spec(nil, "mkdir -p bin docs", "echo app > bin/app", "echo read me > docs/README.md", "echo junk > junk.txt") +
					"artifacts:\n  base-directory: bin\n  files: ['**/*']\n  secondary-artifacts:\n    Docs:\n      files: ['docs/**/*']\n",
			}), func(a *pipeline.Action) { a.OutputArtifacts = outputs("BuildOut", "Docs") }),
			want: engine.Succeeded,
			outputs: map[string]map[string]string{
				"BuildOut": {"app": "app\n"},
				"Docs":     {"docs/README.md": "read me\n"},
			},
		},
		{
			name: "codebuild: output artifact, buildspec without artifacts",
			action: with(codeBuildAction(map[string]string{ConfigBuildspecOverride: spec(nil, "echo x > x")}),
				func(a *pipeline.Action) { a.OutputArtifacts = outputs("Out") }),
			want: engine.Failed,
			code: engine.CodeConfigurationError,
			msg:  []string{`output artifact "Out"`, "no artifacts for it", "artifacts.files", "secondary-artifacts.Out"},
		},
		{
			name: "codebuild: second output artifact missing from secondary-artifacts",
			action: with(codeBuildAction(map[string]string{
				ConfigBuildspecOverride: spec(nil, "echo x > x") + "artifacts:\n  files: [x]\n",
			}), func(a *pipeline.Action) { a.OutputArtifacts = outputs("Out", "Extra") }),
			want: engine.Failed,
			code: engine.CodeConfigurationError,
			msg:  []string{`output artifact "Extra"`, "secondary-artifacts.Extra"},
		},
		{
			name: "codebuild: PrimarySource picks the primary input",
			action: codeBuildAction(map[string]string{
				ConfigPrimarySource: "B",
			}),
			inputs: []input{
				{name: "A", files: map[string]string{"buildspec.yml": spec(nil, "false"), "who.txt": "a\n"}},
				{name: "B", files: map[string]string{
					"buildspec.yml": spec([]string{"WHO", "OTHER"}, "WHO=$(cat who.txt)", `OTHER=$(cat "$CODEBUILD_SRC_DIR_A/who.txt")`),
					"who.txt":       "b\n",
				}},
			},
			want: engine.Succeeded,
			vars: map[string]string{"WHO": "b", "OTHER": "a"},
		},
		{
			name:   "codebuild: PrimarySource that is no input",
			action: codeBuildAction(map[string]string{ConfigPrimarySource: "Nope"}),
			inputs: []input{{name: "Src", files: map[string]string{"buildspec.yml": spec(nil, "true")}}},
			want:   engine.Failed,
			code:   engine.CodeConfigurationError,
			msg:    []string{"PrimarySource", `"Nope"`},
		},

		// Unsafe input artifacts.
		{
			name:   "zip-slip entry ../evil",
			action: commandsAction("touch ran"),
			inputs: []input{{name: "Src", raw: crafted("ok.txt", "../evil")}},
			want:   engine.Failed,
			code:   engine.CodeJobFailed,
			msg:    []string{`input artifact "Src"`, `"../evil"`, "escapes"},
			check:  checkNoEscape,
		},
		{
			name:   "zip-slip entry leaving the work dir",
			action: commandsAction("touch ran"),
			inputs: []input{{name: "Src", raw: crafted("ok.txt", "../../../evil")}},
			want:   engine.Failed,
			code:   engine.CodeJobFailed,
			msg:    []string{`"../../../evil"`, "escapes"},
			check:  checkNoEscape,
		},

		// Types that need AWS.
		{
			name:     "unsupported: CodeDeploy",
			provider: actions.Unsupported{},
			action:   pipeline.Action{Name: "Deploy", ActionTypeID: codeDeployTyp, Configuration: map[string]string{"ApplicationName": "app"}},
			want:     engine.Failed,
			code:     engine.CodeConfigurationError,
			msg:      []string{"CodeDeploy", "runs only when Stageflow is deployed to AWS"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for _, in := range tc.inputs {
				h.put(t, in)
				tc.action.InputArtifacts = append(tc.action.InputArtifacts, pipeline.InputArtifact{Name: in.name})
			}
			p := tc.provider
			if p == nil {
				p = &Provider{}
			}
			var log bytes.Buffer
			start := time.Now()
			res := p.Run(t.Context(), h.job(tc.action, tc.timeoutMinutes, &log))
			h.elapsed = time.Since(start)
			if res == nil {
				t.Fatalf("Run returned no result; it must run the job to its end\nlog:\n%s", log.String())
			}
			if res.Status != tc.want || res.ErrorCode != tc.code {
				t.Fatalf("result %s/%q (%s), want %s/%q\nlog:\n%s", res.Status, res.ErrorCode, res.ErrorMessage, tc.want, tc.code, log.String())
			}
			for _, m := range tc.msg {
				if !strings.Contains(res.ErrorMessage, m) {
					t.Errorf("error message %q lacks %q", res.ErrorMessage, m)
				}
			}
			if tc.want == engine.Failed && res.ErrorMessage == "" {
				t.Error("a failed result needs an error message")
			}
			if tc.vars != nil || (tc.check == nil && tc.want == engine.Succeeded) {
				if !reflect.DeepEqual(res.OutputVariables, tc.vars) {
					t.Errorf("output variables %v, want %v", res.OutputVariables, tc.vars)
				}
			}
			for name, want := range tc.outputs {
				if got := h.artifact(t, name); !reflect.DeepEqual(got, want) {
					t.Errorf("artifact %s holds %v, want %v", name, got, want)
				}
			}
			if tc.check != nil {
				tc.check(t, h, res, log.String())
			}
		})
	}
}

// checkNoEscape checks that an unsafe input artifact wrote nothing outside
// its own directory and that no command ran.
func checkNoEscape(t *testing.T, h *harness, res *engine.Result, log string) {
	t.Helper()
	if found := findFiles(t, h.parent, "evil"); len(found) > 0 {
		t.Errorf("the unsafe entry was written: %v", found)
	}
	if found := findFiles(t, h.parent, "ran"); len(found) > 0 {
		t.Errorf("the commands ran despite the unsafe input: %v", found)
	}
	entries, err := os.ReadDir(h.parent)
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
	h := newHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	log := &lockedBuffer{}
	marker := filepath.Join(t.TempDir(), "started")
	a := with(commandsAction(`touch "$MARKER"`, "sleep 30"), func(a *pipeline.Action) {
		a.EnvironmentVariables = []pipeline.EnvironmentVariable{{Name: "MARKER", Value: marker}}
	})
	done := make(chan *engine.Result, 1)
	start := time.Now()
	go func() { done <- (&Provider{}).Run(ctx, h.job(a, 0, log)) }()

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

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		unit    time.Duration
		minutes int
		want    time.Duration
	}{
		{0, 0, DefaultTimeout},
		{0, 5, 5 * time.Minute},
		{time.Second, 0, 60 * time.Second},
		{time.Second, 7, 7 * time.Second},
	} {
		p := &Provider{timeoutUnit: tc.unit}
		if got := p.timeout(tc.minutes); got != tc.want {
			t.Errorf("unit %s, %d minutes: timeout %s, want %s", tc.unit, tc.minutes, got, tc.want)
		}
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

// lockedBuffer is a log written by the build's output copier while the
// test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
