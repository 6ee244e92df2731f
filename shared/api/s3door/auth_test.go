package s3door

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestSDKAuthFailures(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	if _, err := e.store.PutKey(ctx, "p/e/A.zip", strings.NewReader("secret artifact")); err != nil {
		t.Fatal(err)
	}
	good := e.creds
	tests := []struct {
		name     string
		creds    Credentials
		wantCode string
	}{
		{"wrong secret", Credentials{good.AccessKeyID, good.SecretAccessKey + "x", good.SessionToken}, "SignatureDoesNotMatch"},
		{"wrong key ID", Credentials{"SFIAAAAAAAAAAAAAAAAA", good.SecretAccessKey, good.SessionToken}, "InvalidAccessKeyId"},
		{"wrong token", Credentials{good.AccessKeyID, good.SecretAccessKey, good.SessionToken + "x"}, "InvalidToken"},
		{"no token", Credentials{good.AccessKeyID, good.SecretAccessKey, ""}, "InvalidToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.clientWith(tt.creds)
			_, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("p/e/A.zip")})
			if code, status := errorCode(err); code != tt.wantCode || status != http.StatusForbidden {
				t.Errorf("GetObject: %q %d (%v), want %s 403", code, status, err, tt.wantCode)
			}
			_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("p/e/B.zip"), Body: strings.NewReader("x")})
			if code, status := errorCode(err); code != tt.wantCode || status != http.StatusForbidden {
				t.Errorf("PutObject: %q %d (%v), want %s 403", code, status, err, tt.wantCode)
			}
			if _, err := os.Stat(e.path("p/e/B.zip")); !os.IsNotExist(err) {
				t.Errorf("file stored: %v", err)
			}
		})
	}
}

