package buildspec

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// shellVar passes the shell's path to the driver, which unsets it.
const shellVar = "STAGEFLOW_DRIVER_SHELL"

// The driver script. It talks back on fd 9 with NUL-terminated fields:
//
//	B phase          phase begins
//	C kind index     command begins (kind c: commands, f: finally)
//	R status         command ended
//	D phase status   phase ended
//	X name value     exported variable
//	Z status         the shell is exiting
const driverHead = `# Generated by Stageflow: runs a buildspec in one shell session.
exec 9>&3 3>&-
__sf_shell=$` + shellVar + `
unset ` + shellVar + `
__sf_rec() { printf '%s\000' "$@" >&9; }
__sf_begin() {
	__sf_ok=1
	__sf_fok=1
	__sf_rec B "$1"
	printf '[Container] Entering phase %s\n' "$1"
}
__sf_after() {
	__sf_rec R "$2"
	if [ "$2" -ne 0 ]; then
		printf '[Container] Command did not exit successfully %s exit status %s\n' "$__sf_cmd" "$2"
		__sf_ok=0
		if [ "$1" = f ]; then __sf_fok=0; fi
	fi
}
__sf_end() {
	if [ "$__sf_ok" = 1 ]; then
		__sf_state=SUCCEEDED
	else
		__sf_state=FAILED
		CODEBUILD_BUILD_SUCCEEDING=0
		export CODEBUILD_BUILD_SUCCEEDING
		if [ "$2" = 1 ]; then __sf_stop=1; fi
	fi
	__sf_rec D "$1" "$__sf_state"
	printf '[Container] Phase complete: %s State: %s\n' "$1" "$__sf_state"
}
`

const stepChecked = `__sf_step() {
	__sf_rec C "$1" "$2"
	__sf_cmd=$3
	shift 3
	printf '[Container] Running command %s\n' "$__sf_cmd"
	"$__sf_shell" -n -c "$__sf_cmd" || return "$?"
	eval "$__sf_cmd"
}
`

const stepPlain = `__sf_step() {
	__sf_rec C "$1" "$2"
	__sf_cmd=$3
	shift 3
	printf '[Container] Running command %s\n' "$__sf_cmd"
	eval "$__sf_cmd"
}
`

// shQuote quotes s as one single-quoted shell word.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// driverScript writes the script. User commands appear in it verbatim, each
// as one single-quoted word handed to eval; variable values never do (they
// come through the environment); exported variable names, checked to be
// plain identifiers, do.
func driverScript(s *Spec, precheck bool) string {
	var b strings.Builder
	b.WriteString(driverHead)
	if precheck {
		b.WriteString(stepChecked)
	} else {
		b.WriteString(stepPlain)
	}
	b.WriteString("__sf_finish() {\n\ttrap - EXIT\n")
	for _, name := range s.Env.ExportedVariables {
		fmt.Fprintf(&b, "\t__sf_rec X %s \"${%s-}\"\n", name, name)
	}
	b.WriteString("\t__sf_rec Z \"$1\"\n\texit \"$1\"\n}\n")
	b.WriteString("trap '__sf_finish \"$?\"' EXIT\n")
	b.WriteString("CODEBUILD_BUILD_SUCCEEDING=1\nexport CODEBUILD_BUILD_SUCCEEDING\n__sf_stop=0\n")
	for _, ph := range s.Phases {
		stop := "1"
		if ph.OnFailure == OnFailureContinue || (ph.OnFailure == OnFailureDefault && ph.Name == PhaseBuild) {
			stop = "0"
		}
		fmt.Fprintf(&b, "\n# phase %s\nif [ \"$__sf_stop\" = 0 ]; then\n__sf_begin %s\n", ph.Name, ph.Name)
		for i, c := range ph.Commands {
			fmt.Fprintf(&b, "if [ \"$__sf_ok\" = 1 ]; then __sf_step c %d %s; __sf_after c \"$?\"; fi\n", i, shQuote(c))
		}
		for i, c := range ph.Finally {
			fmt.Fprintf(&b, "if [ \"$__sf_fok\" = 1 ]; then __sf_step f %d %s; __sf_after f \"$?\"; fi\n", i, shQuote(c))
		}
		fmt.Fprintf(&b, "__sf_end %s %s\nfi\n", ph.Name, stop)
	}
	b.WriteString("\n__sf_finish 0\n")
	return b.String()
}

// event is one record from the driver, with the time it arrived.
type event struct {
	at     time.Time
	fields []string // tag first
}

var arity = map[string]int{"B": 1, "C": 2, "R": 1, "D": 2, "X": 2, "Z": 1}

func readEvents(r io.Reader) []event {
	br := bufio.NewReader(r)
	var evs []event
	for {
		tag, err := br.ReadString(0)
		if err != nil {
			return evs
		}
		tag = strings.TrimSuffix(tag, "\x00")
		n, ok := arity[tag]
		if !ok {
			continue // not ours; skip to the next field
		}
		fields := []string{tag}
		for range n {
			f, err := br.ReadString(0)
			if err != nil {
				return evs
			}
			fields = append(fields, strings.TrimSuffix(f, "\x00"))
		}
		evs = append(evs, event{at: time.Now(), fields: fields})
	}
}

