// Package awssign signs HTTP requests with AWS Signature Version 4 using
// the AWS SDK's signer: the client side of the server's signature checks,
// for the stageflow command line and for tests. A Transport signs every
// request it sends for the service its path belongs to (execute-api for the
// REST door, codepipeline otherwise).
package awssign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The services a request to a Stageflow server is signed for.
const (
	ServiceExecuteAPI   = "execute-api"
	ServiceCodePipeline = "codepipeline"
)

// ServiceOf is the service a request to a Stageflow server is signed for:
// execute-api under /v1 (the REST door), codepipeline otherwise.
func ServiceOf(r *http.Request) string {
	if r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/") {
		return ServiceExecuteAPI
	}
	return ServiceCodePipeline
}

// MaxBody bounds the body a Transport reads to hash it.
const MaxBody = 16 << 20

// Transport signs each request, then sends it with Base
// (http.DefaultTransport when nil).
type Transport struct {
	Base        http.RoundTripper
	Credentials aws.CredentialsProvider
	Region      string
	// Service picks the service of a request (ServiceOf when nil).
	Service func(*http.Request) string
	// Now is the signing clock (time.Now when nil): tests sign in the past.
	Now func() time.Time
}

// RoundTrip signs a copy of req and sends it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	signed, err := Sign(req.Context(), req, t.Credentials, t.Region, t.service(req), t.now())
	if err != nil {
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(signed)
}

func (t *Transport) service(r *http.Request) string {
	if t.Service != nil {
		return t.Service(r)
	}
	return ServiceOf(r)
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Sign returns a copy of req signed for service in region at signing time
// now, its body hashed (and replaced by a reader of the bytes read).
func Sign(ctx context.Context, req *http.Request, creds aws.CredentialsProvider, region, service string, now time.Time) (*http.Request, error) {
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing the request: no credentials: %w", err)
	}
	out := req.Clone(ctx)
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		body, err = io.ReadAll(io.LimitReader(req.Body, MaxBody+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("signing the request: reading its body: %w", err)
		}
		if len(body) > MaxBody {
			return nil, fmt.Errorf("signing the request: its body is larger than %d bytes", MaxBody)
		}
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, c, out, hex.EncodeToString(sum[:]), service, region, now); err != nil {
		return nil, fmt.Errorf("signing the request: %w", err)
	}
	return out, nil
}

// Client is an HTTP client that signs every request with creds.
func Client(creds aws.CredentialsProvider, region string) *http.Client {
	return &http.Client{Transport: &Transport{Credentials: creds, Region: region}}
}
