package buildspec

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
)

// Phase statuses, as CodeBuild reports them.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusStopped   = "STOPPED"
)

// Run is one build to execute.
type Run struct {
	Spec *Spec
	// WorkDir is the primary source directory. The build starts there and
	// finds it in CODEBUILD_SRC_DIR.
	WorkDir string
	// Secondary maps input artifact names to their directories, exposed as
	// CODEBUILD_SRC_DIR_<name>.
	Secondary map[string]string
	// Env holds extra "NAME=value" variables, already resolved: the action's
	// environment variables. They override the buildspec's env.variables, as
	// a project's or a start-build's variables do in CodeBuild.
	//
	// The build's environment is, from lowest to highest precedence: the
	// base environment (see baseEnv: PATH, HOME, TMPDIR, the locale, ...,
	// and the variables PassEnv names, never the rest of this process's
	// environment), env.variables, Env, and the variables set here
	// (CODEBUILD_SRC_DIR, CODEBUILD_SRC_DIR_<name>,
	// CODEBUILD_BUILD_SUCCEEDING, PWD).
	Env []string
	// PassEnv names variables of this process's environment that builds
	// get too, when they are set.
	PassEnv []string
	// Secrets resolves env.secrets-manager, env.parameter-store and
	// SecretEnv; nil refuses builds that use them. Every resolved value is
	// masked (***) in Log.
	Secrets Secrets
	// SecretEnv are the action's variables whose values are secret
	// references; they rank with Env, after it.
	SecretEnv []SecretVar
	// TempDir is the build's TMPDIR, created if missing; "" makes one that
	// is removed when the build ends.
	TempDir string
	// Log receives the build's standard output and standard error, plus
	// "[Container] ..." lines marking phases and commands. Nil discards.
	Log io.Writer
	// Timeout, if not zero, bounds the build; when it expires the whole
	// process group of the build is killed.
	Timeout time.Duration
}

// PhaseResult is how one phase ended.
type PhaseResult struct {
	Name     string // PhaseInstall, ...
	Status   string // StatusSucceeded, StatusFailed, StatusTimedOut or StatusStopped
	Duration time.Duration
	// FailedCommand is the first command of the phase that failed, or was
	// running when the build was cut short; ExitCode is its exit code (-1
	// when it was killed).
	FailedCommand string
	ExitCode      int
	// InFinally tells that FailedCommand is from the phase's finally block.
	InFinally bool
}

// Result is how a build ended.
type Result struct {
	// Phases lists the phases that ran, in order. Phases skipped after a
	// failure are absent.
	Phases []PhaseResult
	// Exported holds the values of env.exported-variables at the end of the
	// build (an unset variable reads as ""). It is empty when the build was
	// killed before it could report them.
	Exported  map[string]string
	Succeeded bool
	TimedOut  bool
	// Reason says in one sentence why the build did not succeed.
	Reason string
}

// waitForOutput bounds how long Execute waits, once the build's shell has
// ended and its process group was killed, for processes that left the group
// to close the output pipes.
const waitForOutput = 3 * time.Second

