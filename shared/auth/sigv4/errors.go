package sigv4

import (
	"errors"
	"fmt"
)

// Kind says why a request's signature was refused.
type Kind int

// The kinds.
const (
	// Missing: the request carries no signature at all.
	Missing Kind = iota + 1
	// Unsupported: another authorization mechanism than AWS4-HMAC-SHA256.
	Unsupported
	// Malformed: the signature's fields, the date header or the payload
	// hash header are not well formed, or a required header is not signed.
	Malformed
	// UnknownKey: no secret is known for the access key ID.
	UnknownKey
	// BadSignature: the signature is not the one the secret makes for this
	// request (a wrong secret, or anything signed changed on the way), or
	// the body does not match its declared hash.
	BadSignature
	// Expired: the request's time is too far from now (or a presigned URL
	// has expired).
	Expired
	// WrongService: the credential scope names another service than the
	// one the verifier is for, or another region.
	WrongService
)

func (k Kind) String() string {
	switch k {
	case Missing:
		return "missing"
	case Unsupported:
		return "unsupported"
	case Malformed:
		return "malformed"
	case UnknownKey:
		return "unknown key"
	case BadSignature:
		return "bad signature"
	case Expired:
		return "expired"
	case WrongService:
		return "wrong service"
	}
	return "unknown"
}

// Exception is the exception name AWS's JSON services answer for the kind
// (the S3 door has its own).
func (k Kind) Exception() string {
	switch k {
	case Missing:
		return "MissingAuthenticationTokenException"
	case Unsupported, Malformed:
		return "IncompleteSignatureException"
	case UnknownKey:
		return "UnrecognizedClientException"
	case BadSignature, Expired, WrongService:
		return "InvalidSignatureException"
	}
	return "AccessDeniedException"
}

// Error is a refusal, with its kind and a message for the client (it never
// holds a secret or the expected signature).
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

func newError(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of a refusal, 0 for another error or nil.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
