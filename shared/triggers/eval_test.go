package triggers_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/triggers"
)

const conn = "arn:aws:codeconnections:us-east-1:111111111111:connection/abc"

func load(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func event(t *testing.T, name string, edit func(m map[string]any)) *triggers.Event {
	t.Helper()
	m := load(t, name)
	if edit != nil {
		edit(m)
	}
	body, _ := json.Marshal(m)
	ev, err := triggers.Parse(triggers.GuessType(body), body)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func fc(in, ex []string) *pipeline.FilterCriteria {
	return &pipeline.FilterCriteria{Includes: in, Excludes: ex}
}

func pipe(trig *pipeline.GitConfiguration, cfg map[string]string) *pipeline.Pipeline {
	c := map[string]string{"FullRepositoryId": "acme/app", "BranchName": "main", "ConnectionArn": conn}
	for k, v := range cfg {
		c[k] = v
	}
	p := &pipeline.Pipeline{Name: "app", Stages: []pipeline.Stage{{Name: "Source", Actions: []pipeline.Action{{
		Name:          "Src",
		ActionTypeID:  pipeline.ActionTypeID{Category: "Source", Owner: "AWS", Provider: "CodeStarSourceConnection"},
		Configuration: c,
	}}}}}
	if trig != nil {
		trig.SourceActionName = "Src"
		p.Triggers = []pipeline.Trigger{{ProviderType: "CodeStarSourceConnection", GitConfiguration: *trig}}
	}
	return p
}

func TestEvaluate(t *testing.T) {
	push := func(f ...pipeline.GitPushFilter) *pipeline.GitConfiguration {
		return &pipeline.GitConfiguration{Push: f}
	}
	pr := func(f ...pipeline.GitPullRequestFilter) *pipeline.GitConfiguration {
		return &pipeline.GitConfiguration{PullRequest: f}
	}
	setRef := func(ref string) func(map[string]any) { return func(m map[string]any) { m["ref"] = ref } }
	setAction := func(a string) func(map[string]any) { return func(m map[string]any) { m["action"] = a } }
	cases := []struct {
		name    string
		file    string
		edit    func(map[string]any)
		trig    *pipeline.GitConfiguration
		cfg     map[string]string
		changed func(ctx context.Context, repo, base, head string) ([]string, error)
		fired   bool
		commit  string
		reason  string // a substring of the first finding
	}{
		{name: "default push to BranchName", file: "github.push.json", fired: true, commit: "2222222222222222222222222222222222222222", reason: "BranchName main"},
		{name: "default other branch", file: "github.push.json", edit: setRef("refs/heads/dev"), reason: "branch dev is not the action's BranchName main"},
		{name: "default DetectChanges false", file: "github.push.json", cfg: map[string]string{"DetectChanges": "false"}, reason: "DetectChanges is false"},
		{name: "default tag push", file: "github.push-tag.json", reason: "not tag v1.2.0"},
		{name: "default pull request", file: "github.pull-request-opened.json", reason: "not a pull request"},
		{name: "default deletion", file: "github.push.json", edit: func(m map[string]any) { m["deleted"] = true; m["after"] = strings.Repeat("0", 40) }, reason: "deletes refs/heads/main"},
		{name: "other repository", file: "github.push.json", cfg: map[string]string{"FullRepositoryId": "acme/other"}, reason: `watches repository "acme/other"`},
		{name: "other connection", file: "github.push.json", cfg: map[string]string{"ConnectionArn": conn + "x"}, reason: "is not the event's connection"},
		{name: "branch include glob", file: "github.push.json", edit: setRef("refs/heads/release/1.2"), trig: push(pipeline.GitPushFilter{Branches: fc([]string{"release/*"}, nil)}), fired: true},
		{name: "branch not included", file: "github.push.json", trig: push(pipeline.GitPushFilter{Branches: fc([]string{"release/*"}, nil)}), reason: "branch main is not in branches includes [release/*]"},
		{name: "star does not cross slash", file: "github.push.json", edit: setRef("refs/heads/release/a/b"), trig: push(pipeline.GitPushFilter{Branches: fc([]string{"release/*"}, nil)}), reason: "not in branches includes"},
		{name: "double star crosses slash", file: "github.push.json", edit: setRef("refs/heads/release/a/b"), trig: push(pipeline.GitPushFilter{Branches: fc([]string{"release/**"}, nil)}), fired: true},
		{name: "branch excludes win", file: "github.push.json", trig: push(pipeline.GitPushFilter{Branches: fc([]string{"*"}, []string{"ma?n"})}), reason: "branch main is excluded by branches excludes [ma?n]"},
		{name: "branch only excludes", file: "github.push.json", trig: push(pipeline.GitPushFilter{Branches: fc(nil, []string{"dev"})}), fired: true},
		{name: "braces and sets", file: "github.push.json", trig: push(pipeline.GitPushFilter{Branches: fc([]string{"{dev,[lm]ain}"}, nil)}), fired: true},
		{name: "file paths include", file: "github.push.json", trig: push(pipeline.GitPushFilter{Branches: fc([]string{"main"}, nil), FilePaths: fc([]string{"src/**"}, nil)}), fired: true},
		{name: "file paths none", file: "github.push.json", trig: push(pipeline.GitPushFilter{Branches: fc([]string{"main"}, nil), FilePaths: fc([]string{"lib/**"}, nil)}), reason: "file paths: none of [docs/guide.md README.md src/app/main.go src/old.go] match includes [lib/**]"},
		{name: "file paths all excluded", file: "github.push.json", trig: push(pipeline.GitPushFilter{FilePaths: fc(nil, []string{"**"})}), reason: "are excluded by excludes [**]"},
		{name: "file paths exclude some", file: "github.push.json", trig: push(pipeline.GitPushFilter{FilePaths: fc([]string{"**/*.md", "src/**"}, []string{"src/**"})}), fired: true},
		{name: "second filter matches", file: "github.push.json", trig: push(pipeline.GitPushFilter{Branches: fc([]string{"dev"}, nil)}, pipeline.GitPushFilter{Branches: fc([]string{"main"}, nil)}), fired: true, reason: "main push matches branches includes [main]"},
		{name: "tag include", file: "github.push-tag.json", trig: push(pipeline.GitPushFilter{Tags: fc([]string{"v*"}, nil)}), fired: true, commit: "2222222222222222222222222222222222222222"},
		{name: "tag excluded", file: "github.push-tag.json", edit: setRef("refs/tags/v1.2-rc"), trig: push(pipeline.GitPushFilter{Tags: fc([]string{"v*"}, []string{"v*-rc"})}), reason: "tag v1.2-rc is excluded by tags excludes [v*-rc]"},
		{name: "tag filter on branch push", file: "github.push.json", trig: push(pipeline.GitPushFilter{Tags: fc([]string{"v*"}, nil)}), reason: "this filter selects tags"},
		{name: "branch filter on tag push", file: "github.push-tag.json", trig: push(pipeline.GitPushFilter{Branches: fc([]string{"**"}, nil)}), reason: "this filter selects branches"},
		{name: "deleted branch with trigger", file: "github.push.json", edit: func(m map[string]any) { m["deleted"] = true }, trig: push(pipeline.GitPushFilter{Branches: fc([]string{"**"}, nil)}), reason: "deletes"},
		{name: "push trigger ignores PR", file: "github.pull-request-opened.json", trig: push(pipeline.GitPushFilter{Branches: fc([]string{"**"}, nil)}), reason: "no pullRequest filter"},
		{name: "pr opened", file: "github.pull-request-opened.json", trig: pr(pipeline.GitPullRequestFilter{Events: []string{"OPEN"}, Branches: fc([]string{"main"}, nil)}), fired: true, commit: "5555555555555555555555555555555555555555"},
		{name: "pr reopened is OPEN", file: "github.pull-request-opened.json", edit: setAction("reopened"), trig: pr(pipeline.GitPullRequestFilter{Events: []string{"OPEN"}}), fired: true},
		{name: "pr synchronize is UPDATED", file: "github.pull-request-opened.json", edit: setAction("synchronize"), trig: pr(pipeline.GitPullRequestFilter{Events: []string{"UPDATED"}}), fired: true},
		{name: "pr closed is CLOSED", file: "github.pull-request-opened.json", edit: setAction("closed"), trig: pr(pipeline.GitPullRequestFilter{Events: []string{"CLOSED"}}), fired: true},
		{name: "pr event not listed", file: "github.pull-request-opened.json", edit: setAction("closed"), trig: pr(pipeline.GitPullRequestFilter{Events: []string{"OPEN", "UPDATED"}}), reason: "pull request event CLOSED (closed) is not in events [OPEN UPDATED]"},
		{name: "pr labeled", file: "github.pull-request-opened.json", edit: setAction("labeled"), trig: pr(pipeline.GitPullRequestFilter{Events: []string{"OPEN"}}), reason: `"labeled" is none of`},
		{name: "pr destination branch", file: "github.pull-request-opened.json", trig: pr(pipeline.GitPullRequestFilter{Branches: fc([]string{"feature/*"}, nil)}), reason: "destination branch main is not in branches includes [feature/*]"},
		{name: "pr file paths without lister", file: "github.pull-request-opened.json", trig: pr(pipeline.GitPullRequestFilter{FilePaths: fc([]string{"src/**"}, nil)}), reason: "carries no changed file paths"},
		{name: "pr file paths from repository", file: "github.pull-request-opened.json", trig: pr(pipeline.GitPullRequestFilter{FilePaths: fc([]string{"src/**"}, nil)}),
			changed: func(_ context.Context, repo, base, head string) ([]string, error) {
				if repo != "acme/app" || base != "1111111111111111111111111111111111111111" || head != "5555555555555555555555555555555555555555" {
					return nil, errors.New("wrong arguments " + repo + " " + base + " " + head)
				}
				return []string{"src/x.go"}, nil
			}, fired: true},
		{name: "pr file lister fails", file: "github.pull-request-opened.json", trig: pr(pipeline.GitPullRequestFilter{FilePaths: fc([]string{"src/**"}, nil)}),
			changed: func(context.Context, string, string, string) ([]string, error) {
				return nil, errors.New("no such commit")
			},
			reason: "cannot list the changed file paths: no such commit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := event(t, tc.file, tc.edit)
			rs := triggers.Evaluate(context.Background(), ev, []*pipeline.Pipeline{pipe(tc.trig, tc.cfg)}, triggers.Options{ConnectionArn: conn, ChangedFiles: tc.changed})
			if len(rs) != 1 {
				t.Fatalf("got %d results", len(rs))
			}
			r := rs[0]
			if r.Fired != tc.fired {
				t.Fatalf("fired = %v, want %v; findings %+v", r.Fired, tc.fired, r.Findings)
			}
			if len(r.Findings) == 0 {
				t.Fatal("no findings")
			}
			if tc.reason != "" && !strings.Contains(r.Findings[0].Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", r.Findings[0].Reason, tc.reason)
			}
			if !tc.fired {
				if len(r.Revisions) != 0 || r.TriggerType != "" {
					t.Errorf("not fired but revisions %v type %q", r.Revisions, r.TriggerType)
				}
				return
			}
			if r.TriggerType != "WebhookV2" || r.TriggerDetail != conn {
				t.Errorf("trigger %q %q", r.TriggerType, r.TriggerDetail)
			}
			if len(r.Revisions) != 1 || r.Revisions[0].Action != "Src" || r.Revisions[0].Type != "COMMIT_ID" {
				t.Fatalf("revisions %+v", r.Revisions)
			}
			if tc.commit != "" && r.Revisions[0].Value != tc.commit {
				t.Errorf("commit %s, want %s", r.Revisions[0].Value, tc.commit)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, typ, body, msg string
	}{
		{"not json", "push", "{", "not valid JSON"},
		{"trailing", "push", `{"ref":"refs/heads/a","after":"x","repository":{"full_name":"a/b"}} {}`, "data after"},
		{"no repository", "push", `{"ref":"refs/heads/a","after":"x"}`, "repository.full_name"},
		{"no ref", "push", `{"after":"x","repository":{"full_name":"a/b"}}`, "no ref"},
		{"bad ref", "push", `{"ref":"refs/notes/x","after":"x","repository":{"full_name":"a/b"}}`, "neither"},
		{"no action", "pull_request", `{"pull_request":{},"repository":{"full_name":"a/b"}}`, "no action"},
		{"no head", "pull_request", `{"action":"opened","pull_request":{"base":{"ref":"main"}},"repository":{"full_name":"a/b"}}`, "head.ref"},
		{"no base", "pull_request", `{"action":"opened","pull_request":{"head":{"ref":"f","sha":"1"}},"repository":{"full_name":"a/b"}}`, "base.ref"},
		{"wrong type", "issues", `{}`, "not one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := triggers.Parse(tc.typ, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want %q", err, tc.msg)
			}
		})
	}
}

func TestGuessType(t *testing.T) {
	for file, want := range map[string]string{"github.push.json": "push", "github.push-tag.json": "push", "github.pull-request-opened.json": "pull_request", "github.ping.json": "ping"} {
		body, err := os.ReadFile(filepath.Join("..", "..", "events", file))
		if err != nil {
			t.Fatal(err)
		}
		if got := triggers.GuessType(body); got != want {
			t.Errorf("%s: %s, want %s", file, got, want)
		}
	}
}
