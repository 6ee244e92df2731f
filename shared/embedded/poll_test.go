package embedded_test

import (
	"context"
	"testing"

	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/gittest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

func commitFile(t *testing.T, dir, content string) string {
	return gittest.Commit(t, dir, "content "+content, map[string]string{"content.txt": content})
}

// createSourceThenCheck creates the pipeline "app": a source action of the
// provider and configuration given, then a Commands action that checks the
// source's content.txt says "two" and prints the source's variable.
func createSourceThenCheck(t *testing.T, sys *embedded.System, provider, configuration, variable string) {
	t.Helper()
	doc := `{"name": "app", "stages": [
	 {"name": "Source", "actions": [{"name": "Src", "namespace": "SourceVariables",
	   "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "` + provider + `", "version": "1"},
	   "configuration": ` + configuration + `, "outputArtifacts": [{"name": "Code"}]}]},
	 {"name": "Build", "actions": [{"name": "Check",
	   "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	   "inputArtifacts": [{"name": "Code"}],
	   "environmentVariables": [{"name": "REVISION", "value": "#{SourceVariables.` + variable + `}"}],
	   "commands": ["test \"$(cat content.txt)\" = two", "echo \"built $REVISION\""]}]}]}`
	d, err := pipeline.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Service.CreatePipeline(service.LocalCaller(t.Context(), "test"), d.Pipeline, nil); err != nil {
		t.Fatal(err)
	}
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

	repo := gittest.Init(t)
	commitFile(t, repo, "one")
	conn, err := sys.Service.CreateConnection(ctx, service.CreateConnectionInput{Name: "local", ID: "local-repo", Remote: repo})
	if err != nil {
		t.Fatal(err)
	}
	createSourceThenCheck(t, sys, "CodeStarSourceConnection",
		`{"ConnectionArn": "`+conn.Arn+`", "FullRepositoryId": "team/app", "BranchName": "main"}`, "CommitId")
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
