package gitsource

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
)

// history is a repository with commits on two branches, a tag, a merge,
// a symbolic link leaving the tree and an executable.
type history struct {
	repo                        *testRepo
	first, second, feature, top string
}

func makeHistory(t *testing.T) history {
	r := newRepo(t)
	h := history{repo: r}
	h.first = r.commit("first", map[string]string{"README.md": "v1\n", "scripts/build.sh*": "#!/bin/sh\necho hi\n"})
	r.git("tag", "v1")
	h.second = r.commit("second: readme v2\n\nwith a body", map[string]string{"README.md": "v2\n", "escape": "->/etc/passwd", "docs/a.txt": "a\n"})
	r.git("checkout", "-q", "-b", "feature/x")
	h.feature = r.commit("on the feature branch", map[string]string{"feature.txt": "f\n"})
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--no-ff", "-m", "merge feature/x", "feature/x")
	h.top = r.git("rev-parse", "HEAD")
	r.git("branch", "lonely", h.first)
	return h
}

func TestCodeZip(t *testing.T) {
	h := makeHistory(t)
	orphan := func() string { // a commit on a branch of its own, off the main line
		h.repo.git("checkout", "-q", "lonely")
		c := h.repo.commit("lonely commit", map[string]string{"lonely.txt": "l\n"})
		h.repo.git("checkout", "-q", "main")
		return c
	}()
	dangling := func() string { // a commit no branch holds any more
		h.repo.git("checkout", "-q", "-b", "gone")
		c := h.repo.commit("dangling commit", map[string]string{"gone.txt": "g\n"})
		h.repo.git("checkout", "-q", "main")
		h.repo.git("branch", "-q", "-D", "gone")
		return c
	}()
	atTop := map[string]string{"README.md": "v2\n", "scripts/build.sh": "#!/bin/sh\necho hi\n", "docs/a.txt": "a\n", "feature.txt": "f\n"}
	cases := []struct {
		name     string
		provider string
		cfg      map[string]string
		pin      string
		allowSHA bool // the server gives any reachable commit by itself
		want     map[string]string
		commit   string
		code     string // a failure's code
		msg      string // in a failure's message
	}{
		{name: "head of main through a merge", provider: ProviderConnection, cfg: connConfig("main"), want: atTop, commit: h.top},
		{name: "head of a branch with a slash", provider: ProviderConnection, cfg: connConfig("feature/x"), commit: h.feature,
			want: map[string]string{"README.md": "v2\n", "scripts/build.sh": "#!/bin/sh\necho hi\n", "docs/a.txt": "a\n", "feature.txt": "f\n"}},
		{name: "CodeCommit head", provider: ProviderCodeCommit, cfg: map[string]string{"RepositoryName": "app", "BranchName": "main", "PollForSourceChanges": "false"},
			want: atTop, commit: h.top},
		{name: "pinned older commit", provider: ProviderConnection, cfg: connConfig("main"), pin: h.first, commit: h.first,
			want: map[string]string{"README.md": "v1\n", "scripts/build.sh": "#!/bin/sh\necho hi\n"}},
		{name: "pinned merged-in commit", provider: ProviderConnection, cfg: connConfig("main"), pin: h.feature, commit: h.feature,
			want: map[string]string{"README.md": "v2\n", "scripts/build.sh": "#!/bin/sh\necho hi\n", "docs/a.txt": "a\n", "feature.txt": "f\n"}},
		{name: "pinned commit off the branch, server gives it", provider: ProviderConnection, cfg: connConfig("main"), pin: orphan, allowSHA: true, commit: orphan,
			want: map[string]string{"README.md": "v1\n", "scripts/build.sh": "#!/bin/sh\necho hi\n", "lonely.txt": "l\n"}},
		{name: "pinned commit of another branch, server refuses single commits", provider: ProviderConnection, cfg: connConfig("main"), pin: orphan, commit: orphan,
			want: map[string]string{"README.md": "v1\n", "scripts/build.sh": "#!/bin/sh\necho hi\n", "lonely.txt": "l\n"}},
		{name: "pinned commit of no branch, server refuses single commits", provider: ProviderConnection, cfg: connConfig("main"), pin: dangling,
			code: engine.CodeConfigurationError, msg: "commit " + dangling + " does not exist"},
		{name: "unknown branch", provider: ProviderConnection, cfg: connConfig("nope"), code: engine.CodeConfigurationError, msg: `branch "nope" does not exist`},
		{name: "unknown commit", provider: ProviderConnection, cfg: connConfig("main"), pin: strings.Repeat("ab", 20),
			code: engine.CodeConfigurationError, msg: "commit abababababababababababababababababababab does not exist"},
		{name: "short commit ID", provider: ProviderConnection, cfg: connConfig("main"), pin: h.first[:7], code: engine.CodeConfigurationError, msg: "not a full 40-character"},
		{name: "branch escaping refs", provider: ProviderConnection, cfg: connConfig("../../etc"), code: engine.CodeConfigurationError, msg: "configuration.BranchName"},
		{name: "branch with a space", provider: ProviderConnection, cfg: connConfig("a b"), code: engine.CodeConfigurationError, msg: "configuration.BranchName"},
		{name: "branch as an option", provider: ProviderConnection, cfg: connConfig("--upload-pack=x"), code: engine.CodeConfigurationError, msg: "configuration.BranchName"},
		{name: "branch with @{", provider: ProviderCodeCommit, cfg: map[string]string{"RepositoryName": "app", "BranchName": "x@{1}"}, code: engine.CodeConfigurationError, msg: "configuration.BranchName"},
		{name: "repository id without owner", provider: ProviderConnection, cfg: connConfig("main", "FullRepositoryId", "app"), code: engine.CodeConfigurationError, msg: "configuration.FullRepositoryId"},
		{name: "repository id escaping", provider: ProviderConnection, cfg: connConfig("main", "FullRepositoryId", "octo/../../x"), code: engine.CodeConfigurationError, msg: "configuration.FullRepositoryId"},
		{name: "CodeCommit name with a slash", provider: ProviderCodeCommit, cfg: map[string]string{"RepositoryName": "a/b", "BranchName": "main"}, code: engine.CodeConfigurationError, msg: "configuration.RepositoryName"},
		{name: "bad format", provider: ProviderConnection, cfg: connConfig("main", "OutputArtifactFormat", "TAR"), code: engine.CodeConfigurationError, msg: "OutputArtifactFormat"},
		{name: "bad DetectChanges", provider: ProviderConnection, cfg: connConfig("main", "DetectChanges", "yes"), code: engine.CodeConfigurationError, msg: "configuration.DetectChanges"},
		{name: "unknown key", provider: ProviderConnection, cfg: connConfig("main", "RepositoryName", "x"), code: engine.CodeConfigurationError, msg: `no key "RepositoryName"`},
		{name: "missing ConnectionArn", provider: ProviderConnection, cfg: connConfig("main", "ConnectionArn", ""), code: engine.CodeConfigurationError, msg: "configuration.ConnectionArn: required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.repo.git("config", "uploadpack.allowReachableSHA1InWant", fmt.Sprint(tc.allowSHA))
			p := &Provider{Sources: &resolver{remote: Remote{URL: h.repo.dir}}, CacheDir: t.TempDir()}
			var revs []engine.SourceRevision
			if tc.pin != "" {
				revs = []engine.SourceRevision{{Action: "Source", Type: "COMMIT_ID", Value: tc.pin}}
			}
			got := runJob(t, p, tc.provider, tc.cfg, revs)
			if tc.code != "" {
				if got.result.Status != engine.Failed || got.result.ErrorCode != tc.code || !strings.Contains(got.result.ErrorMessage, tc.msg) {
					t.Fatalf("result %+v, want %s with %q", got.result, tc.code, tc.msg)
				}
				return
			}
			if got.result.Status != engine.Succeeded {
				t.Fatalf("result %+v\nlog:\n%s", got.result, got.log)
			}
			if !reflect.DeepEqual(got.files, tc.want) {
				t.Errorf("artifact files %v, want %v", got.files, tc.want)
			}
			if m := got.modes["scripts/build.sh"]; m&0o100 == 0 {
				t.Errorf("scripts/build.sh has mode %v, want it executable", m)
			}
			if got.result.CurrentRevision == nil || got.result.CurrentRevision.ID != tc.commit {
				t.Errorf("current revision %+v, want %s", got.result.CurrentRevision, tc.commit)
			}
			if got.result.OutputVariables["CommitId"] != tc.commit {
				t.Errorf("CommitId %q, want %s", got.result.OutputVariables["CommitId"], tc.commit)
			}
		})
	}
}

