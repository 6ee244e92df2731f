package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// A followed log as server-sent events (what the console's EventSource
// asks for: Accept: text/event-stream), from ?offset= or, when the browser
// reconnects, from its Last-Event-ID:
//
//	event: log   id: <offset after>  data: {"offset", "content", "time"}
//	event: end   id: <offset>        data: {"nextOffset", "status"}
//
// "log" carries new bytes of the log (whole characters, at most
// restLogEventMax bytes an event) with the time the server read them (the
// log keeps no time per line); "end" follows the last bytes once the run
// has ended. A comment line every restHeartbeatInterval keeps proxies from
// closing the connection; a stream lasts at most restLogStreamMax (the
// browser then reconnects where it was), at most restMaxLogStreams are
// followed at once (beyond: 400 LimitExceededException, and the console
// reads pages instead), and each ends when its client goes away or the
// server closes its streams.

// Limits of followed logs; variables so that tests can change them.
var (
	restLogEventMax   = 64 << 10
	restLogStreamMax  = 30 * time.Minute
	restMaxLogStreams = int32(64)
)

// RESTLogEvent is the data of a log event.
type RESTLogEvent struct {
	Offset  int64     `json:"offset"`
	Content string    `json:"content"`
	Time    time.Time `json:"time"`
}

// RESTLogEnd is the data of the end event.
type RESTLogEnd struct {
	NextOffset int64  `json:"nextOffset"`
	Status     string `json:"status"`
}

// restWantsEvents says whether the request asks for server-sent events.
func restWantsEvents(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
				return true
			}
		}
	}
	return false
}

// restLastEventID is the offset a reconnecting EventSource names (ok false
// without one).
func restLastEventID(r *http.Request) (int64, bool, error) {
	s := r.Header.Get("Last-Event-ID")
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, restInvalid("Last-Event-ID", "must be a byte offset of the log, got %q", s)
	}
	return n, true, nil
}

// followLogEvents streams the log from offset as server-sent events until
// the run has ended and its whole log is sent.
func (h *Handler) followLogEvents(w http.ResponseWriter, r *http.Request, watch *service.Watch, runID string, offset int64) {
	if n := h.logStreams.Add(1); n > restMaxLogStreams {
		h.logStreams.Add(-1)
		h.fail(w, r, errs.New(errs.LimitExceeded, "%d logs are followed already, the most at once; read this one a page at a time", restMaxLogStreams))
		return
	}
	defer h.logStreams.Add(-1)
	ctx, cancel := context.WithTimeout(r.Context(), restLogStreamMax)
	defer cancel()
	e := watch.Execution
	w.Header().Set("X-Accel-Buffering", "no")
	rc := restStartStream(w, "text/event-stream")
	if restFlush(rc) != nil {
		return
	}
	send := func(event string, id int64, v any) bool {
		data, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\nid: %d\ndata: %s\n\n", event, id, data); err != nil {
			return false
		}
		return restFlush(rc) == nil
	}
	updates := h.watchExecution(ctx, watch)
	tick := time.NewTicker(restLogTick)
	defer tick.Stop()
	heartbeat := time.NewTicker(restHeartbeatInterval)
	defer heartbeat.Stop()
	for {
		run, ok := e.Run(runID)
		if !ok {
			return
		}
		// A run or its execution that has ended changes no more: this read
		// is the last.
		done := run.Status.Terminal() || e.Status.Terminal()
		for {
			size, err := restLogSize(run.LogLocation)
			if err != nil || offset >= size {
				break
			}
			buf, err := restReadLog(run.LogLocation, offset, int64(restLogEventMax+utf8.UTFMax-1), size)
			if err != nil {
				return
			}
			chunk := restCutLogPage(buf, restLogEventMax, done && offset+int64(len(buf)) >= size)
			if len(chunk) == 0 {
				break // a character's last bytes are not written yet
			}
			at := offset
			offset += int64(len(chunk))
			if !send("log", offset, RESTLogEvent{Offset: at, Content: string(chunk), Time: time.Now().UTC()}) {
				return
			}
		}
		if done {
			status := run.Status
			if !status.Terminal() {
				status = e.Status
			}
			send("end", offset, RESTLogEnd{NextOffset: offset, Status: string(status)})
			return
		}
		select {
		case ne, ok := <-updates:
			if !ok {
				return // the request or the server is closing, or the stream's time is up
			}
			e = ne
		case <-tick.C:
		case <-heartbeat.C:
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil || restFlush(rc) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
