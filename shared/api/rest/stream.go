package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// The streams of the REST door: server-sent events of an execution and (in
// logs.go) followed logs.

// restFlush flushes what was written; a writer that cannot flush is no error.
func restFlush(rc *http.ResponseController) error {
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// restStartStream starts a streamed 200 response of the given content type:
// no write deadline (it lasts as long as what it follows), no caching, the
// header sent at once. The caller flushes what it writes through the
// returned controller.
func restStartStream(w http.ResponseWriter, contentType string) *http.ResponseController {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return rc
}

// executionEvents streams an execution as server-sent events: first
// `event: execution` with the current record, then one per change, ending
// after the terminal state; a comment line every restHeartbeatInterval keeps
// proxies from closing the connection.
func (h *Handler) executionEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, id := r.PathValue("name"), r.PathValue("id")
	watch, err := h.svc.WatchExecution(ctx, name, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer watch.Close()
	e := watch.Execution
	w.Header().Set("X-Accel-Buffering", "no")
	rc := restStartStream(w, "text/event-stream")

	send := func(e *engine.Execution) bool {
		// Changes come from the driver as saved: without its tokens.
		data, err := json.Marshal(e.WithoutDriverTokens())
		if err != nil {
			h.log.Error("encoding an execution event", "execution", e.ID, "err", err)
			return false
		}
		if _, err := fmt.Fprintf(w, "event: execution\nid: %d\ndata: %s\n\n", e.Version, data); err != nil {
			return false
		}
		return restFlush(rc) == nil
	}
	if !send(e) || e.Status.Terminal() {
		return
	}
	updates := h.watchExecution(ctx, watch)
	heartbeat := time.NewTicker(restHeartbeatInterval)
	defer heartbeat.Stop()
	for {
		select {
		case next, ok := <-updates:
			if !ok {
				return // the request or the server is closing
			}
			if !send(next) || next.Status.Terminal() {
				return
			}
		case <-heartbeat.C:
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil || restFlush(rc) != nil {
				return
			}
		}
	}
}

// watchExecution delivers each newer state of the execution e, in order,
// on the returned channel: from the Events hub (changes), with a re-read of
// the store every restPollInterval as a backstop, or every
// restFallbackPollInterval when there is no hub or it closed. It stops after
// delivering a terminal state, and closes the channel when it stops, when
// ctx ends or when the handler closes its streams.
func (h *Handler) watchExecution(ctx context.Context, watch *service.Watch) <-chan *engine.Execution {
	e, changes := watch.Execution, watch.Changes
	out := make(chan *engine.Execution, 1)
	go func() {
		defer close(out)
		last := e.Version
		pollEvery := restPollInterval
		if changes == nil {
			pollEvery = restFallbackPollInterval
		}
		poll := time.NewTicker(pollEvery)
		defer poll.Stop()
		for {
			var next *engine.Execution
			select {
			case <-ctx.Done():
				return
			case <-h.closing:
				return
			case ne, ok := <-changes:
				if !ok {
					changes = nil
					poll.Reset(restFallbackPollInterval)
					continue
				}
				next = ne
			case <-poll.C:
				ne, err := watch.Reload(ctx)
				if err != nil {
					continue
				}
				next = ne
			}
			if next.Version <= last {
				continue
			}
			last = next.Version
			select {
			case out <- next:
			case <-ctx.Done():
				return
			case <-h.closing:
				return
			}
			if next.Status.Terminal() {
				return
			}
		}
	}()
	return out
}
