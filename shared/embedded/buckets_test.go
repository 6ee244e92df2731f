package embedded_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// putZip uploads a zip holding content.txt and returns its version ID.
func putZip(t *testing.T, c *s3.Client, bucket, key, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "content.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := artifacts.ZipDir(dir, &buf); err != nil {
		t.Fatal(err)
	}
	out, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// TestRemoteBucketThroughPolling: a bucket recorded with `stageflow bucket
// create` at another S3-compatible endpoint (gofakes3 on 127.0.0.1) feeds
// an S3 source action; a new version starts one execution on it.
func TestRemoteBucketThroughPolling(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDREMOTE", "remote-secret", "")})
	ctx := service.LocalCaller(t.Context(), "test")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("releases")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("releases"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	one := putZip(t, c, "releases", "app.zip", "one")

	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), NoFirstExecution: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(context.Background()) })
	if _, err := sys.Service.CreateBucket(ctx, service.CreateBucketInput{Name: "releases", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "AKIDREMOTE", SecretAccessKey: "remote-secret"}); err != nil {
		t.Fatal(err)
	}
	createSourceThenCheck(t, sys, "S3", `{"S3Bucket": "releases", "S3ObjectKey": "app.zip", "PollForSourceChanges": "true"}`, "VersionId")
	p := sys.Poller(nil)
	if started, err := p.Round(t.Context()); err != nil || len(started) != 0 {
		t.Fatalf("the first round started %v (%v); it only notes the version", started, err)
	}
	two := putZip(t, c, "releases", "app.zip", "two")
	started, err := p.Round(t.Context())
	if err != nil || len(started) != 1 || started[0].Revision != two {
		t.Fatalf("after a new version the round started %v (%v), want one execution on %s", started, err, two)
	}
	e := wait(t, sys, started[0].ExecutionID)
	if e.Status != engine.Succeeded {
		t.Fatalf("the polled execution ended %s: %+v", e.Status, e)
	}
	out, err := sys.Service.GetExecution(ctx, "app", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ArtifactRevisions) != 1 || out.ArtifactRevisions[0].RevisionID != two {
		t.Errorf("artifactRevisions %+v, want the version %s", out.ArtifactRevisions, two)
	}
	if again, err := p.Round(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("a round without a new version started %v (%v)", again, err)
	}
	// A release pinned to the first version reads it: the build, which
	// wants "two", fails on it.
	pinned, err := sys.Service.StartExecution(ctx, service.StartInput{PipelineName: "app",
		SourceRevisions: []engine.SourceRevision{{Action: "Src", Type: "S3_OBJECT_VERSION_ID", Value: one}}})
	if err != nil {
		t.Fatal(err)
	}
	if e := wait(t, sys, pinned.ID); e.Status != engine.Failed {
		t.Fatalf("the execution pinned to the first version ended %s, want Failed (its content is one)", e.Status)
	}
	out, err = sys.Service.GetExecution(ctx, "app", pinned.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ArtifactRevisions) != 1 || out.ArtifactRevisions[0].RevisionID != one {
		t.Errorf("artifactRevisions %+v, want the version %s", out.ArtifactRevisions, one)
	}
}
