package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/service"
)

// credsJob is a job a test worker holds: its ID, nonce, artifact
// credentials and the object keys of its input and output artifacts.
type credsJob struct {
	id, nonce, execID string
	creds             *cptypes.AWSSessionCredentials
	in, out, bucket   string
}

// jobCredsServer starts a server whose clock the test can move on, and
// three pipelines, each a Commands action making artifact In and a custom
// action taking In and making Out; it returns a job of each pipeline.
func jobCredsServer(t *testing.T, ctx context.Context) (*apitest.Server, *codepipeline.Client, *atomic.Int64, map[string]credsJob) {
	t.Helper()
	var skew atomic.Int64
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution(), apitest.WithClock(func() time.Time { return time.Now().UTC().Add(time.Duration(skew.Load())) }))
	cp := codepipeline.New(codepipeline.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: srv.Credentials(),
	})
	typ := &cptypes.ActionTypeId{Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerCustom, Provider: aws.String("CredsWorker"), Version: aws.String("1")}
	if _, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: typ.Category, Provider: typ.Provider, Version: typ.Version,
		InputArtifactDetails:  &cptypes.ArtifactDetails{MinimumCount: 0, MaximumCount: 1},
		OutputArtifactDetails: &cptypes.ArtifactDetails{MinimumCount: 0, MaximumCount: 1},
	}); err != nil {
		t.Fatalf("CreateCustomActionType: %v", err)
	}
	commands := &cptypes.ActionTypeId{Category: cptypes.ActionCategoryCompute, Owner: cptypes.ActionOwnerAws, Provider: aws.String("Commands"), Version: aws.String("1")}
	for _, name := range []string{"alpha", "beta", "gamma"} {
		_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &cptypes.PipelineDeclaration{
			Name: aws.String(name), RoleArn: aws.String("arn:aws:iam::000000000000:role/creds"),
			Stages: []cptypes.StageDeclaration{
				{Name: aws.String("Make"), Actions: []cptypes.ActionDeclaration{{
					Name: aws.String("Make"), ActionTypeId: commands,
					Commands:        []string{"echo " + name + " > in.txt"},
					OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("In"), Files: []string{"in.txt"}}},
				}}},
				{Name: aws.String("Work"), Actions: []cptypes.ActionDeclaration{{
					Name: aws.String("Work"), ActionTypeId: typ,
					InputArtifacts:  []cptypes.InputArtifact{{Name: aws.String("In")}},
					OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("Out")}},
				}}},
			},
		}})
		if err != nil {
			t.Fatalf("CreatePipeline %s: %v", name, err)
		}
		if _, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)}); err != nil {
			t.Fatalf("StartPipelineExecution %s: %v", name, err)
		}
	}
	jobs := map[string]credsJob{}
	for deadline := time.Now().Add(30 * time.Second); len(jobs) < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d jobs, want 3", len(jobs))
		}
		out, err := cp.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: typ, MaxBatchSize: aws.Int32(3)})
		if err != nil {
			t.Fatalf("PollForJobs: %v", err)
		}
		for _, j := range out.Jobs {
			d := j.Data
			if len(d.InputArtifacts) != 1 || len(d.OutputArtifacts) != 1 || d.ArtifactCredentials == nil {
				t.Fatalf("job data %+v", d)
			}
			jobs[aws.ToString(d.PipelineContext.PipelineName)] = credsJob{
				id: aws.ToString(j.Id), nonce: aws.ToString(j.Nonce), execID: aws.ToString(d.PipelineContext.Action.ActionExecutionId),
				creds:  d.ArtifactCredentials,
				bucket: aws.ToString(d.InputArtifacts[0].Location.S3Location.BucketName),
				in:     aws.ToString(d.InputArtifacts[0].Location.S3Location.ObjectKey),
				out:    aws.ToString(d.OutputArtifacts[0].Location.S3Location.ObjectKey),
			}
		}
	}
	for _, j := range jobs {
		if _, err := cp.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: aws.String(j.id), Nonce: aws.String(j.nonce)}); err != nil {
			t.Fatalf("AcknowledgeJob: %v", err)
		}
	}
	return srv, cp, &skew, jobs
}

