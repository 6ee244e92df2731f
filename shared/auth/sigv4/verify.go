package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The clock skews AWS allows: 5 minutes for its JSON services, 15 for S3.
const (
	DefaultMaxSkew = 5 * time.Minute
	S3MaxSkew      = 15 * time.Minute
)

// DefaultMaxBody bounds the body Verify reads to hash it.
const DefaultMaxBody = 16 << 20

// UnsignedPayload is the payload hash of a request whose body is not signed
// (S3 only; see Verifier.AllowUnsignedPayload).
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// maxPresignExpiry is the longest X-Amz-Expires AWS accepts: seven days.
const maxPresignExpiry = 7 * 24 * time.Hour

// Key is a secret an access key ID signs with.
type Key struct {
	SecretAccessKey string
	// SessionToken, when set, must be the request's X-Amz-Security-Token.
	SessionToken string
}

// KeyLookup returns the key of an access key ID: ok false for a key it does
// not know; an error for a failure of its own (returned as it is).
type KeyLookup func(ctx context.Context, accessKeyID string) (key Key, ok bool, err error)

// Verifier verifies requests signed for some services.
type Verifier struct {
	// Keys finds the secret of an access key ID. Required.
	Keys KeyLookup
	// Services are the services a credential scope may name (such as
	// "codepipeline" and "execute-api"). Required.
	Services []string
	// Region, when set, is the only region a credential scope may name.
	Region string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxSkew is how far X-Amz-Date may be from now (DefaultMaxSkew when
	// zero); for a presigned URL, how far in the future its date may be.
	MaxSkew time.Duration
	// MaxBody bounds the body read to hash it (DefaultMaxBody when zero);
	// a larger body is refused.
	MaxBody int64
	// AllowUnsignedPayload accepts x-amz-content-sha256: UNSIGNED-PAYLOAD
	// (S3's option); otherwise the body is always hashed and checked.
	AllowUnsignedPayload bool
	// SingleEncodedPath takes the canonical URI as the path was sent, as S3
	// signs it; AWS's other services encode it once more.
	SingleEncodedPath bool
	// DeclaredPayloadHash signs an Authorization-header request with its
	// x-amz-content-sha256 header as sent (required, any value: a hex
	// SHA-256, UNSIGNED-PAYLOAD, S3's STREAMING-* values), without reading
	// the body: the caller holds the body to it while streaming it (the S3
	// door, whose uploads are too large to read first).
	DeclaredPayloadHash bool
}

// Result is what a verified signature tells.
type Result struct {
	Scope         Scope     // the access key ID and the credential scope
	Time          time.Time // the request's signing time (X-Amz-Date)
	SignedHeaders []string
	Signature     string
	PayloadHash   string // as signed: hex SHA-256, or UnsignedPayload
	Key           Key
	Presigned     bool
}

// Verify checks r's signature: an Authorization header, or, without one, a
// presigned query string (X-Amz-Algorithm and the rest). On success r.Body
// is a fresh reader of the body it read (Verify reads it to check its
// hash). The errors are *Error values of the kinds of this package, except
// errors of Keys, returned as they are.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	header := r.Header.Get("Authorization")
	if header == "" && r.URL.Query().Has("X-Amz-Algorithm") {
		return v.verifyPresigned(r)
	}
	a, err := ParseAuthorization(header)
	if err != nil {
		return nil, err
	}
	if err := v.checkScope(a.Credential); err != nil {
		return nil, err
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, newError(Malformed, "the request has no X-Amz-Date header")
	}
	t, err := v.checkDate(amzDate, a.Credential)
	if err != nil {
		return nil, err
	}
	if skew := v.now().Sub(t); skew > v.maxSkew() || skew < -v.maxSkew() {
		return nil, newError(Expired, "Signature expired: %s is now earlier than %s (%s - %s.)", amzDate,
			v.now().Add(-v.maxSkew()).UTC().Format(TimeFormat), v.now().UTC().Format(TimeFormat), skewWords(v.maxSkew()))
	}
	if err := requireSigned(r, a.SignedHeaders, false); err != nil {
		return nil, err
	}
	key, err := v.key(r, a.Credential.AccessKeyID, r.Header.Get("X-Amz-Security-Token"))
	if err != nil {
		return nil, err
	}
	var payloadHash string
	if v.DeclaredPayloadHash {
		if payloadHash = r.Header.Get("X-Amz-Content-Sha256"); payloadHash == "" {
			return nil, newError(Malformed, "the request has no x-amz-content-sha256 header")
		}
	} else if payloadHash, err = v.payloadHash(r); err != nil {
		return nil, err
	}
	creq := CanonicalRequest(r, a.SignedHeaders, canonicalQuery(r.URL.RawQuery, ""), payloadHash, v.SingleEncodedPath)
	if err := check(creq, amzDate, a.Credential, key.SecretAccessKey, a.Signature); err != nil {
		return nil, err
	}
	return &Result{Scope: a.Credential, Time: t, SignedHeaders: a.SignedHeaders, Signature: a.Signature, PayloadHash: payloadHash, Key: key}, nil
}

