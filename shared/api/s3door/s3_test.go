package s3door

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stageflow/stageflow/shared/artifacts"
)

const testBucket = "stageflow-artifacts"

// env is a handler serving a fresh artifact store through a test server.
type env struct {
	store  *artifacts.Store
	creds  Credentials
	h      *handler
	srv    *httptest.Server
	client *awss3.Client

	mu    sync.Mutex
	modes map[string]bool // X-Amz-Content-Sha256 values of PUT requests
}

// sawMode reports whether a PUT request declared a payload hash matching
// pattern.
func (e *env) sawMode(pattern string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for m := range e.modes {
		if regexp.MustCompile(pattern).MatchString(m) {
			return true
		}
	}
	return false
}

func newEnv(t *testing.T, useTLS bool) *env {
	t.Helper()
	store := &artifacts.Store{Root: filepath.Join(t.TempDir(), "artifacts"), Bucket: testBucket}
	creds := newTestCredentials()
	h, err := NewHandler(store, staticKeys{creds: fullAccess})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, creds: creds, h: h.(*handler), modes: map[string]bool{}}
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			e.mu.Lock()
			e.modes[r.Header.Get("X-Amz-Content-Sha256")] = true
			e.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
	if useTLS {
		e.srv = httptest.NewTLSServer(record)
	} else {
		e.srv = httptest.NewServer(record)
	}
	t.Cleanup(e.srv.Close)
	e.client = e.clientWith(creds)
	return e
}

// clientWith returns an SDK client of the server signing with creds,
// computing checksums whenever supported as clients made with
// config.LoadDefaultConfig do.
func (e *env) clientWith(creds Credentials) *awss3.Client {
	return awss3.New(awss3.Options{
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,

		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		HTTPClient:   e.srv.Client(),
		Retryer:      aws.NopRetryer{},
	})
}

func (e *env) path(key string) string {
	return filepath.Join(e.store.Root, filepath.FromSlash(key))
}

func makeZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5ETag(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// errorCode returns the S3 error code and HTTP status of an SDK error.
func errorCode(err error) (string, int) {
	code, status := "", 0
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

func TestNewHandlerErrors(t *testing.T) {
	dir := t.TempDir()
	good := staticKeys{newTestCredentials(): fullAccess}
	tests := []struct {
		name  string
		store *artifacts.Store
		keys  Keys
	}{
		{"nil store", nil, good},
		{"no root", &artifacts.Store{}, good},
		{"no keys", &artifacts.Store{Root: dir}, nil},
		{"bad bucket", &artifacts.Store{Root: dir, Bucket: "a/b"}, good},
		{"v1 bucket", &artifacts.Store{Root: filepath.Join(dir, "v1")}, good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHandler(tt.store, tt.keys); err == nil {
				t.Error("no error")
			}
		})
	}
	// The bucket defaults to the base name of the root, which is created.
	root := filepath.Join(dir, "my-bucket")
	h, err := NewHandler(&artifacts.Store{Root: root}, good)
	if err != nil {
		t.Fatal(err)
	}
	if h.(*handler).bucket != "my-bucket" {
		t.Errorf("bucket %q", h.(*handler).bucket)
	}
	if _, err := os.Stat(root); err != nil {
		t.Error(err)
	}
}

func TestIsS3Request(t *testing.T) {
	tests := []struct {
		method, target string
		header         string
		want           bool
	}{
		{"GET", "/stageflow-artifacts", "", true},
		{"HEAD", "/stageflow-artifacts/", "", true},
		{"GET", "/stageflow-artifacts/p/e/a.zip", "", true},
		{"PUT", "/stageflow-artifacts/p/e/a.zip?partNumber=1&uploadId=x", "", true},
		{"POST", "/stageflow-artifacts?delete", "", true},
		{"GET", "/stageflow-artifacts-2/x", "", false},
		{"GET", "/stageflow", "", false},
		{"GET", "/", "", false},
		{"POST", "/", "CodePipeline_20150709.PollForJobs", false},
		{"POST", "/stageflow-artifacts", "CodePipeline_20150709.PollForJobs", false},
		{"GET", "/v1/pipelines", "", false},
		{"GET", "/other/stageflow-artifacts/x", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if tt.header != "" {
			r.Header.Set("X-Amz-Target", tt.header)
		}
		if got := IsS3Request(r, testBucket); got != tt.want {
			t.Errorf("%s %s (target %q): %v, want %v", tt.method, tt.target, tt.header, got, tt.want)
		}
	}
	if IsS3Request(httptest.NewRequest("GET", "/v1/x", nil), "v1") {
		t.Error("/v1 routed to S3")
	}
}

// TestSDKObjects drives the handler with the AWS SDK, over HTTP and over
// HTTPS (where the SDK streams uploads aws-chunked with a trailing
// checksum).
func TestSDKObjects(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "http"
		if useTLS {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, useTLS)
			c := e.client

			tests := []struct {
				name string
				run  func(t *testing.T)
			}{
				{"GetObject reads what the store put", func(t *testing.T) {
					data := makeZip(t, map[string]string{"a.txt": "hello"})
					key := e.store.Key("My Pipeline", "exec-1", "SourceArtifact")
					if _, err := e.store.PutKey(ctx, key, bytes.NewReader(data)); err != nil {
						t.Fatal(err)
					}
					out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
					if err != nil {
						t.Fatal(err)
					}
					defer out.Body.Close()
					got, _ := io.ReadAll(out.Body)
					if !bytes.Equal(got, data) {
						t.Errorf("got %d bytes, want %d", len(got), len(data))
					}
					if aws.ToString(out.ETag) != md5ETag(data) {
						t.Errorf("ETag %s, want %s", aws.ToString(out.ETag), md5ETag(data))
					}
					if aws.ToString(out.ContentType) != "application/zip" {
						t.Errorf("content type %q", aws.ToString(out.ContentType))
					}
				}},
				{"PutObject writes a file the store opens", func(t *testing.T) {
					data := makeZip(t, map[string]string{"out.txt": "built"})
					key := "pipe/exec-2/BuildArtifact.zip"
					_, err := c.PutObject(ctx, &awss3.PutObjectInput{
						Bucket: aws.String(testBucket), Key: aws.String(key),
						Body: bytes.NewReader(data), ContentType: aws.String("application/x-zip"),
						Metadata: map[string]string{"origin": "worker"},
					})
					if err != nil {
						t.Fatal(err)
					}
					if got, err := os.ReadFile(e.path(key)); err != nil || !bytes.Equal(got, data) {
						t.Fatalf("file: %v, %d bytes", err, len(got))
					}
					f, size, err := e.store.Open(ctx, artifacts.Location{Bucket: testBucket, Key: key})
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					got, _ := io.ReadAll(f)
					if size != int64(len(data)) || !bytes.Equal(got, data) {
						t.Errorf("store reads %d bytes", len(got))
					}
					head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
					if err != nil {
						t.Fatal(err)
					}
					if aws.ToInt64(head.ContentLength) != int64(len(data)) || aws.ToString(head.ETag) != md5ETag(data) ||
						aws.ToString(head.ContentType) != "application/x-zip" || head.Metadata["origin"] != "worker" {
						t.Errorf("head: length %d etag %s type %s meta %v", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), aws.ToString(head.ContentType), head.Metadata)
					}
					if head.LastModified == nil || time.Since(*head.LastModified) > time.Minute {
						t.Errorf("last modified %v", head.LastModified)
					}
				}},
				{"PutObject replaces an object", func(t *testing.T) {
					key := "pipe/exec-3/A.zip"
					for _, body := range []string{"first version", "second"} {
						if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
							t.Fatal(err)
						}
					}
					if got, _ := os.ReadFile(e.path(key)); string(got) != "second" {
						t.Errorf("file holds %q", got)
					}
					entries, _ := os.ReadDir(filepath.Dir(e.path(key)))
					if len(entries) != 1 {
						t.Errorf("folder holds %d entries", len(entries))
					}
				}},
				{"keys with odd characters", func(t *testing.T) {
					for _, key := range []string{
						"odd/a b+c=d&e~!'()*,;:@$.zip",
						"odd/%41%2F%/100%.zip",
						"odd/ünïcödé/日本.zip",
						"odd/..a/b../.c/A.zip",
					} {
						if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: strings.NewReader(key)}); err != nil {
							t.Fatalf("put %q: %v", key, err)
						}
						if got, _ := os.ReadFile(e.path(key)); string(got) != key {
							t.Errorf("%q: file holds %q", key, got)
						}
						out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
						if err != nil {
							t.Fatalf("get %q: %v", key, err)
						}
						got, _ := io.ReadAll(out.Body)
						out.Body.Close()
						if string(got) != key {
							t.Errorf("%q: got %q", key, got)
						}
					}
				}},
				{"empty object", func(t *testing.T) {
					if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("empty/E.zip"), Body: strings.NewReader("")}); err != nil {
						t.Fatal(err)
					}
					if fi, err := os.Stat(e.path("empty/E.zip")); err != nil || fi.Size() != 0 {
						t.Fatalf("file: %v", err)
					}
					out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("empty/E.zip")})
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(out.Body)
					out.Body.Close()
					if len(got) != 0 || aws.ToString(out.ETag) != md5ETag(nil) {
						t.Errorf("got %q, ETag %s", got, aws.ToString(out.ETag))
					}
				}},
				{"DeleteObjects", func(t *testing.T) {
					for _, key := range []string{"del/A.zip", "del/B.zip"} {
						if _, err := e.store.PutKey(ctx, key, strings.NewReader(key)); err != nil {
							t.Fatal(err)
						}
					}
					out, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String(testBucket), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
						{Key: aws.String("del/A.zip")}, {Key: aws.String("del/B.zip")}, {Key: aws.String("../outside")},
					}}})
					if err != nil {
						t.Fatal(err)
					}
					if len(out.Deleted) != 3 || len(out.Errors) != 0 {
						t.Errorf("deleted %d, errors %d", len(out.Deleted), len(out.Errors))
					}
					if entries, _ := os.ReadDir(e.path("del")); len(entries) != 0 {
						t.Errorf("%d files left", len(entries))
					}
				}},
				{"6 MiB object", func(t *testing.T) {
					data := randomBytes(6 << 20)
					key := "pipe/exec-4/Big.zip"
					if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
						t.Fatal(err)
					}
					if got, _ := os.ReadFile(e.path(key)); !bytes.Equal(got, data) {
						t.Fatalf("file holds %d bytes", len(got))
					}
					out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(out.Body)
					out.Body.Close()
					if !bytes.Equal(got, data) {
						t.Errorf("got %d bytes", len(got))
					}
					rng, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Range: aws.String("bytes=100-199")})
					if err != nil {
						t.Fatal(err)
					}
					got, _ = io.ReadAll(rng.Body)
					rng.Body.Close()
					if !bytes.Equal(got, data[100:200]) || aws.ToString(rng.ContentRange) != "bytes 100-199/6291456" {
						t.Errorf("range: %d bytes, %s", len(got), aws.ToString(rng.ContentRange))
					}
				}},
				{"ListObjectsV2 with a prefix", func(t *testing.T) {
					for _, key := range []string{"list/e1/A.zip", "list/e1/B.zip", "list/e2/A.zip", "list-other/e1/A.zip"} {
						if _, err := e.store.PutKey(ctx, key, strings.NewReader(key)); err != nil {
							t.Fatal(err)
						}
					}
					out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String("list/")})
					if err != nil {
						t.Fatal(err)
					}
					var keys []string
					for _, o := range out.Contents {
						keys = append(keys, aws.ToString(o.Key))
						if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) {
							t.Errorf("%s: size %d", aws.ToString(o.Key), aws.ToInt64(o.Size))
						}
					}
					if strings.Join(keys, " ") != "list/e1/A.zip list/e1/B.zip list/e2/A.zip" {
						t.Errorf("keys %v", keys)
					}
					out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String("list"), Delimiter: aws.String("/")})
					if err != nil {
						t.Fatal(err)
					}
					var prefixes []string
					for _, p := range out.CommonPrefixes {
						prefixes = append(prefixes, aws.ToString(p.Prefix))
					}
					if strings.Join(prefixes, " ") != "list-other/ list/" || len(out.Contents) != 0 {
						t.Errorf("prefixes %v, %d objects", prefixes, len(out.Contents))
					}
					// Pages of one key follow each other.
					var paged []string
					p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String("list/e"), MaxKeys: aws.Int32(1)})
					for p.HasMorePages() {
						page, err := p.NextPage(ctx)
						if err != nil {
							t.Fatal(err)
						}
						for _, o := range page.Contents {
							paged = append(paged, aws.ToString(o.Key))
						}
					}
					if strings.Join(paged, " ") != "list/e1/A.zip list/e1/B.zip list/e2/A.zip" {
						t.Errorf("paged keys %v", paged)
					}
				}},
				{"HeadObject of a missing key", func(t *testing.T) {
					_, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String("nope/x.zip")})
					if _, status := errorCode(err); status != http.StatusNotFound {
						t.Errorf("err %v", err)
					}
					_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("nope/x.zip")})
					if code, status := errorCode(err); code != "NoSuchKey" || status != http.StatusNotFound {
						t.Errorf("err %v", err)
					}
				}},
				{"CopyObject and DeleteObject", func(t *testing.T) {
					if _, err := e.store.PutKey(ctx, "cp/src.zip", strings.NewReader("copy me")); err != nil {
						t.Fatal(err)
					}
					if _, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String(testBucket), Key: aws.String("cp/dst/dst.zip"), CopySource: aws.String(testBucket + "/cp/src.zip")}); err != nil {
						t.Fatal(err)
					}
					if got, _ := os.ReadFile(e.path("cp/dst/dst.zip")); string(got) != "copy me" {
						t.Errorf("copy holds %q", got)
					}
					if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("cp/src.zip")}); err != nil {
						t.Fatal(err)
					}
					if _, err := os.Stat(e.path("cp/src.zip")); !os.IsNotExist(err) {
						t.Errorf("deleted file: %v", err)
					}
					// Deleting a missing key succeeds, as on S3.
					if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("cp/src.zip")}); err != nil {
						t.Error(err)
					}
				}},
				{"wrong checksum", func(t *testing.T) {
					_, err := c.PutObject(ctx, &awss3.PutObjectInput{
						Bucket: aws.String(testBucket), Key: aws.String("sum/bad.zip"),
						Body: strings.NewReader("payload"), ChecksumCRC32: aws.String("AAAAAA=="),
					})
					if code, status := errorCode(err); code != "BadDigest" || status != http.StatusBadRequest {
						t.Errorf("err %v", err)
					}
					if _, err := os.Stat(e.path("sum/bad.zip")); !os.IsNotExist(err) {
						t.Errorf("file stored: %v", err)
					}
				}},
			}
			for _, tt := range tests {
				t.Run(tt.name, tt.run)
			}
			// Over HTTPS the SDK streams uploads aws-chunked with a trailing
			// checksum; over HTTP it signs their SHA-256.
			if useTLS && !e.sawMode("^"+streamingUnsignedTrailer+"$") {
				t.Errorf("no aws-chunked upload: %v", e.modes)
			}
			if !useTLS && !e.sawMode("^[0-9a-f]{64}$") {
				t.Errorf("no upload with a signed payload: %v", e.modes)
			}
		})
	}
}
