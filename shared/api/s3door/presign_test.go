package s3door

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// presign returns a URL the AWS SDK's S3 presign client makes for a GET,
// HEAD or PUT of key with creds, valid for expires.
func (e *env) presign(t *testing.T, method, key string, creds Credentials, expires time.Duration) *v4.PresignedHTTPRequest {
	t.Helper()
	pc := awss3.NewPresignClient(e.clientWith(creds), awss3.WithPresignExpires(expires))
	ctx := context.Background()
	var p *v4.PresignedHTTPRequest
	var err error
	switch method {
	case http.MethodGet:
		p, err = pc.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	case http.MethodHead:
		p, err = pc.PresignHeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	case http.MethodPut:
		p, err = pc.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	}
	if err != nil {
		t.Fatalf("presign %s %s: %v", method, key, err)
	}
	return p
}

// request makes the request of a presigned URL (with the headers it was
// signed with), with body.
func presignedRequest(t *testing.T, method, u string, hdr http.Header, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range hdr {
		if !strings.EqualFold(k, "Host") {
			req.Header[k] = v
		}
	}
	return req
}

// setQuery returns u with the query parameter name set to value.
func setQuery(t *testing.T, u, name, value string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	if value == "" {
		q.Del(name)
	} else {
		q.Set(name, value)
	}
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// TestPresignedURLs: URLs the AWS SDK's presign client makes are accepted
// for GET, HEAD and PUT within their expiry and S3's 15-minute skew, and
// refused with S3's codes expired, early, changed, made with a wrong
// secret or token, or badly formed.
func TestPresignedURLs(t *testing.T) {
	e := newEnv(t, false)
	if _, err := e.store.PutKey(context.Background(), "p/e/A.zip", strings.NewReader("secret artifact")); err != nil {
		t.Fatal(err)
	}
	var clock time.Time // zero: the wall clock
	e.h.now = func() time.Time {
		if clock.IsZero() {
			return time.Now()
		}
		return clock
	}
	get := e.presign(t, http.MethodGet, "p/e/A.zip", e.creds, time.Hour)
	head := e.presign(t, http.MethodHead, "p/e/A.zip", e.creds, time.Hour)
	put := e.presign(t, http.MethodPut, "p/e/New.zip", e.creds, time.Hour)
	wrongSecret := e.presign(t, http.MethodGet, "p/e/A.zip", Credentials{e.creds.AccessKeyID, e.creds.SecretAccessKey + "x", e.creds.SessionToken}, time.Hour)
	wrongToken := e.presign(t, http.MethodGet, "p/e/A.zip", Credentials{e.creds.AccessKeyID, e.creds.SecretAccessKey, e.creds.SessionToken + "x"}, time.Hour)
	noToken := e.presign(t, http.MethodGet, "p/e/A.zip", Credentials{e.creds.AccessKeyID, e.creds.SecretAccessKey, ""}, time.Hour)
	unknown := e.presign(t, http.MethodGet, "p/e/A.zip", newTestCredentials(), time.Hour)
	week := e.presign(t, http.MethodGet, "p/e/A.zip", e.creds, 7*24*time.Hour)
	signedAt, _ := time.Parse(amzDateFormat, must(url.Parse(get.URL)).Query().Get("X-Amz-Date"))

	tests := []struct {
		name       string
		method     string
		url        string
		hdr        http.Header
		body       string
		at         time.Time // the server's clock; zero: now
		wantStatus int
		wantCode   string
		wantInBody string
	}{
		{"GET", "GET", get.URL, get.SignedHeader, "", time.Time{}, 200, "", "secret artifact"},
		{"HEAD", "HEAD", head.URL, head.SignedHeader, "", time.Time{}, 200, "", ""},
		{"PUT", "PUT", put.URL, put.SignedHeader, "uploaded", time.Time{}, 200, "", ""},
		{"valid for 7 days, on the last day", "GET", week.URL, week.SignedHeader, "", signedAt.Add(7*24*time.Hour - time.Minute), 200, "", ""},
		{"expired", "GET", get.URL, get.SignedHeader, "", signedAt.Add(61 * time.Minute), 403, "AccessDenied", "<Message>Request has expired</Message><X-Amz-Expires>3600</X-Amz-Expires>"},
		{"the clock 14 minutes behind", "GET", get.URL, get.SignedHeader, "", signedAt.Add(-14 * time.Minute), 200, "", ""},
		{"the clock 16 minutes behind", "GET", get.URL, get.SignedHeader, "", signedAt.Add(-16 * time.Minute), 403, "AccessDenied", "Request is not valid yet"},
		{"tampered query: longer expiry", "GET", setQuery(t, get.URL, "X-Amz-Expires", "7200"), get.SignedHeader, "", time.Time{}, 403, "SignatureDoesNotMatch", ""},
		{"tampered query: a parameter added", "GET", setQuery(t, get.URL, "response-content-type", "text/html"), get.SignedHeader, "", time.Time{}, 403, "SignatureDoesNotMatch", ""},
		{"tampered path", "GET", strings.Replace(get.URL, "A.zip", "B.zip", 1), get.SignedHeader, "", time.Time{}, 403, "SignatureDoesNotMatch", ""},
		{"another method", "DELETE", get.URL, get.SignedHeader, "", time.Time{}, 403, "SignatureDoesNotMatch", ""},
		{"a PUT URL for another key", "PUT", strings.Replace(put.URL, "New.zip", "A.zip", 1), put.SignedHeader, "overwritten", time.Time{}, 403, "SignatureDoesNotMatch", ""},
		{"wrong secret", "GET", wrongSecret.URL, wrongSecret.SignedHeader, "", time.Time{}, 403, "SignatureDoesNotMatch", ""},
		{"wrong token", "GET", wrongToken.URL, wrongToken.SignedHeader, "", time.Time{}, 403, "InvalidToken", ""},
		{"no token", "GET", noToken.URL, noToken.SignedHeader, "", time.Time{}, 403, "InvalidToken", ""},
		{"unknown key", "GET", unknown.URL, unknown.SignedHeader, "", time.Time{}, 403, "InvalidAccessKeyId", ""},
		{"expiry past 7 days", "GET", setQuery(t, get.URL, "X-Amz-Expires", "604801"), get.SignedHeader, "", time.Time{}, 400, "AuthorizationQueryParametersError", "less than a week"},
		{"no signature", "GET", setQuery(t, get.URL, "X-Amz-Signature", ""), get.SignedHeader, "", time.Time{}, 400, "AuthorizationQueryParametersError", "requires"},
		{"another algorithm", "GET", setQuery(t, get.URL, "X-Amz-Algorithm", "AWS4-HMAC-SHA512"), get.SignedHeader, "", time.Time{}, 400, "AuthorizationQueryParametersError", ""},
		{"another service", "GET", setQuery(t, get.URL, "X-Amz-Credential", e.creds.AccessKeyID+"/"+signedAt.Format(scopeDateFmt)+"/us-east-1/codepipeline/aws4_request"), get.SignedHeader, "", time.Time{}, 400, "AuthorizationQueryParametersError", ""},
		{"an Authorization header too", "GET", get.URL, http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=x"}}, "", time.Time{}, 400, "InvalidArgument", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock = tt.at
			defer func() { clock = time.Time{} }()
			status, code, body := do(t, e.srv.Client(), presignedRequest(t, tt.method, tt.url, tt.hdr, tt.body))
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("%d %q, want %d %q: %s", status, code, tt.wantStatus, tt.wantCode, body)
			}
			if tt.wantInBody != "" && !strings.Contains(string(body), tt.wantInBody) {
				t.Errorf("body %s, want it to hold %q", body, tt.wantInBody)
			}
			if tt.wantStatus != 200 && strings.Contains(string(body), "secret artifact") {
				t.Error("a refused request got the object")
			}
		})
	}
	if got, _ := os.ReadFile(e.path("p/e/New.zip")); string(got) != "uploaded" {
		t.Errorf("the presigned PUT stored %q", got)
	}
	if got, _ := os.ReadFile(e.path("p/e/A.zip")); string(got) != "secret artifact" {
		t.Errorf("A.zip holds %q", got)
	}
}

