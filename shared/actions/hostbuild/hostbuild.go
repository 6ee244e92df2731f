// Package hostbuild is what the Commands and CodeBuild providers share: it
// runs a CodeBuild buildspec (version 0.2, see package buildspec) for an
// action job on the host shell, in the run's own work directory, with the
// job's input artifacts unpacked there and its output artifacts zipped from
// there. Each provider says how its action becomes a buildspec (Prepare) and
// which part of the build makes each output artifact.
//
// Every input artifact is unpacked into <work>/src/<name> and is
// CODEBUILD_SRC_DIR_<name>; the primary source (the first input, or the one
// the provider names) is the build's working directory and
// CODEBUILD_SRC_DIR. An action without inputs builds in an empty directory.
package hostbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/buildspec"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
)

// DefaultTimeout applies when the action declares no timeoutInMinutes
// (CodeBuild's default build timeout). It is no longer than the engine's
// timeout of the run (engine.ActionTimeout: 1 hour for Commands, 8 hours for
// CodeBuild), which the runner enforces too; a declared timeoutInMinutes is
// both.
const DefaultTimeout = 60 * time.Minute

// Sources are the job's unpacked input artifacts.
type Sources struct {
	// Primary is the primary source directory: the build's working
	// directory.
	Primary string
	// Dirs maps every input artifact's name to its directory.
	Dirs map[string]string
}

// Build is a provider's reading of a job.
type Build struct {
	Spec *buildspec.Spec
	// Env holds the action's own "NAME=value" variables, which come on top
	// of Host.Env and the buildspec's env.variables.
	Env []string
	// SecretEnv are the action's variables whose values are secret
	// references (SECRETS_MANAGER, PARAMETER_STORE), resolved from
	// Host.Secrets; they rank with Env.
	SecretEnv []buildspec.SecretVar
	// Artifact returns what makes the i-th output artifact (named name) of
	// the run; its error is a configuration error.
	Artifact func(i int, name string) (buildspec.ArtifactSpec, error)
}

// Host runs builds on this machine.
type Host struct {
	// Env, if set, adds "NAME=value" entries to the environment of every
	// build. Builds start from the base environment of package buildspec
	// (PATH, HOME, the locale, TMPDIR in the run's work directory, ...),
	// never from this whole process's environment; Env comes on top of it
	// and of the buildspec's env.variables, and the action's own
	// environment variables come on top of Env.
	Env []string
	// PassEnv names variables of this process's environment that every
	// build gets too, when they are set (`stageflow serve --pass-env`).
	PassEnv []string
	// Secrets resolves the secrets builds use (the buildspec's
	// secrets-manager and parameter-store, Build.SecretEnv); their values
	// are masked in the job's log. Nil fails builds that use any.
	Secrets buildspec.Secrets
	// TimeoutUnit is the length of one minute of timeoutInMinutes (and of
	// DefaultTimeout); zero means time.Minute. Tests shorten it, since an
	// action cannot declare less than a minute.
	TimeoutUnit time.Duration
}

// Resumable is false: a build that was running when the process stopped is
// gone. Providers that embed a Host inherit it.
func (Host) Resumable() bool { return false }

// OccupiesMachine is true: a build runs processes on this machine, so it
// counts against the runner's cap of parallel actions (actions.MachineBound).
// Providers that embed a Host inherit it.
func (Host) OccupiesMachine() bool { return true }

