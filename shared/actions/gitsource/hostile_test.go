package gitsource

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
)

// mktree writes a tree object from "mode type hash\tname" lines.
func (r *testRepo) mktree(lines ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", "mktree")
	cmd.Dir = r.dir
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git mktree: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestHostileTrees fetches branches whose trees no git checkout would
// write (crafted with git mktree): both formats refuse them and nothing is
// written outside the run's folder.
func TestHostileTrees(t *testing.T) {
	r := newRepo(t)
	r.commit("base", map[string]string{"ok.txt": "ok\n"})
	blob := func(s string) string {
		cmd := exec.Command("git", "hash-object", "-w", "--stdin")
		cmd.Dir = r.dir
		cmd.Stdin = strings.NewReader(s)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	evil := blob("[core]\n\tfsmonitor = touch /tmp/pwned\n")
	branch := func(name, tree string) {
		c := r.git("commit-tree", "-m", name, tree)
		r.git("update-ref", "refs/heads/"+name, c)
	}
	branch("dotgit", r.mktree(fmt.Sprintf("100644 blob %s\t.git", evil)))
	branch("dotgit-upper", r.mktree(fmt.Sprintf("040000 tree %s\t.GIT", r.mktree(fmt.Sprintf("100644 blob %s\tconfig", evil)))))
	branch("dotdot", r.mktree(fmt.Sprintf("040000 tree %s\t..", r.mktree(fmt.Sprintf("100644 blob %s\tescaped", evil)))))
	branch("nested-dotgit", r.mktree(fmt.Sprintf("040000 tree %s\tsub", r.mktree(fmt.Sprintf("040000 tree %s\t.git",
		r.mktree(fmt.Sprintf("100644 blob %s\tconfig", evil)))))))
	branch("backslash", r.mktree(fmt.Sprintf("100644 blob %s\t..\\escaped", evil)))
	for _, b := range []string{"dotgit", "dotgit-upper", "dotdot", "nested-dotgit", "backslash"} {
		for _, format := range []string{FormatCodeZip, FormatCloneRef} {
			t.Run(b+"/"+format, func(t *testing.T) {
				p := &Provider{Sources: &resolver{remote: Remote{URL: r.dir}}, CacheDir: t.TempDir()}
				got := runJob(t, p, ProviderConnection, connConfig(b, "OutputArtifactFormat", format), nil)
				if got.result.Status != engine.Failed {
					t.Errorf("result %+v, want a failure; artifact %v", got.result, got.files)
				}
				// go-git's tree reader refuses most of them first; our own check
				// (checkTreePath) stands behind it.
				if msg := got.result.ErrorMessage; format == FormatCodeZip && !strings.Contains(msg, "unsafe path") && !strings.Contains(msg, "invalid path") {
					t.Errorf("message %q does not name the unsafe path", got.result.ErrorMessage)
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(r.dir), "escaped")); err == nil {
					t.Errorf("a file escaped")
				}
			})
		}
	}
}

func TestCheckTreePath(t *testing.T) {
	for name, ok := range map[string]bool{
		"a.txt": true, "dir/sub/file": true, ".github/workflows/x.yml": true, "a..b": true, ".gitignore": true,
		"": false, "/abs": false, "..": false, "a/../b": false, ".git": false, "x/.Git/config": false, "a\\b": false,
		"a//b": false, "./a": false, "a\x00b": false,
	} {
		if err := checkTreePath(name); (err == nil) != ok {
			t.Errorf("checkTreePath(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
