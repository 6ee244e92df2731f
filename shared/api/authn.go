package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/api/throttle"
	"github.com/stageflow/stageflow/shared/auth/sigv4"
	"github.com/stageflow/stageflow/shared/service"
)

// The services a signature's credential scope names at each door: the
// CodePipeline door is CodePipeline's endpoint; the REST door signs as
// API Gateway's execute-api, as it does deployed.
const (
	ServiceCodePipeline = "codepipeline"
	ServiceExecuteAPI   = "execute-api"
)

// maxSignedBody bounds the body the verifier reads to hash it: the doors'
// own limit (a larger body is refused by the door, 413, before anything is
// read).
const maxSignedBody = 1 << 20

// authenticate establishes the caller of a REST or CodePipeline request:
// unless the server runs without authentication, or the context already
// holds a caller a gateway verified (deployed: API Gateway's IAM
// authorization), the request must carry an AWS Signature Version 4 made
// with one of the server's access keys, or, at the REST door only and
// unsigned, the console's session cookie (console.go). It answers the refusal itself and
// returns false, or returns the request with the verified caller
// (which the request log line names).
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, door string) (*http.Request, bool) {
	ctx := r.Context()
	if h.authNone || service.CallerFrom(ctx).Verified {
		return r, true
	}
	svcName, callerDoor := ServiceCodePipeline, service.DoorCodePipeline
	if door == "rest" {
		svcName, callerDoor = ServiceExecuteAPI, service.DoorREST
	}
	if door == "rest" && !signed(r) {
		if ck, err := r.Cookie(SessionCookie); err == nil {
			return h.authenticateSession(w, r, ck.Value)
		}
	}
	if r.ContentLength > maxSignedBody {
		// Refused for its size without reading it (nor checking what it
		// claims to be), as the doors refuse it.
		reqlog.Add(ctx, slog.String("refused", "body too large"))
		h.refuse(w, door, http.StatusRequestEntityTooLarge, cpdoor.ExceptionTooLarge,
			fmt.Sprintf("the request body is larger than the limit of %d bytes", maxSignedBody))
		return nil, false
	}
	throttleKey := throttle.Key(sigv4.ClaimedAccessKeyID(r), r.RemoteAddr)
	if !h.failures.Allow(throttleKey) {
		reqlog.Add(ctx, slog.String("refused", "too many failed signatures"))
		if d := h.failures.RetryAfter(throttleKey); d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		}
		h.refuse(w, door, http.StatusTooManyRequests, "ThrottlingException",
			"Rate exceeded: too many requests with failed signatures from this access key or address; retry after the Retry-After seconds")
		return nil, false
	}
	var verified service.VerifiedKey
	v := sigv4.Verifier{
		Keys: func(ctx context.Context, id string) (sigv4.Key, bool, error) {
			k, ok, err := h.svc.VerifyingKey(ctx, id, callerDoor)
			verified = k
			return sigv4.Key{SecretAccessKey: k.SecretAccessKey}, ok, err
		},
		Services: []string{svcName},
		Region:   h.svc.Region(),
		MaxBody:  maxSignedBody,
	}
	if _, err := v.Verify(r); err != nil {
		kind := sigv4.KindOf(err)
		if kind == 0 {
			// The key lookup failed (the store): not the caller's fault.
			reqlog.Fail(ctx, err)
			h.refuse(w, door, http.StatusInternalServerError, "InternalFailure", "the server could not check the request's signature; try again")
			return nil, false
		}
		h.failures.Failed(throttleKey)
		reqlog.Add(ctx, slog.String("refused", "signature: "+kind.String()))
		status := http.StatusForbidden
		if kind == sigv4.Malformed || kind == sigv4.Unsupported {
			status = http.StatusBadRequest
		}
		h.refuse(w, door, status, kind.Exception(), signatureMessage(kind, err, svcName))
		return nil, false
	}
	h.svc.KeyUsed(ctx, verified.Caller.AccessKeyID)
	reqlog.Add(ctx, slog.String("principal", verified.Caller.Principal))
	return r.WithContext(service.WithCaller(ctx, verified.Caller)), true
}

// signed reports whether a request carries a signature (a header, or a
// presigned query string): then it is verified as one, whatever cookie it
// carries.
func signed(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	q := r.URL.Query()
	return q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Algorithm")
}

// authenticateSession establishes the caller of an unsigned REST request
// carrying the console's session cookie: the session's key's principal,
// with the key's current policies. A request that changes something must
// also carry the session's CSRF token. An unknown or ended session is not
// counted as a failed signature: a session ID (32 random bytes) cannot be
// guessed, and a console still sending the cookie of a session that a
// restart ended must not get its address throttled before the user signs in
// again.
func (h *Handler) authenticateSession(w http.ResponseWriter, r *http.Request, sessionID string) (*http.Request, bool) {
	ctx := r.Context()
	c, ok, err := h.svc.ConsoleCaller(ctx, sessionID)
	if err != nil {
		reqlog.Fail(ctx, err)
		h.refuse(w, "rest", http.StatusInternalServerError, "InternalFailure", "the server could not check the console session; try again")
		return nil, false
	}
	if !ok {
		reqlog.Add(ctx, slog.String("refused", "console session"))
		clearSessionCookie(w, r)
		h.refuse(w, "rest", http.StatusForbidden, "ExpiredTokenException",
			"the console session has ended (signed out, unused for "+service.ConsoleSessionIdle.String()+", older than "+
				service.ConsoleSessionLifetime.String()+", its key deleted, or the server restarted): sign in again with a new link from `stageflow console-link`")
		return nil, false
	}
	if changesState(r.Method) && !csrfMatches(r, c) {
		reqlog.Add(ctx, slog.String("principal", c.Principal), slog.String("refused", "csrf token"))
		h.refuse(w, "rest", http.StatusForbidden, "AccessDeniedException", csrfMessage)
		return nil, false
	}
	h.svc.KeyUsed(ctx, c.AccessKeyID)
	reqlog.Add(ctx, slog.String("principal", c.Principal), slog.String("session", "console"))
	return r.WithContext(service.WithCaller(ctx, c)), true
}

// signatureMessage is the refusal's message: the verifier's, with what to
// do for a request that carries no signature at all.
func signatureMessage(kind sigv4.Kind, err error, svcName string) string {
	if kind == sigv4.Missing {
		return "Missing Authentication Token: sign requests with AWS Signature Version 4 (service " + svcName +
			") using one of this server's access keys; the server writes its admin key to the file credentials of its data directory at its first start"
	}
	return err.Error()
}

// refuse answers an authentication failure in the door's error format.
func (h *Handler) refuse(w http.ResponseWriter, door string, status int, code, message string) {
	var body []byte
	if door == "rest" {
		body, _ = json.Marshal(rest.RESTError{Error: rest.RESTErrorDetail{Code: code, Message: message}})
		w.Header().Set("Content-Type", "application/json")
	} else {
		body, _ = json.Marshal(map[string]string{"__type": code, "message": message})
		w.Header().Set("Content-Type", cpdoor.ContentType)
		w.Header().Set("X-Amzn-Errortype", code)
		// Every answer of AWS's JSON protocol names its request, refusals too.
		w.Header().Set("X-Amzn-Requestid", uuid.NewString())
	}
	w.WriteHeader(status)
	w.Write(body)
}