// TestHeaderSignedSkew: a request signed in the Authorization header may be
// 15 minutes off the server's clock either way, as S3 allows.
func TestHeaderSignedSkew(t *testing.T) {
	e := newEnv(t, false)
	if _, err := e.store.PutKey(context.Background(), "p/e/A.zip", strings.NewReader("secret artifact")); err != nil {
		t.Fatal(err)
	}
	u := e.srv.URL + "/" + testBucket + "/p/e/A.zip"
	for _, tt := range []struct {
		off      time.Duration
		wantCode string
	}{{-14 * time.Minute, ""}, {14 * time.Minute, ""}, {-16 * time.Minute, "RequestTimeTooSkewed"}, {16 * time.Minute, "RequestTimeTooSkewed"}} {
		status, code, body := do(t, e.srv.Client(), signed(t, "GET", u, nil, e.creds, time.Now().Add(tt.off), "", nil))
		if code != tt.wantCode || (tt.wantCode == "" && status != 200) {
			t.Errorf("signed %v off: %d %q, want %q: %s", tt.off, status, code, tt.wantCode, body)
		}
	}
}

// TestAWSCLIPresign: a URL `aws s3 presign` (the AWS CLI) makes downloads
// the object with a plain HTTP GET.
func TestAWSCLIPresign(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI starts Python")
	}
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws is not on PATH")
	}
	e := newEnv(t, false)
	if _, err := e.store.PutKey(context.Background(), "p/e/A.zip", strings.NewReader("secret artifact")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // the machine's ~/.aws files must not matter
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n  signature_version = s3v4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsCLI, "s3", "presign", "s3://"+testBucket+"/p/e/A.zip", "--endpoint-url", e.srv.URL, "--expires-in", "300")
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			base = append(base, kv)
		}
	}
	cmd.Env = append(base,
		"AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_ACCESS_KEY_ID="+e.creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+e.creds.SecretAccessKey, "AWS_SESSION_TOKEN="+e.creds.SessionToken)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws s3 presign: %v: %s", err, stderr.String())
	}
	u := strings.TrimSpace(string(out))
	if !strings.Contains(u, "X-Amz-Signature=") {
		t.Fatalf("not a SigV4 presigned URL: %s", u)
	}
	status, code, body := do(t, e.srv.Client(), presignedRequest(t, "GET", u, nil, ""))
	if status != 200 || string(body) != "secret artifact" {
		t.Errorf("GET of the CLI's URL: %d %q %s", status, code, body)
	}
	status, code, _ = do(t, e.srv.Client(), presignedRequest(t, "GET", setQuery(t, u, "X-Amz-Expires", "301"), nil, ""))
	if status != 403 || code != "SignatureDoesNotMatch" {
		t.Errorf("the CLI's URL with a longer expiry: %d %q", status, code)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