func TestOutputVariables(t *testing.T) {
	h := makeHistory(t)
	msg := h.repo.git("log", "-1", "--format=%B", h.second)
	committed := h.repo.git("log", "-1", "--format=%cI", h.second)
	cases := []struct {
		name     string
		provider string
		cfg      map[string]string
		remote   Remote
		want     map[string]string
		summary  string
	}{
		{name: "connection", provider: ProviderConnection, cfg: connConfig("main"), remote: Remote{URL: h.repo.dir, ProviderType: "GitLab"},
			want: map[string]string{"CommitId": h.second, "CommitMessage": msg, "AuthorDate": "2025-12-24T08:30:00Z", "BranchName": "main",
				"ConnectionArn": testArn, "FullRepositoryName": "octo/app", "ProviderType": "GitLab"},
			summary: `{"ProviderType":"GitLab","CommitMessage":"second: readme v2\n\nwith a body"}`},
		{name: "connection, provider type defaults to GitHub", provider: ProviderConnection, cfg: connConfig("main"), remote: Remote{URL: "file://" + h.repo.dir},
			want: map[string]string{"CommitId": h.second, "CommitMessage": msg, "AuthorDate": "2025-12-24T08:30:00Z", "BranchName": "main",
				"ConnectionArn": testArn, "FullRepositoryName": "octo/app", "ProviderType": "GitHub"},
			summary: `{"ProviderType":"GitHub","CommitMessage":"second: readme v2\n\nwith a body"}`},
		{name: "CodeCommit", provider: ProviderCodeCommit, cfg: map[string]string{"RepositoryName": "my-repo", "BranchName": "main"}, remote: Remote{URL: h.repo.dir},
			want: map[string]string{"CommitId": h.second, "CommitMessage": msg, "AuthorDate": "2025-12-24T08:30:00Z", "BranchName": "main",
				"CommitterDate": strings.Replace(committed, "+00:00", "Z", 1), "RepositoryName": "my-repo"},
			summary: msg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Provider{Sources: &resolver{remote: tc.remote}, CacheDir: t.TempDir()}
			got := runJob(t, p, tc.provider, tc.cfg, []engine.SourceRevision{{Action: "Source", Type: "COMMIT_ID", Value: h.second}})
			if got.result.Status != engine.Succeeded {
				t.Fatalf("result %+v\n%s", got.result, got.log)
			}
			if !maps.Equal(got.result.OutputVariables, tc.want) {
				t.Errorf("variables\n%v\nwant\n%v", got.result.OutputVariables, tc.want)
			}
			rev := got.result.CurrentRevision
			if rev.Summary != tc.summary || rev.ChangeIdentifier != h.second || rev.Created.Format("2006-01-02T15:04:05Z") != tc.want["CommitterDate"] && tc.provider == ProviderCodeCommit {
				t.Errorf("revision %+v", rev)
			}
			if rev.Summary != tc.summary {
				t.Errorf("summary %q, want %q", rev.Summary, tc.summary)
			}
		})
	}
}

