package embedded_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commitFile(t *testing.T, dir, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "content.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "content "+content)
	return gitIn(t, dir, "rev-parse", "HEAD")
}

// TestCommitStartsPipelineThroughPolling: a connection of the system's own
// names a local repository; a commit to its branch makes the poller start
// the pipeline, which runs on that commit's files, end to end.
func TestCommitStartsPipelineThroughPolling(t *testing.T) {
	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), NoFirstExecution: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(context.Background()) })
	ctx := service.LocalCaller(t.Context(), "test")

	repo := t.TempDir()
	gitIn(t, repo, "init", "-q", "-b", "main")
	commitFile(t, repo, "one")
	conn, err := sys.Service.CreateConnection(ctx, service.CreateConnectionInput{Name: "local", ID: "local-repo", Remote: repo})
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"name": "app", "stages": [
	 {"name": "Source", "actions": [{"name": "Src", "namespace": "SourceVariables",
	   "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
	   "configuration": {"ConnectionArn": "` + conn.Arn + `", "FullRepositoryId": "team/app", "BranchName": "main"},
	   "outputArtifacts": [{"name": "Code"}]}]},
	 {"name": "Build", "actions": [{"name": "Check",
	   "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	   "inputArtifacts": [{"name": "Code"}],
	   "environmentVariables": [{"name": "COMMIT", "value": "#{SourceVariables.CommitId}"}],
	   "commands": ["test \"$(cat content.txt)\" = two", "echo \"built $COMMIT\""]}]}]}`
	d, err := pipeline.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Service.CreatePipeline(ctx, d.Pipeline, nil); err != nil {
		t.Fatal(err)
	}
	p := sys.Poller(nil)
	if started, err := p.Round(t.Context()); err != nil || len(started) != 0 {
		t.Fatalf("the first round started %v (%v); it only notes the head", started, err)
	}
	two := commitFile(t, repo, "two")
	started, err := p.Round(t.Context())
	if err != nil || len(started) != 1 || started[0].Revision != two {
		t.Fatalf("after a commit the round started %v (%v), want one execution on %s", started, err, two)
	}
	e := wait(t, sys, started[0].ExecutionID)
	if e.Status != engine.Succeeded {
		t.Fatalf("the polled execution ended %s: %+v", e.Status, e)
	}
	out, err := sys.Service.GetExecution(ctx, "app", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ArtifactRevisions) != 1 || out.ArtifactRevisions[0].RevisionID != two || out.Trigger.TriggerType != "PollForSourceChanges" {
		t.Errorf("artifactRevisions %+v, trigger %+v; want the commit %s, PollForSourceChanges", out.ArtifactRevisions, out.Trigger, two)
	}
	if again, err := p.Round(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("a round without a new commit started %v (%v)", again, err)
	}
}
