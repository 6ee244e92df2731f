package buildspec

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestExecuteEnvironment(t *testing.T) {
	t.Setenv("SF_TEST_HOST", "host")
	t.Setenv("SF_TEST_HOST_OVERRIDDEN", "host")
	secA, secB := t.TempDir(), t.TempDir()
	spec := `version: 0.2
env:
  variables:
    FROM_SPEC: spec
    OVERRIDDEN: spec
    SF_TEST_HOST_OVERRIDDEN: spec
phases:
  build:
    commands:
      - printf '%s\n' "$FROM_SPEC" "$OVERRIDDEN" "$FROM_CONFIG" "$SF_TEST_HOST" "$SF_TEST_HOST_OVERRIDDEN" > env.txt
      - printf '%s\n' "$CODEBUILD_SRC_DIR" "$CODEBUILD_SRC_DIR_SourceB" "$CODEBUILD_SRC_DIR_other" "$PWD" > dirs.txt
`
	dir := t.TempDir()
	res, log, _ := build(t, spec, Run{
		WorkDir:   dir,
		Env:       []string{"OVERRIDDEN=config", "FROM_CONFIG=config=with=equals"},
		Secondary: map[string]string{"SourceB": secA, "other": secB},
	})
	if !res.Succeeded {
		t.Fatalf("build failed: %s\n%s", res.Reason, log)
	}
	// SF_TEST_HOST is this process's, which builds do not inherit.
	if got, want := read(t, dir, "env.txt"), "spec\nconfig\nconfig=with=equals\n\nspec"; got != want {
		t.Errorf("env\n got %q\nwant %q", got, want)
	}
	if got, want := read(t, dir, "dirs.txt"), strings.Join([]string{dir, secA, secB, dir}, "\n"); got != want {
		t.Errorf("dirs\n got %q\nwant %q", got, want)
	}
}

func TestExecuteBaseEnvironment(t *testing.T) {
	t.Setenv("STAGEFLOW_TEST_SECRET", "s3cr3t")
	t.Setenv("SF_TEST_PASSED", "passed")
	t.Setenv("LANG", "C.UTF-8")
	home, _ := os.UserHomeDir()
	tmp := t.TempDir()
	tests := []struct {
		name    string
		run     Run
		present []string // lines of `env`
		absent  []string // substrings of `env`
	}{
		{
			name:    "the base environment",
			run:     Run{Env: []string{"DECLARED=yes"}, TempDir: tmp},
			present: []string{"DECLARED=yes", "PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "TMPDIR=" + tmp, "SHELL=/bin/sh"},
			absent:  []string{"STAGEFLOW_TEST_SECRET", "s3cr3t", "SF_TEST_PASSED", "STAGEFLOW_DRIVER_SHELL"},
		},
		{
			name:    "a pass-through list",
			run:     Run{PassEnv: []string{"SF_TEST_PASSED", "SF_TEST_UNSET"}},
			present: []string{"SF_TEST_PASSED=passed"},
			absent:  []string{"s3cr3t", "SF_TEST_UNSET"},
		},
		{
			name:    "declared variables override the base",
			run:     Run{Env: []string{"PATH=/usr/bin:/bin", "HOME=/nowhere"}},
			present: []string{"PATH=/usr/bin:/bin", "HOME=/nowhere"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, log, dir := build(t, "version: 0.2\nphases:\n  build:\n    commands:\n      - env > env.txt\n", tc.run)
			if !res.Succeeded {
				t.Fatalf("build failed: %s\n%s", res.Reason, log)
			}
			env := read(t, dir, "env.txt")
			lines := strings.Split(env, "\n")
			for _, want := range tc.present {
				if !slices.Contains(lines, want) {
					t.Errorf("env lacks %q:\n%s", want, env)
				}
			}
			for _, bad := range tc.absent {
				if strings.Contains(env, bad) {
					t.Errorf("env shows %q:\n%s", bad, env)
				}
			}
		})
	}
}