func s3Client(srv *apitest.Server, id, secret, token string) *awss3.Client {
	return awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, token),
	})
}

func jobClient(srv *apitest.Server, j credsJob) *awss3.Client {
	return s3Client(srv, aws.ToString(j.creds.AccessKeyId), aws.ToString(j.creds.SecretAccessKey), aws.ToString(j.creds.SessionToken))
}

// s3Status is the HTTP status of an S3 call's error (200 without one) and
// its S3 error code.
func s3Status(err error) (int, string) {
	if err == nil {
		return http.StatusOK, ""
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode(), code
	}
	return 0, code
}

func getObject(ctx context.Context, c *awss3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func putObject(ctx context.Context, c *awss3.Client, bucket, key, body string) error {
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	return err
}

// TestJobArtifactCredentials checks that a job's artifact credentials reach
// its own input (read) and output (write) objects only, through the real S3
// door and the AWS SDK's S3 client, and only while the job runs.
func TestJobArtifactCredentials(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, cp, skew, jobs := jobCredsServer(t, ctx)
	a, b := jobs["alpha"], jobs["beta"]
	ca := jobClient(srv, a)
	bucket := a.bucket

	// Nonces and credentials are the job's own.
	for name, j := range jobs {
		if j.nonce == j.execID || j.nonce == j.id || len(j.nonce) < 22 || len(j.nonce) > 50 {
			t.Errorf("%s: nonce %q (action execution %s, job %s)", name, j.nonce, j.execID, j.id)
		}
		if !strings.HasPrefix(aws.ToString(j.creds.AccessKeyId), service.JobKeyPrefix) {
			t.Errorf("%s: access key %q", name, aws.ToString(j.creds.AccessKeyId))
		}
	}
	if a.nonce == b.nonce || aws.ToString(a.creds.AccessKeyId) == aws.ToString(b.creds.AccessKeyId) ||
		aws.ToString(a.creds.SecretAccessKey) == aws.ToString(b.creds.SecretAccessKey) || aws.ToString(a.creds.SessionToken) == aws.ToString(b.creds.SessionToken) {
		t.Fatal("two jobs share a nonce or artifact credentials")
	}
	details, err := cp.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: aws.String(a.id)})
	if err != nil {
		t.Fatalf("GetJobDetails: %v", err)
	}
	if c := details.JobDetails.Data.ArtifactCredentials; c == nil || aws.ToString(c.SecretAccessKey) != aws.ToString(a.creds.SecretAccessKey) {
		t.Errorf("GetJobDetails hands other credentials: %+v", c)
	}

	bID := aws.ToString(b.creds.AccessKeyId)
	tests := []struct {
		name string
		call func() error
		want int
		code string
	}{
		{"read own input", func() error { _, err := getObject(ctx, ca, bucket, a.in); return err }, 200, ""},
		{"head own input", func() error {
			_, err := ca.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(a.in)})
			return err
		}, 200, ""},
		{"write own output", func() error { return putObject(ctx, ca, bucket, a.out, "alpha output") }, 200, ""},
		{"copy own input to own output", func() error {
			_, err := ca.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String(a.out), CopySource: aws.String(bucket + "/" + a.in)})
			return err
		}, 200, ""},
		{"overwrite own input", func() error { return putObject(ctx, ca, bucket, a.in, "overwritten") }, 403, "AccessDenied"},
		{"read B's input", func() error { _, err := getObject(ctx, ca, bucket, b.in); return err }, 403, "AccessDenied"},
		{"write B's output", func() error { return putObject(ctx, ca, bucket, b.out, "forged") }, 403, "AccessDenied"},
		{"overwrite B's input", func() error { return putObject(ctx, ca, bucket, b.in, "forged") }, 403, "AccessDenied"},
		{"delete B's input", func() error {
			_, err := ca.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(b.in)})
			return err
		}, 403, "AccessDenied"},
		{"copy B's input to own output", func() error {
			_, err := ca.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String(a.out), CopySource: aws.String(bucket + "/" + b.in)})
			return err
		}, 403, "AccessDenied"},
		{"list the bucket", func() error {
			_, err := ca.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			return err
		}, 403, "AccessDenied"},
		{"list own prefix", func() error {
			_, err := ca.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(a.in)})
			return err
		}, 403, "AccessDenied"},
		{"delete many", func() error {
			_, err := ca.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String(b.in)}}}})
			return err
		}, 403, "AccessDenied"},
		{"B's key with A's secret", func() error {
			_, err := getObject(ctx, s3Client(srv, bID, aws.ToString(a.creds.SecretAccessKey), aws.ToString(b.creds.SessionToken)), bucket, b.in)
			return err
		}, 403, "SignatureDoesNotMatch"},
		{"wrong secret", func() error {
			_, err := getObject(ctx, s3Client(srv, aws.ToString(a.creds.AccessKeyId), aws.ToString(a.creds.SecretAccessKey)+"x", aws.ToString(a.creds.SessionToken)), bucket, a.in)
			return err
		}, 403, "SignatureDoesNotMatch"},
		{"forged key of an unknown job", func() error {
			forged := service.JobKeyPrefix + "KNXW4ZLKN5RA" // base32 of "snejob"
			_, err := getObject(ctx, s3Client(srv, forged, "secret", "token"), bucket, a.in)
			return err
		}, 403, "InvalidAccessKeyId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, code := s3Status(tt.call()); status != tt.want || code != tt.code {
				t.Errorf("%d %s, want %d %s", status, code, tt.want, tt.code)
			}
		})
	}
	// Nothing of B's changed.
	if got, err := getObject(ctx, jobClient(srv, b), bucket, b.in); err != nil || got == "" || strings.Contains(got, "forged") {
		t.Errorf("B's input: %q %v", got, err)
	}

	// Once a job has ended its credentials are refused.
	if _, err := cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: aws.String(a.id)}); err != nil {
		t.Fatalf("PutJobSuccessResult: %v", err)
	}
	if _, err := cp.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
		JobId: aws.String(b.id), FailureDetails: &cptypes.FailureDetails{Type: cptypes.FailureTypeJobFailed, Message: aws.String("no")},
	}); err != nil {
		t.Fatalf("PutJobFailureResult: %v", err)
	}
	g := jobs["gamma"]
	if _, err := getObject(ctx, jobClient(srv, g), bucket, g.in); err != nil {
		t.Fatalf("gamma reads its input before the timeout: %v", err)
	}
	skew.Store(int64(25 * time.Hour)) // past a custom action's default timeout of 24 hours
	for name, j := range jobs {
		t.Run(fmt.Sprintf("%s after its end", name), func(t *testing.T) {
			_, err := getObject(ctx, jobClient(srv, j), bucket, j.in)
			if status, _ := s3Status(err); status != 403 {
				t.Errorf("read its input: %d (%v), want 403", status, err)
			}
			if status, _ := s3Status(putObject(ctx, jobClient(srv, j), bucket, j.out, "late")); status != 403 {
				t.Errorf("write its output: %d, want 403", status)
			}
		})
	}
	if n, err := srv.Service.ExpireJobs(service.LocalCaller(ctx, "test")); err != nil || n != 1 {
		t.Errorf("ExpireJobs: %d %v, want gamma's job", n, err)
	}
	if _, err := getObject(ctx, jobClient(srv, g), bucket, g.in); err == nil {
		t.Error("gamma reads its input after it timed out")
	}
}
