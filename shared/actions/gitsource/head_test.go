package gitsource

import (
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/pipeline"
)

func TestHead(t *testing.T) {
	r := newRepo(t)
	first := r.commit("one", map[string]string{"a.txt": "1"})
	r.git("branch", "feature/x")
	second := r.commit("two", map[string]string{"a.txt": "2"})
	p := &Provider{Sources: &resolver{remote: Remote{URL: r.dir}}, CacheDir: t.TempDir()}
	action := func(branch string) pipeline.Action {
		return pipeline.Action{Name: "Source", ActionTypeID: pipeline.ActionTypeID{Category: "Source", Owner: "AWS", Provider: ProviderConnection, Version: "1"},
			Configuration: connConfig(branch)}
	}
	for _, tc := range []struct {
		branch, want, err string
	}{
		{"main", second, ""},
		{"feature/x", first, ""},
		{"nope", "", `branch "nope" does not exist`},
		{"../x", "", "BranchName"},
	} {
		got, err := p.Head(t.Context(), action(tc.branch))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %q", tc.branch, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s: Head = %q, %v; want %s", tc.branch, got, err, tc.want)
		}
	}
	third := r.commit("three", map[string]string{"a.txt": "3"})
	if got, err := p.Head(t.Context(), action("main")); err != nil || got != third {
		t.Errorf("after a new commit: Head = %q, %v; want %s", got, err, third)
	}
	masked := &Provider{Sources: &resolver{remote: Remote{URL: "https://user:s3cr3t@127.0.0.1:1/x.git"}}}
	if _, err := masked.Head(t.Context(), action("main")); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("an unreachable remote: error %v; want one without the password", err)
	}
}
