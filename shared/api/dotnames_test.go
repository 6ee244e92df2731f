package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/api/rest/restclient"
	"github.com/stageflow/stageflow/shared/engine"
)

// TestDotNames runs pipelines whose names CodePipeline's pattern allows but
// which are special as path components or URL segments: a Commands action
// makes an artifact a second one reads, and the pipeline, its state and its
// executions are read through the REST client and the CodePipeline door.
func TestDotNames(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	rc := restclient.New(srv.URL, srv.Client())
	cp := codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: srv.Credentials(),
	})
	commands := `{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}`
	for _, name := range []string{".", "..", "...", "a..b", ".hidden", ".put-x"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			doc := fmt.Sprintf(`{"pipeline": {"name": %q, "roleArn": "arn:aws:iam::000000000000:role/dots", "stages": [
  {"name": "Make", "actions": [{"name": "Make", "actionTypeId": %s,
    "commands": ["echo made > in.txt"], "outputArtifacts": [{"name": "In", "files": ["in.txt"]}]}]},
  {"name": "Use", "actions": [{"name": "Use", "actionTypeId": %s,
    "commands": ["grep made in.txt", "cp in.txt out.txt"],
    "inputArtifacts": [{"name": "In"}], "outputArtifacts": [{"name": "Out", "files": ["out.txt"]}]}]}
]}}`, name, commands, commands)
			if _, err := rc.CreatePipeline(ctx, []byte(doc)); err != nil {
				t.Fatalf("CreatePipeline: %v", err)
			}
			id, err := rc.StartExecution(ctx, name, rest.RESTStartExecution{})
			if err != nil {
				t.Fatalf("StartExecution: %v", err)
			}
			var e *engine.Execution
			for {
				if e, err = rc.GetExecution(ctx, name, id); err != nil {
					t.Fatalf("GetExecution: %v", err)
				}
				if e.Status != engine.InProgress {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("execution still %s", e.Status)
				case <-time.After(50 * time.Millisecond):
				}
			}
			if e.Status != engine.Succeeded {
				var msgs []string
				for _, a := range e.Actions {
					msgs = append(msgs, a.ErrorMessage)
				}
				t.Fatalf("execution %s: %q", e.Status, msgs)
			}
			p, err := rc.GetPipeline(ctx, name, 0)
			if err != nil || p.Pipeline.Name != name {
				t.Fatalf("GetPipeline = %+v, %v", p, err)
			}
			st, err := rc.PipelineState(ctx, name)
			if err != nil || st.PipelineName != name || len(st.StageStates) != 2 {
				t.Fatalf("PipelineState = %+v, %v", st, err)
			}
			ex, err := rc.ListExecutions(ctx, name, "", 0, "")
			if err != nil || len(ex.PipelineExecutionSummaries) != 1 {
				t.Fatalf("ListExecutions = %+v, %v", ex, err)
			}

			gp, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)})
			if err != nil || aws.ToString(gp.Pipeline.Name) != name {
				t.Fatalf("cp GetPipeline: %v", err)
			}
			gs, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(name)})
			if err != nil || aws.ToString(gs.PipelineName) != name {
				t.Fatalf("cp GetPipelineState: %v", err)
			}
			le, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
			if err != nil || len(le.PipelineExecutionSummaries) != 1 || string(le.PipelineExecutionSummaries[0].Status) != "Succeeded" {
				t.Fatalf("cp ListPipelineExecutions = %+v, %v", le, err)
			}
			ge, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String(name), PipelineExecutionId: aws.String(id)})
			if err != nil || aws.ToString(ge.PipelineExecution.PipelineName) != name {
				t.Fatalf("cp GetPipelineExecution: %v", err)
			}
			for _, a := range e.Actions {
				for _, out := range a.OutputArtifacts {
					if seg, _, _ := strings.Cut(out.Key, "/"); seg == "." || seg == ".." || strings.HasPrefix(seg, ".put-") {
						t.Errorf("artifact key %q: first segment %q", out.Key, seg)
					}
				}
			}
		})
	}
}
