package worksource

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// gitRun runs the git CLI in dir with a fixed identity and dates.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.invalid", "GIT_AUTHOR_DATE=2024-05-06T07:08:09+02:00",
		"GIT_COMMITTER_NAME=C", "GIT_COMMITTER_EMAIL=c@example.invalid", "GIT_COMMITTER_DATE=2024-05-07T01:02:03Z",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, root, rel, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// repo makes a work tree with committed, modified, staged, untracked and
// ignored files, a nested .gitignore, a tracked file an ignore rule names,
// and symbolic links inside and outside. It returns the root and HEAD.
func repo(t *testing.T) (string, string) {
	t.Helper()
	root := t.TempDir()
	outside := t.TempDir()
	write(t, outside, "secret.txt", "outside\n", 0o644)
	gitRun(t, root, "init", "-q", "-b", "main")
	write(t, root, ".gitignore", "*.log\nbuild/\n", 0o644)
	write(t, root, "README.md", "committed\n", 0o644)
	write(t, root, "run.sh", "#!/bin/sh\necho hi\n", 0o755)
	write(t, root, "sub/.gitignore", "local.txt\n!keep.log\n", 0o644)
	write(t, root, "sub/code.go", "package sub\n", 0o644)
	write(t, root, "sub/forced.txt", "tracked although ignored below\n", 0o644)
	write(t, root, "staged.txt", "v1\n", 0o644)
	gitRun(t, root, "add", ".")
	gitRun(t, root, "commit", "-q", "-m", "first line\n\nbody of the message")
	// Ignored from now on, but tracked: still taken.
	write(t, root, "sub/.gitignore", "local.txt\n!keep.log\nforced.txt\n", 0o644)
	gitRun(t, root, "commit", "-q", "-am", "second\n\nmore")
	write(t, root, "README.md", "modified, not committed\n", 0o644)
	write(t, root, "staged.txt", "v2\n", 0o644)
	gitRun(t, root, "add", "staged.txt")
	write(t, root, "new.txt", "untracked\n", 0o644)
	write(t, root, "debug.log", "ignored\n", 0o644)
	write(t, root, "build/out.bin", "ignored dir\n", 0o644)
	write(t, root, "sub/local.txt", "ignored by the nested file\n", 0o644)
	write(t, root, "sub/keep.log", "re-included by the nested file\n", 0o644)
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "leakdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("README.md", filepath.Join(root, "inside-link")); err != nil {
		t.Fatal(err)
	}
	return root, gitRun(t, root, "rev-parse", "HEAD")
}

func TestSnapshot(t *testing.T) {
	root, head := repo(t)
	plain := t.TempDir()
	write(t, plain, "a.txt", "a\n", 0o644)
	write(t, plain, "x.log", "not ignored outside git\n", 0o644)
	write(t, plain, ".git/config", "a stray .git is never taken\n", 0o644)
	dataDir := filepath.Join(root, "data")
	write(t, dataDir, "stageflow.db", "the data directory is never taken\n", 0o644)

	tests := []struct {
		name      string
		dir       string
		opt       Options
		files     []string
		git       bool
		modified  int
		untracked int
		err       error
	}{
		{
			name: "whole work tree from a subdirectory", dir: filepath.Join(root, "sub"), opt: Options{RequireGit: true, WholeTree: true, Exclude: []string{dataDir}},
			files: []string{".gitignore", "README.md", "new.txt", "run.sh", "staged.txt", "sub/.gitignore", "sub/code.go", "sub/forced.txt", "sub/keep.log"},
			git:   true, modified: 2, untracked: 5, // new.txt, sub/keep.log and the three links; not data/
		},
		{
			name: "a subdirectory of the work tree", dir: filepath.Join(root, "sub"),
			files: []string{".gitignore", "code.go", "forced.txt", "keep.log"},
			git:   true, modified: 2, untracked: 6, // and data/stageflow.db
		},
		{name: "plain directory", dir: plain, files: []string{"a.txt", "x.log"}},
		{name: "plain directory, git required", dir: plain, opt: Options{RequireGit: true}, err: ErrNotWorkTree},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := Snapshot(tt.dir, tt.opt)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tree.Files, tt.files) {
				t.Errorf("files = %q\nwant    %q", tree.Files, tt.files)
			}
			if (tree.Git != nil) != tt.git {
				t.Fatalf("git = %v, want %v", tree.Git, tt.git)
			}
			if tree.Git == nil {
				return
			}
			c := tree.Git
			if c.ID != head || c.Branch != "main" || c.Message != "second\n\nmore" {
				t.Errorf("commit = %s on %q: %q; want %s on main", c.ID, c.Branch, c.Message, head)
			}
			if c.Modified != tt.modified || c.Untracked != tt.untracked {
				t.Errorf("modified, untracked = %d, %d; want %d, %d", c.Modified, c.Untracked, tt.modified, tt.untracked)
			}
			if !c.AuthorDate.Equal(time.Date(2024, 5, 6, 5, 8, 9, 0, time.UTC)) || !c.CommitterDate.Equal(time.Date(2024, 5, 7, 1, 2, 3, 0, time.UTC)) {
				t.Errorf("dates = %v, %v", c.AuthorDate, c.CommitterDate)
			}
		})
	}
}

