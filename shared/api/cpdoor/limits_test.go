package cpdoor_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
)

// sdkTags makes n tags k0..k(n-1) (values v0…), after the given ones.
func sdkTags(n int, extra ...types.Tag) []types.Tag {
	tags := make([]types.Tag, 0, n+len(extra))
	for i := range n {
		tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String(fmt.Sprintf("v%d", i))})
	}
	return append(tags, extra...)
}

func sdkTag(key, value string) types.Tag {
	return types.Tag{Key: aws.String(key), Value: aws.String(value)}
}

func onePipeline(name string) *types.PipelineDeclaration {
	return &types.PipelineDeclaration{
		Name:    aws.String(name),
		RoleArn: aws.String(testRoleArn),
		Stages: []types.StageDeclaration{
			{Name: aws.String("One"), Actions: []types.ActionDeclaration{{Name: aws.String("A"), ActionTypeId: commandsType(), Commands: []string{"true"}}}},
			{Name: aws.String("Two"), Actions: []types.ActionDeclaration{{Name: aws.String("B"), ActionTypeId: commandsType(), Commands: []string{"true"}}}},
		},
	}
}

// TestSDKTagLimits: a resource has at most 50 tags, counted after the call
// (a key it has already is overwritten, not added), and no key may start
// with aws:. A refused call changes nothing: CreatePipeline creates no
// pipeline, TagResource leaves the tags as they were.
func TestSDKTagLimits(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	tests := []struct {
		name      string
		create    []types.Tag // CreatePipeline's tags
		tag       []types.Tag // then TagResource's, if any
		wantErr   string      // the exception of the last call; "" for success
		wantCount int         // the tags the pipeline has at the end (when it exists)
		wantK7    string      // the value of tag k7 at the end, if checked
	}{
		{name: "create with 50", create: sdkTags(50), wantCount: 50},
		{name: "create with 51", create: sdkTags(51), wantErr: "TooManyTagsException"},
		{name: "create with aws: key", create: sdkTags(1, sdkTag("aws:x", "1")), wantErr: "InvalidTagsException"},
		{name: "create with AWS: key", create: sdkTags(0, sdkTag("AWS:cloudformation:stack", "1")), wantErr: "InvalidTagsException"},
		{name: "create with a key containing aws:", create: sdkTags(0, sdkTag("team:aws:x", "1")), wantCount: 1},
		{name: "tag up to 50", create: sdkTags(49), tag: []types.Tag{sdkTag("new", "1")}, wantCount: 50},
		{name: "tag a 51st", create: sdkTags(50), tag: []types.Tag{sdkTag("new", "1")}, wantErr: "TooManyTagsException", wantCount: 50},
		{name: "tag 51 at once", tag: sdkTags(51), wantErr: "TooManyTagsException", wantCount: 0},
		{name: "overwrite at 50", create: sdkTags(50), tag: []types.Tag{sdkTag("k7", "changed")}, wantCount: 50, wantK7: "changed"},
		{name: "overwrite and add at 50", create: sdkTags(50), tag: []types.Tag{sdkTag("k7", "changed"), sdkTag("new", "1")}, wantErr: "TooManyTagsException", wantCount: 50, wantK7: "v7"},
		{name: "tag aws: key", create: sdkTags(1), tag: []types.Tag{sdkTag("aws:x", "1")}, wantErr: "InvalidTagsException", wantCount: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("tag-limits-%d", i)
			_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: onePipeline(name), Tags: tt.create})
			if tt.tag == nil && tt.wantErr != "" {
				wantAPIError(t, err, tt.wantErr)
				_, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(name)})
				wantAPIError(t, err, "PipelineNotFoundException")
				return
			}
			if err != nil {
				t.Fatalf("CreatePipeline: %v", err)
			}
			arn := "arn:aws:codepipeline:us-east-1:000000000000:" + name
			if tt.tag != nil {
				_, err := cp.TagResource(ctx, &codepipeline.TagResourceInput{ResourceArn: aws.String(arn), Tags: tt.tag})
				if tt.wantErr != "" {
					wantAPIError(t, err, tt.wantErr)
				} else if err != nil {
					t.Fatalf("TagResource: %v", err)
				}
			}
			out, err := cp.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				t.Fatalf("ListTagsForResource: %v", err)
			}
			if len(out.Tags) != tt.wantCount {
				t.Errorf("the pipeline has %d tags, want %d", len(out.Tags), tt.wantCount)
			}
			for _, tg := range out.Tags {
				if aws.ToString(tg.Key) == "k7" && tt.wantK7 != "" && aws.ToString(tg.Value) != tt.wantK7 {
					t.Errorf("k7 = %q, want %q", aws.ToString(tg.Value), tt.wantK7)
				}
			}
		})
	}
}

// TestSDKOutputVariablesLimit: PutJobSuccessResult with output variables
// over CodePipeline's combined limit fails with
// OutputVariablesSizeExceededException and changes nothing: the worker
// still holds the job and can end it with fewer.
func TestSDKOutputVariablesLimit(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const name = "sdk-output-limit"
	createWorkerType(t, ctx, cp, "StageflowBigOutput")
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: singleWorkerPipeline(name, "StageflowBigOutput")}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	execID := aws.ToString(started.PipelineExecutionId)
	job := pollJob(t, ctx, cp, workerType("StageflowBigOutput"))
	acknowledge(t, ctx, cp, job)

	const limit = engine.MaxOutputVariablesSize
	// Attempts in order on the same job; only the last succeeds.
	attempts := []struct {
		name    string
		vars    map[string]string
		wantErr string
	}{
		{"one value over the limit", map[string]string{"BIG": strings.Repeat("x", limit)}, "OutputVariablesSizeExceededException"},
		{"names count too", map[string]string{"A": strings.Repeat("x", limit/2), "B": strings.Repeat("x", limit/2)}, "OutputVariablesSizeExceededException"},
		{"characters, not bytes: one over", map[string]string{"U": strings.Repeat("é", limit)}, "OutputVariablesSizeExceededException"},
		{"exactly the limit", map[string]string{"A": strings.Repeat("é", limit/2-1), "B": strings.Repeat("x", limit/2-1)}, ""},
	}
	for _, at := range attempts {
		_, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: job.Id, OutputVariables: at.vars})
		if at.wantErr != "" {
			if err == nil {
				t.Fatalf("%s: want %s, got success", at.name, at.wantErr)
			}
			if got := apiErrorCode(err); got != at.wantErr {
				t.Fatalf("%s: want %s, got %v", at.name, at.wantErr, err)
			}
			details, err := cp.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: job.Id})
			if err != nil {
				t.Fatalf("%s: GetJobDetails after the refusal: %v", at.name, err)
			}
			if aws.ToString(details.JobDetails.Id) != aws.ToString(job.Id) {
				t.Errorf("%s: GetJobDetails = %+v", at.name, details.JobDetails)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: PutJobSuccessResult: %v", at.name, err)
		}
	}
	waitExecution(t, ctx, cp, name, execID, types.PipelineExecutionStatusSucceeded)
	d := actionExecutions(t, ctx, cp, name, execID)["Work/Job"]
	if d.Output == nil || len(d.Output.OutputVariables["B"]) != limit/2-1 {
		t.Errorf("Work/Job output variables: %d of B, want %d", len(d.Output.OutputVariables["B"]), limit/2-1)
	}
}