func TestSymlinksStayOut(t *testing.T) {
	r := newRepo(t)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("do not copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.commit("links", map[string]string{"ok.txt": "ok\n", "out": "->" + outside, "rel": "->../../../../", "passwd": "->/etc/passwd"})
	for _, format := range []string{FormatCodeZip, FormatCloneRef} {
		t.Run(format, func(t *testing.T) {
			p := &Provider{Sources: &resolver{remote: Remote{URL: r.dir}}, CacheDir: t.TempDir()}
			got := runJob(t, p, ProviderConnection, connConfig("main", "OutputArtifactFormat", format), nil)
			if got.result.Status != engine.Succeeded {
				t.Fatalf("result %+v\n%s", got.result, got.log)
			}
			delete(got.files, ".git/")
			if want := map[string]string{"ok.txt": "ok\n"}; !maps.Equal(got.files, want) {
				t.Errorf("files %v, want %v", got.files, want)
			}
		})
	}
}

func TestCloneRef(t *testing.T) {
	h := makeHistory(t)
	cases := []struct {
		name   string
		branch string
		pin    string
		want   string // HEAD of the unpacked clone
		code   string
	}{
		{name: "head", branch: "main", want: h.top},
		{name: "pinned", branch: "main", pin: h.first, want: h.first},
		{name: "unknown branch", branch: "nope", code: engine.CodeConfigurationError},
		{name: "unknown commit", branch: "main", pin: strings.Repeat("0", 39) + "1", code: engine.CodeConfigurationError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Provider{Sources: &resolver{remote: Remote{URL: h.repo.dir}}, CacheDir: t.TempDir()}
			var revs []engine.SourceRevision
			if tc.pin != "" {
				revs = []engine.SourceRevision{{Action: "Source", Type: "COMMIT_ID", Value: tc.pin}}
			}
			got := runJob(t, p, ProviderCodeCommit, map[string]string{"RepositoryName": "app", "BranchName": tc.branch, "OutputArtifactFormat": FormatCloneRef}, revs)
			if tc.code != "" {
				if got.result.Status != engine.Failed || got.result.ErrorCode != tc.code {
					t.Fatalf("result %+v, want %s", got.result, tc.code)
				}
				return
			}
			if got.result.Status != engine.Succeeded {
				t.Fatalf("result %+v\n%s", got.result, got.log)
			}
			if got.files[".git/"] == "" {
				t.Fatalf("no .git in the artifact: %v", got.files)
			}
			cmd := exec.Command("git", "-C", got.dir, "rev-parse", "HEAD")
			cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != tc.want {
				t.Fatalf("HEAD of the clone: %s %v, want %s", out, err, tc.want)
			}
			// The whole history is there, not one shallow commit.
			cmd = exec.Command("git", "-C", got.dir, "cat-file", "-e", h.first+"^{commit}")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("first commit missing from the clone: %s %v", out, err)
			}
			if got.result.OutputVariables["CommitId"] != tc.want {
				t.Errorf("CommitId %q", got.result.OutputVariables["CommitId"])
			}
		})
	}
}

