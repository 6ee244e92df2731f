package buildspec

import (
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
)

// DefaultPath is a build's PATH when this process has none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// baseFromHost names the variables a build takes from this process's
// environment when they are set there: the locale and time zone, and who
// the build runs as. PATH and HOME are set always (see baseEnv); nothing
// else of this process's environment reaches a build unless Run.PassEnv
// names it.
var baseFromHost = []string{"LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "USER", "LOGNAME"}

// baseEnv is the environment every build starts from, before
// env.variables and the action's own variables:
//
//   - PATH: this process's, or DefaultPath;
//   - HOME: this process's home directory (so tools find their caches and
//     configuration as they would in a terminal), or the work directory
//     when there is none;
//   - LANG, LC_ALL, LC_CTYPE, LC_MESSAGES, TZ, USER, LOGNAME: when set here;
//   - TMPDIR: tmpDir, a directory of the build's own;
//   - SHELL: the build's shell; TERM: dumb (the output is a log file);
//   - CODEBUILD_BUILD_SUCCEEDING, CODEBUILD_SRC_DIR and
//     CODEBUILD_SRC_DIR_<name>, PWD: set by environ, above all else;
//   - the variables pass names, when set here.
func baseEnv(workDir, tmpDir, shell string, pass []string) [][2]string {
	path := os.Getenv("PATH")
	if path == "" {
		path = DefaultPath
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = workDir
	}
	env := [][2]string{{"PATH", path}, {"HOME", home}}
	for _, k := range append(slices.Clone(baseFromHost), pass...) {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, [2]string{k, v})
		}
	}
	return append(env, [2]string{"TMPDIR", tmpDir}, [2]string{"SHELL", shell}, [2]string{"TERM", "dumb"})
}

// environ builds the build's environment (see Run.Env for precedence);
// tmpDir is the build's TMPDIR. The buildspec's resolved secrets come
// after env.variables, the action's after Env.
func (r *Run) environ(workDir, tmpDir, shell string, secrets *resolved) ([]string, error) {
	var order []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, name := range r.PassEnv {
		if !identRE.MatchString(name) {
			return nil, errs.New(errs.Validation, "buildspec: %q cannot name an environment variable to pass on", name)
		}
	}
	for _, kv := range baseEnv(workDir, tmpDir, shell, r.PassEnv) {
		set(kv[0], kv[1])
	}
	for _, k := range slices.Sorted(maps.Keys(r.Spec.Env.Variables)) {
		set(k, r.Spec.Env.Variables[k])
	}
	for _, kv := range secrets.spec {
		set(kv[0], kv[1])
	}
	for _, kv := range r.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsRune(kv, 0) {
			return nil, errs.New(errs.Validation, "buildspec: environment entry %q is not NAME=value", kv)
		}
		set(k, v)
	}
	for _, kv := range secrets.action {
		set(kv[0], kv[1])
	}
	set("CODEBUILD_SRC_DIR", workDir)
	for _, name := range slices.Sorted(maps.Keys(r.Secondary)) {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return nil, errs.New(errs.Validation, "buildspec: secondary source name %q cannot name an environment variable", name)
		}
		dir, err := existingDir(r.Secondary[name], "secondary source "+name)
		if err != nil {
			return nil, err
		}
		set("CODEBUILD_SRC_DIR_"+name, dir)
	}
	set("CODEBUILD_BUILD_SUCCEEDING", "1")
	set("PWD", workDir)
	set(shellVar, shell)
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vals[k])
	}
	return env, nil
}
