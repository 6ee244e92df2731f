package s3door

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stageflow/stageflow/shared/auth/sigv4"
)

const (
	amzDateFormat = sigv4.TimeFormat
	scopeDateFmt  = sigv4.ShortFormat
)

// signature is what a verified Authorization header tells: what chunk and
// trailer signatures of a streaming upload are chained to and signed with.
type signature struct {
	seed    string    // the request's signature, hex
	time    time.Time // X-Amz-Date
	amzDate string    // X-Amz-Date as sent
	scope   string    // <date>/<region>/s3/aws4_request
	region  string
	secret  string // the key's secret access key
}

// authenticate checks that r carries a valid AWS Signature Version 4
// Authorization header made with a key h.keys knows, and returns the key's
// grant. It verifies the signature by
// signing a copy of the request, made of the headers the client signed, with
// the SDK's signer at the request's X-Amz-Date and the payload hash the
// client declared in X-Amz-Content-Sha256 (a SHA-256, UNSIGNED-PAYLOAD or a
// STREAMING-* value; preparePayload then holds the body to it), and
// comparing the signatures.
//
// Presigned URLs (query-string authentication) are not accepted.
func (h *handler) authenticate(r *http.Request) (*signature, Grant, *apiError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if q := r.URL.Query(); q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") {
			return nil, Grant{}, &apiError{http.StatusForbidden, "AccessDenied", "Presigned URLs are not supported; sign requests with an Authorization header"}
		}
		return nil, Grant{}, &apiError{http.StatusForbidden, "AccessDenied", "Access Denied: anonymous requests are not allowed"}
	}
	// The one parser of the header's fields (shared/auth/sigv4).
	a, err := sigv4.ParseAuthorization(auth)
	if sigv4.KindOf(err) == sigv4.Unsupported {
		return nil, Grant{}, &apiError{http.StatusBadRequest, "InvalidRequest", "The authorization mechanism you have provided is not supported. Please use " + sigv4.Algorithm + "."}
	}
	malformed := func(msg string) (*signature, Grant, *apiError) {
		return nil, Grant{}, &apiError{http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed; " + msg}
	}
	if err != nil {
		return malformed(err.Error() + ".")
	}
	keyID, date, region, service := a.Credential.AccessKeyID, a.Credential.Date, a.Credential.Region, a.Credential.Service
	signedHeaders, sig := strings.Join(a.SignedHeaders, ";"), a.Signature
	if service != "s3" {
		return malformed("the credential scope must be <date>/<region>/s3/aws4_request.")
	}
	// Access key IDs are not secrets (they travel in the clear in every
	// request); the lookup need not be constant-time. Secrets and tokens
	// are compared in constant time.
	grant, ok := h.keys.Lookup(r.Context(), keyID)
	if !ok || grant.SecretAccessKey == "" {
		return nil, Grant{}, &apiError{http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."}
	}
	if grant.SessionToken != "" && !constantEqual(r.Header.Get("X-Amz-Security-Token"), grant.SessionToken) {
		return nil, Grant{}, &apiError{http.StatusForbidden, "InvalidToken", "The provided token is malformed or otherwise invalid."}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return nil, Grant{}, &apiError{http.StatusForbidden, "AccessDenied", "AWS authentication requires a valid X-Amz-Date header"}
	}
	if date != t.Format(scopeDateFmt) {
		return malformed("the credential date does not match X-Amz-Date.")
	}
	if skew := h.now().Sub(t); skew > maxClockSkew || skew < -maxClockSkew {
		return nil, Grant{}, &apiError{http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."}
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		return nil, Grant{}, &apiError{http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"}
	}
	names := a.SignedHeaders
	if !slices.Contains(names, "host") || !slices.Contains(names, "x-amz-date") {
		return nil, Grant{}, &apiError{http.StatusForbidden, "SignatureDoesNotMatch", "The signed headers must include host and x-amz-date."}
	}

	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: grant.SecretAccessKey, SessionToken: grant.SessionToken}
	want, wantHeaders, err := resign(r, creds, names, payloadHash, region, t)
	if err != nil || wantHeaders != signedHeaders || !constantEqual(want, sig) {
		return nil, Grant{}, &apiError{http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	}
	return &signature{
		seed:    sig,
		time:    t,
		amzDate: amzDate,
		scope:   date + "/" + region + "/s3/aws4_request",
		region:  region,
		secret:  grant.SecretAccessKey,
	}, grant, nil
}

// resign signs a copy of r holding only the headers named in signed with
// creds, as a client would have signed r, and returns the signature and the signed
// header list.
func resign(r *http.Request, creds aws.Credentials, signed []string, payloadHash, region string, t time.Time) (sig, signedHeaders string, err error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	c := &http.Request{
		Method: r.Method,
		// The canonical URI is the path exactly as sent: S3 signs it without
		// escaping it again, and the signer takes it from Opaque.
		URL:    &url.URL{Scheme: scheme, Host: r.Host, Opaque: "//" + r.Host + requestPath(r), RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: make(http.Header),
	}
	for _, name := range signed {
		switch name {
		case "host":
			// The signer takes it from c.Host.
		case "content-length":
			// The signer signs c.ContentLength when it is positive.
			c.ContentLength = r.ContentLength
			if n, err := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64); err == nil {
				c.ContentLength = n
			}
		default:
			key := textproto.CanonicalMIMEHeaderKey(name)
			if v, ok := r.Header[key]; ok {
				c.Header[key] = append([]string(nil), v...)
			}
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), creds, c, payloadHash, "s3", region, t); err != nil {
		return "", "", err
	}
	a, err := sigv4.ParseAuthorization(c.Header.Get("Authorization"))
	if err != nil {
		return "", "", err
	}
	return a.Signature, strings.Join(a.SignedHeaders, ";"), nil
}

// requestPath returns the path of r's URL as the client sent it, escaped.
func requestPath(r *http.Request) string {
	uri := r.RequestURI
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if strings.HasPrefix(uri, "/") {
		return uri
	}
	if uri != "" {
		if u, err := url.Parse(r.RequestURI); err == nil {
			return u.EscapedPath()
		}
	}
	return r.URL.EscapedPath()
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