func TestCacheReused(t *testing.T) {
	r := newRepo(t)
	c1 := r.commit("one", map[string]string{"f": "1\n"})
	cache := t.TempDir()
	p := &Provider{Sources: &resolver{remote: Remote{URL: r.dir}}, CacheDir: cache}
	steps := []struct {
		name  string
		setup func() string // returns the commit expected
		pin   func() string
		want  string // content of f
		log   string // in the run's log
	}{
		{name: "first fetch", setup: func() string { return c1 }, want: "1\n"},
		{name: "a new commit is picked up", setup: func() string { return r.commit("two", map[string]string{"f": "2\n"}) }, want: "2\n"},
		{name: "the old commit pinned comes from the cache", setup: func() string { return c1 }, pin: func() string { return c1 }, want: "1\n", log: "in the cache already"},
		{name: "after a force push", setup: func() string {
			r.git("reset", "-q", "--hard", c1)
			return r.commit("three", map[string]string{"f": "3\n"})
		}, want: "3\n"},
	}
	for _, st := range steps {
		want := st.setup()
		var revs []engine.SourceRevision
		if st.pin != nil {
			revs = []engine.SourceRevision{{Action: "Source", Type: "COMMIT_ID", Value: st.pin()}}
		}
		got := runJob(t, p, ProviderConnection, connConfig("main"), revs)
		if got.result.Status != engine.Succeeded {
			t.Fatalf("%s: %+v\n%s", st.name, got.result, got.log)
		}
		if got.result.OutputVariables["CommitId"] != want || got.files["f"] != st.want {
			t.Errorf("%s: commit %s files %v, want %s with f=%q", st.name, got.result.OutputVariables["CommitId"], got.files, want, st.want)
		}
		if !strings.Contains(got.log, st.log) {
			t.Errorf("%s: log %q lacks %q", st.name, got.log, st.log)
		}
		entries, err := os.ReadDir(cache)
		if err != nil || len(entries) != 1 {
			t.Fatalf("%s: cache holds %v (%v), want one repository", st.name, entries, err)
		}
		shallow, err := os.ReadFile(filepath.Join(cache, entries[0].Name(), "shallow"))
		if err != nil || len(strings.Fields(string(shallow))) == 0 {
			t.Errorf("%s: the cache is not shallow (%v)", st.name, err)
		}
	}
}

