package rest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// TestRESTSourceRevisions: the start call takes sourceRevisions as the
// CodePipeline door does; the execution record keeps them and hands them to
// the source action's run, the list shows them, and misdirected or
// malformed ones are refused naming the problem.
func TestRESTSourceRevisions(t *testing.T) {
	env := newRESTEnv(t)
	if _, err := env.sys.Service.CreateCustomActionType(context.Background(), service.CustomActionTypeInput{
		Category: "Source", Provider: "RestSource", Version: "1",
		OutputArtifactDetails: service.ArtifactDetails{MinimumCount: 1, MaximumCount: 1},
	}); err != nil {
		t.Fatal(err)
	}
	env.ok("POST", "/v1/pipelines", fmt.Sprintf(`{"name": "rest-revisions", "stages": [
  {"name": "Source", "actions": [{"name": "Fetch", "actionTypeId": {"category": "Source", "owner": "Custom", "provider": "RestSource", "version": "1"},
    "outputArtifacts": [{"name": "Src"}]}]},
  {"name": "Build", "actions": [{"name": "Say", "actionTypeId": %s, "commands": ["echo hi"], "inputArtifacts": [{"name": "Src"}]}]}
]}`, restCommands), 201, nil)

	var started RESTExecutionID
	env.ok("POST", "/v1/pipelines/rest-revisions/executions", RESTStartExecution{SourceRevisions: []RESTSourceRevision{
		{ActionName: "Fetch", RevisionType: "COMMIT_ID", RevisionValue: "4f2a9c1"},
	}}, 201, &started)
	want := []engine.SourceRevision{{Action: "Fetch", Type: "COMMIT_ID", Value: "4f2a9c1"}}
	e := env.waitExecution("rest-revisions", started.PipelineExecutionID, "the source action's run", func(e *engine.Execution) bool {
		_, ok := e.LatestRun("Source", "Fetch")
		return ok
	})
	if len(e.SourceRevisions) != 1 || e.SourceRevisions[0] != want[0] {
		t.Errorf("the record's sourceRevisions = %+v, want %+v", e.SourceRevisions, want)
	}
	if r, _ := e.LatestRun("Source", "Fetch"); len(r.SourceRevisions) != 1 || r.SourceRevisions[0] != want[0] {
		t.Errorf("the source action's run was handed %+v, want %+v", r.SourceRevisions, want)
	}
	var list service.ListPipelineExecutionsOutput
	env.ok("GET", "/v1/pipelines/rest-revisions/executions", nil, 200, &list)
	if n := len(list.PipelineExecutionSummaries); n != 1 {
		t.Fatalf("%d executions listed, want 1", n)
	}
	row := list.PipelineExecutionSummaries[0]
	if len(row.SourceRevisions) != 1 || row.SourceRevisions[0] != (service.SourceRevision{ActionName: "Fetch", RevisionID: "4f2a9c1"}) ||
		row.ExecutionMode != "SUPERSEDED" {
		t.Errorf("the list row: sourceRevisions %+v executionMode %q", row.SourceRevisions, row.ExecutionMode)
	}

	for _, c := range []struct {
		name    string
		body    any
		problem string
	}{
		{"not a source action", RESTStartExecution{SourceRevisions: []RESTSourceRevision{{ActionName: "Say", RevisionType: "COMMIT_ID", RevisionValue: "x"}}},
			"sourceRevisions[0].actionName"},
		{"unknown action", RESTStartExecution{SourceRevisions: []RESTSourceRevision{{ActionName: "Fetc", RevisionType: "COMMIT_ID", RevisionValue: "x"}}},
			"sourceRevisions[0].actionName"},
		{"unknown type", `{"sourceRevisions": [{"actionName": "Fetch", "revisionType": "TAG", "revisionValue": "v1"}]}`,
			"sourceRevisions[0].revisionType"},
		{"no value", `{"sourceRevisions": [{"actionName": "Fetch", "revisionType": "COMMIT_ID"}]}`,
			"sourceRevisions[0].revisionValue"},
	} {
		t.Run(c.name, func(t *testing.T) {
			restExpectError(t, env, "POST", "/v1/pipelines/rest-revisions/executions", c.body, 400, "ValidationException", c.problem,
				"Content-Type", "application/json")
		})
	}
}
