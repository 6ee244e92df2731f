package s3source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/auth/sigv4"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

const (
	remoteRegion = "eu-west-1"
	remoteKeyID  = "AKIDREMOTEEXAMPLE"
	remoteSecret = "remote/S3cr3t+Value"
	versioned    = "releases"
	unversioned  = "plain-bucket"
	appKey       = "app/build.zip"
)

// s3Server is an S3-compatible server on 127.0.0.1 (gofakes3's in-memory
// backend) that checks every request's SigV4 signature against one key, as
// a real endpoint would.
type s3Server struct {
	remote Remote
	// versions of appKey in the versioned bucket, oldest first; etags
	// alike; the unversioned bucket's object's ETag.
	versions, etags []string
	plainETag       string
	zips            [][]byte
}

func newS3Server(t *testing.T) *s3Server {
	t.Helper()
	fake := gofakes3.New(s3mem.New()).Server()
	v := &sigv4.Verifier{
		Keys: func(_ context.Context, id string) (sigv4.Key, bool, error) {
			return sigv4.Key{SecretAccessKey: remoteSecret}, id == remoteKeyID, nil
		},
		Services: []string{"s3"}, Region: remoteRegion,
		AllowUnsignedPayload: true, SingleEncodedPath: true, DeclaredPayloadHash: true,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := v.Verify(r); err != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<Error><Code>%s</Code><Message>%s</Message></Error>", sigv4.KindOf(err).Exception(), "the signature does not verify")
			return
		}
		if strings.HasPrefix(r.URL.Path, "/"+unversioned+"/") {
			// s3mem names a version in HeadObject's answer even in a
			// bucket without versioning; S3 names none there.
			// (A HEAD answer writes nothing: its headers go after.)
			defer w.Header().Del("X-Amz-Version-Id")
			w = noVersionHeader{w}
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := &s3Server{remote: Remote{Endpoint: srv.URL, Region: remoteRegion, PathStyle: true, AccessKeyID: remoteKeyID, SecretAccessKey: remoteSecret}}
	ctx, c := t.Context(), s.remote.client()
	for _, b := range []string{versioned, unversioned} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(versioned),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		data := zipOf(t, map[string]string{"VERSION": fmt.Sprint(i + 1), "app/main.go": "package main\n"})
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(versioned), Key: aws.String(appKey), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.VersionId) == "" {
			t.Fatal("the versioned bucket gave no version ID")
		}
		s.versions = append(s.versions, aws.ToString(out.VersionId))
		s.etags = append(s.etags, strings.Trim(aws.ToString(out.ETag), `"`))
		s.zips = append(s.zips, data)
	}
	out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(unversioned), Key: aws.String(appKey),
		Body: bytes.NewReader(zipOf(t, map[string]string{"VERSION": "plain"}))})
	if err != nil {
		t.Fatal(err)
	}
	s.plainETag = strings.Trim(aws.ToString(out.ETag), `"`)
	return s
}

type noVersionHeader struct{ http.ResponseWriter }

func (w noVersionHeader) WriteHeader(code int) {
	w.Header().Del("X-Amz-Version-Id")
	w.ResponseWriter.WriteHeader(code)
}

