// Package s3 serves an artifact store folder through an S3-compatible HTTP
// endpoint, so that custom-action job workers written against an AWS SDK can
// download their input artifacts and upload their output artifacts with the
// SDK's S3 client, exactly as they would against CodePipeline's artifact
// bucket.
//
// The endpoint serves one bucket, the store's bucket name, in path style
// (/<bucket>/<key>). Object key K is the file Root/K of the artifacts.Store,
// so objects uploaded through S3 are artifacts the store can open and
// artifacts the store writes are objects S3 clients can download. The S3
// protocol is handled by github.com/johannesboyne/gofakes3 over a backend of
// this package that keeps the objects in the folder (see backend.go).
//
// Every request must be signed with AWS Signature Version 4, in the
// Authorization header or as a presigned URL (query-string
// authentication), with a key the handler's Keys know; the signature is
// verified by shared/auth/sigv4's Verifier (see auth.go), and the request
// must be one the key's Grant allows: a job worker's key reads its job's
// input objects and writes its output objects, nothing else; a server's
// access key what the service's authorization hook allows (see access.go).
// Request bodies are checked against the payload hash the client signed and
// against any x-amz-checksum-* value it sent, and aws-chunked bodies
// (streaming uploads, with or without chunk signatures and trailing
// checksums) are decoded and verified before they reach the store (see
// payload.go).
package s3door

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/stageflow/stageflow/shared/api/throttle"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/auth/sigv4"
)

// maxClockSkew is how far a request's X-Amz-Date may be from the server's
// clock, as S3 allows (a presigned URL's: ahead of it).
const maxClockSkew = sigv4.S3MaxSkew

// handler authenticates requests and prepares their bodies before passing
// them to gofakes3.
type handler struct {
	bucket   string
	keys     Keys
	now      func() time.Time
	backend  *backend
	s3       http.Handler
	failures FailureLimiter
}

// FailureLimiter limits the failed authentications answered per key
// (throttle.Limiter is one): Allow false refuses a request of the key
// outright, Failed counts a failure.
type FailureLimiter interface {
	Allow(key string) bool
	Failed(key string)
	RetryAfter(key string) time.Duration
}

// Option adjusts a handler.
type Option func(*handler)

// WithFailureLimiter throttles the keys (or, for requests naming none, the
// addresses) whose signatures fail too often: past the limit, requests are
// answered 503 SlowDown, as S3 throttles, without being checked.
func WithFailureLimiter(l FailureLimiter) Option {
	return func(h *handler) { h.failures = l }
}