// signed returns a request signed with creds at time at, declaring the
// payload hash payloadHash (the body's SHA-256 when empty).
func signed(t *testing.T, method, url string, body []byte, creds Credentials, at time.Time, payloadHash string, hdr http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	awsCreds := aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}
	if err := signer.SignHTTP(context.Background(), awsCreds, req, payloadHash, "s3", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

// do sends a request and returns the status, the S3 error code and the body.
func do(t *testing.T, c *http.Client, req *http.Request) (int, string, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	code := ""
	if m := regexp.MustCompile(`<Code>([^<]*)</Code>`).FindSubmatch(body); m != nil {
		code = string(m[1])
	}
	return resp.StatusCode, code, body
}

func TestRawAuthFailures(t *testing.T) {
	e := newEnv(t, false)
	if _, err := e.store.PutKey(context.Background(), "p/e/A.zip", strings.NewReader("secret artifact")); err != nil {
		t.Fatal(err)
	}
	url := e.srv.URL + "/" + testBucket + "/p/e/A.zip"
	now := time.Now()
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantCode   string
	}{
		{"valid", func() *http.Request {
			return signed(t, "GET", url, nil, e.creds, now, "", nil)
		}, http.StatusOK, ""},
		{"anonymous", func() *http.Request {
			r, _ := http.NewRequest("GET", url, nil)
			return r
		}, http.StatusForbidden, "AccessDenied"},
		{"presigned", func() *http.Request {
			r, _ := http.NewRequest("GET", url+"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x&X-Amz-Signature=y", nil)
			return r
		}, http.StatusBadRequest, "AuthorizationQueryParametersError"},
		{"signature version 2", func() *http.Request {
			r, _ := http.NewRequest("GET", url, nil)
			r.Header.Set("Authorization", "AWS "+e.creds.AccessKeyID+":c2lnbmF0dXJl")
			return r
		}, http.StatusBadRequest, "InvalidRequest"},
		{"malformed credential", func() *http.Request {
			r := signed(t, "GET", url, nil, e.creds, now, "", nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/s3/aws4_request", "/aws4_request", 1))
			return r
		}, http.StatusBadRequest, "AuthorizationHeaderMalformed"},
		{"credential scoped to another service", func() *http.Request {
			r := signed(t, "GET", url, nil, e.creds, now, "", nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/s3/aws4_request", "/codepipeline/aws4_request", 1))
			return r
		}, http.StatusBadRequest, "AuthorizationHeaderMalformed"},
		{"skewed clock", func() *http.Request {
			return signed(t, "GET", url, nil, e.creds, now.Add(-time.Hour), "", nil)
		}, http.StatusForbidden, "RequestTimeTooSkewed"},
		{"tampered path", func() *http.Request {
			r := signed(t, "GET", e.srv.URL+"/"+testBucket+"/p/e/B.zip", nil, e.creds, now, "", nil)
			r.URL.Path = "/" + testBucket + "/p/e/A.zip"
			return r
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"tampered query", func() *http.Request {
			r := signed(t, "GET", url, nil, e.creds, now, "", nil)
			r.URL.RawQuery = "partNumber=1"
			return r
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"tampered signed header", func() *http.Request {
			r := signed(t, "GET", url, nil, e.creds, now, "", http.Header{"Range": {"bytes=0-1"}})
			r.Header.Set("Range", "bytes=0-5")
			return r
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"no payload hash", func() *http.Request {
			r := signed(t, "GET", url, nil, e.creds, now, "", nil)
			r.Header.Del("X-Amz-Content-Sha256")
			return r
		}, http.StatusBadRequest, "InvalidRequest"},
		{"payload hash not signed as sent", func() *http.Request {
			r := signed(t, "GET", url, nil, e.creds, now, "", nil)
			r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
			return r
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, body := do(t, e.srv.Client(), tt.req())
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("%d %q, want %d %q: %s", status, code, tt.wantStatus, tt.wantCode, body)
			}
			if tt.wantStatus == http.StatusOK && string(body) != "secret artifact" {
				t.Errorf("body %q", body)
			}
			if tt.wantStatus != http.StatusOK && strings.Contains(string(body), "secret artifact") {
				t.Error("denied request got the object")
			}
		})
	}
}

func TestPayloadHashMismatch(t *testing.T) {
	e := newEnv(t, false)
	url := e.srv.URL + "/" + testBucket + "/p/e/Tampered.zip"
	sum := sha256.Sum256([]byte("what was signed"))
	req := signed(t, "PUT", url, []byte("something else!"), e.creds, time.Now(), hex.EncodeToString(sum[:]), nil)
	status, code, body := do(t, e.srv.Client(), req)
	if status != http.StatusBadRequest || code != "XAmzContentSHA256Mismatch" {
		t.Errorf("%d %s: %s", status, code, body)
	}
	if _, err := os.Stat(e.path("p/e/Tampered.zip")); !os.IsNotExist(err) {
		t.Errorf("file stored: %v", err)
	}
	// The same upload with its real hash is stored.
	req = signed(t, "PUT", url, []byte("something else!"), e.creds, time.Now(), "", nil)
	if status, _, body := do(t, e.srv.Client(), req); status != http.StatusOK {
		t.Fatalf("%d: %s", status, body)
	}
	if got, _ := os.ReadFile(e.path("p/e/Tampered.zip")); string(got) != "something else!" {
		t.Errorf("file holds %q", got)
	}
}

func TestOtherBucket(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	_, err := e.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("other-bucket"), Key: aws.String("p/e/A.zip")})
	if code, status := errorCode(err); code != "NoSuchBucket" || status != http.StatusNotFound {
		t.Errorf("GetObject: %v", err)
	}
	_, err = e.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("other-bucket"), Key: aws.String("p/e/A.zip"), Body: strings.NewReader("x")})
	if code, status := errorCode(err); code != "NoSuchBucket" || status != http.StatusNotFound {
		t.Errorf("PutObject: %v", err)
	}
	_, err = e.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("other-bucket")})
	if code, _ := errorCode(err); code != "NoSuchBucket" {
		t.Errorf("ListObjectsV2: %v", err)
	}
	if _, err := e.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	_, err = e.client.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String(testBucket)})
	if err == nil {
		t.Error("DeleteBucket succeeded")
	}
}
