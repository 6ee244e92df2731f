package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/gittest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TestPushThroughTheConnectionEndpoint: a push event signed with the
// connection's trigger secret, POSTed to its endpoint on the real server,
// starts the pipeline that follows the pushed branch on the pushed commit,
// which runs on that commit's files, end to end; a bad signature starts
// nothing.
func TestPushThroughTheConnectionEndpoint(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx := service.LocalCaller(t.Context(), "test")
	repo := gittest.Init(t)
	write := func(content string) string {
		return gittest.Commit(t, repo, "content "+content, map[string]string{"content.txt": content})
	}
	first := write("one")
	conn, err := srv.Service.CreateConnection(ctx, service.CreateConnectionInput{Name: "acme", ID: "acme", Remote: repo})
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"name": "app", "pipelineType": "V2", "stages": [
	 {"name": "Source", "actions": [{"name": "Src",
	   "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
	   "configuration": {"ConnectionArn": "` + conn.Arn + `", "FullRepositoryId": "acme/app", "BranchName": "main"},
	   "outputArtifacts": [{"name": "Code"}]}]},
	 {"name": "Build", "actions": [{"name": "Check",
	   "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	   "inputArtifacts": [{"name": "Code"}], "commands": ["test \"$(cat content.txt)\" = two"]}]}],
	 "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "Src",
	   "push": [{"branches": {"includes": ["main"]}}]}}]}`
	d, err := pipeline.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Service.CreatePipeline(ctx, d.Pipeline, nil); err != nil {
		t.Fatal(err)
	}
	second := write("two")
	push := map[string]any{"ref": "refs/heads/main", "before": first, "after": second, "created": false, "deleted": false,
		"commits":     []any{map[string]any{"id": second, "message": "content two", "added": []string{}, "removed": []string{}, "modified": []string{"content.txt"}}},
		"head_commit": map[string]any{"id": second, "message": "content two", "added": []string{}, "removed": []string{}, "modified": []string{"content.txt"}},
		"repository":  map[string]any{"full_name": "acme/app", "name": "app"}}
	body, _ := json.Marshal(push)
	post := func(secret string) *http.Response {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/connections/acme", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	executions := func() []service.PipelineExecutionSummary {
		out, err := srv.Service.ListExecutions(ctx, "app", "", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		return out.PipelineExecutionSummaries
	}
	if res := post("not-the-secret"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a wrong signature: %d, want 403", res.StatusCode)
	}
	if n := len(executions()); n != 0 {
		t.Fatalf("a wrong signature started %d executions", n)
	}
	res := post(conn.TriggerSecret)
	var answer struct {
		Started []struct {
			ExecutionID string `json:"pipelineExecutionId"`
		} `json:"started"`
	}
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil || res.StatusCode != http.StatusOK || len(answer.Started) != 1 {
		t.Fatalf("the signed push: %d %+v (%v), want one execution started", res.StatusCode, answer, err)
	}
	wctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	e, err := srv.System.Runner.Wait(wctx, answer.Started[0].ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != engine.Succeeded {
		t.Fatalf("the pushed commit's execution ended %s", e.Status)
	}
	got, err := srv.Service.GetExecution(ctx, "app", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Trigger.TriggerType != "WebhookV2" || len(got.ArtifactRevisions) != 1 || got.ArtifactRevisions[0].RevisionID != second {
		t.Errorf("trigger %+v, revisions %+v; want WebhookV2 on %s", got.Trigger, got.ArtifactRevisions, second)
	}
	if n := len(executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}

	// A pull request's event names no changed paths: they are read from
	// the repository (from the merge base) for a filePaths filter.
	docs := strings.Replace(strings.Replace(doc, `"name": "app"`, `"name": "docs"`, 1),
		`"push": [{"branches": {"includes": ["main"]}}]`,
		`"pullRequest": [{"events": ["OPEN"], "branches": {"includes": ["main"]}, "filePaths": {"includes": ["docs/**"]}}]`, 1)
	d, err = pipeline.Load([]byte(docs))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Service.CreatePipeline(ctx, d.Pipeline, nil); err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, repo, "checkout", "-q", "-b", "feature")
	codeOnly := gittest.Commit(t, repo, "code", map[string]string{"src/a.go": "package a"})
	withDocs := gittest.Commit(t, repo, "docs", map[string]string{"docs/guide.md": "# guide", "content.txt": "two"})
	pr := func(head string) []byte {
		b, _ := json.Marshal(map[string]any{"action": "opened", "number": 7,
			"pull_request": map[string]any{"number": 7, "state": "open", "merged": false,
				"head": map[string]any{"ref": "feature", "sha": head}, "base": map[string]any{"ref": "main", "sha": second}},
			"repository": map[string]any{"full_name": "acme/app", "name": "app"}})
		return b
	}
	for _, tc := range []struct {
		head   string
		starts int
		why    string
	}{
		{codeOnly, 0, "docs/**"},
		{withDocs, 1, ""},
	} {
		body = pr(tc.head)
		mac := hmac.New(sha256.New, []byte(conn.TriggerSecret))
		mac.Write(body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/connections/acme", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Started []struct {
				Pipeline    string `json:"pipelineName"`
				ExecutionID string `json:"pipelineExecutionId"`
			} `json:"started"`
			NotStarted []json.RawMessage `json:"notStarted"`
		}
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("pull request at %s: %d (%v)", tc.head, res.StatusCode, err)
		}
		if len(got.Started) != tc.starts || (tc.starts == 1 && got.Started[0].Pipeline != "docs") {
			t.Errorf("pull request at %s started %+v, want %d of docs", tc.head, got.Started, tc.starts)
		}
		for _, st := range got.Started {
			// The release runs on the pull request's head, a commit of
			// another branch than the action's.
			e, err := srv.System.Runner.Wait(wctx, st.ExecutionID)
			if err != nil || e.Status != engine.Succeeded {
				t.Errorf("the pull request's execution: %v, %v: %+v", e.Status, err, e.Actions)
			}
		}
		if raw, _ := json.Marshal(got.NotStarted); tc.why != "" && !strings.Contains(string(raw), tc.why) {
			t.Errorf("pull request at %s: notStarted %s does not say %q", tc.head, raw, tc.why)
		}
	}
}
