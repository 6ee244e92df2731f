package gitsource

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

const testArn = "arn:aws:codeconnections:us-east-1:000000000000:connection/0b4d5e2c-1111-2222-3333-444455556666"

// testRepo is a real repository made with the git CLI.
type testRepo struct {
	t   *testing.T
	dir string
	n   int // commits made, to give each its own date
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: filepath.Join(t.TempDir(), "repo")}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main")
	return r
}

// git runs git in the repository and returns its trimmed output.
func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	date := "2026-01-0" + string(rune('1'+r.n%9)) + "T10:00:00Z"
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_AUTHOR_DATE=2025-12-24T08:30:00Z",
		"GIT_COMMITTER_NAME=Bob", "GIT_COMMITTER_EMAIL=bob@example.com", "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files ("" removes one; a value starting with "->" makes a
// symbolic link; a name ending in "*" an executable) and commits them.
func (r *testRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		exe := strings.HasSuffix(name, "*")
		name = strings.TrimSuffix(name, "*")
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if content == "" {
			r.git("rm", "-q", name)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasPrefix(content, "->"):
			err = os.Symlink(strings.TrimPrefix(content, "->"), p)
		case exe:
			err = os.WriteFile(p, []byte(content), 0o755)
		default:
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	r.n++
	return r.git("rev-parse", "HEAD")
}

// resolver maps every name to one remote, or fails.
type resolver struct {
	remote Remote
	err    error
	mu     sync.Mutex
	asked  []string
}

func (f *resolver) ConnectionRemote(_ context.Context, arn, repo string) (Remote, error) {
	f.mu.Lock()
	f.asked = append(f.asked, arn+" "+repo)
	f.mu.Unlock()
	return f.remote, f.err
}

func (f *resolver) CodeCommitRemote(_ context.Context, name string) (Remote, error) {
	f.mu.Lock()
	f.asked = append(f.asked, name)
	f.mu.Unlock()
	return f.remote, f.err
}

// run is one provider run and what it left.
type run struct {
	result *engine.Result
	log    string
	files  map[string]string // the output artifact, unpacked: path → content ("->" for a link never appears)
	modes  map[string]fs.FileMode
	dir    string // where the artifact was unpacked
}

func runJob(t *testing.T, p *Provider, provider string, cfg map[string]string, revs []engine.SourceRevision) run {
	t.Helper()
	store := &artifacts.Store{Root: t.TempDir(), Bucket: "b"}
	work := t.TempDir()
	var log bytes.Buffer
	job := &actions.Job{
		PipelineName: "P", ExecutionID: "e1", WorkDir: work, Log: &log, Artifacts: store,
		Run: engine.ActionRun{
			Type:            pipeline.ActionTypeID{Category: pipeline.CategorySource, Owner: pipeline.OwnerAWS, Provider: provider, Version: "1"},
			Configuration:   cfg,
			OutputArtifacts: []engine.ArtifactRef{{Name: "SourceOutput", Bucket: "b", Key: "P/e1/SourceOutput.zip"}},
			SourceRevisions: revs,
		},
	}
	res := p.Run(t.Context(), job)
	out := run{result: res, log: log.String()}
	if res.Status != engine.Succeeded {
		return out
	}
	out.dir = t.TempDir()
	if err := store.Download(t.Context(), "b", "P/e1/SourceOutput.zip", out.dir); err != nil {
		t.Fatal(err)
	}
	out.files, out.modes = readTree(t, out.dir)
	return out
}

func readTree(t *testing.T, dir string) (map[string]string, map[string]fs.FileMode) {
	t.Helper()
	files, modes := map[string]string{}, map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, ".git/") {
			files[".git/"] = "present"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		files[rel], modes[rel] = string(b), info.Mode().Perm()
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return files, modes
}

func connConfig(branch string, more ...string) map[string]string {
	c := map[string]string{"ConnectionArn": testArn, "FullRepositoryId": "octo/app", "BranchName": branch}
	for i := 0; i+1 < len(more); i += 2 {
		c[more[i]] = more[i+1]
	}
	return c
}