// ending describes how the shell ended.
type ending struct {
	start, end        time.Time
	timedOut, stopped bool
	timeout           time.Duration
	ctxErr            error
	state             *os.ProcessState
}

func (s *Spec) command(phase, kind, index string) string {
	ph := s.Phase(phase)
	i, err := strconv.Atoi(index)
	if ph == nil || err != nil {
		return ""
	}
	list := ph.Commands
	if kind == "f" {
		list = ph.Finally
	}
	if i < 0 || i >= len(list) {
		return ""
	}
	return list[i]
}

// summarize turns the driver's records into a Result.
func (s *Spec) summarize(evs []event, e ending) *Result {
	res := &Result{TimedOut: e.timedOut}
	var cur *PhaseResult
	var curStart time.Time
	var runKind, runIndex string
	running := false
	finished, exitStatus := false, 0
	for _, ev := range evs {
		f := ev.fields
		switch f[0] {
		case "B":
			cur = &PhaseResult{Name: f[1]}
			curStart = ev.at
		case "C":
			runKind, runIndex, running = f[1], f[2], true
		case "R":
			running = false
			rc, _ := strconv.Atoi(f[1])
			if cur != nil && rc != 0 && cur.FailedCommand == "" {
				cur.FailedCommand = s.command(cur.Name, runKind, runIndex)
				cur.ExitCode = rc
				cur.InFinally = runKind == "f"
			}
		case "D":
			if cur != nil {
				cur.Status = f[2]
				cur.Duration = ev.at.Sub(curStart)
				res.Phases = append(res.Phases, *cur)
				cur = nil
			}
		case "X":
			if res.Exported == nil {
				res.Exported = map[string]string{}
			}
			res.Exported[f[1]] = f[2]
		case "Z":
			finished = true
			exitStatus, _ = strconv.Atoi(f[1])
		}
	}

	// A phase left open was cut short: timeout, stop, or the shell exited.
	// cutCmd is the command that was running then, if any.
	var cut *PhaseResult
	cutCmd, cutWhat := "", "command"
	if cur != nil {
		cur.Duration = e.end.Sub(curStart)
		switch {
		case e.timedOut:
			cur.Status = StatusTimedOut
		case e.stopped:
			cur.Status = StatusStopped
		default:
			cur.Status = StatusFailed
		}
		if running {
			cutCmd = s.command(cur.Name, runKind, runIndex)
			if runKind == "f" {
				cutWhat = "finally command"
			}
			if cur.FailedCommand == "" {
				cur.FailedCommand = cutCmd
				cur.InFinally = runKind == "f"
				cur.ExitCode = -1
				if finished {
					cur.ExitCode = exitStatus
				}
			}
		}
		res.Phases = append(res.Phases, *cur)
		cut = &res.Phases[len(res.Phases)-1]
	}

	inCommand := ""
	if cut != nil {
		inCommand = " in phase " + cut.Name
		if cutCmd != "" {
			inCommand += fmt.Sprintf(" while running %s %q", cutWhat, short(cutCmd))
		}
	}
	switch {
	case e.timedOut:
		res.Reason = fmt.Sprintf("build timed out after %s%s", e.timeout, inCommand)
		return res
	case e.stopped:
		res.Reason = fmt.Sprintf("build stopped (%v)%s", e.ctxErr, inCommand)
		return res
	}
	for _, ph := range res.Phases {
		if ph.Status == StatusSucceeded {
			continue
		}
		what := "command"
		if ph.InFinally {
			what = "finally command"
		}
		switch {
		case cut != nil && ph.Name == cut.Name && cutCmd != "" && finished:
			res.Reason = fmt.Sprintf("phase %s failed: %s %q ended the build shell with exit code %d; the rest of the build did not run", ph.Name, cutWhat, short(cutCmd), exitStatus)
		case cut != nil && ph.Name == cut.Name:
			res.Reason = fmt.Sprintf("phase %s failed: the build shell ended unexpectedly (%s)", ph.Name, describeExit(e.state))
		case ph.FailedCommand != "":
			res.Reason = fmt.Sprintf("phase %s failed: %s %q exited with code %d", ph.Name, what, short(ph.FailedCommand), ph.ExitCode)
		default:
			res.Reason = fmt.Sprintf("phase %s failed", ph.Name)
		}
		return res
	}
	if !finished || exitStatus != 0 {
		res.Reason = fmt.Sprintf("the build shell ended unexpectedly (%s)", describeExit(e.state))
		return res
	}
	res.Succeeded = true
	return res
}

func describeExit(st *os.ProcessState) string {
	if st == nil {
		return "no exit status"
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit code %d", st.ExitCode())
}

// short makes a command fit in a sentence: its first line, at most 120
// characters.
func short(cmd string) string {
	line, _, multi := strings.Cut(strings.TrimSpace(cmd), "\n")
	if len(line) > 120 {
		return line[:117] + "..."
	}
	if multi {
		return line + " ..."
	}
	return line
}
