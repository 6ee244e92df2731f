// Package commands runs CodePipeline's Commands action (Compute/AWS/Commands)
// and the CodeBuild action (Build or Test/AWS/CodeBuild) on this machine: the
// action becomes a CodeBuild buildspec (version 0.2) run on the host shell in
// the run's own work directory, with its input artifacts unpacked there and
// its output artifacts zipped from there.
//
//   - Commands: the action's `commands` make the BUILD phase; its
//     `environmentVariables` are set; the variables named in
//     `outputVariables` are exported as the action's output variables; each
//     output artifact is made of its `files` patterns, relative to the
//     primary source directory.
//   - CodeBuild: the buildspec is the BuildspecOverride configuration (inline
//     YAML, or a path inside the primary source) or buildspec.yml of the
//     primary source; the EnvironmentVariables configuration (a JSON list of
//     {name, value, type}, PLAINTEXT only here) is set; env.exported-variables
//     become output variables; the first output artifact is the buildspec's
//     primary artifact and the others are its secondary-artifacts by
//     identifier.
//
// The first input artifact (or the one PrimarySource names) is the primary
// source, CODEBUILD_SRC_DIR; every input is also CODEBUILD_SRC_DIR_<name>.
package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/buildspec"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
)

// DefaultTimeout applies when the action declares no timeoutInMinutes
// (CodeBuild's default build timeout).
const DefaultTimeout = 60 * time.Minute

// Configuration keys of the CodeBuild action.
const (
	ConfigBuildspecOverride    = "BuildspecOverride"
	ConfigEnvironmentVariables = "EnvironmentVariables"
	ConfigPrimarySource        = "PrimarySource"
)

// Provider runs Commands and CodeBuild actions locally.
type Provider struct {
	// Env, if set, adds "NAME=value" entries to the environment of every
	// build. Builds always start from this process's environment; Env comes
	// on top of it and of the buildspec's env.variables, and the action's
	// own environment variables come on top of Env.
	Env []string

	// timeoutUnit is the length of one minute of timeoutInMinutes (and of
	// DefaultTimeout); zero means time.Minute. Tests shorten it, since an
	// action cannot declare less than a minute.
	timeoutUnit time.Duration
}

var _ actions.Provider = (*Provider)(nil)

// Resumable is false: a build that was running when the process stopped is
// gone.
func (*Provider) Resumable() bool { return false }

// Run runs the action to its end.
func (p *Provider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	res, err := p.run(ctx, job)
	if err != nil {
		fmt.Fprintf(job.Log, "[Stageflow] %v\n", err)
		code := "JobFailed"
		if errors.Is(err, errConfig) {
			code = engine.CodeConfigurationError
		}
		return &engine.Result{Status: engine.Failed, ErrorCode: code, ErrorMessage: err.Error()}
	}
	return res
}

var errConfig = errors.New("configuration error")

type configError struct{ msg string }

func (e configError) Error() string      { return e.msg }
func (configError) Is(target error) bool { return target == errConfig }

func configErrorf(format string, args ...any) error {
	return configError{fmt.Sprintf(format, args...)}
}

