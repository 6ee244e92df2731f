package sigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stageflow/stageflow/shared/auth/sigv4"
)

const (
	keyID  = "AKIDSIGV4TEST"
	secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	region = "us-east-1"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func keys(_ context.Context, id string) (sigv4.Key, bool, error) {
	switch id {
	case keyID:
		return sigv4.Key{SecretAccessKey: secret}, true, nil
	case "AKIDWITHTOKEN":
		return sigv4.Key{SecretAccessKey: secret, SessionToken: "the-token"}, true, nil
	case "AKIDBROKEN":
		return sigv4.Key{}, false, errBroken
	}
	return sigv4.Key{}, false, nil
}

var errBroken = errors.New("key store down")

// server runs the verifier on every request it gets and keeps the outcome
// and the body the handler could read after verification.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	err    error
	res    *sigv4.Result
	body   string
	verify *sigv4.Verifier
}

func newServer(t *testing.T, v *sigv4.Verifier) *server {
	s := &server{verify: v}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := s.verify.Verify(r)
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.res, s.err, s.body = res, err, string(body)
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) do(t *testing.T, req *http.Request) (*sigv4.Result, error) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res, s.err
}

func verifier() *sigv4.Verifier {
	return &sigv4.Verifier{Keys: keys, Services: []string{"codepipeline", "execute-api"}, Now: func() time.Time { return now }}
}

// signed builds a request and signs it with the AWS SDK's signer.
type signed struct {
	method, path, query, body string
	headers                   map[string]string
	service, key, secret      string
	at                        time.Time
	contentSHA                bool // send x-amz-content-sha256
}

