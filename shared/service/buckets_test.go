package service_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

func TestBucketsSealAndNeverShowSecrets(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc, ctx := srv.Service, service.LocalCaller(t.Context(), "test")
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYs3cr3t"
	made, err := svc.CreateBucket(ctx, service.CreateBucketInput{Name: "releases.example", Endpoint: "https://s3.example:9000",
		Region: "eu-west-1", PathStyle: true, AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	if made.Arn != "arn:aws:s3:::releases.example" || made.Endpoint != "https://s3.example:9000" || made.Region != "eu-west-1" ||
		!made.PathStyle || made.AccessKeyID != "AKIDEXAMPLE" || !made.HasSecretKey {
		t.Fatalf("created %+v", made)
	}
	raw, err := srv.System.Store.GetConnection(ctx, store.KindBucket, "releases.example")
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(raw)
	if bytes.Contains(raw.Token, []byte(secret)) || bytes.Contains(rec, []byte(secret)) {
		t.Fatal("the stored record holds the secret in the clear")
	}
	list, err := svc.ListBuckets(ctx)
	if err != nil || len(list) != 1 || list[0] != *made {
		t.Fatalf("list = %+v, %v; want %+v", list, err, made)
	}
	if out, _ := json.Marshal(list); strings.Contains(string(out), secret) {
		t.Fatalf("the listing shows %s", out)
	}
	got, err := svc.GetBucket(ctx, "releases.example")
	if err != nil || *got != *made {
		t.Fatalf("get = %+v, %v", got, err)
	}
	r, err := svc.BucketRemote(ctx, "releases.example")
	want := service.S3Remote{Bucket: "releases.example", Endpoint: "https://s3.example:9000", Region: "eu-west-1", PathStyle: true,
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret}
	if err != nil || r != want {
		t.Fatalf("remote = %+v, %v; want %+v", r, err, want)
	}
	// Without a region or path-style: the defaults.
	if _, err := svc.CreateBucket(ctx, service.CreateBucketInput{Name: "plain", Endpoint: "http://127.0.0.1:9000",
		AccessKeyID: "k", SecretAccessKey: "s"}); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.BucketRemote(ctx, "plain"); err != nil || r.Region != service.DefaultBucketRegion || r.PathStyle || r.Endpoint != "http://127.0.0.1:9000" {
		t.Fatalf("remote = %+v, %v", r, err)
	}
	// A bucket is not a connection or repository of the same name.
	if _, err := svc.GetRepository(ctx, "plain"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("a bucket read as a repository: %v", err)
	}
	if err := svc.DeleteBucket(ctx, "releases.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.BucketRemote(ctx, "releases.example"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("a deleted bucket's remote: %v", err)
	}
	if err := svc.DeleteBucket(ctx, "releases.example"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("deleting it again: %v", err)
	}
}

func TestBucketInputErrors(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc, ctx := srv.Service, service.LocalCaller(t.Context(), "test")
	ok := service.CreateBucketInput{Name: "b-1", Endpoint: "https://s3.example", AccessKeyID: "AKID", SecretAccessKey: "s3cr3t"}
	with := func(f func(*service.CreateBucketInput)) service.CreateBucketInput { in := ok; f(&in); return in }
	tests := []struct {
		name string
		in   service.CreateBucketInput
		want string
	}{
		{"upper case", with(func(in *service.CreateBucketInput) { in.Name = "Releases" }), "bucket name"},
		{"too short", with(func(in *service.CreateBucketInput) { in.Name = "ab" }), "bucket name"},
		{"path", with(func(in *service.CreateBucketInput) { in.Name = "../etc" }), "bucket name"},
		{"two dots", with(func(in *service.CreateBucketInput) { in.Name = "a..b" }), "two dots"},
		{"an IP", with(func(in *service.CreateBucketInput) { in.Name = "192.168.5.4" }), "IP address"},
		{"reserved prefix", with(func(in *service.CreateBucketInput) { in.Name = "xn--abc" }), "prefix"},
		{"reserved suffix", with(func(in *service.CreateBucketInput) { in.Name = "abc-s3alias" }), "suffix"},
		{"no endpoint", with(func(in *service.CreateBucketInput) { in.Endpoint = "" }), "endpoint: required"},
		{"http elsewhere", with(func(in *service.CreateBucketInput) { in.Endpoint = "http://s3.example" }), "loopback"},
		{"ftp", with(func(in *service.CreateBucketInput) { in.Endpoint = "ftp://s3.example" }), "https://"},
		{"credentials in the URL", with(func(in *service.CreateBucketInput) { in.Endpoint = "https://k:s@s3.example" }), "credentials"},
		{"a query", with(func(in *service.CreateBucketInput) { in.Endpoint = "https://s3.example/?region=x" }), "query"},
		{"no host", with(func(in *service.CreateBucketInput) { in.Endpoint = "https:///x" }), "host"},
		{"bad region", with(func(in *service.CreateBucketInput) { in.Region = "eu west" }), "region"},
		{"no access key", with(func(in *service.CreateBucketInput) { in.AccessKeyID = "" }), "accessKeyId"},
		{"no secret", with(func(in *service.CreateBucketInput) { in.SecretAccessKey = "" }), "secretAccessKey"},
		{"secret with a newline", with(func(in *service.CreateBucketInput) { in.SecretAccessKey = "a\nb" }), "secretAccessKey"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CreateBucket(ctx, tc.in)
			if errs.CodeOf(err) != errs.Validation || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a validation error naming %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
	for _, loopback := range []string{"http://127.0.0.1:9000", "http://[::1]:9000", "http://localhost:9000"} {
		in := with(func(in *service.CreateBucketInput) { in.Endpoint = loopback })
		in.Name = "b-" + strings.NewReplacer(":", "", "/", "", "[", "", "]", "", ".", "").Replace(loopback)
		if _, err := svc.CreateBucket(ctx, in); err != nil {
			t.Errorf("%s: %v", loopback, err)
		}
	}
	if _, err := svc.CreateBucket(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateBucket(ctx, ok); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("creating it twice: %v", err)
	}
	if _, err := svc.GetBucket(ctx, "Not_A_Bucket"); errs.CodeOf(err) != errs.Validation {
		t.Fatalf("getting a bad name: %v", err)
	}
}

func TestBucketsAuthorized(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	full, _ := auth.Builtin(auth.FullAccess)
	ctx := service.WithCaller(t.Context(), service.Caller{Principal: "arn:aws:iam::" + apitest.Account + ":user/pipelines",
		Door: service.DoorREST, Verified: true, Policies: []*auth.Policy{full}})
	_, err := srv.Service.CreateBucket(ctx, service.CreateBucketInput{Name: "b-1", Endpoint: "https://s3.example", AccessKeyID: "k", SecretAccessKey: "s"})
	if errs.CodeOf(err) != errs.Forbidden || !strings.Contains(err.Error(), "stageflow:CreateBucket") {
		t.Fatalf("AWSCodePipeline_FullAccess creating a bucket: %v", err)
	}
	if _, err := srv.Service.ListBuckets(ctx); errs.CodeOf(err) != errs.Forbidden {
		t.Fatalf("AWSCodePipeline_FullAccess listing buckets: %v", err)
	}
}
