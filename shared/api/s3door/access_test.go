package s3door

import (
	"context"
	cryptorand "crypto/rand"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Credentials are an access key ID with its secret and session token.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// newTestCredentials returns random credentials.
func newTestCredentials() Credentials {
	return Credentials{
		AccessKeyID:     "SFIA" + cryptorand.Text()[:16],
		SecretAccessKey: cryptorand.Text() + cryptorand.Text(),
		SessionToken:    cryptorand.Text() + cryptorand.Text(),
	}
}

// staticKeys grants each of its credentials what its Allow allows.
type staticKeys map[Credentials]func(op Op, bucket, key string) bool

func (k staticKeys) Lookup(_ context.Context, id string) (Grant, bool, error) {
	for c, allow := range k {
		if c.AccessKeyID == id {
			return Grant{SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Allow: allow}, true, nil
		}
	}
	return Grant{}, false, nil
}

// fullAccess allows everything.
func fullAccess(Op, string, string) bool { return true }

// TestGrants sends every kind of request signed with a key that may read
// in/A.zip and write out/B.zip of the test bucket, and nothing else.
func TestGrants(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	job := newTestCredentials()
	e.h.keys = staticKeys{e.creds: fullAccess, job: func(op Op, bucket, key string) bool {
		if bucket != testBucket {
			return false
		}
		switch op {
		case ReadObject:
			return key == "in/A.zip"
		case WriteObject, DeleteObject:
			return key == "out/B.zip"
		}
		return false
	}}
	for _, k := range []string{"in/A.zip", "other/C.zip"} {
		if _, err := e.store.PutKey(ctx, k, strings.NewReader("artifact "+k)); err != nil {
			t.Fatal(err)
		}
	}
	base := e.srv.URL + "/" + testBucket
	tests := []struct {
		name         string
		method, path string
		hdr          http.Header
		body         string
		want         int
	}{
		{"get input", "GET", "/in/A.zip", nil, "", http.StatusOK},
		{"head input", "HEAD", "/in/A.zip", nil, "", http.StatusOK},
		{"get other", "GET", "/other/C.zip", nil, "", http.StatusForbidden},
		{"get other version", "GET", "/other/C.zip?versionId=1", nil, "", http.StatusForbidden},
		{"head other", "HEAD", "/other/C.zip", nil, "", http.StatusForbidden},
		{"get missing", "GET", "/other/D.zip", nil, "", http.StatusForbidden},
		{"put output", "PUT", "/out/B.zip", nil, "output", http.StatusOK},
		{"put input", "PUT", "/in/A.zip", nil, "overwritten", http.StatusForbidden},
		{"put other", "PUT", "/other/C.zip", nil, "overwritten", http.StatusForbidden},
		{"put other tagging", "PUT", "/other/C.zip?tagging", nil, "overwritten", http.StatusForbidden},
		{"delete other", "DELETE", "/other/C.zip", nil, "", http.StatusForbidden},
		{"delete input", "DELETE", "/in/A.zip", nil, "", http.StatusForbidden},
		{"copy input to output", "PUT", "/out/B.zip", http.Header{"X-Amz-Copy-Source": {testBucket + "/in/A.zip"}}, "", http.StatusOK},
		{"copy escaped input to output", "PUT", "/out/B.zip", http.Header{"X-Amz-Copy-Source": {"/" + testBucket + "%2Fin%2FA.zip"}}, "", http.StatusOK},
		{"copy other to output", "PUT", "/out/B.zip", http.Header{"X-Amz-Copy-Source": {testBucket + "/other/C.zip"}}, "", http.StatusForbidden},
		{"copy escaped other to output", "PUT", "/out/B.zip", http.Header{"X-Amz-Copy-Source": {testBucket + "%2Fother%2FC.zip"}}, "", http.StatusForbidden},
		{"copy input to other", "PUT", "/other/C.zip", http.Header{"X-Amz-Copy-Source": {testBucket + "/in/A.zip"}}, "", http.StatusForbidden},
		{"initiate upload of output", "POST", "/out/B.zip?uploads", nil, "", http.StatusOK},
		{"initiate upload of other", "POST", "/other/C.zip?uploads", nil, "", http.StatusForbidden},
		{"upload part of other", "PUT", "/other/C.zip?partNumber=1&uploadId=x", nil, "part", http.StatusForbidden},
		{"list parts of other", "GET", "/other/C.zip?uploadId=x", nil, "", http.StatusForbidden},
		{"abort upload of other", "DELETE", "/other/C.zip?uploadId=x", nil, "", http.StatusForbidden},
		{"list uploads", "GET", "?uploads", nil, "", http.StatusForbidden},
		{"list objects", "GET", "", nil, "", http.StatusForbidden},
		{"list objects v2", "GET", "?list-type=2&prefix=other/", nil, "", http.StatusForbidden},
		{"list versions", "GET", "?versions", nil, "", http.StatusForbidden},
		{"versioning", "PUT", "?versioning", nil, "", http.StatusForbidden},
		{"delete objects", "POST", "?delete", nil, `<Delete><Object><Key>other/C.zip</Key></Object></Delete>`, http.StatusForbidden},
		{"delete bucket", "DELETE", "", nil, "", http.StatusForbidden},
		{"create bucket", "PUT", "", nil, "", http.StatusForbidden},
		{"head bucket", "HEAD", "", nil, "", http.StatusOK},
		{"bucket location", "GET", "?location", nil, "", http.StatusOK},
		{"list buckets", "GET", "/..", nil, "", http.StatusForbidden},
		{"delete output", "DELETE", "/out/B.zip", nil, "", http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := base + tt.path
			if tt.path == "/.." {
				url = e.srv.URL + "/"
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			status, code, resp := do(t, e.srv.Client(), signed(t, tt.method, url, body, job, time.Now(), "", tt.hdr))
			if status != tt.want {
				t.Errorf("%d %s, want %d: %s", status, code, tt.want, resp)
			}
			if tt.want == http.StatusForbidden && tt.method != "HEAD" && code != "AccessDenied" {
				t.Errorf("code %q, want AccessDenied", code)
			}
		})
	}
	// Nothing the key may not touch changed.
	for k, want := range map[string]string{"in/A.zip": "artifact in/A.zip", "other/C.zip": "artifact other/C.zip"} {
		if got, err := os.ReadFile(e.path(k)); err != nil || string(got) != want {
			t.Errorf("%s holds %q (%v)", k, got, err)
		}
	}
}

func TestParseCopySource(t *testing.T) {
	tests := []struct {
		source, bucket, key string
		ok                  bool
	}{
		{"b/k", "b", "k", true},
		{"/b/dir/k.zip", "b", "dir/k.zip", true},
		{"b/dir%2Fk%3F.zip?versionId=3", "b", "dir/k?.zip", true},
		{"b%2Fdir%2Fk", "b", "dir/k", true},
		{"%2Fb%2Fk", "b", "k", true},
		{"b/a+b", "b", "a b", true},
		{"b", "", "", false},
		{"/b/", "", "", false},
		{"b/%zz", "", "", false},
	}
	for _, tt := range tests {
		b, k, ok := parseCopySource(tt.source)
		if b != tt.bucket || k != tt.key || ok != tt.ok {
			t.Errorf("%q: %q %q %v, want %q %q %v", tt.source, b, k, ok, tt.bucket, tt.key, tt.ok)
		}
	}
}