func (w noVersionHeader) Write(b []byte) (int, error) {
	w.Header().Del("X-Amz-Version-Id")
	return w.ResponseWriter.Write(b)
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := artifacts.ZipDir(dir, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bucketMap is a Buckets of fixed remotes.
type bucketMap map[string]Remote

func (m bucketMap) BucketRemote(_ context.Context, bucket string) (Remote, bool, error) {
	if bucket == "broken-store" {
		return Remote{}, false, errors.New("the connection store is not open")
	}
	r, ok := m[bucket]
	return r, ok, nil
}

func remoteSource(bucket string, kv ...string) pipeline.Action {
	return source(append([]string{"S3Bucket", bucket, "S3ObjectKey", appKey}, kv...)...)
}

func TestRunRemote(t *testing.T) {
	s := newS3Server(t)
	wrong := s.remote
	wrong.SecretAccessKey = "not-the-secret-at-all"
	buckets := bucketMap{versioned: s.remote, unversioned: s.remote, "wrong-key": wrong}
	p := func() actions.Provider { return &Provider{Buckets: buckets} }
	pinned := func(revs ...engine.SourceRevision) actions.Provider {
		return revisionsProvider{&Provider{Buckets: buckets}, revs}
	}
	version := func(v string) engine.SourceRevision {
		return engine.SourceRevision{Action: "Fetch", Type: "S3_OBJECT_VERSION_ID", Value: v}
	}
	revision := func(id, etag string) func(*testing.T, *actiontest.Harness, *engine.Result, string) {
		return func(t *testing.T, _ *actiontest.Harness, res *engine.Result, log string) {
			if res.CurrentRevision == nil || res.CurrentRevision.ID != id || res.CurrentRevision.ChangeIdentifier != etag {
				t.Errorf("current revision %+v, want %s/%s", res.CurrentRevision, id, etag)
			}
			if !strings.Contains(log, "version "+id) || !strings.Contains(log, s.remote.Endpoint) {
				t.Errorf("log %q does not name the version and endpoint", log)
			}
		}
	}
	app := func(v string) map[string]map[string]string {
		return map[string]map[string]string{"Src": {"VERSION": v, "app/main.go": "package main\n"}}
	}
	noSecret := func(t *testing.T, _ *actiontest.Harness, res *engine.Result, log string) {
		for _, secret := range []string{remoteSecret, wrong.SecretAccessKey} {
			if strings.Contains(res.ErrorMessage, secret) || strings.Contains(log, secret) {
				t.Errorf("the failure shows the secret: %q\n%s", res.ErrorMessage, log)
			}
		}
	}
	cases := []actiontest.Case{
		{Name: "the latest version", Action: remoteSource(versioned), Want: engine.Succeeded, Outputs: app("2"),
			Vars: map[string]string{"VersionId": s.versions[1], "ETag": s.etags[1]}, Check: revision(s.versions[1], s.etags[1])},
		{Name: "a version override reads the older", Action: remoteSource(versioned), Want: engine.Succeeded, Outputs: app("1"),
			Provider: pinned(version(s.versions[0])),
			Vars:     map[string]string{"VersionId": s.versions[0], "ETag": s.etags[0]}, Check: revision(s.versions[0], s.etags[0])},
		{Name: "a wrong version", Action: remoteSource(versioned), Want: engine.Failed, Code: engine.CodeConfigurationError,
			Provider: pinned(version("no-such-version")),
			Msg:      []string{"s3://releases/app/build.zip", "version no-such-version"}},
		{Name: "a missing key", Action: remoteSource(versioned, "S3ObjectKey", "app/none.zip"), Want: engine.Failed, Code: engine.CodeConfigurationError,
			Msg: []string{"s3://releases/app/none.zip", "not found"}},
		{Name: "a key override", Action: remoteSource(versioned, "AllowOverrideForS3ObjectKey", "true", "S3ObjectKey", "app/none.zip"),
			Provider: pinned(engine.SourceRevision{Action: "Fetch", Type: "S3_OBJECT_KEY", Value: appKey}),
			Want:     engine.Succeeded, Outputs: app("2"), Vars: map[string]string{"VersionId": s.versions[1], "ETag": s.etags[1]}},
		{Name: "bad credentials", Action: remoteSource("wrong-key", "S3ObjectKey", appKey), Want: engine.Failed, Code: engine.CodeConfigurationError,
			Msg: []string{"s3://wrong-key/app/build.zip", "access denied"}, Check: noSecret},
		{Name: "without versioning the ETag is the version", Action: remoteSource(unversioned), Want: engine.Succeeded,
			Outputs: map[string]map[string]string{"Src": {"VERSION": "plain"}},
			Vars:    map[string]string{"VersionId": s.plainETag, "ETag": s.plainETag}, Check: revision(s.plainETag, s.plainETag)},
		{Name: "without versioning the ETag pins the object", Action: remoteSource(unversioned), Want: engine.Succeeded,
			Provider: pinned(version(s.plainETag)), Outputs: map[string]map[string]string{"Src": {"VERSION": "plain"}},
			Vars: map[string]string{"VersionId": s.plainETag, "ETag": s.plainETag}},
		{Name: "without versioning another version fails", Action: remoteSource(unversioned), Want: engine.Failed,
			Code: engine.CodeConfigurationError, Provider: pinned(version("0123abcd")), Msg: []string{"s3://plain-bucket/app/build.zip", "0123abcd"}},
		{Name: "the bucket store fails", Action: remoteSource("broken-store"), Want: engine.Failed, Code: engine.CodeConfigurationError,
			Msg: []string{"the bucket broken-store", "not open"}},
		{Name: "an unknown bucket is the artifact store's", Action: remoteSource("elsewhere"), Want: engine.Failed, Code: engine.CodeConfigurationError,
			Msg: []string{`does not hold bucket "elsewhere"`}},
	}
	actiontest.RunCases(t, p, cases)
}

func TestHeadRemote(t *testing.T) {
	s := newS3Server(t)
	wrong := s.remote
	wrong.SecretAccessKey = "not-the-secret-at-all"
	p := &Provider{Buckets: bucketMap{versioned: s.remote, unversioned: s.remote, "wrong-key": wrong}}
	tests := []struct {
		name, bucket, key string
		want              string
		err               []string
	}{
		{"the latest version", versioned, appKey, s.versions[1], nil},
		{"without versioning, the ETag", unversioned, appKey, s.plainETag, nil},
		{"a missing key", versioned, "app/none.zip", "", []string{"s3://releases/app/none.zip", "not found"}},
		{"bad credentials", "wrong-key", appKey, "", []string{"s3://wrong-key/app/build.zip", "access denied"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Head(t.Context(), remoteSource(tc.bucket, "S3ObjectKey", tc.key))
			if tc.err == nil {
				if err != nil || got != tc.want {
					t.Fatalf("Head = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Head = %q, want an error", got)
			}
			for _, m := range tc.err {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if strings.Contains(err.Error(), remoteSecret) || strings.Contains(err.Error(), wrong.SecretAccessKey) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	// A new version is the new head.
	data := zipOf(t, map[string]string{"VERSION": "3"})
	out, err := s.remote.client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(versioned), Key: aws.String(appKey), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Head(t.Context(), remoteSource(versioned)); err != nil || got != aws.ToString(out.VersionId) || got == s.versions[1] {
		t.Fatalf("Head after a new version = %q, %v; want %q", got, err, aws.ToString(out.VersionId))
	}
}