// NewHandler returns an http.Handler serving store's folder as the S3 bucket
// of the store's bucket name (store.Bucket, or the base name of store.Root),
// path-style: /<bucket>/<key> is the file store.Root/<key>. Requests must be
// signed (AWS Signature Version 4) with the secret keys returns for their
// access key ID (in the Authorization header or as a presigned URL), and
// may do only what that key's Grant allows (see access.go); others get S3
// XML errors with status 403 (400 for malformed signatures). The folder is
// created if missing.
//
// Supported: GetObject (with ranges), HeadObject, PutObject (plain,
// aws-chunked, signed-chunk and trailing-checksum uploads), CopyObject,
// DeleteObject(s), ListObjects(V2), HeadBucket, GetBucketLocation,
// ListBuckets and multipart uploads, whose parts are staged on disk in a
// temporary folder. Keys must be relative slash paths whose segments are
// non-empty and not "." or ".." (the keys artifacts.Store accepts); other
// keys are rejected, so no request can reach a file outside the folder.
func NewHandler(store *artifacts.Store, keys Keys, opts ...Option) (http.Handler, error) {
	if store == nil || store.Root == "" {
		return nil, errors.New("s3: artifact store has no root folder")
	}
	if keys == nil {
		return nil, errors.New("s3: no access keys to verify requests with")
	}
	bucket := store.Bucket
	if bucket == "" {
		bucket = filepath.Base(store.Root)
	}
	if !validBucketName(bucket) {
		return nil, fmt.Errorf("s3: %q cannot be served as a bucket name", bucket)
	}
	root, err := filepath.Abs(store.Root)
	if err != nil {
		return nil, fmt.Errorf("s3: artifact store root: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("s3: artifact store root: %w", err)
	}
	b := newBackend(root, bucket)
	fake := gofakes3.New(b,
		// The handler checks the clock skew itself, as part of
		// authentication.
		gofakes3.WithTimeSkewLimit(0),
		gofakes3.WithoutVersioning(),
	)
	h := &handler{
		bucket:  bucket,
		keys:    keys,
		now:     time.Now,
		backend: b,
		s3:      fake.Server(),
	}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// validBucketName accepts names made of ASCII letters, digits, '.', '-' and
// '_', other than "." and "..", and "v1", which IsS3Request leaves to the
// API.
func validBucketName(name string) bool {
	if name == "" || name == "." || name == ".." || name == "v1" || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// IsS3Request reports whether r is addressed to the S3 endpoint serving
// bucket, so that a server can mount the handler beside others on one port:
// its path is /<bucket> or starts with /<bucket>/, it is not under /v1, and it
// carries no X-Amz-Target header (which marks AWS JSON-protocol API calls such
// as POST / to the CodePipeline API).
func IsS3Request(r *http.Request, bucket string) bool {
	if bucket == "" || r.URL == nil {
		return false
	}
	p := r.URL.Path
	if p == "/v1" || strings.HasPrefix(p, "/v1/") {
		return false
	}
	if r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	return p == "/"+bucket || strings.HasPrefix(p, "/"+bucket+"/")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := r.Body
	limitKey := throttle.Key(sigv4.ClaimedAccessKeyID(r), r.RemoteAddr)
	if h.failures != nil && !h.failures.Allow(limitKey) {
		if d := h.failures.RetryAfter(limitKey); d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		}
		writeError(w, r, &apiError{http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate: too many requests with failed signatures from this access key or address.", nil})
		drain(r, body)
		return
	}
	sig, grant, aerr := h.authenticate(r)
	if aerr != nil {
		if h.failures != nil && aerr.Status != http.StatusInternalServerError {
			h.failures.Failed(limitKey)
		}
		writeError(w, r, aerr)
		drain(r, body)
		return
	}
	// The request is rewritten below (headers, body): work on a copy.
	r = r.Clone(r.Context())
	// The token has been checked; it is no business of the S3 layer.
	r.Header.Del("X-Amz-Security-Token")

	if r.Method == http.MethodPost && bucketOnly(r.URL.Path) && !r.URL.Query().Has("delete") {
		// Browser-form uploads (POST policy) are not supported.
		writeError(w, r, &apiError{http.StatusNotImplemented, "NotImplemented", "POST object uploads are not supported; use PutObject", nil})
		drain(r, body)
		return
	}
	if aerr := h.authorize(r, grant); aerr != nil {
		writeError(w, r, aerr)
		drain(r, body)
		return
	}

	st := &payloadState{}
	if aerr := h.preparePayload(r, sig, st); aerr != nil {
		writeError(w, r, aerr)
		drain(r, body)
		return
	}
	// gofakes3 closes request bodies; drain needs this one open.
	r.Body = noClose{r.Body}
	gw := &guardWriter{ResponseWriter: w, r: r, st: st}
	h.s3.ServeHTTP(gw, r)
	if gw.status >= 400 {
		drain(r, body)
	}
}

// noClose is a request body whose Close does nothing.
type noClose struct{ io.Reader }

func (noClose) Close() error { return nil }

// maxDrain bounds what drain reads.
const maxDrain = 8 << 20

// drain reads and discards what is left of the body of a request that
// failed, up to maxDrain bytes, so that a client still sending it gets to
// read the error response instead of finding its connection reset. (Go's
// server reads only 256 KiB before closing the connection.) Clients that
// wait for "100 Continue" have sent nothing and are told without it.
func drain(r *http.Request, body io.ReadCloser) {
	if body == nil || body == http.NoBody || strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	io.Copy(io.Discard, io.LimitReader(body, maxDrain))
}

// bucketOnly reports whether an URL path names a bucket but no object.
func bucketOnly(p string) bool {
	p = strings.TrimPrefix(p, "/")
	i := strings.IndexByte(p, '/')
	return p != "" && (i < 0 || i == len(p)-1)
}

// apiError is an S3 error response written by this package.
type apiError struct {
	Status  int
	Code    string
	Message string
	Expiry  *expiry // the elements of an expired presigned URL's error, if it is one
}

// expiry is what S3 adds to the error of an expired presigned URL.
type expiry struct {
	Expires    string `xml:"X-Amz-Expires"`
	ExpiresAt  string `xml:"Expires"`
	ServerTime string `xml:"ServerTime"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

type errorBody struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message,omitempty"`
	*expiry
	Resource string `xml:"Resource,omitempty"`
}

// writeError writes e as an S3 XML error response (without a body for HEAD
// requests).
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	hdr := w.Header()
	for _, k := range []string{"Content-Length", "Content-Range", "ETag", "Last-Modified", "Accept-Ranges"} {
		hdr.Del(k)
	}
	hdr.Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	if r.Method == http.MethodHead {
		return
	}
	body, _ := xml.Marshal(errorBody{Code: e.Code, Message: e.Message, Resource: r.URL.Path, expiry: e.Expiry})
	w.Write([]byte(xml.Header))
	w.Write(body)
}

// guardWriter passes gofakes3's response through unless reading the request
// body failed in a way this package detected (a bad chunk signature or
// checksum, say): then gofakes3 sees only a failed read, and the response is
// replaced by this package's error for it.
type guardWriter struct {
	http.ResponseWriter
	r           *http.Request
	st          *payloadState
	wroteHeader bool
	replaced    bool
	status      int
}

func (g *guardWriter) WriteHeader(code int) {
	if g.wroteHeader {
		return
	}
	g.wroteHeader = true
	if e := g.st.failure(); e != nil {
		g.replaced = true
		g.status = e.Status
		writeError(g.ResponseWriter, g.r, e)
		return
	}
	g.status = code
	g.ResponseWriter.WriteHeader(code)
}

func (g *guardWriter) Write(b []byte) (int, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	if g.replaced {
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

// ReadFrom lets objects be copied with the underlying writer's ReadFrom
// (sendfile for files).
func (g *guardWriter) ReadFrom(src io.Reader) (int64, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	if g.replaced {
		return io.Copy(io.Discard, src)
	}
	return io.Copy(g.ResponseWriter, src)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (g *guardWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