func TestCredentialsMasked(t *testing.T) {
	cases := []struct {
		name    string
		remote  Remote
		secrets []string
	}{
		{name: "password in the URL", remote: Remote{URL: "https://user:s3cr3t-pass@127.0.0.1:1/x.git"}, secrets: []string{"s3cr3t-pass"}},
		{name: "token", remote: Remote{URL: "https://127.0.0.1:1/x.git", Token: "ghp_tok3n"}, secrets: []string{"ghp_tok3n"}},
		{name: "token and URL password", remote: Remote{URL: "http://me:p%40ss@127.0.0.1:1/x.git", Username: "u", Token: "t0k"}, secrets: []string{"p@ss", "p%40ss", "t0k"}},
		{name: "resolver error quoting the token", remote: Remote{Token: "leaky-token"}, secrets: []string{"leaky-token"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := &resolver{remote: tc.remote}
			if tc.remote.URL == "" {
				res.err = errors.New("lookup failed for token leaky-token")
			}
			p := &Provider{Sources: res, CacheDir: t.TempDir()}
			for _, format := range []string{FormatCodeZip, FormatCloneRef} {
				got := runJob(t, p, ProviderConnection, connConfig("main", "OutputArtifactFormat", format), nil)
				if got.result.Status != engine.Failed {
					t.Fatalf("result %+v", got.result)
				}
				for _, s := range tc.secrets {
					if strings.Contains(got.result.ErrorMessage, s) || strings.Contains(got.log, s) {
						t.Errorf("%s: secret %q shown:\nmessage: %s\nlog: %s", format, s, got.result.ErrorMessage, got.log)
					}
				}
				if tc.remote.URL != "" && !strings.Contains(got.result.ErrorMessage, "127.0.0.1:1") {
					t.Errorf("%s: message %q does not name the remote", format, got.result.ErrorMessage)
				}
			}
		})
	}
}

func TestConcurrentRuns(t *testing.T) {
	h := makeHistory(t)
	p := &Provider{Sources: &resolver{remote: Remote{URL: h.repo.dir}}, CacheDir: t.TempDir()}
	type want struct {
		branch, pin, commit string
	}
	wants := []want{{"main", "", h.top}, {"feature/x", "", h.feature}, {"main", h.first, h.first}, {"lonely", "", h.first}}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 12 {
		w := wants[i%len(wants)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var revs []engine.SourceRevision
			if w.pin != "" {
				revs = []engine.SourceRevision{{Action: "Source", Type: "COMMIT_ID", Value: w.pin}}
			}
			got := runJob(t, p, ProviderConnection, connConfig(w.branch), revs)
			if got.result.Status != engine.Succeeded || got.result.OutputVariables["CommitId"] != w.commit {
				errs <- fmt.Sprintf("run %d (%s): %+v", i, w.branch, got.result)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestNoResolver(t *testing.T) {
	got := runJob(t, &Provider{CacheDir: t.TempDir()}, ProviderConnection, connConfig("main"), nil)
	if got.result.Status != engine.Failed || got.result.ErrorCode != engine.CodeConfigurationError ||
		!strings.Contains(got.result.ErrorMessage, "no connection store configured") {
		t.Fatalf("result %+v", got.result)
	}
}

// TestDamagedCache: a cached clone whose objects are gone still serves
// (the fetch brings them again).
func TestDamagedCache(t *testing.T) {
	r := newRepo(t)
	c1 := r.commit("one", map[string]string{"f": "1\n"})
	cache := t.TempDir()
	p := &Provider{Sources: &resolver{remote: Remote{URL: r.dir}}, CacheDir: cache}
	if got := runJob(t, p, ProviderConnection, connConfig("main"), nil); got.result.Status != engine.Succeeded {
		t.Fatalf("first run: %+v", got.result)
	}
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache %v %v", entries, err)
	}
	objects := filepath.Join(cache, entries[0].Name(), "objects")
	if err := os.RemoveAll(objects); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(objects, 0o755); err != nil {
		t.Fatal(err)
	}
	got := runJob(t, p, ProviderConnection, connConfig("main"), nil)
	if got.result.Status != engine.Succeeded || got.result.OutputVariables["CommitId"] != c1 || got.files["f"] != "1\n" {
		t.Fatalf("after the damage: %+v %v\n%s", got.result, got.files, got.log)
	}
}
