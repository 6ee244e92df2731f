package gitdiff_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/triggers"
	"github.com/stageflow/stageflow/shared/triggers/gitdiff"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commit(t *testing.T, dir string, files map[string]string, rm ...string) string {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range rm {
		git(t, dir, "rm", "-q", name)
	}
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "change")
	return git(t, dir, "rev-parse", "HEAD")
}

// repo: main A (README.md, old.txt) → C (docs/y.md); feature from A → B (src/x.go, old.txt removed).
func repo(t *testing.T) (dir, a, b, c string) {
	dir = t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	a = commit(t, dir, map[string]string{"README.md": "hi", "old.txt": "x"})
	git(t, dir, "checkout", "-q", "-b", "feature")
	b = commit(t, dir, map[string]string{"src/x.go": "package x"}, "old.txt")
	git(t, dir, "checkout", "-q", "main")
	c = commit(t, dir, map[string]string{"docs/y.md": "doc"})
	return dir, a, b, c
}

func TestChangedFiles(t *testing.T) {
	dir, a, b, c := repo(t)
	cases := []struct {
		name, base, head string
		want             string
		err              string
	}{
		{name: "pull request from merge base", base: c, head: b, want: "old.txt src/x.go"},
		{name: "push range", base: a, head: c, want: "docs/y.md"},
		{name: "same commit", base: b, head: b, want: ""},
		{name: "short id", base: c[:7], head: b, err: "not a full commit ID"},
		{name: "option-like id", base: "--all", head: b, err: "not a full commit ID"},
		{name: "unknown commit", base: strings.Repeat("a", 40), head: b, err: "commit aaaa"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gitdiff.ChangedFiles(context.Background(), dir, tc.base, tc.head)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}

// A pull request's filePaths filter reads the files from the real repository.
func TestPullRequestFilePathsFromRepository(t *testing.T) {
	dir, _, b, c := repo(t)
	body := `{"action":"synchronize","number":3,"pull_request":{"head":{"ref":"feature","sha":"` + b + `"},"base":{"ref":"main","sha":"` + c + `"}},"repository":{"full_name":"acme/app"}}`
	ev, err := triggers.Parse("pull_request", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	lister := gitdiff.Lister(func(_ context.Context, repo string) (string, error) { return dir, nil })
	for _, tc := range []struct {
		include string
		fired   bool
	}{{"src/**", true}, {"docs/**", false}} {
		p := &pipeline.Pipeline{Name: "app", Stages: []pipeline.Stage{{Name: "Source", Actions: []pipeline.Action{{Name: "Src",
			ActionTypeID:  pipeline.ActionTypeID{Category: "Source", Owner: "AWS", Provider: "CodeStarSourceConnection"},
			Configuration: map[string]string{"FullRepositoryId": "acme/app", "BranchName": "main"}}}}},
			Triggers: []pipeline.Trigger{{ProviderType: "CodeStarSourceConnection", GitConfiguration: pipeline.GitConfiguration{SourceActionName: "Src",
				PullRequest: []pipeline.GitPullRequestFilter{{Events: []string{"UPDATED"}, FilePaths: &pipeline.FilterCriteria{Includes: []string{tc.include}}}}}}}}
		r := triggers.Evaluate(context.Background(), ev, []*pipeline.Pipeline{p}, triggers.Options{ChangedFiles: lister})[0]
		if r.Fired != tc.fired {
			t.Errorf("%s: fired %v, findings %+v", tc.include, r.Fired, r.Findings)
		}
		if r.Fired && r.Revisions[0].Value != b {
			t.Errorf("revision %s, want %s", r.Revisions[0].Value, b)
		}
	}
}