func TestSnapshotCleanTree(t *testing.T) {
	root := t.TempDir()
	gitRun(t, root, "init", "-q", "-b", "trunk")
	write(t, root, "a.txt", "a\n", 0o644)
	gitRun(t, root, "add", ".")
	gitRun(t, root, "commit", "-q", "-m", "only")
	tree, err := Snapshot(root, Options{RequireGit: true})
	if err != nil {
		t.Fatal(err)
	}
	if tree.Git.Dirty() || tree.Git.Branch != "trunk" {
		t.Errorf("clean tree: %+v", tree.Git)
	}
	gitRun(t, root, "checkout", "-q", "--detach")
	if tree, err = Snapshot(root, Options{RequireGit: true}); err != nil || tree.Git.Branch != "" {
		t.Errorf("detached: %v, %+v", err, tree)
	}
	empty := t.TempDir()
	gitRun(t, empty, "init", "-q")
	if _, err := Snapshot(empty, Options{RequireGit: true}); err == nil || !strings.Contains(err.Error(), "no commit yet") {
		t.Errorf("a repository with no commit: %v", err)
	}
}

func TestVariables(t *testing.T) {
	c := &Commit{ID: "abc", Message: "m", Branch: "feature",
		AuthorDate: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), CommitterDate: time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)}
	tests := []struct {
		provider string
		config   map[string]string
		want     map[string]string
	}{
		{CodeStarSourceConnection, map[string]string{"ConnectionArn": "arn:c", "FullRepositoryId": "o/r", "BranchName": "main"}, map[string]string{
			"CommitId": "abc", "CommitMessage": "m", "AuthorDate": "2024-01-02T02:04:05Z", "BranchName": "main", "FullRepositoryName": "o/r", "ConnectionArn": "arn:c"}},
		{CodeCommit, map[string]string{"RepositoryName": "r"}, map[string]string{
			"CommitId": "abc", "CommitMessage": "m", "AuthorDate": "2024-01-02T02:04:05Z", "BranchName": "feature", "RepositoryName": "r", "CommitterDate": "2024-02-03T04:05:06Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			got := Variables(tt.provider, tt.config, c)
			if len(got) != len(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// memArtifacts keeps uploads in memory.
type memArtifacts map[string][]byte

func (m memArtifacts) Download(context.Context, string, string, string) error {
	return errors.New("no downloads here")
}

func (m memArtifacts) Upload(_ context.Context, bucket, key string, r io.Reader) error {
	b, err := io.ReadAll(r)
	m[bucket+"/"+key] = b
	return err
}

// stub is a provider that records it was called.
type stub struct{ called *bool }

func (s stub) Run(context.Context, *actions.Job) *engine.Result {
	*s.called = true
	return &engine.Result{Status: engine.Succeeded}
}
func (stub) Resumable() bool { return false }

func job(t *testing.T, action, provider string, config map[string]string, arts memArtifacts) *actions.Job {
	return &actions.Job{
		Run: engine.ActionRun{Action: action, Stage: "Source", Type: pipeline.ActionTypeID{Category: "Source", Owner: "AWS", Provider: provider, Version: "1"},
			Configuration: config, OutputArtifacts: []engine.ArtifactRef{{Name: "Out", Bucket: "b", Key: "k.zip"}}},
		WorkDir: t.TempDir(), Log: &bytes.Buffer{}, Artifacts: arts,
	}
}

func TestRun(t *testing.T) {
	root, head := repo(t)
	plain := t.TempDir()
	write(t, plain, "p.txt", "plain\n", 0o600)
	tests := []struct {
		name     string
		p        Provider
		action   string
		provider string
		files    []string // in the artifact
		vars     bool
		next     bool
		errMsg   string
	}{
		{name: "work tree", p: Provider{WorkTree: filepath.Join(root, "sub")}, action: "Src", provider: CodeStarSourceConnection,
			files: []string{".gitignore", "README.md", "new.txt", "run.sh", "staged.txt", "sub/.gitignore", "sub/code.go", "sub/forced.txt", "sub/keep.log"}, vars: true},
		{name: "--source plain directory", p: Provider{WorkTree: root, Dirs: map[string]string{"Src": plain}}, action: "Src", provider: CodeCommit, files: []string{"p.txt"}},
		{name: "--source for S3", p: Provider{Dirs: map[string]string{"Src": plain}}, action: "Src", provider: S3, files: []string{"p.txt"}},
		{name: "S3 with no directory goes on", p: Provider{WorkTree: root}, action: "Src", provider: S3, next: true},
		{name: "S3 with nothing", p: Provider{WorkTree: root}, action: "Src", provider: S3, errMsg: "pass --source Src=DIR"},
		{name: "not in a work tree", p: Provider{WorkTree: plain}, action: "Src", provider: CodeCommit, errMsg: "run `stageflow run` inside a git work tree, or pass --source Src=DIR"},
		{name: "no work tree at all", p: Provider{}, action: "Src", provider: CodeStarSourceConnection, errMsg: "pass --source Src=DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arts := memArtifacts{}
			called := false
			if tt.next {
				tt.p.Next = stub{&called}
			}
			j := job(t, tt.action, tt.provider, map[string]string{"BranchName": "main", "FullRepositoryId": "o/r", "ConnectionArn": "arn:x"}, arts)
			res := tt.p.Run(context.Background(), j)
			if tt.next {
				if !called {
					t.Error("Next was not called")
				}
				return
			}
			if tt.errMsg != "" {
				if res.Status != engine.Failed || !strings.Contains(res.ErrorMessage, tt.errMsg) {
					t.Fatalf("result %+v, want a failure saying %q", res, tt.errMsg)
				}
				return
			}
			if res.Status != engine.Succeeded {
				t.Fatalf("result %+v\nlog:\n%s", res, j.Log)
			}
			zr, err := zip.NewReader(bytes.NewReader(arts["b/k.zip"]), int64(len(arts["b/k.zip"])))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range zr.File {
				if f.FileInfo().IsDir() {
					continue
				}
				names = append(names, f.Name)
				if f.Name == "run.sh" && f.Mode()&0o111 == 0 {
					t.Errorf("run.sh lost its executable bit: %v", f.Mode())
				}
				if f.Name == "README.md" {
					rc, _ := f.Open()
					b, _ := io.ReadAll(rc)
					rc.Close()
					if string(b) != "modified, not committed\n" {
						t.Errorf("README.md = %q, want the uncommitted content", b)
					}
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, tt.files) {
				t.Errorf("artifact = %q\nwant       %q", names, tt.files)
			}
			if !tt.vars {
				if res.CurrentRevision != nil {
					t.Errorf("a plain directory has a revision: %+v", res.CurrentRevision)
				}
				if id, ok := res.OutputVariables["CommitId"]; (tt.provider != S3) != ok || id != "" {
					t.Errorf("variables of a plain directory: %v", res.OutputVariables)
				}
				return
			}
			if res.OutputVariables["CommitId"] != head || res.CurrentRevision == nil || res.CurrentRevision.ID != head {
				t.Errorf("variables %v, revision %+v; want HEAD %s", res.OutputVariables, res.CurrentRevision, head)
			}
			if !strings.Contains(res.Summary, "uncommitted changes") || !strings.Contains(j.Log.(*bytes.Buffer).String(), "uncommitted changes") {
				t.Errorf("the dirty tree is not said: %q\n%s", res.Summary, j.Log)
			}
		})
	}
}
