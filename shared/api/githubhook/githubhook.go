// Package githubhook is the GitHub-compatible event endpoint of a
// connection (POST /webhooks/connections/{connectionId}): it checks the
// X-Hub-Signature-256 of the body with the connection's trigger secret,
// evaluates every pipeline's V2 triggers (shared/triggers) and starts one
// execution per pipeline that fires.
package githubhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/triggers"
)

// MaxBody is the largest event accepted.
const MaxBody = 1 << 20

// Backend is what the endpoint needs of the service.
type Backend interface {
	// TriggerSecret: NotFound (shared/errs) for an unknown connection.
	TriggerSecret(ctx context.Context, connectionID string) (secret []byte, connectionArn string, err error)
	Pipelines(ctx context.Context) ([]*pipeline.Pipeline, error) // latest version of every pipeline
	Start(ctx context.Context, pipelineName string, revisions []engine.SourceRevision, triggerType, triggerDetail string) (executionID string, err error)
}

// Handler serves the endpoint.
type Handler struct {
	Backend Backend
	// ConnectionID reads the connection from the request; the default is
	// r.PathValue("connectionId").
	ConnectionID func(r *http.Request) string
	// ChangedFiles lists changed paths for events that do not carry them
	// (a pull request's): those of repo (FullRepositoryId) of the
	// connection between base and head. Nil: a filePaths filter of such
	// an event does not match, and says why.
	ChangedFiles func(ctx context.Context, connectionArn, repo, base, head string) ([]string, error)
	Log          *slog.Logger
}

// Started is an execution the event started.
type Started struct {
	Pipeline    string                  `json:"pipelineName"`
	ExecutionID string                  `json:"pipelineExecutionId"`
	Revisions   []engine.SourceRevision `json:"sourceRevisions"`
	Reason      string                  `json:"reason"`
}

// NotStarted is a pipeline the event did not start, and why.
type NotStarted struct {
	Pipeline string             `json:"pipelineName"`
	Findings []triggers.Finding `json:"findings,omitempty"`
	Error    string             `json:"error,omitempty"`
}

// Response is the endpoint's JSON answer.
type Response struct {
	Event      string       `json:"event"`
	Message    string       `json:"message,omitempty"`
	Started    []Started    `json:"started"`
	NotStarted []NotStarted `json:"notStarted"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// verify checks "sha256=<hex>" against the HMAC of body.
func verify(header string, secret, body []byte) (int, string) {
	if header == "" {
		return http.StatusUnauthorized, "the X-Hub-Signature-256 header is missing"
	}
	algo, sig, ok := strings.Cut(header, "=")
	if !ok || algo != "sha256" {
		return http.StatusUnauthorized, "the X-Hub-Signature-256 header must be sha256=<hex digest>"
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return http.StatusUnauthorized, "the X-Hub-Signature-256 digest is not 64 hexadecimal digits"
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return http.StatusForbidden, "the X-Hub-Signature-256 signature does not match the body"
	}
	return 0, ""
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(w, http.StatusMethodNotAllowed, "the event endpoint takes POST")
		return
	}
	id := r.PathValue("connectionId")
	if h.ConnectionID != nil {
		id = h.ConnectionID(r)
	}
	if id == "" {
		fail(w, http.StatusNotFound, "no connection named in the path")
		return
	}
	ctx := r.Context()
	secret, arn, err := h.Backend.TriggerSecret(ctx, id)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			fail(w, http.StatusNotFound, "no connection "+id)
			return
		}
		h.log().Error("githubhook: trigger secret", "connection", id, "err", err)
		fail(w, http.StatusInternalServerError, "cannot read the connection")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, "the event is larger than 1 MiB")
			return
		}
		fail(w, http.StatusBadRequest, "cannot read the body")
		return
	}
	if status, msg := verify(r.Header.Get("X-Hub-Signature-256"), secret, body); status != 0 {
		fail(w, status, msg)
		return
	}
	typ := r.Header.Get("X-GitHub-Event")
	switch typ {
	case triggers.EventPush, triggers.EventPullRequest, triggers.EventPing:
	case "":
		fail(w, http.StatusBadRequest, "the X-GitHub-Event header is missing")
		return
	default:
		writeJSON(w, http.StatusAccepted, Response{Event: typ, Message: "event type " + typ + " is ignored: only push, pull_request and ping are handled", Started: []Started{}, NotStarted: []NotStarted{}})
		return
	}
	ev, err := triggers.Parse(typ, body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if ev.Type == triggers.EventPing {
		writeJSON(w, http.StatusOK, Response{Event: typ, Message: "pong", Started: []Started{}, NotStarted: []NotStarted{}})
		return
	}
	pipes, err := h.Backend.Pipelines(ctx)
	if err != nil {
		h.log().Error("githubhook: pipelines", "err", err)
		fail(w, http.StatusInternalServerError, "cannot list the pipelines")
		return
	}
	resp := Response{Event: typ, Started: []Started{}, NotStarted: []NotStarted{}}
	opts := triggers.Options{ConnectionArn: arn}
	if h.ChangedFiles != nil {
		opts.ChangedFiles = func(ctx context.Context, repo, base, head string) ([]string, error) {
			return h.ChangedFiles(ctx, arn, repo, base, head)
		}
	}
	for _, res := range triggers.Evaluate(ctx, ev, pipes, opts) {
		if !res.Fired {
			resp.NotStarted = append(resp.NotStarted, NotStarted{Pipeline: res.Pipeline, Findings: res.Findings})
			continue
		}
		execID, err := h.Backend.Start(ctx, res.Pipeline, res.Revisions, res.TriggerType, res.TriggerDetail)
		if err != nil {
			h.log().Warn("githubhook: start", "pipeline", res.Pipeline, "err", err)
			resp.NotStarted = append(resp.NotStarted, NotStarted{Pipeline: res.Pipeline, Findings: res.Findings, Error: err.Error()})
			continue
		}
		resp.Started = append(resp.Started, Started{Pipeline: res.Pipeline, ExecutionID: execID, Revisions: res.Revisions, Reason: res.Findings[0].Reason})
	}
	writeJSON(w, http.StatusOK, resp)
}
