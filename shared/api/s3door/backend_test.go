package s3door

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
)

// TestKeysStayInRoot tries to reach files outside the store's folder.
func TestKeysStayInRoot(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	parent := filepath.Dir(e.store.Root)
	outside := filepath.Join(parent, "outside")
	if err := os.WriteFile(outside, []byte("outside the store"), 0o644); err != nil {
		t.Fatal(err)
	}
	secretDir := filepath.Join(parent, "secrets")
	os.Mkdir(secretDir, 0o755)
	os.WriteFile(filepath.Join(secretDir, "key"), []byte("secret"), 0o644)
	if err := os.MkdirAll(e.store.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secretDir, filepath.Join(e.store.Root, "link")); err != nil {
		t.Fatal(err)
	}

	for _, key := range []string{"../outside", "a/../../outside", "./../outside", "..", "link/key", "link/new"} {
		t.Run(key, func(t *testing.T) {
			out, err := e.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
			if err == nil {
				out.Body.Close()
				t.Error("GetObject succeeded")
			}
			_, err = e.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: strings.NewReader("overwritten")})
			if err == nil {
				t.Error("PutObject succeeded")
			}
			if _, err := e.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)}); err != nil {
				t.Logf("DeleteObject: %v", err)
			}
		})
	}
	// The same with the dots percent-encoded and sent as they are.
	for _, p := range []string{"/%2E%2E/outside", "/a/%2E%2E/%2E%2E/outside", "/%2e%2e%2foutside"} {
		url := e.srv.URL + "/" + testBucket + p
		if status, _, body := do(t, e.srv.Client(), signed(t, "GET", url, nil, e.creds, time.Now(), "", nil)); status == http.StatusOK {
			t.Errorf("GET %s: %s", p, body)
		}
		if status, _, body := do(t, e.srv.Client(), signed(t, "PUT", url, []byte("overwritten"), e.creds, time.Now(), "", nil)); status == http.StatusOK {
			t.Errorf("PUT %s: %s", p, body)
		}
	}
	if got, _ := os.ReadFile(outside); string(got) != "outside the store" {
		t.Errorf("outside file holds %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(secretDir, "key")); string(got) != "secret" {
		t.Errorf("secret file holds %q", got)
	}
	if _, err := os.Stat(filepath.Join(secretDir, "new")); !os.IsNotExist(err) {
		t.Errorf("file written through the link: %v", err)
	}
	entries, _ := os.ReadDir(parent)
	for _, en := range entries {
		if n := en.Name(); n != "artifacts" && n != "outside" && n != "secrets" {
			t.Errorf("file %s written beside the store", n)
		}
	}
	// Listings leave out the link.
	out, err := e.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	if err != nil || len(out.Contents) != 0 {
		t.Errorf("list: %v, %d objects", err, len(out.Contents))
	}
}

func TestKeyConflicts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	put := func(key string) error {
		_, err := e.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: strings.NewReader(key)})
		return err
	}
	if err := put("a/b"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "a/b/c", "a//b", "a/", "a/.put-x", `a\b`} {
		err := put(key)
		if code, status := errorCode(err); code != "InvalidArgument" || status != http.StatusBadRequest {
			t.Errorf("put %q: %v", key, err)
		}
	}
	if got, _ := os.ReadFile(e.path("a/b")); string(got) != "a/b" {
		t.Errorf("a/b holds %q", got)
	}
}