// verifyPresigned checks a presigned URL's query string. Its payload is
// unsigned (UNSIGNED-PAYLOAD, as S3 presigns), so it needs
// AllowUnsignedPayload.
func (v *Verifier) verifyPresigned(r *http.Request) (*Result, error) {
	q := r.URL.Query()
	for _, name := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if len(q[name]) != 1 || q.Get(name) == "" {
			return nil, newError(Malformed, "a presigned URL needs exactly one %s", name)
		}
	}
	if q.Get("X-Amz-Algorithm") != Algorithm {
		return nil, newError(Unsupported, "the presigned URL's algorithm %q is not supported; sign with %s", firstWord(q.Get("X-Amz-Algorithm")), Algorithm)
	}
	if !v.AllowUnsignedPayload {
		return nil, newError(Unsupported, "presigned URLs are not accepted here; sign the request with an Authorization header")
	}
	a, err := parseParts(q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"))
	if err != nil {
		return nil, err
	}
	if err := v.checkScope(a.Credential); err != nil {
		return nil, err
	}
	amzDate := q.Get("X-Amz-Date")
	t, err := v.checkDate(amzDate, a.Credential)
	if err != nil {
		return nil, err
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignExpiry {
		return nil, newError(Malformed, "X-Amz-Expires must be a number of seconds from 1 to 604800")
	}
	now := v.now()
	if t.Sub(now) > v.maxSkew() {
		return nil, newError(Expired, "the presigned URL's X-Amz-Date %s is in the future", amzDate)
	}
	if now.After(t.Add(time.Duration(secs) * time.Second)) {
		return nil, newError(Expired, "Request has expired: the presigned URL was valid until %s", t.Add(time.Duration(secs)*time.Second).UTC().Format(TimeFormat))
	}
	if err := requireSigned(r, a.SignedHeaders, true); err != nil {
		return nil, err
	}
	key, err := v.key(r, a.Credential.AccessKeyID, q.Get("X-Amz-Security-Token"))
	if err != nil {
		return nil, err
	}
	creq := CanonicalRequest(r, a.SignedHeaders, canonicalQuery(r.URL.RawQuery, "X-Amz-Signature"), UnsignedPayload, v.SingleEncodedPath)
	if err := check(creq, amzDate, a.Credential, key.SecretAccessKey, a.Signature); err != nil {
		return nil, err
	}
	return &Result{Scope: a.Credential, Time: t, SignedHeaders: a.SignedHeaders, Signature: a.Signature, PayloadHash: UnsignedPayload, Key: key, Presigned: true}, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

func skewWords(d time.Duration) string {
	return strconv.Itoa(int(d/time.Minute)) + " min"
}

func (v *Verifier) checkScope(s Scope) error {
	if !slices.Contains(v.Services, s.Service) {
		return newError(WrongService, "the credential should be scoped to a valid service: %s, not %q", strings.Join(v.Services, " or "), s.Service)
	}
	if v.Region != "" && s.Region != v.Region {
		return newError(WrongService, "the credential should be scoped to the region %q, not %q", v.Region, s.Region)
	}
	return nil
}

// checkDate parses X-Amz-Date and checks the scope's date is its day.
func (v *Verifier) checkDate(amzDate string, s Scope) (time.Time, error) {
	t, err := time.Parse(TimeFormat, amzDate)
	if err != nil {
		return time.Time{}, newError(Malformed, "the X-Amz-Date %q is not of the form YYYYMMDDTHHMMSSZ", amzDate)
	}
	if t.Format(ShortFormat) != s.Date {
		return time.Time{}, newError(Malformed, "the Credential's date %s is not the day of X-Amz-Date %s", s.Date, amzDate)
	}
	return t, nil
}

// requireSigned checks that the headers whose change would change the
// request's meaning are signed: host always; X-Amz-Date (unless
// presigned), X-Amz-Target (the operation of AWS's JSON protocol),
// X-Amz-Content-Sha256 and X-Amz-Security-Token whenever the request has them.
func requireSigned(r *http.Request, signed []string, presigned bool) error {
	need := []string{"host"}
	if !presigned {
		need = append(need, "x-amz-date")
	}
	for _, h := range []string{"x-amz-target", "x-amz-content-sha256", "x-amz-security-token"} {
		if r.Header.Get(h) != "" {
			need = append(need, h)
		}
	}
	for _, h := range need {
		if !slices.Contains(signed, h) {
			return newError(Malformed, "the signed headers must include %s", h)
		}
	}
	return nil
}

func (v *Verifier) key(r *http.Request, id, token string) (Key, error) {
	key, ok, err := v.Keys(r.Context(), id)
	if err != nil {
		return Key{}, err
	}
	if !ok || key.SecretAccessKey == "" {
		return Key{}, newError(UnknownKey, "The security token included in the request is invalid: the access key ID is not known")
	}
	if key.SessionToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(key.SessionToken)) != 1 {
		return Key{}, newError(UnknownKey, "The security token included in the request is invalid")
	}
	return key, nil
}

// payloadHash reads the body (putting it back in r.Body) and returns the
// payload hash to sign with: the x-amz-content-sha256 header, checked
// against the body, or the body's SHA-256.
func (v *Verifier) payloadHash(r *http.Request) (string, error) {
	declared := r.Header.Get("X-Amz-Content-Sha256")
	if declared == UnsignedPayload {
		if !v.AllowUnsignedPayload {
			return "", newError(Malformed, "x-amz-content-sha256: UNSIGNED-PAYLOAD is not accepted here; sign the body")
		}
		return UnsignedPayload, nil
	}
	if declared != "" && !isHexSHA256(declared) {
		return "", newError(Malformed, "the x-amz-content-sha256 header is not a lower-case hexadecimal SHA-256")
	}
	limit := v.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
		r.Body.Close()
		if err != nil {
			return "", newError(Malformed, "reading the request body: %v", err)
		}
		if int64(len(body)) > limit {
			return "", newError(Malformed, "the request body is larger than %d bytes", limit)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	actual := hex.EncodeToString(sum[:])
	if declared != "" && !hmac.Equal([]byte(declared), []byte(actual)) {
		return "", newError(BadSignature, "The provided x-amz-content-sha256 header does not match what was computed")
	}
	return actual, nil
}

func isHexSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// check computes the signature of the canonical request and compares it
// with the one given, in constant time.
func check(creq, amzDate string, s Scope, secret, given string) error {
	want := Sign(StringToSign(creq, amzDate, s), SigningKey(secret, s.Date, s.Region, s.Service))
	got, err := hex.DecodeString(given)
	if err != nil || !hmac.Equal(want, got) {
		return newError(BadSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

// StringToSign is the string SigV4 signs for a canonical request.
func StringToSign(canonicalRequest, amzDate string, s Scope) string {
	h := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + s.String() + "\n" + hex.EncodeToString(h[:])
}

// SigningKey derives the signing key of a secret for a date, region and
// service.
func SigningKey(secret, date, region, service string) []byte {
	k := HMAC([]byte("AWS4"+secret), date)
	k = HMAC(k, region)
	k = HMAC(k, service)
	return HMAC(k, Terminator)
}

// Sign is the signature of a string to sign.
func Sign(stringToSign string, key []byte) []byte {
	return HMAC(key, stringToSign)
}

// HMAC is HMAC-SHA256 of data under key.
func HMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
