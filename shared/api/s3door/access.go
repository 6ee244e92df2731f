package s3door

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Keys knows the access keys requests may be signed with. The door asks it
// for every request's access key ID; the server answers with the
// credentials of the job the key was issued to, as long as the job runs,
// or with one of its own access keys.
type Keys interface {
	// Lookup returns the grant of an access key ID, or false when the key
	// is unknown or no longer valid; an error is a failure of its own
	// (the request gets InternalError).
	Lookup(ctx context.Context, accessKeyID string) (Grant, bool, error)
}

// Op is what a request does to an object or the bucket.
type Op int

const (
	// ReadObject is GetObject and HeadObject, and the source of a copy.
	ReadObject Op = iota
	// WriteObject is PutObject, the destination of a copy and every step
	// of a multipart upload (initiate, parts, list parts, complete, abort).
	WriteObject
	// DeleteObject is DeleteObject.
	DeleteObject
	// ListBucket is ListObjects(V2), ListObjectVersions,
	// ListMultipartUploads and ListBuckets; the key is "".
	ListBucket
	// ManageBucket is everything else on the bucket: DeleteObjects,
	// CreateBucket, DeleteBucket, versioning; the key is "".
	ManageBucket
)

// Grant is what an access key may do.
type Grant struct {
	// SecretAccessKey signs the key's requests.
	SecretAccessKey string
	// SessionToken, when set, must be sent by every request in the
	// X-Amz-Security-Token header (and signed, as the AWS SDKs do).
	SessionToken string
	// Allow reports whether the key may do op to the object key of bucket
	// (key "" for ListBucket and ManageBucket). Nil allows nothing but
	// HeadBucket and GetBucketLocation, which every valid key may do.
	Allow func(op Op, bucket, key string) bool
	// Authorize, when set, decides instead of Allow, for the request's
	// context: nil allows; a Denial refuses with AccessDenied and its
	// words; any other error is the server's failure (InternalError).
	Authorize func(ctx context.Context, op Op, bucket, key string) error
	// Used, when set, is called once a request's signature made with the
	// key has been verified.
	Used func(ctx context.Context)
}

// Denial is an error of Grant.Authorize that refuses a request (rather than
// failing): its message is the AccessDenied error's.
type Denial interface {
	error
	Denied() bool
}

// check decides whether the grant allows op on the object key of bucket.
func (g Grant) check(ctx context.Context, op Op, bucket, key string) *apiError {
	denied := &apiError{http.StatusForbidden, "AccessDenied", "Access Denied: the credentials do not allow this request", nil}
	if g.Authorize == nil {
		if g.Allow == nil || !g.Allow(op, bucket, key) {
			return denied
		}
		return nil
	}
	err := g.Authorize(ctx, op, bucket, key)
	var d Denial
	switch {
	case err == nil:
		return nil
	case errors.As(err, &d) && d.Denied():
		return &apiError{http.StatusForbidden, "AccessDenied", err.Error(), nil}
	default:
		return internalError
	}
}

// internalError is S3's answer to a failure of the server's own.
var internalError = &apiError{http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.", nil}

// authorize checks that grant allows everything r does, and refuses it
// with AccessDenied otherwise. The operation is found as gofakes3 routes the
// request (routing.go there): by the bucket and object of the path, the
// subresource of the query and the method; what it does not recognise needs
// ManageBucket. A copy's source is rewritten into a form gofakes3 reads
// back exactly as it was checked.
func (h *handler) authorize(r *http.Request, grant Grant) *apiError {
	bucket, object, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	need := func(op Op, key string) *apiError {
		return grant.check(r.Context(), op, bucket, key)
	}
	switch {
	case bucket == "":
		return need(ListBucket, "") // ListBuckets
	case q.Get("uploadId") != "" || q.Has("uploads"):
		if object == "" {
			return need(ListBucket, "") // ListMultipartUploads
		}
		if r.Method == http.MethodPut {
			if aerr := h.authorizeCopySource(r, grant); aerr != nil {
				return aerr
			}
		}
		return need(WriteObject, object)
	case q.Has("versioning"):
		return need(ManageBucket, "")
	case q.Has("versions"):
		return need(ListBucket, "")
	case object == "":
		switch {
		case r.Method == http.MethodHead, r.Method == http.MethodGet && q.Has("location"):
			return nil // HeadBucket, GetBucketLocation
		case r.Method == http.MethodGet:
			return need(ListBucket, "")
		default:
			return need(ManageBucket, "")
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return need(ReadObject, object)
	case http.MethodPut:
		if aerr := h.authorizeCopySource(r, grant); aerr != nil {
			return aerr
		}
		return need(WriteObject, object)
	case http.MethodDelete:
		return need(DeleteObject, object)
	default:
		return need(ManageBucket, "")
	}
}

// authorizeCopySource checks that grant may read the source of a copy (the
// X-Amz-Copy-Source header), and rewrites the header as bucket/key with the
// key query-escaped, which gofakes3 splits and unescapes to the very bucket
// and key checked here.
func (h *handler) authorizeCopySource(r *http.Request, grant Grant) *apiError {
	source := r.Header.Get("X-Amz-Copy-Source")
	if source == "" {
		return nil
	}
	bucket, key, ok := parseCopySource(source)
	if !ok {
		return &apiError{http.StatusBadRequest, "InvalidArgument", "X-Amz-Copy-Source must contain bucket and key separated by '/'", nil}
	}
	if aerr := grant.check(r.Context(), ReadObject, bucket, key); aerr != nil {
		return aerr
	}
	r.Header.Set("X-Amz-Copy-Source", bucket+"/"+url.QueryEscape(key))
	return nil
}

// parseCopySource reads an X-Amz-Copy-Source value as gofakes3 does:
// [/]bucket/key[?versionId=…] with the key escaped, or all of it escaped.
func parseCopySource(source string) (bucket, key string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(source, "/"), "/", 2)
	decoded := false
	if len(parts) < 2 {
		d, err := url.QueryUnescape(source)
		if err != nil {
			return "", "", false
		}
		parts = strings.SplitN(strings.TrimPrefix(d, "/"), "/", 2)
		decoded = true
	}
	if len(parts) < 2 || parts[0] == "" {
		return "", "", false
	}
	key, _, _ = strings.Cut(parts[1], "?")
	if !decoded {
		var err error
		if key, err = url.QueryUnescape(key); err != nil {
			return "", "", false
		}
	}
	if key == "" {
		return "", "", false
	}
	return parts[0], key, true
}
