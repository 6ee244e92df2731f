package s3door

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/stageflow/stageflow/shared/auth/sigv4"
)

const (
	amzDateFormat = sigv4.TimeFormat
	scopeDateFmt  = sigv4.ShortFormat
)

// signature is what a verified request tells: what chunk and trailer
// signatures of a streaming upload are chained to and signed with, and the
// payload hash its body is held to.
type signature struct {
	seed        string    // the request's signature, hex
	time        time.Time // X-Amz-Date
	amzDate     string    // X-Amz-Date as signed
	scope       string    // <date>/<region>/s3/aws4_request
	region      string
	secret      string // the key's secret access key
	payloadHash string // X-Amz-Content-Sha256 as signed (UNSIGNED-PAYLOAD for a presigned URL without it)
	presigned   bool
}

// presignParams are the query parameters of a presigned URL (S3's
// query-string authentication).
var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"}

// authenticate checks that r carries a valid AWS Signature Version 4 made
// with a key h.keys knows, and returns the key's grant. The signature is
// an Authorization header or a presigned URL's query string (X-Amz-Algorithm
// and the rest, X-Amz-Expires up to 7 days); both are verified by
// shared/auth/sigv4's Verifier, S3's way: the path signed as sent, the
// payload hash as declared in X-Amz-Content-Sha256 (a SHA-256,
// UNSIGNED-PAYLOAD or a STREAMING-* value; preparePayload then holds the
// body to it) or UNSIGNED-PAYLOAD for a presigned URL, and a clock skew of
// 15 minutes. Refusals are S3's error codes.
func (h *handler) authenticate(r *http.Request) (*signature, Grant, *apiError) {
	q := r.URL.Query()
	header := r.Header.Get("Authorization")
	presigned := q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential")
	switch {
	case header != "" && presigned:
		return nil, Grant{}, &apiError{http.StatusBadRequest, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified", nil}
	case header == "" && !presigned:
		return nil, Grant{}, &apiError{http.StatusForbidden, "AccessDenied", "Access Denied: anonymous requests are not allowed", nil}
	case presigned:
		for _, name := range presignParams {
			if len(q[name]) != 1 || q.Get(name) == "" {
				return nil, Grant{}, queryError("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
			}
		}
		if q.Get("X-Amz-Algorithm") != sigv4.Algorithm {
			return nil, Grant{}, queryError("X-Amz-Algorithm only supports \"" + sigv4.Algorithm + "\"")
		}
		if secs, err := strconv.Atoi(q.Get("X-Amz-Expires")); err != nil || secs < 0 {
			return nil, Grant{}, queryError("X-Amz-Expires should be a number")
		} else if secs > 7*24*3600 {
			return nil, Grant{}, queryError("X-Amz-Expires must be less than a week (in seconds) that is 604800")
		}
	default:
		// The header's form first, for S3's error order.
		if _, err := sigv4.ParseAuthorization(header); err != nil {
			return nil, Grant{}, h.refusal(r, err, false)
		}
		if r.Header.Get("X-Amz-Date") == "" {
			return nil, Grant{}, &apiError{http.StatusForbidden, "AccessDenied", "AWS authentication requires a valid X-Amz-Date header", nil}
		}
		if r.Header.Get("X-Amz-Content-Sha256") == "" {
			return nil, Grant{}, &apiError{http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", nil}
		}
	}

	// Access key IDs are not secrets (they travel in the clear in every
	// request); the lookup need not be constant-time. Secrets and tokens
	// are compared in constant time.
	var grant Grant
	var lookupErr error
	v := &sigv4.Verifier{
		Keys: func(ctx context.Context, id string) (sigv4.Key, bool, error) {
			g, ok, err := h.keys.Lookup(ctx, id)
			if err != nil {
				lookupErr = err
				return sigv4.Key{}, false, err
			}
			grant = g
			// The token is checked below, with S3's own error.
			return sigv4.Key{SecretAccessKey: g.SecretAccessKey}, ok, nil
		},
		Services:             []string{"s3"},
		Now:                  h.now,
		MaxSkew:              maxClockSkew,
		AllowUnsignedPayload: true,
		SingleEncodedPath:    true,
		DeclaredPayloadHash:  true,
	}
	res, err := v.Verify(r)
	if lookupErr != nil && errors.Is(err, lookupErr) {
		return nil, Grant{}, internalError
	}
	if err != nil {
		return nil, Grant{}, h.refusal(r, err, presigned)
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if res.Presigned {
		token = q.Get("X-Amz-Security-Token")
	}
	if grant.SessionToken != "" && !constantEqual(token, grant.SessionToken) {
		return nil, Grant{}, &apiError{http.StatusForbidden, "InvalidToken", "The provided token is malformed or otherwise invalid.", nil}
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		payloadHash = unsignedPayload
	}
	if grant.Used != nil {
		grant.Used(r.Context())
	}
	return &signature{
		seed:        res.Signature,
		time:        res.Time,
		amzDate:     res.Time.Format(amzDateFormat),
		scope:       res.Scope.String(),
		region:      res.Scope.Region,
		secret:      res.Key.SecretAccessKey,
		payloadHash: payloadHash,
		presigned:   res.Presigned,
	}, grant, nil
}

// queryError is S3's refusal of a presigned URL's malformed parameters.
func queryError(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "AuthorizationQueryParametersError", msg, nil}
}

// refusal words a sigv4 refusal as S3 does.
func (h *handler) refusal(r *http.Request, err error, presigned bool) *apiError {
	var msg string
	var e *sigv4.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	switch kind := sigv4.KindOf(err); {
	case kind == sigv4.UnknownKey:
		return &apiError{http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", nil}
	case kind == sigv4.BadSignature:
		return &apiError{http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", nil}
	case kind == sigv4.Expired && presigned:
		return h.expired(r)
	case kind == sigv4.Expired:
		return &apiError{http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", nil}
	case presigned:
		return queryError("Error parsing the presigned URL's parameters: " + msg + ".")
	case kind == sigv4.Unsupported:
		return &apiError{http.StatusBadRequest, "InvalidRequest", "The authorization mechanism you have provided is not supported. Please use " + sigv4.Algorithm + ".", nil}
	default: // Malformed, WrongService
		return &apiError{http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed; " + msg + ".", nil}
	}
}

// expired is S3's refusal of a presigned URL used outside its validity:
// after X-Amz-Date + X-Amz-Expires, or dated further ahead than the clock
// skew allows. The parameters were checked well formed before.
func (h *handler) expired(r *http.Request) *apiError {
	q := r.URL.Query()
	t, _ := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	secs, _ := strconv.Atoi(q.Get("X-Amz-Expires"))
	now := h.now().UTC()
	if t.After(now) {
		return &apiError{http.StatusForbidden, "AccessDenied", "Request is not valid yet", nil}
	}
	return &apiError{http.StatusForbidden, "AccessDenied", "Request has expired", &expiry{
		Expires:    strconv.Itoa(secs),
		ExpiresAt:  t.Add(time.Duration(secs) * time.Second).Format(time.RFC3339),
		ServerTime: now.Format(time.RFC3339),
	}}
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
