package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sourcePipeline has a CodeStarSourceConnection source and a Commands
// action that lists what it was given and prints the commit variables.
const sourcePipeline = `{"pipeline": {"name": "on-my-code", "stages": [
  {"name": "Source", "actions": [{"name": "Checkout",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
    "namespace": "Src",
    "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:000000000000:connection/x", "FullRepositoryId": "me/app", "BranchName": "main"},
    "outputArtifacts": [{"name": "Code"}]}]},
  {"name": "Build", "actions": [{"name": "List",
    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "inputArtifacts": [{"name": "Code"}],
    "commands": ["echo \"files: $(find . -type f ! -name '*.sh' | sort | tr '\\n' ' ')\"", "echo \"commit=$COMMIT repo=$REPO\""],
    "environmentVariables": [{"name": "COMMIT", "value": "#{Src.CommitId}"}, {"name": "REPO", "value": "#{Src.FullRepositoryName}"}]}]}]}}`

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.invalid",
		"GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.invalid", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestRunOnWorkTree runs `stageflow run` inside a work tree: the
// downstream action sees the committed and the uncommitted files, not the
// ignored ones nor the data directory, and HEAD's variables.
func TestRunOnWorkTree(t *testing.T) {
	root := t.TempDir()
	gitIn(t, root, "init", "-q", "-b", "main")
	for name, content := range map[string]string{
		".gitignore": "*.tmp\n.stageflow/\n", "committed.txt": "c\n", "pipeline.json": sourcePipeline,
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, root, "add", ".")
	gitIn(t, root, "commit", "-q", "-m", "start")
	head := gitIn(t, root, "rev-parse", "HEAD")
	for name, content := range map[string]string{"uncommitted.txt": "u\n", "scratch.tmp": "ignored\n"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(root)
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--data-dir", filepath.Join(root, ".stageflow"), "pipeline.json"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"./committed.txt", "./uncommitted.txt", "./pipeline.json", "commit=" + head + " repo=me/app", "uncommitted changes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"scratch.tmp", "stageflow.db", "./.git/"} {
		if strings.Contains(out, not) {
			t.Errorf("the source took %q:\n%s", not, out)
		}
	}
}

// TestRunSourceFlag: --source feeds an action from a directory; a wrong
// --source is a usage error naming what is wrong; outside a work tree
// without --source the source action fails saying how to give one.
func TestRunSourceFlag(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(doc, []byte(sourcePipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "given.txt"), []byte("g\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(src, "given.txt")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"from a directory", []string{"--source", "Checkout=" + src}, 0, "files: ./given.txt", ""},
		{"commit variables empty", []string{"--source", "Checkout=" + src}, 0, "commit= repo=me/app", ""},
		{"no =", []string{"--source", "Checkout"}, 2, "", `--source "Checkout": want ACTION=DIR`},
		{"empty dir", []string{"--source", "Checkout="}, 2, "", "want ACTION=DIR"},
		{"twice", []string{"--source", "Checkout=" + src, "--source", "Checkout=" + src}, 2, "", `action "Checkout" is given twice`},
		{"missing dir", []string{"--source", "Checkout=" + src + "/nope"}, 2, "", "no such file or directory"},
		{"a file", []string{"--source", "Checkout=" + file}, 2, "", "is not a directory"},
		{"unknown action", []string{"--source", "Nope=" + src}, 2, "", `has no action "Nope"`},
		{"not a source", []string{"--source", "List=" + src}, 2, "", `action "List" is a Compute action (Commands), not a source action`},
		{"no directory to take", nil, 1, "pass --source Checkout=DIR", ""},
	}
	t.Chdir(t.TempDir()) // not a work tree
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"run", "--data-dir", t.TempDir()}, tt.args...), doc)
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q:\n%s\n---\n%s", tt.stdout, tt.stderr, stdout.String(), stderr.String())
			}
		})
	}
}
