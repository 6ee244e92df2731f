package cpdoor_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
)

// TestSDKStopPipelineExecution abandons an execution waiting for approval.
func TestSDKStopPipelineExecution(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-stop"
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &types.PipelineDeclaration{
		Name:    aws.String(name),
		RoleArn: aws.String(testRoleArn),
		Stages: []types.StageDeclaration{
			{Name: aws.String("Build"), Actions: []types.ActionDeclaration{{Name: aws.String("Make"), ActionTypeId: commandsType(), Commands: []string{"true"}}}},
			{Name: aws.String("Approve"), Actions: []types.ActionDeclaration{{Name: aws.String("Gate"), ActionTypeId: approvalType()}}},
		},
	}}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name), ClientRequestToken: aws.String("stop-test-1")})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	execID := aws.ToString(started.PipelineExecutionId)
	// The same client request token starts nothing new.
	again, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name), ClientRequestToken: aws.String("stop-test-1")})
	if err != nil || aws.ToString(again.PipelineExecutionId) != execID {
		t.Errorf("StartPipelineExecution with the same clientRequestToken: %v, %v", again, err)
	}
	approvalToken(t, ctx, cp, name, "Approve", "Gate", execID)
	stopped, err := cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{
		PipelineName: aws.String(name), PipelineExecutionId: aws.String(execID), Abandon: true, Reason: aws.String("no longer needed"),
	})
	if err != nil {
		t.Fatalf("StopPipelineExecution: %v", err)
	}
	if aws.ToString(stopped.PipelineExecutionId) != execID {
		t.Errorf("StopPipelineExecution returned %q", aws.ToString(stopped.PipelineExecutionId))
	}
	pe := waitExecution(t, ctx, cp, name, execID, types.PipelineExecutionStatusStopped)
	if !strings.Contains(aws.ToString(pe.StatusSummary), "no longer needed") {
		t.Errorf("status summary %q does not give the reason", aws.ToString(pe.StatusSummary))
	}
	_, err = cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String(name), PipelineExecutionId: aws.String(execID)})
	wantAPIError(t, err, "PipelineExecutionNotStoppableException")
}

// TestSDKTagsAndVersions: tags round trip; UpdatePipeline makes version 2
// and version 1 stays readable; delete.
func TestSDKTagsAndVersions(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-tags"
	decl := &types.PipelineDeclaration{
		Name:    aws.String(name),
		RoleArn: aws.String(testRoleArn),
		Stages: []types.StageDeclaration{
			{Name: aws.String("One"), Actions: []types.ActionDeclaration{{Name: aws.String("A"), ActionTypeId: commandsType(), Commands: []string{"echo one"}}}},
			{Name: aws.String("Two"), Actions: []types.ActionDeclaration{{Name: aws.String("B"), ActionTypeId: commandsType(), Commands: []string{"echo two"}}}},
		},
	}
	created, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: decl, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	if err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	if len(created.Tags) != 1 {
		t.Errorf("CreatePipeline returned tags %+v", created.Tags)
	}
	got, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("GetPipeline: %v", err)
	}
	arn := aws.ToString(got.Metadata.PipelineArn)
	if arn != "arn:aws:codepipeline:us-east-1:000000000000:"+name || got.Metadata.Created == nil {
		t.Errorf("GetPipeline metadata = %+v", got.Metadata)
	}
	tags := func() map[string]string {
		t.Helper()
		out, err := cp.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("ListTagsForResource: %v", err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if m := tags(); len(m) != 1 || m["team"] != "core" {
		t.Errorf("tags after create = %v", m)
	}
	if _, err := cp.TagResource(ctx, &codepipeline.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if m := tags(); len(m) != 2 || m["env"] != "dev" {
		t.Errorf("tags after TagResource = %v", m)
	}
	if _, err := cp.UntagResource(ctx, &codepipeline.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	if m := tags(); len(m) != 1 || m["env"] != "dev" {
		t.Errorf("tags after UntagResource = %v", m)
	}
	_, err = cp.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:codepipeline:us-east-1:000000000000:nope")})
	wantAPIError(t, err, "ResourceNotFoundException")

	// Update, then read both versions.
	decl.Stages[0].Actions[0].Commands = []string{"echo one, updated"}
	updated, err := cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: decl})
	if err != nil {
		t.Fatalf("UpdatePipeline: %v", err)
	}
	if v := aws.ToInt32(updated.Pipeline.Version); v != 2 {
		t.Errorf("UpdatePipeline: version %d, want 2", v)
	}
	v1, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name), Version: aws.Int32(1)})
	if err != nil {
		t.Fatalf("GetPipeline version 1: %v", err)
	}
	if aws.ToInt32(v1.Pipeline.Version) != 1 || v1.Pipeline.Stages[0].Actions[0].Commands[0] != "echo one" {
		t.Errorf("GetPipeline version 1 = version %d, commands %v", aws.ToInt32(v1.Pipeline.Version), v1.Pipeline.Stages[0].Actions[0].Commands)
	}
	latest, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)})
	if err != nil || aws.ToInt32(latest.Pipeline.Version) != 2 || latest.Pipeline.Stages[0].Actions[0].Commands[0] != "echo one, updated" {
		t.Errorf("GetPipeline latest = %+v, %v", latest, err)
	}
	_, err = cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name), Version: aws.Int32(3)})
	wantAPIError(t, err, "PipelineVersionNotFoundException")
	list, err := cp.ListPipelines(ctx, &codepipeline.ListPipelinesInput{})
	if err != nil || len(list.Pipelines) != 1 || aws.ToInt32(list.Pipelines[0].Version) != 2 {
		t.Errorf("ListPipelines = %+v, %v", list, err)
	}

	// Paging through ListPipelines with the SDK's paginator.
	for i := range 3 {
		d := *decl
		d.Name = aws.String(fmt.Sprintf("sdk-page-%d", i))
		if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &d}); err != nil {
			t.Fatalf("CreatePipeline: %v", err)
		}
	}
	var names []string
	pages := codepipeline.NewListPipelinesPaginator(cp, &codepipeline.ListPipelinesInput{MaxResults: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListPipelines page: %v", err)
		}
		if len(page.Pipelines) > 2 {
			t.Errorf("a page of %d pipelines with maxResults 2", len(page.Pipelines))
		}
		for _, p := range page.Pipelines {
			names = append(names, aws.ToString(p.Name))
		}
	}
	if len(names) != 4 {
		t.Errorf("paging listed %v", names)
	}

	if _, err := cp.DeletePipeline(ctx, &codepipeline.DeletePipelineInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("DeletePipeline: %v", err)
	}
	_, err = cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)})
	wantAPIError(t, err, "PipelineNotFoundException")
}