func (s signed) request(t *testing.T, base string) *http.Request {
	t.Helper()
	if s.method == "" {
		s.method = http.MethodPost
	}
	if s.path == "" {
		s.path = "/"
	}
	if s.service == "" {
		s.service = "codepipeline"
	}
	if s.key == "" {
		s.key = keyID
	}
	if s.secret == "" {
		s.secret = secret
	}
	if s.at.IsZero() {
		s.at = now
	}
	u := base + s.path
	if s.query != "" {
		u += "?" + s.query
	}
	req, err := http.NewRequest(s.method, u, strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	if s.body == "" {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(s.body))
	hash := hex.EncodeToString(sum[:])
	if s.contentSHA {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: s.key, SecretAccessKey: s.secret}, req, hash, s.service, region, s.at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

var jsonCall = signed{
	body:    `{"name":"p"}`,
	headers: map[string]string{"X-Amz-Target": "CodePipeline_20150709.GetPipeline", "Content-Type": "application/x-amz-json-1.1"},
}

// TestVerifyAcceptsTheSDKsSignatures: requests the AWS SDK signs verify, for
// both services, with paths and queries that need encoding, with and
// without x-amz-content-sha256; the handler still reads the whole body.
func TestVerifyAcceptsTheSDKsSignatures(t *testing.T) {
	srv := newServer(t, verifier())
	tests := []struct {
		name string
		s    signed
	}{
		{"CodePipeline JSON call", jsonCall},
		{"with x-amz-content-sha256", func() signed { s := jsonCall; s.contentSHA = true; return s }()},
		{"execute-api GET with a query", signed{method: "GET", service: "execute-api", path: "/v1/pipelines/p/executions",
			query: "maxResults=5&nextToken=a%2Bb%3D%3D&b=2&a=1&a=0"}},
		{"query with spaces, unicode and empty values", signed{method: "GET", service: "execute-api", path: "/v1/pipelines",
			query: "q=hello%20world&u=%C3%A9t%C3%A9&empty=&flag"}},
		{"path needing encoding", signed{method: "DELETE", service: "execute-api", path: "/v1/pipelines/my%20pipe/tags/%C3%A9:x", query: "key=a%2Fb"}},
		{"a minute early", func() signed { s := jsonCall; s.at = now.Add(time.Minute); return s }()},
		{"four minutes late", func() signed { s := jsonCall; s.at = now.Add(-4 * time.Minute); return s }()},
		{"headers with inner spaces", signed{method: "PUT", service: "execute-api", path: "/v1/pipelines/p", body: "{}",
			headers: map[string]string{"X-Custom": "  a   b  c "}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := srv.do(t, tt.s.request(t, srv.URL))
			if err != nil {
				t.Fatalf("refused: %v (%v)", err, sigv4.KindOf(err))
			}
			if res.Scope.AccessKeyID != keyID || res.Scope.Region != region || res.Presigned {
				t.Fatalf("result %+v", res)
			}
			if srv.body != tt.s.body {
				t.Fatalf("the handler read %q after verification, want %q", srv.body, tt.s.body)
			}
		})
	}
}

// TestVerifyRefusesTampering: a signed request changed in any signed part,
// signed too long ago, with another secret or for another service, is
// refused with the kind that says why.
func TestVerifyRefusesTampering(t *testing.T) {
	srv := newServer(t, verifier())
	with := func(f func(*signed)) signed {
		s := jsonCall
		s.headers = map[string]string{}
		for k, v := range jsonCall.headers {
			s.headers[k] = v
		}
		f(&s)
		return s
	}
	tests := []struct {
		name   string
		s      signed
		tamper func(*http.Request)
		want   sigv4.Kind
	}{
		{"body", jsonCall, func(r *http.Request) { setBody(r, `{"name":"q"}`) }, sigv4.BadSignature},
		{"body with its hash header", with(func(s *signed) { s.contentSHA = true }), func(r *http.Request) { setBody(r, `{"name":"q"}`) }, sigv4.BadSignature},
		{"body and its hash header", with(func(s *signed) { s.contentSHA = true }), func(r *http.Request) {
			setBody(r, `{"name":"q"}`)
			sum := sha256.Sum256([]byte(`{"name":"q"}`))
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		}, sigv4.BadSignature},
		{"a signed header", jsonCall, func(r *http.Request) { r.Header.Set("X-Amz-Target", "CodePipeline_20150709.DeletePipeline") }, sigv4.BadSignature},
		{"the path", signed{method: "GET", service: "execute-api", path: "/v1/pipelines/p"}, func(r *http.Request) { r.URL.Path = "/v1/pipelines/prod" }, sigv4.BadSignature},
		{"the path's encoding", signed{method: "GET", service: "execute-api", path: "/v1/pipelines/a%20b"}, func(r *http.Request) { r.URL.RawPath = "/v1/pipelines/a+b"; r.URL.Path = "/v1/pipelines/a+b" }, sigv4.BadSignature},
		{"the query", signed{method: "GET", service: "execute-api", path: "/v1/pipelines", query: "maxResults=5"}, func(r *http.Request) { r.URL.RawQuery = "maxResults=50" }, sigv4.BadSignature},
		{"a query parameter added", signed{method: "GET", service: "execute-api", path: "/v1/pipelines", query: "maxResults=5"}, func(r *http.Request) { r.URL.RawQuery += "&nextToken=x" }, sigv4.BadSignature},
		{"the method", signed{method: "GET", service: "execute-api", path: "/v1/pipelines/p"}, func(r *http.Request) { r.Method = "DELETE" }, sigv4.BadSignature},
		{"the date header", jsonCall, func(r *http.Request) { r.Header.Set("X-Amz-Date", now.Add(time.Second).Format(sigv4.TimeFormat)) }, sigv4.BadSignature},
		{"the signature", jsonCall, func(r *http.Request) {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(flip))
		}, sigv4.BadSignature},
		{"20 minutes old", with(func(s *signed) { s.at = now.Add(-20 * time.Minute) }), nil, sigv4.Expired},
		{"6 minutes ahead", with(func(s *signed) { s.at = now.Add(6 * time.Minute) }), nil, sigv4.Expired},
		{"wrong secret", with(func(s *signed) { s.secret = "not-the-secret" }), nil, sigv4.BadSignature},
		{"unknown key", with(func(s *signed) { s.key = "AKIDNOBODY" }), nil, sigv4.UnknownKey},
		{"wrong service", with(func(s *signed) { s.service = "s3" }), nil, sigv4.WrongService},
		{"no session token for a key that needs one", with(func(s *signed) { s.key = "AKIDWITHTOKEN" }), nil, sigv4.UnknownKey},
		{"anonymous", jsonCall, func(r *http.Request) { r.Header.Del("Authorization") }, sigv4.Missing},
		{"basic auth", jsonCall, func(r *http.Request) { r.Header.Set("Authorization", "Basic YTpi") }, sigv4.Unsupported},
		{"X-Amz-Target not signed", jsonCall, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-amz-target", "", 1))
		}, sigv4.Malformed},
		{"no X-Amz-Date", jsonCall, func(r *http.Request) { r.Header.Del("X-Amz-Date") }, sigv4.Malformed},
		{"a malformed X-Amz-Date", jsonCall, func(r *http.Request) { r.Header.Set("X-Amz-Date", "yesterday") }, sigv4.Malformed},
		{"UNSIGNED-PAYLOAD", jsonCall, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }, sigv4.Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.s.request(t, srv.URL)
			if tt.tamper != nil {
				tt.tamper(req)
			}
			_, err := srv.do(t, req)
			if got := sigv4.KindOf(err); got != tt.want {
				t.Fatalf("err %v (kind %v), want kind %v", err, got, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error %q shows the secret", err)
			}
		})
	}
}

func setBody(r *http.Request, body string) {
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = nil
}