func (p *Provider) run(ctx context.Context, job *actions.Job) (*engine.Result, error) {
	run := job.Run
	isCommands := run.Type.Provider == "Commands"

	// Unpack the inputs: each into src/<name>; the primary is the build's
	// working directory.
	dirs := map[string]string{}
	primary := ""
	if want := run.Configuration[ConfigPrimarySource]; want != "" && !isCommands {
		primary = want
	}
	for i, in := range run.InputArtifacts {
		dir := filepath.Join(job.WorkDir, "src", in.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := job.Artifacts.Download(ctx, in.Bucket, in.Key, dir); err != nil {
			return nil, fmt.Errorf("unpacking input artifact %q: %w", in.Name, err)
		}
		dirs[in.Name] = dir
		if i == 0 && primary == "" {
			primary = in.Name
		}
	}
	srcDir := filepath.Join(job.WorkDir, "src", "_primary")
	if primary != "" {
		d, ok := dirs[primary]
		if !ok {
			return nil, configErrorf("PrimarySource %q is not an input artifact of this action", primary)
		}
		srcDir = d
	} else if err := os.MkdirAll(srcDir, 0o755); err != nil {
		return nil, err
	}

	var spec *buildspec.Spec
	env := []string{}
	if isCommands {
		if len(run.Commands) == 0 {
			return nil, configErrorf("the Commands action has no commands")
		}
		spec = buildspec.FromCommands(run.Commands)
		for _, k := range slices.Sorted(maps.Keys(run.EnvironmentVariables)) {
			env = append(env, k+"="+run.EnvironmentVariables[k])
		}
		for _, ev := range job.Action.EnvironmentVariables {
			if ev.Type != "" && ev.Type != "PLAINTEXT" {
				return nil, configErrorf("environment variable %s has type %s, which needs AWS; only PLAINTEXT runs locally", ev.Name, ev.Type)
			}
		}
		spec.Env.ExportedVariables = append([]string(nil), job.Action.OutputVariables...)
	} else {
		var err error
		if spec, err = loadBuildspec(run.Configuration[ConfigBuildspecOverride], srcDir); err != nil {
			return nil, err
		}
		vars, err := codeBuildEnv(run.Configuration[ConfigEnvironmentVariables])
		if err != nil {
			return nil, err
		}
		env = append(env, vars...)
	}

	timeout := p.timeout(run.TimeoutInMinutes)
	secondary := map[string]string{}
	for name, d := range dirs {
		secondary[name] = d
	}
	fmt.Fprintf(job.Log, "[Stageflow] running %s action %q of stage %q in %s\n", run.Type.Provider, run.Action, run.Stage, srcDir)
	for _, k := range spec.Ignored {
		fmt.Fprintf(job.Log, "[Stageflow] buildspec %s has no effect when run locally\n", k)
	}
	br, err := buildspec.Execute(ctx, buildspec.Run{
		Spec: spec, WorkDir: srcDir, Secondary: secondary, Env: append(append([]string{}, p.Env...), env...),
		Log: job.Log, Timeout: timeout,
	})
	if err != nil && br == nil {
		return nil, configErrorf("%v", err)
	}
	if err != nil {
		return &engine.Result{Status: engine.Failed, ErrorCode: engine.CodeInterrupted, ErrorMessage: "the build was stopped: " + err.Error()}, nil
	}
	if !br.Succeeded {
		code := "JobFailed"
		if br.TimedOut {
			code = engine.CodeTimedOut
		}
		return &engine.Result{Status: engine.Failed, ErrorCode: code, ErrorMessage: br.Reason}, nil
	}

	// Outputs.
	for i, out := range run.OutputArtifacts {
		var as buildspec.ArtifactSpec
		switch {
		case isCommands:
			files := outputFiles(job, out.Name)
			if len(files) == 0 {
				return nil, configErrorf("output artifact %q lists no files", out.Name)
			}
			as = buildspec.ArtifactSpec{Files: files}
		case i == 0 && spec.Artifacts.HasPrimary():
			as = spec.Artifacts.ArtifactSpec
		default:
			sec, ok := buildspecSecondary(spec, out.Name)
			if !ok {
				return nil, configErrorf("output artifact %q: the buildspec has no artifacts for it (the first output artifact takes artifacts.files, the others secondary-artifacts.%s)", out.Name, out.Name)
			}
			as = sec
		}
		if err := p.upload(ctx, job, srcDir, out, as); err != nil {
			return &engine.Result{Status: engine.Failed, ErrorCode: "JobFailed", ErrorMessage: fmt.Sprintf("output artifact %q: %v", out.Name, err)}, nil
		}
	}
	outVars := br.Exported
	if len(outVars) == 0 {
		outVars = nil
	}
	return &engine.Result{Status: engine.Succeeded, Summary: fmt.Sprintf("%s succeeded", run.Type.Provider), OutputVariables: outVars}, nil
}

// timeout is the build timeout of an action declaring that many minutes
// (0: DefaultTimeout).
func (p *Provider) timeout(minutes int) time.Duration {
	unit := p.timeoutUnit
	if unit <= 0 {
		unit = time.Minute
	}
	if minutes <= 0 {
		return DefaultTimeout / time.Minute * unit
	}
	return time.Duration(minutes) * unit
}

func (p *Provider) upload(ctx context.Context, job *actions.Job, srcDir string, out engine.ArtifactRef, as buildspec.ArtifactSpec) error {
	dest := filepath.Join(job.WorkDir, "out", out.Name)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	files, err := buildspec.Collect(srcDir, as, dest)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := artifacts.ZipDir(dest, &buf); err != nil {
		return err
	}
	fmt.Fprintf(job.Log, "[Stageflow] output artifact %s: %d files, %d bytes zipped\n", out.Name, len(files), buf.Len())
	return job.Artifacts.Upload(ctx, out.Bucket, out.Key, &buf)
}

func outputFiles(job *actions.Job, name string) []string {
	for _, o := range job.Action.OutputArtifacts {
		if o.Name == name {
			return o.Files
		}
	}
	return nil
}

func buildspecSecondary(s *buildspec.Spec, name string) (buildspec.ArtifactSpec, bool) {
	if s.Artifacts == nil {
		return buildspec.ArtifactSpec{}, false
	}
	a, ok := s.Artifacts.Secondary[name]
	return a, ok
}

// loadBuildspec reads the buildspec of a CodeBuild action: BuildspecOverride
// as inline YAML or as a path in the source, else buildspec.yml there.
func loadBuildspec(override, srcDir string) (*buildspec.Spec, error) {
	var data []byte
	where := ""
	switch {
	case inlineBuildspec(override):
		data, where = []byte(override), "BuildspecOverride"
	default:
		rel := override
		if rel == "" {
			rel = "buildspec.yml"
		}
		if !filepath.IsLocal(rel) {
			return nil, configErrorf("buildspec path %q must stay inside the source", rel)
		}
		b, err := os.ReadFile(filepath.Join(srcDir, rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, configErrorf("no buildspec: the primary source has no %s (set BuildspecOverride to inline YAML or another path)", rel)
		}
		if err != nil {
			return nil, err
		}
		data, where = b, rel
	}
	spec, err := buildspec.Parse(data)
	if err != nil {
		return nil, configErrorf("%s: %v", where, err)
	}
	return spec, nil
}

// inlineRE matches the start of a one-line inline buildspec: a "version"
// key, or a YAML flow mapping.
var inlineRE = regexp.MustCompile(`^(version\s*:|\{)`)

// inlineBuildspec tells an inline buildspec from a path: YAML text has
// several lines or starts with the version key (or "{"); a path such as
// "version.yml" or "versions/buildspec.yml" is not inline.
func inlineBuildspec(override string) bool {
	return strings.Contains(override, "\n") || inlineRE.MatchString(strings.TrimSpace(override))
}

// codeBuildEnv decodes the EnvironmentVariables configuration.
func codeBuildEnv(cfg string) ([]string, error) {
	if cfg == "" {
		return nil, nil
	}
	var vars []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	if err := json.Unmarshal([]byte(cfg), &vars); err != nil {
		return nil, configErrorf("configuration.EnvironmentVariables must be a JSON list of {\"name\", \"value\", \"type\"}: %v", err)
	}
	var out []string
	for i, v := range vars {
		if v.Name == "" {
			return nil, configErrorf("configuration.EnvironmentVariables[%d]: name is required", i)
		}
		if v.Type != "" && v.Type != "PLAINTEXT" {
			return nil, configErrorf("configuration.EnvironmentVariables[%d] (%s) has type %s, which needs AWS; only PLAINTEXT runs locally", i, v.Name, v.Type)
		}
		out = append(out, v.Name+"="+v.Value)
	}
	return out, nil
}
