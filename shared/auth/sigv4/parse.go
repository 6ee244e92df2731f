// Package sigv4 verifies AWS Signature Version 4 (AWS4-HMAC-SHA256) on
// incoming requests, as AWS documents the signing: the canonical request
// (method, URI, query, headers, signed header list, payload hash), the
// string to sign over the credential scope, and the signing key derived
// from the secret access key. Verify checks an Authorization header,
// VerifyPresigned a presigned URL's query string. ParseAuthorization is the
// one parser of the Authorization header (the S3 door uses it too).
package sigv4

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Algorithm is the one signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// The formats of X-Amz-Date and of the credential scope's date.
const (
	TimeFormat  = "20060102T150405Z"
	ShortFormat = "20060102"
)

// Terminator ends every credential scope.
const Terminator = "aws4_request"

// Scope is a credential: the access key ID and the scope it was signed for.
type Scope struct {
	AccessKeyID string
	Date        string // YYYYMMDD
	Region      string
	Service     string
}

// String is the scope as signed: date/region/service/aws4_request.
func (s Scope) String() string {
	return s.Date + "/" + s.Region + "/" + s.Service + "/" + Terminator
}

// Authorization is a parsed Authorization header (or presigned query).
type Authorization struct {
	Credential    Scope
	SignedHeaders []string // lower case, sorted, as the client listed them
	Signature     string   // lower-case hex
}

var (
	accessKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)
	dateRE        = regexp.MustCompile(`^[0-9]{8}$`)
	regionRE      = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	serviceRE     = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	headerNameRE  = regexp.MustCompile("^[a-z0-9!#$%&'*+.^_`|~-]+$")
	signatureRE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ParseAuthorization reads an Authorization header of the form
//
//	AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=<h1;h2>, Signature=<hex>
//
// It checks the form only (not the key, the date or the signature): an
// empty header is Missing, another algorithm Unsupported, anything else
// wrong Malformed, each error saying what.
func ParseAuthorization(header string) (*Authorization, error) {
	if header == "" {
		return nil, newError(Missing, "the request has no Authorization header")
	}
	algo, fields, _ := strings.Cut(header, " ")
	if algo != Algorithm {
		return nil, newError(Unsupported, "the authorization mechanism %q is not supported; sign with %s", firstWord(header), Algorithm)
	}
	var cred, signed, sig string
	var seen = map[string]bool{}
	for _, f := range strings.Split(fields, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return nil, newError(Malformed, "the Authorization header's field %q is not name=value", strings.TrimSpace(f))
		}
		if seen[name] {
			return nil, newError(Malformed, "the Authorization header gives %s twice", name)
		}
		seen[name] = true
		switch name {
		case "Credential":
			cred = value
		case "SignedHeaders":
			signed = value
		case "Signature":
			sig = value
		default:
			return nil, newError(Malformed, "the Authorization header has an unknown field %q", name)
		}
	}
	if cred == "" || signed == "" || sig == "" {
		return nil, newError(Malformed, "the Authorization header needs Credential, SignedHeaders and Signature")
	}
	return parseParts(cred, signed, sig)
}

func parseParts(cred, signed, sig string) (*Authorization, error) {
	scope, err := ParseCredential(cred)
	if err != nil {
		return nil, err
	}
	names := strings.Split(signed, ";")
	for i, n := range names {
		if !headerNameRE.MatchString(n) {
			return nil, newError(Malformed, "the signed header %q is not a lower-case header name", n)
		}
		if i > 0 && n <= names[i-1] {
			return nil, newError(Malformed, "the signed headers are not sorted and unique (%q after %q)", n, names[i-1])
		}
	}
	if !signatureRE.MatchString(sig) {
		return nil, newError(Malformed, "the Signature is not 64 lower-case hexadecimal digits")
	}
	return &Authorization{Credential: scope, SignedHeaders: names, Signature: sig}, nil
}

// ParseCredential reads <key>/<date>/<region>/<service>/aws4_request.
func ParseCredential(cred string) (Scope, error) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != Terminator {
		return Scope{}, newError(Malformed, "the Credential is not <access key id>/<date>/<region>/<service>/aws4_request")
	}
	s := Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	switch {
	case !accessKeyIDRE.MatchString(s.AccessKeyID):
		return Scope{}, newError(Malformed, "the Credential's access key ID is not 1 to 128 letters and digits")
	case !dateRE.MatchString(s.Date):
		return Scope{}, newError(Malformed, "the Credential's date %q is not YYYYMMDD", s.Date)
	case !regionRE.MatchString(s.Region):
		return Scope{}, newError(Malformed, "the Credential's region %q is not a region name", s.Region)
	case !serviceRE.MatchString(s.Service):
		return Scope{}, newError(Malformed, "the Credential's service %q is not a service name", s.Service)
	}
	if _, err := time.Parse(ShortFormat, s.Date); err != nil {
		return Scope{}, newError(Malformed, "the Credential's date %q is not a date", s.Date)
	}
	return s, nil
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	if len(w) > 32 {
		w = w[:32] + "…"
	}
	return w
}

// claimedKeyIDRE is the shape an access key ID may have to be named at all.
var claimedKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

// ClaimedAccessKeyID is the access key ID a request's signature names — the
// Authorization header's Credential, or a presigned URL's X-Amz-Credential
// — read leniently and without verifying anything, or "" when it names
// none of a sane shape. It keys failure limits and names the caller of a
// server that verifies nothing (--auth none); nothing is trusted of it.
func ClaimedAccessKeyID(r *http.Request) string {
	cred := ""
	auth := r.Header.Get("Authorization")
	if _, rest, ok := strings.Cut(auth, "Credential="); ok && strings.HasPrefix(auth, "AWS4-") {
		cred, _, _ = strings.Cut(rest, ",")
	} else if q := r.URL.Query().Get("X-Amz-Credential"); q != "" {
		cred = q
	}
	id, _, _ := strings.Cut(strings.TrimSpace(cred), "/")
	if !claimedKeyIDRE.MatchString(id) {
		return ""
	}
	return id
}