func TestVerifyOptions(t *testing.T) {
	t.Run("region", func(t *testing.T) {
		v := verifier()
		v.Region = "eu-west-1"
		srv := newServer(t, v)
		if _, err := srv.do(t, jsonCall.request(t, srv.URL)); sigv4.KindOf(err) != sigv4.WrongService {
			t.Fatalf("err %v, want WrongService", err)
		}
	})
	t.Run("body too large", func(t *testing.T) {
		v := verifier()
		v.MaxBody = 4
		srv := newServer(t, v)
		if _, err := srv.do(t, jsonCall.request(t, srv.URL)); sigv4.KindOf(err) != sigv4.Malformed || !strings.Contains(err.Error(), "larger") {
			t.Fatalf("err %v, want Malformed (too large)", err)
		}
	})
	t.Run("key store failure", func(t *testing.T) {
		srv := newServer(t, verifier())
		s := jsonCall
		s.key = "AKIDBROKEN"
		if _, err := srv.do(t, s.request(t, srv.URL)); !errors.Is(err, errBroken) {
			t.Fatalf("err %v, want the lookup's", err)
		}
	})
	t.Run("declared payload hash", func(t *testing.T) {
		v := verifier()
		v.Services, v.SingleEncodedPath, v.DeclaredPayloadHash = []string{"s3"}, true, true
		srv := newServer(t, v)
		// A streaming upload's declared hash is signed as sent and the body
		// is left to the caller (it is not the hash of the body).
		const streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
		req, _ := http.NewRequest("PUT", srv.URL+"/b/k", strings.NewReader("chunked body"))
		req.Header.Set("X-Amz-Content-Sha256", streaming)
		sign := func(req *http.Request) {
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, req, streaming, "s3", region, now); err != nil {
				t.Fatal(err)
			}
		}
		sign(req)
		res, err := srv.do(t, req)
		if err != nil || res.PayloadHash != streaming || srv.body != "chunked body" {
			t.Fatalf("refused or changed: %v %+v %q", err, res, srv.body)
		}
		req, _ = http.NewRequest("PUT", srv.URL+"/b/k", strings.NewReader("chunked body"))
		req.Header.Set("X-Amz-Content-Sha256", streaming)
		sign(req)
		req.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
		if _, err := srv.do(t, req); sigv4.KindOf(err) != sigv4.BadSignature {
			t.Fatalf("a changed declared hash: err %v, want BadSignature", err)
		}
		req, _ = http.NewRequest("PUT", srv.URL+"/b/k", strings.NewReader("chunked body"))
		sign(req)
		if _, err := srv.do(t, req); sigv4.KindOf(err) != sigv4.Malformed {
			t.Fatalf("no declared hash: err %v, want Malformed", err)
		}
	})
	t.Run("session token", func(t *testing.T) {
		srv := newServer(t, verifier())
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(jsonCall.body))
		req.Header.Set("X-Amz-Target", "CodePipeline_20150709.GetPipeline")
		sum := sha256.Sum256([]byte(jsonCall.body))
		creds := aws.Credentials{AccessKeyID: "AKIDWITHTOKEN", SecretAccessKey: secret, SessionToken: "the-token"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "codepipeline", region, now); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.do(t, req); err != nil {
			t.Fatalf("refused: %v", err)
		}
	})
}

// TestVerifyPresigned: URLs the SDK presigns (S3's way: unsigned payload,
// path encoded once) verify within their expiry and S3's skew, and not
// after, nor changed.
func TestVerifyPresigned(t *testing.T) {
	v := &sigv4.Verifier{Keys: keys, Services: []string{"s3"}, MaxSkew: sigv4.S3MaxSkew, AllowUnsignedPayload: true, SingleEncodedPath: true}
	var clock time.Time
	v.Now = func() time.Time { return clock }
	srv := newServer(t, v)
	presign := func(t *testing.T, path string, expires time.Duration) string {
		req, _ := http.NewRequest("GET", srv.URL+path+"?X-Amz-Expires="+fmt.Sprint(int(expires/time.Second)), nil)
		u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(context.Background(),
			aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, req, sigv4.UnsignedPayload, "s3", region, now)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	get := func(t *testing.T, u string, at time.Time) error {
		clock = at
		req, _ := http.NewRequest("GET", u, nil)
		_, err := srv.do(t, req)
		return err
	}
	u := presign(t, "/stageflow-artifacts/p/a%20b.zip", 10*time.Minute)
	tests := []struct {
		name string
		url  string
		at   time.Time
		want sigv4.Kind
	}{
		{"at once", u, now, 0},
		{"within its expiry", u, now.Add(9 * time.Minute), 0},
		{"after its expiry", u, now.Add(11 * time.Minute), sigv4.Expired},
		{"a clock 14 minutes behind", u, now.Add(-14 * time.Minute), 0},
		{"a clock 16 minutes behind", u, now.Add(-16 * time.Minute), sigv4.Expired},
		{"another object", strings.Replace(u, "a%20b.zip", "c.zip", 1), now, sigv4.BadSignature},
		{"a longer expiry", strings.Replace(u, "X-Amz-Expires=600", "X-Amz-Expires=6000", 1), now, sigv4.BadSignature},
		{"no signature", strings.Split(u, "&X-Amz-Signature=")[0], now, sigv4.Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sigv4.KindOf(get(t, tt.url, tt.at)); got != tt.want {
				t.Fatalf("kind %v, want %v (url %s)", got, tt.want, tt.url)
			}
		})
	}
	t.Run("refused where payloads must be signed", func(t *testing.T) {
		srv2 := newServer(t, verifier())
		req, _ := http.NewRequest("GET", strings.Replace(u, srv.URL, srv2.URL, 1), nil)
		if _, err := srv2.do(t, req); sigv4.KindOf(err) != sigv4.Unsupported && sigv4.KindOf(err) != sigv4.WrongService {
			t.Fatalf("err %v", err)
		}
	})
}
