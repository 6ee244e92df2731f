package githubhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/api/githubhook"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

const (
	conn   = "arn:aws:codeconnections:us-east-1:111111111111:connection/c1"
	secret = "s3cret"
)

type start struct {
	pipeline, typ, detail string
	revs                  []engine.SourceRevision
}

// fake is an in-memory Backend.
type fake struct {
	mu     sync.Mutex
	pipes  []*pipeline.Pipeline
	starts []start
}

func (f *fake) TriggerSecret(_ context.Context, id string) ([]byte, string, error) {
	if id != "c1" {
		return nil, "", errs.New(errs.NotFound, "no connection %s", id)
	}
	return []byte(secret), conn, nil
}

func (f *fake) Pipelines(context.Context) ([]*pipeline.Pipeline, error) { return f.pipes, nil }

func (f *fake) Start(_ context.Context, name string, revs []engine.SourceRevision, typ, detail string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, start{name, typ, detail, revs})
	return fmt.Sprintf("exec-%d", len(f.starts)), nil
}

func source(name, repo, branch string, trig *pipeline.GitConfiguration) *pipeline.Pipeline {
	p := &pipeline.Pipeline{Name: name, Stages: []pipeline.Stage{{Name: "Source", Actions: []pipeline.Action{{
		Name:          "Src",
		ActionTypeID:  pipeline.ActionTypeID{Category: "Source", Owner: "AWS", Provider: "CodeStarSourceConnection"},
		Configuration: map[string]string{"FullRepositoryId": repo, "BranchName": branch, "ConnectionArn": conn},
	}}}}}
	if trig != nil {
		trig.SourceActionName = "Src"
		p.Triggers = []pipeline.Trigger{{ProviderType: "CodeStarSourceConnection", GitConfiguration: *trig}}
	}
	return p
}

func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEndpoint(t *testing.T) {
	push := sample(t, "github.push.json")
	pr := sample(t, "github.pull-request-opened.json")
	ping := sample(t, "github.ping.json")
	sha1sig := func(b []byte) string {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write(b)
		return "sha1=" + hex.EncodeToString(m.Sum(nil))
	}
	cases := []struct {
		name       string
		conn       string
		event      string
		body       []byte
		sig        func([]byte) string
		status     int
		started    []string
		notStarted []string
		msg        string
	}{
		{name: "push starts default and matching trigger", conn: "c1", event: "push", body: push, status: 200, started: []string{"default-main", "trig-main"}, notStarted: []string{"default-dev", "other-repo", "trig-pr"}},
		{name: "pull request", conn: "c1", event: "pull_request", body: pr, status: 200, started: []string{"trig-pr"}, notStarted: []string{"default-main", "default-dev", "other-repo", "trig-main"}},
		{name: "ping", conn: "c1", event: "ping", body: ping, status: 200, msg: "pong"},
		{name: "ignored event", conn: "c1", event: "issues", body: []byte(`{}`), status: 202, msg: "ignored"},
		{name: "missing event header", conn: "c1", event: "", body: push, status: 400, msg: "X-GitHub-Event"},
		{name: "unknown connection", conn: "nope", event: "push", body: push, status: 404, msg: "no connection nope"},
		{name: "missing signature", conn: "c1", event: "push", body: push, sig: func([]byte) string { return "" }, status: 401, msg: "missing"},
		{name: "wrong algorithm", conn: "c1", event: "push", body: push, sig: sha1sig, status: 401, msg: "sha256="},
		{name: "not hex", conn: "c1", event: "push", body: push, sig: func([]byte) string { return "sha256=zz" }, status: 401, msg: "hexadecimal"},
		{name: "wrong secret", conn: "c1", event: "push", body: push, sig: func(b []byte) string { return sign(b, "other") }, status: 403, msg: "does not match"},
		{name: "signature of another body", conn: "c1", event: "push", body: push, sig: func([]byte) string { return sign(pr, secret) }, status: 403},
		{name: "malformed json", conn: "c1", event: "push", body: []byte(`{"ref":`), status: 400, msg: "not valid JSON"},
		{name: "missing field", conn: "c1", event: "push", body: []byte(`{"ref":"refs/heads/main","after":"a"}`), status: 400, msg: "repository.full_name"},
		{name: "too large", conn: "c1", event: "push", body: append(bytes.Repeat([]byte(" "), githubhook.MaxBody), push...), status: 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{pipes: []*pipeline.Pipeline{
				source("default-main", "acme/app", "main", nil),
				source("default-dev", "acme/app", "dev", nil),
				source("other-repo", "acme/other", "main", nil),
				source("trig-main", "acme/app", "dev", &pipeline.GitConfiguration{Push: []pipeline.GitPushFilter{{Branches: &pipeline.FilterCriteria{Includes: []string{"ma*"}}, FilePaths: &pipeline.FilterCriteria{Includes: []string{"src/**"}}}}}),
				source("trig-pr", "acme/app", "main", &pipeline.GitConfiguration{PullRequest: []pipeline.GitPullRequestFilter{{Events: []string{"OPEN"}, Branches: &pipeline.FilterCriteria{Includes: []string{"main"}}}}}),
			}}
			mux := http.NewServeMux()
			mux.Handle("POST /webhooks/connections/{connectionId}", &githubhook.Handler{Backend: f})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/connections/"+tc.conn, bytes.NewReader(tc.body))
			if tc.event != "" {
				req.Header.Set("X-GitHub-Event", tc.event)
			}
			sig := sign(tc.body, secret)
			if tc.sig != nil {
				sig = tc.sig(tc.body)
			}
			if sig != "" {
				req.Header.Set("X-Hub-Signature-256", sig)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out struct {
				Message    string                  `json:"message"`
				Started    []githubhook.Started    `json:"started"`
				NotStarted []githubhook.NotStarted `json:"notStarted"`
			}
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, out.Message)
			}
			if !strings.Contains(out.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", out.Message, tc.msg)
			}
			var started, notStarted []string
			for _, s := range out.Started {
				started = append(started, s.Pipeline)
				if s.ExecutionID == "" || len(s.Revisions) != 1 || s.Reason == "" {
					t.Errorf("started %+v", s)
				}
			}
			for _, n := range out.NotStarted {
				notStarted = append(notStarted, n.Pipeline)
				if len(n.Findings) == 0 || n.Findings[0].Reason == "" {
					t.Errorf("not started without a reason: %+v", n)
				}
			}
			if fmt.Sprint(started) != fmt.Sprint(tc.started) || fmt.Sprint(notStarted) != fmt.Sprint(tc.notStarted) {
				t.Errorf("started %v not started %v, want %v and %v", started, notStarted, tc.started, tc.notStarted)
			}
			if len(f.starts) != len(tc.started) {
				t.Fatalf("backend saw %d starts, want %d", len(f.starts), len(tc.started))
			}
			for i, s := range f.starts {
				want := "2222222222222222222222222222222222222222"
				if tc.event == "pull_request" {
					want = "5555555555555555555555555555555555555555"
				}
				if s.pipeline != tc.started[i] || s.typ != "WebhookV2" || s.detail != conn ||
					len(s.revs) != 1 || s.revs[0] != (engine.SourceRevision{Action: "Src", Type: "COMMIT_ID", Value: want}) {
					t.Errorf("start %+v", s)
				}
			}
		})
	}
}
