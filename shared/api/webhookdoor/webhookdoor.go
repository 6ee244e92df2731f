// Package webhookdoor serves the URLs of V1 webhooks (PutWebhook):
// POST /webhooks/v1/<id>. It is not signed with SigV4: each webhook checks
// its own authentication (service.DeliverWebhook), GitHub's HMAC signature,
// the client's address or nothing.
//
// Answers are JSON: 200 {"pipelineExecutionId","message"} when an
// execution started, 200 {"message"} naming the filter that did not match
// otherwise; 400 for a body that is not JSON, 401 for a missing signature,
// 403 for a wrong one or an address outside the allowed range, 404 for an
// unknown webhook, 405 for a method other than POST, 409 when the target
// action is gone, 413 for a body over MaxBodyBytes, 429 for a client past
// its limit of failed authentications.
package webhookdoor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/api/throttle"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// MaxBodyBytes bounds a payload (GitHub caps its own at 25 MB; 1 MiB is
// this door's limit).
const MaxBodyBytes = 1 << 20

// Handler serves webhook URLs.
type Handler struct {
	svc      *service.Service
	failures *throttle.Limiter
}

// New makes the handler. Failed authentications (401, 403) count in
// failures per webhook and client address: past its limit a client's
// requests to that webhook are refused with 429 (Retry-After) without
// being checked, so that a secret cannot be guessed at speed. nil: the
// limiter's defaults.
func New(svc *service.Service, failures *throttle.Limiter) *Handler {
	if failures == nil {
		failures = throttle.New(throttle.Options{})
	}
	return &Handler{svc: svc, failures: failures}
}

// Remote is the client's address of a request: the connection's
// (RemoteAddr). No forwarded header is trusted.
func Remote(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, service.WebhookPath)
	if !ok || id == "" || strings.Contains(id, "/") || len(id) > 100 {
		write(w, http.StatusNotFound, "", "no webhook has this URL")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		write(w, http.StatusMethodNotAllowed, "", "a webhook URL takes POST only")
		return
	}
	key := throttle.Key("webhook/"+id, r.RemoteAddr) // never an access key ID: those have no "/"
	if !h.failures.Allow(key) {
		if d := h.failures.RetryAfter(key); d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		}
		reqlog.Add(r.Context(), slog.String("refused", "too many failed authentications"))
		write(w, http.StatusTooManyRequests, "", "too many requests that failed this webhook's authentication from this address; retry after the Retry-After seconds")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			write(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the payload is larger than the limit of %d bytes", MaxBodyBytes))
			return
		}
		write(w, http.StatusBadRequest, "", "reading the payload: "+err.Error())
		return
	}
	out, err := h.svc.DeliverWebhook(r.Context(), service.WebhookDelivery{
		URLID: id, Body: body, Remote: Remote(r),
		Signature256: r.Header.Get("X-Hub-Signature-256"), Signature1: r.Header.Get("X-Hub-Signature"),
	})
	if err != nil {
		status := http.StatusInternalServerError
		msg := "internal error"
		if e, ok := errs.As(err); ok {
			switch e.Code {
			case errs.NotFound:
				status = http.StatusNotFound
			case errs.Validation:
				status = http.StatusBadRequest
			case errs.Unauthorized:
				status = http.StatusUnauthorized
			case errs.Forbidden:
				status = http.StatusForbidden
			case errs.InvalidState, errs.Conflict:
				status = http.StatusConflict
			case errs.LimitExceeded:
				status = http.StatusTooManyRequests
			}
			if status != http.StatusInternalServerError {
				msg = e.Error()
			}
		}
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			h.failures.Failed(key)
		}
		if status == http.StatusInternalServerError {
			reqlog.Fail(r.Context(), err)
		} else {
			reqlog.Add(r.Context(), slog.String("refused", msg))
		}
		write(w, status, "", msg)
		return
	}
	write(w, http.StatusOK, out.PipelineExecutionID, out.Message)
}

func write(w http.ResponseWriter, status int, executionID, message string) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // messages read as written
	_ = enc.Encode(struct {
		PipelineExecutionID string `json:"pipelineExecutionId,omitempty"`
		Message             string `json:"message"`
	}{executionID, message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body.Bytes())
}
