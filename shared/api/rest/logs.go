package rest

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// The logs of action runs over REST:
//
//	GET /v1/pipelines/{name}/executions/{id}/actions/{runId}/logs?offset=&limit=
//
// answers a page {content, nextOffset, complete} read at a byte offset
// (limit: 64 KiB by default, at most 1 MiB), with ?follow=true streams
// the log as plain text from offset while it grows, until the run ends, and
// asked for text/event-stream streams it as server-sent events
// (logstream.go).

func (h *Handler) actionLogs(w http.ResponseWriter, r *http.Request) {
	name, id, runID := r.PathValue("name"), r.PathValue("id"), r.PathValue("runId")
	q := r.URL.Query()
	offset, err := restQueryInt(q, "offset", 0, 1<<62)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	limit := int64(restLogDefaultLimit)
	if q.Get("limit") != "" {
		if limit, err = restQueryInt(q, "limit", 1, 1<<62); err != nil {
			h.fail(w, r, err)
			return
		}
		limit = min(limit, restLogMaxLimit)
	}
	follow := false
	if s := q.Get("follow"); s != "" {
		if follow, err = strconv.ParseBool(s); err != nil {
			h.fail(w, r, restInvalid("follow", "must be true or false, got %q", s))
			return
		}
	}
	events := restWantsEvents(r)
	if events {
		if at, ok, err := restLastEventID(r); err != nil {
			h.fail(w, r, err)
			return
		} else if ok {
			offset = at // a reconnecting EventSource: where it was
		}
	}
	watch, run, err := h.svc.ActionLog(r.Context(), name, id, runID, follow || events)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer watch.Close()
	e := watch.Execution
	terminal := run.Status.Terminal() || e.Status.Terminal() // before reading: then the log is whole
	size, err := restLogSize(run.LogLocation)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if offset > size {
		h.fail(w, r, restInvalid("offset", "is past the end of the log (%d bytes)", size))
		return
	}
	if events {
		h.followLogEvents(w, r, watch, runID, offset)
		return
	}
	if follow {
		h.followLog(w, r, watch, runID, offset)
		return
	}
	// Read a few bytes more than the limit to finish a character cut by it.
	buf, err := restReadLog(run.LogLocation, offset, limit+utf8.UTFMax-1, size)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	content := restCutLogPage(buf, int(limit), terminal && offset+int64(len(buf)) >= size)
	next := offset + int64(len(content))
	restWriteJSON(w, http.StatusOK, RESTLogPage{Content: string(content), NextOffset: next, Complete: terminal && next >= size})
}

// restLogSize is the size of a log file; 0 when there is none yet.
func restLogSize(path string) (int64, error) {
	if path == "" {
		return 0, nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, errs.Wrap(errs.Internal, err, "reading the log")
	}
	return fi.Size(), nil
}

// restReadLog reads up to limit bytes at offset of a log of (at least) size bytes.
func restReadLog(path string, offset, limit, size int64) ([]byte, error) {
	if path == "" || offset >= size {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "reading the log")
	}
	defer f.Close()
	buf := make([]byte, min(limit, size-offset))
	n, err := f.ReadAt(buf, offset)
	if err != nil && err != io.EOF {
		return nil, errs.Wrap(errs.Internal, err, "reading the log")
	}
	return buf[:n], nil
}

// restCutLogPage cuts a page of at most limit bytes from buf, the log read
// from the page's offset, so that it ends on a character boundary: a
// character cut by the limit is left for the next page (or, when it is the
// page's only one, taken whole), and a character cut by the current end of
// the log of a running action waits for its last bytes. final says that buf
// reaches the end of a log that will not grow.
func restCutLogPage(buf []byte, limit int, final bool) []byte {
	if len(buf) <= limit {
		if final {
			return buf
		}
		return restTrimPartialRune(buf)
	}
	page := buf[:limit]
	if t := restTrimPartialRune(page); len(t) < len(page) {
		if len(t) > 0 {
			return t
		}
		if !utf8.FullRune(buf) && !final {
			return buf[:0] // the rest of the character is not written yet
		}
		_, n := utf8.DecodeRune(buf)
		return buf[:n]
	}
	return page
}

// restTrimPartialRune drops the start of a UTF-8 sequence at the end of b
// that lacks its last bytes. (Bytes that can never be UTF-8 stay: the JSON
// answer shows them as U+FFFD.)
func restTrimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < utf8.RuneSelf {
			return b
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// followLog streams the log from offset as it grows and returns once the
// run has ended and its whole log is sent.
func (h *Handler) followLog(w http.ResponseWriter, r *http.Request, watch *service.Watch, runID string, offset int64) {
	e := watch.Execution
	ctx := r.Context()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rc := restStartStream(w, "text/plain; charset=utf-8")
	_ = restFlush(rc)

	updates := h.watchExecution(ctx, watch)
	tick := time.NewTicker(restLogTick)
	defer tick.Stop()
	buf := make([]byte, 32<<10)
	for {
		run, ok := e.Run(runID)
		if !ok {
			return
		}
		// A run or its execution that has ended changes no more: this read
		// is the last.
		done := run.Status.Terminal() || e.Status.Terminal()
		if run.LogLocation != "" {
			n, err := restCopyLog(w, buf, run.LogLocation, offset)
			offset += n
			if n > 0 && restFlush(rc) != nil {
				return
			}
			if err != nil {
				return // the client went away (or the log cannot be read)
			}
		}
		if done {
			return
		}
		select {
		case ne, ok := <-updates:
			if !ok {
				return // the request or the server is closing
			}
			e = ne
		case <-tick.C:
		}
	}
}

// restCopyLog writes the log from offset to its current end.
func restCopyLog(w io.Writer, buf []byte, path string, offset int64) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for {
		n, rerr := f.ReadAt(buf, offset+total)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}
