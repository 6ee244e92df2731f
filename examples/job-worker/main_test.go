package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/embedded"
)

// noAWSConfig empties the AWS configuration of the environment: no
// profile, no key, no files, no instance metadata.
func noAWSConfig(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestWorkerAgainstStageflow runs the worker against a test server whose
// artifact bucket is served, path-style on the same port, by the server's
// S3 endpoint: the first job uploads its report as
// an output artifact, the second downloads it as its input and counts it.
// The pipeline is made with the admin key; the worker signs, from the
// environment as a deployed worker would, with a key of its own that may
// only do the job calls (AWSCodePipelineCustomActionAccess).
func TestWorkerAgainstStageflow(t *testing.T) {
	srv := apitest.NewServer(t) // its S3 door serves the artifact bucket
	noAWSConfig(t)
	key := srv.NewKey("worker", apitest.Builtin("AWSCodePipelineCustomActionAccess"))
	t.Setenv("AWS_ACCESS_KEY_ID", key.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", key.SecretAccessKey)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cp := codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Credentials: srv.Credentials(),
	})
	// The worker's key does the job calls, and nothing else.
	asWorker := codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
	})
	var denied smithy.APIError
	if _, err := asWorker.ListPipelines(ctx, &codepipeline.ListPipelinesInput{}); !errors.As(err, &denied) || denied.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("ListPipelines with the worker's key: %v, want AccessDeniedException", err)
	}
	typ := types.ActionTypeId{Category: types.ActionCategoryDeploy, Owner: types.ActionOwnerCustom, Provider: aws.String("FileCounter"), Version: aws.String("1")}
	if _, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: typ.Category, Provider: typ.Provider, Version: typ.Version,
		InputArtifactDetails:  &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 5},
		OutputArtifactDetails: &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 1},
	}); err != nil {
		t.Fatalf("CreateCustomActionType: %v", err)
	}
	const name = "worker-example"
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &types.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String("arn:aws:iam::000000000000:role/worker-example"),
		Stages: []types.StageDeclaration{
			{Name: aws.String("Count"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Report"), ActionTypeId: &typ, Configuration: map[string]string{"Target": "staging"},
				OutputArtifacts: []types.OutputArtifact{{Name: aws.String("Report")}},
			}}},
			{Name: aws.String("Recount"), Actions: []types.ActionDeclaration{{
				Name: aws.String("Recount"), ActionTypeId: &typ, Namespace: aws.String("recount"),
				InputArtifacts: []types.InputArtifact{{Name: aws.String("Report")}},
			}}},
		},
	}}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	// Creating the pipeline started its first execution, as in CodePipeline.
	list, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
	if err != nil || len(list.PipelineExecutionSummaries) != 1 {
		t.Fatalf("ListPipelineExecutions: %+v, %v; want the first execution", list, err)
	}
	execID := aws.ToString(list.PipelineExecutionSummaries[0].PipelineExecutionId)

	w, err := New(ctx, Config{Endpoint: srv.URL, Region: "us-east-1", ActionType: typ, PollInterval: 20 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	workerCtx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(workerCtx) }()

	var pe *types.PipelineExecution
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		out, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String(name), PipelineExecutionId: aws.String(execID)})
		if err != nil {
			t.Fatalf("GetPipelineExecution: %v", err)
		}
		pe = out.PipelineExecution
		if pe.Status != types.PipelineExecutionStatusInProgress {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the execution did not end: %v", ctx.Err())
		case <-time.After(pause):
		}
	}
	stopWorker()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if pe.Status != types.PipelineExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s", pe.Status, aws.ToString(pe.StatusSummary))
	}
	if w.handled != 2 {
		t.Errorf("the worker handled %d jobs, want 2", w.handled)
	}

	acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(name), Filter: &types.ActionExecutionFilter{PipelineExecutionId: aws.String(execID)}})
	if err != nil {
		t.Fatalf("ListActionExecutions: %v", err)
	}
	var reportKey string
	for _, d := range acts.ActionExecutionDetails {
		switch aws.ToString(d.ActionName) {
		case "Report":
			if d.Output == nil || len(d.Output.OutputArtifacts) != 1 || d.Output.OutputVariables["FileCount"] != "0" {
				t.Errorf("Report output = %+v", d.Output)
			} else {
				reportKey = aws.ToString(d.Output.OutputArtifacts[0].S3location.Key)
			}
		case "Recount":
			if d.Output == nil || d.Output.OutputVariables["FileCount"] != "1" || d.Output.OutputVariables["InputArtifactCount"] != "1" {
				t.Errorf("Recount output = %+v", d.Output)
			}
		}
	}

	// The report the first job uploaded is in the artifact folder.
	obj, _, err := srv.System.Artifacts.Open(ctx, artifacts.Location{Bucket: embedded.LocalBucket, Key: reportKey})
	if err != nil {
		t.Fatalf("the report artifact %q is not in the bucket: %v", reportKey, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "report.txt" {
		t.Fatalf("the report artifact is not a zip holding report.txt: %v", err)
	}
	f, _ := zr.File[0].Open()
	text, _ := io.ReadAll(f)
	if !strings.Contains(string(text), "Target = staging") || !strings.Contains(string(text), "0 files") {
		t.Errorf("report.txt:\n%s", text)
	}
}

// TestWorkerWithoutCredentials: a worker with no credentials to sign with
// does not start, and says how to get a key.
func TestWorkerWithoutCredentials(t *testing.T) {
	noAWSConfig(t)
	typ := types.ActionTypeId{Category: types.ActionCategoryDeploy, Owner: types.ActionOwnerCustom, Provider: aws.String("FileCounter"), Version: aws.String("1")}
	_, err := New(context.Background(), Config{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", ActionType: typ},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "stageflow keys create --user worker --policy AWSCodePipelineCustomActionAccess") {
		t.Fatalf("New without credentials: %v, want an error telling how to make a key", err)
	}
}