// Execute runs the buildspec's phases in one shell session in r.WorkDir.
//
// Execute follows CodeBuild: the commands of a phase run in order until one
// fails; the phase's finally commands then run in any case (they too stop at
// the first failure); the phase fails when any of its commands failed. After
// a failed phase, on-failure decides: CONTINUE goes on with the next phase,
// ABORT ends the build, and without on-failure a failed INSTALL or PRE_BUILD
// ends the build while a failed BUILD still goes on to POST_BUILD. After a
// phase fails, CODEBUILD_BUILD_SUCCEEDING is 0 for the rest of the build.
//
// Each command is handed to the shell's eval, so `cd`, `export` and shell
// variables persist. Under /bin/sh, a command is first checked with `sh -n`
// so that a syntax error fails that command instead of ending the shell.
// A command that runs `exit` ends the whole build shell: the rest of the
// phase, its finally block and later phases do not run. The driver uses file
// descriptor 9; commands must leave it alone. Processes a build leaves running
// in the background are killed when the build ends.
//
// The error is for problems setting up the build (bad spec, missing
// directory, shell not found, a secret that cannot be resolved); a
// failed build is a Result with Succeeded false. When ctx is canceled the
// build is killed and Execute returns its Result together with ctx's error.
func Execute(ctx context.Context, r Run) (*Result, error) {
	s := r.Spec
	if s == nil {
		return nil, errs.New(errs.Validation, "buildspec: no buildspec to run")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	shell, precheck, err := findShell(s.Env.Shell)
	if err != nil {
		return nil, err
	}
	workDir, err := existingDir(r.WorkDir, "work directory")
	if err != nil {
		return nil, err
	}
	secrets, err := r.resolveSecrets()
	if err != nil {
		return nil, err
	}
	logw := r.Log
	if logw == nil {
		logw = io.Discard
	}
	logw, flush := maskLog(logw, secrets.values)
	defer flush()

	tmp, err := os.MkdirTemp("", "stageflow-build-")
	if err != nil {
		return nil, fmt.Errorf("buildspec: %w", err)
	}
	defer os.RemoveAll(tmp)
	tmpDir := r.TempDir
	if tmpDir == "" {
		tmpDir = filepath.Join(tmp, "tmp")
	}
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("buildspec: the build's TMPDIR: %w", err)
	}
	env, err := r.environ(workDir, tmpDir, shell, secrets)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(tmp, "driver.sh")
	if err := os.WriteFile(script, []byte(driverScript(s, precheck)), 0o600); err != nil {
		return nil, fmt.Errorf("buildspec: %w", err)
	}

	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("buildspec: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		statusR.Close()
		statusW.Close()
		return nil, fmt.Errorf("buildspec: %w", err)
	}
	cmd := exec.Command(shell, script)
	cmd.Dir = workDir
	cmd.Env = env
	cmd.Stdout = outW
	cmd.Stderr = outW
	cmd.ExtraFiles = []*os.File{statusW} // fd 3; the driver moves it to 9
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	for _, key := range s.Ignored {
		fmt.Fprintf(logw, "[Container] Ignoring %s: not supported by Stageflow\n", key)
	}
	fmt.Fprintf(logw, "[Container] Running the buildspec with %s in %s\n", shell, workDir)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{statusR, statusW, outR, outW} {
			f.Close()
		}
		return nil, fmt.Errorf("buildspec: start %s: %w", shell, err)
	}
	statusW.Close()
	outW.Close()
	pgid := cmd.Process.Pid

	copied := make(chan struct{})
	go func() {
		// Keep draining the pipe even if Log fails, or the build would block.
		io.Copy(&tolerantWriter{w: logw}, outR)
		close(copied)
	}()
	eventsCh := make(chan []event, 1)
	go func() { eventsCh <- readEvents(statusR) }()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var timeout <-chan time.Time
	if r.Timeout > 0 {
		t := time.NewTimer(r.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var timedOut, stopped bool
	select {
	case <-waited:
	case <-timeout:
		timedOut = true
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-waited
	case <-ctx.Done():
		stopped = true
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-waited
	}
	end := time.Now()
	// Whatever the build started and left running goes too.
	syscall.Kill(-pgid, syscall.SIGKILL)

	// Processes that left the group may hold the pipes open; give up on
	// them after a while.
	grace := time.NewTimer(waitForOutput)
	defer grace.Stop()
	var events []event
	gotEvents, gotLog := false, false
	for !gotEvents || !gotLog {
		select {
		case events = <-eventsCh:
			gotEvents = true
		case <-copied:
			gotLog = true
			copied = nil
		case <-grace.C:
			statusR.Close()
			outR.Close()
		}
	}
	statusR.Close()
	outR.Close()

	res := s.summarize(events, ending{
		start:    start,
		end:      end,
		timedOut: timedOut,
		stopped:  stopped,
		timeout:  r.Timeout,
		ctxErr:   ctx.Err(),
		state:    cmd.ProcessState,
	})
	switch {
	case res.Succeeded:
		fmt.Fprintf(logw, "[Container] Build succeeded in %s\n", end.Sub(start).Round(time.Millisecond))
	default:
		fmt.Fprintf(logw, "[Container] Build failed: %s\n", res.Reason)
	}
	if stopped {
		return res, ctx.Err()
	}
	return res, nil
}

// tolerantWriter passes writes on until the first error, then drops them.
type tolerantWriter struct {
	w   io.Writer
	err error
}

func (t *tolerantWriter) Write(p []byte) (int, error) {
	if t.err == nil {
		_, t.err = t.w.Write(p)
	}
	return len(p), nil
}

// findShell resolves env.shell to an executable and tells whether commands
// need a syntax check first (a POSIX sh ends on a syntax error in eval; bash
// does not).
func findShell(name string) (string, bool, error) {
	switch name {
	case "", "sh", "/bin/sh":
		if _, err := os.Stat("/bin/sh"); err != nil {
			return "", false, errs.New(errs.Unsupported, "env.shell: /bin/sh is not available on this host")
		}
		return "/bin/sh", true, nil
	case "bash", "/bin/bash":
		if fi, err := os.Stat("/bin/bash"); err == nil && !fi.IsDir() {
			return "/bin/bash", false, nil
		}
		p, err := exec.LookPath("bash")
		if err != nil {
			return "", false, errs.New(errs.Unsupported, "env.shell: bash is not installed on this host")
		}
		return p, false, nil
	}
	return "", false, errs.New(errs.Validation, "env.shell: unsupported shell %q; use bash or /bin/sh", name)
}

func existingDir(dir, what string) (string, error) {
	if dir == "" {
		return "", errs.New(errs.Validation, "buildspec: no %s given", what)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("buildspec: %s: %w", what, err)
	}
	info, err := os.Stat(abs)
	if err != nil || !info.IsDir() {
		return "", errs.New(errs.Validation, "buildspec: %s %s is not a directory", what, dir)
	}
	return abs, nil
}