// Run runs the job to its end: it unpacks the inputs (primary names the
// primary source; "" takes the first input), asks prepare for the build,
// runs it and uploads the outputs. Every failure is a failed result, its
// reason also written to the job's log.
func (h Host) Run(ctx context.Context, job *actions.Job, primary string, prepare func(Sources) (*Build, error)) *engine.Result {
	res, err := h.run(ctx, job, primary, prepare)
	if err != nil {
		fmt.Fprintf(job.Log, "[Stageflow] %v\n", err)
		code := engine.CodeJobFailed
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

// ConfigErrorf makes an error that fails the action with
// engine.CodeConfigurationError (any other error fails it with JobFailed).
func ConfigErrorf(format string, args ...any) error {
	return configError{fmt.Sprintf(format, args...)}
}

func (h Host) run(ctx context.Context, job *actions.Job, primary string, prepare func(Sources) (*Build, error)) (*engine.Result, error) {
	run := job.Run
	src, err := unpack(ctx, job, primary)
	if err != nil {
		return nil, err
	}
	b, err := prepare(src)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(job.Log, "[Stageflow] running %s action %q of stage %q in %s\n", run.Type.Provider, run.Action, run.Stage, src.Primary)
	for _, k := range b.Spec.Ignored {
		fmt.Fprintf(job.Log, "[Stageflow] buildspec %s has no effect when run locally\n", k)
	}
	br, err := buildspec.Execute(ctx, buildspec.Run{
		Spec: b.Spec, WorkDir: src.Primary, Secondary: src.Dirs, Env: append(append([]string{}, h.Env...), b.Env...),
		PassEnv: h.PassEnv, TempDir: filepath.Join(job.WorkDir, "tmp"), Secrets: h.Secrets, SecretEnv: b.SecretEnv,
		Log: job.Log, Timeout: h.Timeout(run.TimeoutInMinutes),
	})
	if err != nil && br == nil {
		return nil, ConfigErrorf("%v", err)
	}
	if err != nil {
		return &engine.Result{Status: engine.Failed, ErrorCode: engine.CodeInterrupted, ErrorMessage: "the build was stopped: " + err.Error()}, nil
	}
	if !br.Succeeded {
		code := engine.CodeJobFailed
		if br.TimedOut {
			code = engine.CodeTimedOut
		}
		return &engine.Result{Status: engine.Failed, ErrorCode: code, ErrorMessage: br.Reason}, nil
	}
	if n := engine.OutputVariablesSize(br.Exported); n > engine.MaxOutputVariablesSize {
		return &engine.Result{Status: engine.Failed, ErrorCode: engine.CodeJobFailed, ErrorMessage: fmt.Sprintf(
			"the exported output variables total %d characters; an action's output variables may total at most %d", n, engine.MaxOutputVariablesSize)}, nil
	}
	for i, out := range run.OutputArtifacts {
		as, err := b.Artifact(i, out.Name)
		if err != nil {
			return nil, err
		}
		if err := upload(ctx, job, src.Primary, out, as); err != nil {
			return &engine.Result{Status: engine.Failed, ErrorCode: engine.CodeJobFailed, ErrorMessage: fmt.Sprintf("output artifact %q: %v", out.Name, err)}, nil
		}
	}
	outVars := br.Exported
	if len(outVars) == 0 {
		outVars = nil
	}
	return &engine.Result{Status: engine.Succeeded, Summary: fmt.Sprintf("%s succeeded", run.Type.Provider), OutputVariables: outVars}, nil
}

// unpack unpacks each input into src/<name> of the work directory.
func unpack(ctx context.Context, job *actions.Job, primary string) (Sources, error) {
	src := Sources{Dirs: map[string]string{}}
	for i, in := range job.Run.InputArtifacts {
		dir := filepath.Join(job.WorkDir, "src", in.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return src, err
		}
		if err := job.Artifacts.Download(ctx, in.Bucket, in.Key, dir); err != nil {
			return src, fmt.Errorf("unpacking input artifact %q: %w", in.Name, err)
		}
		src.Dirs[in.Name] = dir
		if i == 0 && primary == "" {
			primary = in.Name
		}
	}
	if primary == "" {
		src.Primary = filepath.Join(job.WorkDir, "src", "_primary")
		return src, os.MkdirAll(src.Primary, 0o755)
	}
	d, ok := src.Dirs[primary]
	if !ok {
		return src, ConfigErrorf("PrimarySource %q is not an input artifact of this action", primary)
	}
	src.Primary = d
	return src, nil
}

// Timeout is the build timeout of an action declaring that many minutes
// (0: DefaultTimeout).
func (h Host) Timeout(minutes int) time.Duration {
	unit := h.TimeoutUnit
	if unit <= 0 {
		unit = time.Minute
	}
	if minutes <= 0 {
		return DefaultTimeout / time.Minute * unit
	}
	return time.Duration(minutes) * unit
}

func upload(ctx context.Context, job *actions.Job, srcDir string, out engine.ArtifactRef, as buildspec.ArtifactSpec) error {
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

// SecretVar reads an action's environment variable of type typ: nil for
// PLAINTEXT (or no type), the secret reference for SECRETS_MANAGER and
// PARAMETER_STORE, and a configuration error naming where (and the
// variable) for any other type.
func SecretVar(where, name, value, typ string) (*buildspec.SecretVar, error) {
	switch typ {
	case "", "PLAINTEXT":
		return nil, nil
	case buildspec.TypeSecretsManager, buildspec.TypeParameterStore:
		return &buildspec.SecretVar{Name: name, Type: typ, Ref: value}, nil
	}
	return nil, ConfigErrorf("%s (%s) has type %s; use PLAINTEXT, SECRETS_MANAGER or PARAMETER_STORE", where, name, typ)
}
