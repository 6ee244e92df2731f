package gitsource_test

import (
	"context"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/actions/gitsource"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/gittest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

type localRepo struct{ dir string }

func (l localRepo) ConnectionRemote(_ context.Context, _, repo string) (gitsource.Remote, error) {
	return gitsource.Remote{URL: l.dir}, nil
}

func (l localRepo) CodeCommitRemote(context.Context, string) (gitsource.Remote, error) {
	return gitsource.Remote{URL: l.dir}, nil
}

const sourcePipeline = `{"pipeline": {"name": "app", "pipelineType": "V2",
 "variables": [{"name": "commit", "defaultValue": "none"}, {"name": "content", "defaultValue": "none"}],
 "stages": [
 {"name": "Source", "actions": [{"name": "Src", "namespace": "SourceVariables",
   "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
   "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:000000000000:connection/1b2c3d4e-aaaa-bbbb-cccc-ddddeeeeffff",
     "FullRepositoryId": "octo/app", "BranchName": "main"},
   "outputArtifacts": [{"name": "SourceOutput"}]}]},
 {"name": "Build", "actions": [{"name": "Check",
   "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
   "inputArtifacts": [{"name": "SourceOutput"}],
   "environmentVariables": [{"name": "COMMIT", "value": "#{SourceVariables.CommitId}"},
     {"name": "WANT_COMMIT", "value": "#{variables.commit}"}, {"name": "WANT_CONTENT", "value": "#{variables.content}"}],
   "commands": ["test \"$COMMIT\" = \"$WANT_COMMIT\"", "test \"$(cat content.txt)\" = \"$WANT_CONTENT\"", "test ! -e .git"]}]}]}}`

// TestThroughTheService runs a pipeline whose source is a git repository in
// the embedded system: the Build stage sees the commit's files and its
// CommitId variable, and the execution's revisions name the commit, pinned
// or not.
func TestThroughTheService(t *testing.T) {
	repo := gittest.Init(t)
	commit := func(content string) string {
		return gittest.Commit(t, repo, "content "+content, map[string]string{"content.txt": content})
	}
	c1 := commit("one")
	c2 := commit("two")

	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), NoFirstExecution: true, AuthNone: true, Sources: localRepo{repo}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(context.Background()) })
	ctx := service.LocalCaller(t.Context(), "test")
	doc, err := pipeline.Load([]byte(sourcePipeline))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Service.CreatePipeline(ctx, doc.Pipeline, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name          string
		pin           string
		commit, value string // what the Build stage is told to expect
		want          string // the execution's source revision
		status        engine.Status
	}{
		{name: "head", commit: c2, value: "two", want: c2, status: engine.Succeeded},
		{name: "pinned older commit", pin: c1, commit: c1, value: "one", want: c1, status: engine.Succeeded},
		{name: "head is not the older commit", commit: c1, value: "one", want: c2, status: engine.Failed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := service.StartInput{PipelineName: "app", Variables: map[string]string{"commit": tc.commit, "content": tc.value}}
			if tc.pin != "" {
				in.SourceRevisions = []engine.SourceRevision{{Action: "Src", Type: "COMMIT_ID", Value: tc.pin}}
			}
			e, err := sys.Service.StartExecution(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			done, err := sys.Runner.Wait(wctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if done.Status != tc.status {
				t.Errorf("status %s, want %s", done.Status, tc.status)
			}
			got, err := sys.Service.GetExecution(ctx, "app", e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.ArtifactRevisions) != 1 || got.ArtifactRevisions[0].Name != "SourceOutput" || got.ArtifactRevisions[0].RevisionID != tc.want {
				t.Errorf("artifactRevisions %+v, want SourceOutput at %s", got.ArtifactRevisions, tc.want)
			}
			list, err := sys.Service.ListExecutions(ctx, "app", "", 10, "")
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, s := range list.PipelineExecutionSummaries {
				if s.PipelineExecutionID == e.ID {
					found = true
					if len(s.SourceRevisions) != 1 || s.SourceRevisions[0].ActionName != "Src" || s.SourceRevisions[0].RevisionID != tc.want {
						t.Errorf("sourceRevisions %+v, want Src at %s", s.SourceRevisions, tc.want)
					}
				}
			}
			if !found {
				t.Errorf("execution %s not listed", e.ID)
			}
		})
	}
}
