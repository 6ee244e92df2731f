package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

// keysServer runs a whole server (its SQLite store keeps the access keys,
// its hook evaluates their policies) whose S3 door holds p/e/A.zip and
// secret/S.zip.
func keysServer(t *testing.T) *apitest.Server {
	t.Helper()
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	for k, v := range map[string]string{"p/e/A.zip": "artifact A", "secret/S.zip": "secret artifact"} {
		if _, err := srv.System.Artifacts.PutKey(context.Background(), k, strings.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// TestS3DoorServerKeys: requests signed with the server's access keys reach
// the S3 door's objects as their policies allow, decided through the
// service's hook with the stageflow: artifact actions on S3 ARNs, signed in
// the header or presigned; the refusals are S3's.
func TestS3DoorServerKeys(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := keysServer(t)
	svc := srv.Service
	const bucket = "stageflow-artifacts"
	admin := srv.Admin
	reader := srv.NewKey("reader", apitest.Builtin(auth.ReadOnlyAccess))
	approver := srv.NewKey("approver", apitest.Builtin(auth.ApproverAccess))
	custom := srv.NewKey("custom", store.AttachedPolicy{Name: "artifacts-but-secret", Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "stageflow:*ArtifactObject", "Resource": "arn:aws:s3:::stageflow-artifacts/*"},
    {"Effect": "Deny", "Action": "stageflow:GetArtifactObject", "Resource": "arn:aws:s3:::stageflow-artifacts/secret/*"}
  ]
}`})
	gone := srv.NewKey("gone", apitest.Builtin(auth.ReadOnlyAccess))
	if err := svc.DeleteAccessKey(service.LocalCaller(ctx, "test"), gone.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	client := func(k aws.Credentials) *awss3.Client { return s3Client(srv, k.AccessKeyID, k.SecretAccessKey, "") }
	get := func(c *awss3.Client, key string) (string, error) { return getObject(ctx, c, bucket, key) }
	put := func(c *awss3.Client, key string) error { return putObject(ctx, c, bucket, key, "new") }
	del := func(c *awss3.Client, key string) error {
		_, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		return err
	}
	list := func(c *awss3.Client) error {
		_, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		return err
	}
	wrongSecret := reader
	wrongSecret.SecretAccessKey += "x"
	unknown := reader
	unknown.AccessKeyID = "SFAK" + strings.Repeat("A", 16)
	tests := []struct {
		name    string
		call    func() error
		want    int
		code    string
		message string // in the error, when refused
	}{
		{"admin reads", func() error { _, err := get(client(admin), "secret/S.zip"); return err }, 200, "", ""},
		{"admin writes", func() error { return put(client(admin), "p/e/Admin.zip") }, 200, "", ""},
		{"admin lists", func() error { return list(client(admin)) }, 200, "", ""},
		{"admin deletes", func() error { return del(client(admin), "p/e/Admin.zip") }, 204, "", ""},
		{"admin's DeleteObjects (the bucket's own operation)", func() error {
			_, err := client(admin).DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String(bucket),
				Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("p/e/A.zip")}}}})
			return err
		}, 403, "AccessDenied", ""},
		{"reader reads", func() error { _, err := get(client(reader), "p/e/A.zip"); return err }, 200, "", ""},
		{"reader heads", func() error {
			_, err := client(reader).HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("p/e/A.zip")})
			return err
		}, 200, "", ""},
		{"reader lists", func() error { return list(client(reader)) }, 200, "", ""},
		{"reader writes", func() error { return put(client(reader), "p/e/New.zip") }, 403, "AccessDenied",
			"User: arn:aws:iam::" + apitest.Account + ":user/reader is not authorized to perform: stageflow:PutArtifactObject on resource: arn:aws:s3:::stageflow-artifacts/p/e/New.zip"},
		{"reader deletes", func() error { return del(client(reader), "p/e/A.zip") }, 403, "AccessDenied", "stageflow:DeleteArtifactObject"},
		{"reader copies", func() error {
			_, err := client(reader).CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("p/e/Copy.zip"), CopySource: aws.String(bucket + "/p/e/A.zip")})
			return err
		}, 403, "AccessDenied", "stageflow:PutArtifactObject"},
		{"approver reads", func() error { _, err := get(client(approver), "p/e/A.zip"); return err }, 403, "AccessDenied", "stageflow:GetArtifactObject"},
		{"custom reads", func() error { _, err := get(client(custom), "p/e/A.zip"); return err }, 200, "", ""},
		{"custom writes", func() error { return put(client(custom), "p/e/Custom.zip") }, 200, "", ""},
		{"custom reads what it is denied", func() error { _, err := get(client(custom), "secret/S.zip"); return err }, 403, "AccessDenied", "explicit deny"},
		{"custom lists (the bucket's ARN is not its objects')", func() error { return list(client(custom)) }, 403, "AccessDenied", "on resource: arn:aws:s3:::stageflow-artifacts because"},
		{"wrong secret", func() error { _, err := get(client(wrongSecret), "p/e/A.zip"); return err }, 403, "SignatureDoesNotMatch", ""},
		{"unknown key", func() error { _, err := get(client(unknown), "p/e/A.zip"); return err }, 403, "InvalidAccessKeyId", ""},
		{"deleted key", func() error { _, err := get(client(gone), "p/e/A.zip"); return err }, 403, "InvalidAccessKeyId", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			status, code := s3Status(err)
			if tt.want == 204 && status == 200 {
				status = 204 // the SDK's DeleteObject answers no status
			}
			if status != tt.want || code != tt.code {
				t.Fatalf("%d %q (%v), want %d %q", status, code, err, tt.want, tt.code)
			}
			if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %v, want it to say %q", err, tt.message)
			}
		})
	}

	// Presigned URLs of the server's keys are decided the same way.
	presignGet := func(k aws.Credentials, key string) (int, string) {
		p, err := awss3.NewPresignClient(client(k)).PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(p.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := presignGet(reader, "p/e/A.zip"); status != 200 || body != "artifact A" {
		t.Errorf("reader's presigned GET: %d %s", status, body)
	}
	if status, body := presignGet(custom, "secret/S.zip"); status != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") || strings.Contains(body, "secret artifact") {
		t.Errorf("custom's presigned GET of a denied object: %d %s", status, body)
	}
	if status, body := presignGet(wrongSecret, "p/e/A.zip"); status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("presigned GET with a wrong secret: %d %s", status, body)
	}

	// A verified request records the key's use.
	keys, err := svc.ListAccessKeys(service.LocalCaller(ctx, "test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.LastUsed.IsZero() {
			t.Errorf("key of %s: last used %v", k.User, k.LastUsed)
		}
	}
}