func TestMultipartUpload(t *testing.T) {
	ctx := context.Background()
	for _, useTLS := range []bool{false, true} {
		e := newEnv(t, useTLS)
		c := e.client
		bucket, key := aws.String(testBucket), aws.String("pipe/exec/Multi.zip")
		parts := [][]byte{randomBytes(5 << 20), randomBytes(1<<20 + 7)}

		create, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: bucket, Key: key, ContentType: aws.String("application/zip")})
		if err != nil {
			t.Fatal(err)
		}
		staging := e.h.s3parts()
		if staging == "" {
			t.Fatal("no parts folder")
		}
		var completed []types.CompletedPart
		for i, p := range parts {
			up, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: bucket, Key: key, UploadId: create.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(up.ETag) != md5ETag(p) {
				t.Errorf("part %d ETag %s", i+1, aws.ToString(up.ETag))
			}
			completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
		}
		lp, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: bucket, Key: key, UploadId: create.UploadId})
		if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[1].Size) != int64(len(parts[1])) {
			t.Fatalf("ListParts: %v %+v", err, lp)
		}
		lu, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: bucket})
		if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(create.UploadId) {
			t.Fatalf("ListMultipartUploads: %v %+v", err, lu)
		}
		// Nothing is at the key before completion.
		if _, err := os.Stat(e.path(*key)); !os.IsNotExist(err) {
			t.Errorf("object before completion: %v", err)
		}
		// A wrong ETag is refused.
		_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: create.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"00"`)}}}})
		if code, _ := errorCode(err); code != "InvalidPart" {
			t.Errorf("complete with a wrong ETag: %v", err)
		}
		done, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: create.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
		if err != nil {
			t.Fatal(err)
		}
		whole := bytes.Join(parts, nil)
		if aws.ToString(done.ETag) != md5ETag(whole) {
			t.Errorf("ETag %s", aws.ToString(done.ETag))
		}
		if got, _ := os.ReadFile(e.path(*key)); !bytes.Equal(got, whole) {
			t.Errorf("file holds %d bytes, want %d", len(got), len(whole))
		}
		head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: bucket, Key: key})
		if err != nil || aws.ToString(head.ContentType) != "application/zip" || aws.ToString(head.ETag) != md5ETag(whole) {
			t.Errorf("head: %v %+v", err, head)
		}
		if _, err := os.Stat(staging); !os.IsNotExist(err) {
			t.Errorf("parts folder left: %v", err)
		}

		// An aborted upload leaves nothing.
		create, err = c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: bucket, Key: aws.String("pipe/exec/Aborted.zip")})
		if err != nil {
			t.Fatal(err)
		}
		staging = e.h.s3parts()
		if _, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: bucket, Key: aws.String("pipe/exec/Aborted.zip"), UploadId: create.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(parts[1])}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: bucket, Key: aws.String("pipe/exec/Aborted.zip"), UploadId: create.UploadId}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(staging); !os.IsNotExist(err) {
			t.Errorf("parts folder left: %v", err)
		}
		if _, err := os.Stat(e.path("pipe/exec/Aborted.zip")); !os.IsNotExist(err) {
			t.Errorf("aborted object stored: %v", err)
		}
		_, err = c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: bucket, Key: aws.String("pipe/exec/Aborted.zip"), UploadId: create.UploadId, PartNumber: aws.Int32(2), Body: bytes.NewReader(parts[1])})
		if code, _ := errorCode(err); code != "NoSuchUpload" {
			t.Errorf("part of an aborted upload: %v", err)
		}
		_, err = c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: bucket, Key: aws.String("../escape.zip")})
		if code, _ := errorCode(err); code != "InvalidArgument" {
			t.Errorf("upload to ../escape.zip: %v", err)
		}
	}
}

// s3parts returns the multipart parts folder of the handler's backend.
func (h *handler) s3parts() string {
	return h.backend.mp.partsDir()
}

func (m *multipart) partsDir() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dir
}

func TestListBucketPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	for _, key := range []string{"a/1", "a/2", "b", "c/1", "c/2/x", "d"} {
		if _, err := e.store.PutKey(ctx, key, strings.NewReader(key)); err != nil {
			t.Fatal(err)
		}
	}
	// Temporary files of the store are not objects.
	os.WriteFile(filepath.Join(e.store.Root, "a", ".put-123"), []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(e.store.Root, ".put-456"), []byte("partial"), 0o600)

	b := e.h.backend
	tests := []struct {
		prefix, delim string
		maxKeys       int64
		want          []string // the pages, prefixes ending with "/"
	}{
		{"", "", 0, []string{"a/1 a/2 b c/1 c/2/x d"}},
		{"", "", 2, []string{"a/1 a/2", "b c/1", "c/2/x d"}},
		{"", "/", 0, []string{"a/ b c/ d"}},
		{"", "/", 1, []string{"a/", "b", "c/", "d"}},
		{"", "/", 3, []string{"a/ b c/", "d"}},
		{"c/", "/", 1, []string{"c/1", "c/2/"}},
		{"c", "", 0, []string{"c/1 c/2/x"}},
		{"c/2", "", 0, []string{"c/2/x"}},
		{"e", "", 0, []string{""}},
	}
	for _, tt := range tests {
		prefix := gofakes3.Prefix{HasPrefix: tt.prefix != "", Prefix: tt.prefix, HasDelimiter: tt.delim != "", Delimiter: tt.delim}
		var pages []string
		page := gofakes3.ListBucketPage{MaxKeys: tt.maxKeys}
		for range 10 {
			list, err := b.ListBucket(testBucket, &prefix, page)
			if err != nil {
				t.Fatal(err)
			}
			var items []string
			for _, p := range list.CommonPrefixes {
				items = append(items, p.Prefix)
			}
			for _, c := range list.Contents {
				items = append(items, c.Key)
			}
			slices.Sort(items)
			pages = append(pages, strings.Join(items, " "))
			if !list.IsTruncated {
				break
			}
			page = gofakes3.ListBucketPage{MaxKeys: tt.maxKeys, Marker: list.NextMarker, HasMarker: true}
		}
		if !slices.Equal(pages, tt.want) {
			t.Errorf("prefix %q delim %q max %d: pages %q, want %q", tt.prefix, tt.delim, tt.maxKeys, pages, tt.want)
		}
	}
	if _, err := b.ListBucket("other", nil, gofakes3.ListBucketPage{}); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
		t.Errorf("other bucket: %v", err)
	}
}
