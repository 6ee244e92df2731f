package rest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
)

// restLogStream is a followed log's event stream, read event by event.
type restLogStream struct {
	t      *testing.T
	resp   *http.Response
	sc     *bufio.Scanner
	cancel context.CancelFunc
}

func (env *restEnv) followEvents(path string, header ...string) *restLogStream {
	env.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", env.srv.URL+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		cancel()
		env.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		env.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	s := &restLogStream{t: env.t, resp: resp, sc: sc, cancel: cancel}
	env.t.Cleanup(s.close)
	return s
}

func (s *restLogStream) close() { s.cancel(); s.resp.Body.Close() }

// next is the stream's next event (ok false at its end); comments counts
// the comment lines (heartbeats) before it.
func (s *restLogStream) next() (ev restSSEEvent, comments int, ok bool) {
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if ev.name != "" {
				return ev, comments, true
			}
		case strings.HasPrefix(line, ":"):
			comments++
		default:
			field, value, _ := strings.Cut(line, ": ")
			switch field {
			case "event":
				ev.name = value
			case "id":
				ev.id = value
			case "data":
				ev.data += value
			}
		}
	}
	return ev, comments, false
}

// restGatedPipeline prints a line, waits (at most 10 s) for the gate file,
// prints another and ends.
func restGatedPipeline(name, gate string) string {
	return restCommandsPipeline(name, "echo first line", "printf 'caf\\303\\251 '",
		"for i in $(seq 200); do [ -e '"+gate+"' ] && break; sleep 0.05; done", "echo second line")
}

// startGated creates the pipeline "gated" (restGatedPipeline) and starts
// it; it returns the gate file (opened at the test's end, if not before),
// the execution's ID and its running action's log route.
func startGated(env *restEnv) (gate, id, logs string) {
	env.t.Helper()
	gate = filepath.Join(env.t.TempDir(), "gate")
	env.t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o644) })
	env.ok("POST", "/v1/pipelines", restGatedPipeline("gated", gate), 201, nil)
	var started RESTExecutionID
	env.ok("POST", "/v1/pipelines/gated/executions", nil, 201, &started)
	id = started.PipelineExecutionID
	running := env.waitExecution("gated", id, "the action's log", func(e *engine.Execution) bool {
		return len(e.Actions) > 0 && e.Actions[0].LogLocation != ""
	})
	return gate, id, "/v1/pipelines/gated/executions/" + id + "/actions/" + running.Actions[0].ID + "/logs"
}

// TestRESTLogEvents: a running action's log as server-sent events: the
// first line before the run goes on, the rest after, then the end; the
// offsets add up to the file; a reconnection resumes at Last-Event-ID.
func TestRESTLogEvents(t *testing.T) {
	env := newRESTEnv(t)
	gate, id, logs := startGated(env)

	s := env.followEvents(logs)
	var text strings.Builder
	var offset int64
	read := func(until string) {
		t.Helper()
		for !strings.Contains(text.String(), until) {
			ev, _, ok := s.next()
			if !ok || ev.name != "log" {
				t.Fatalf("event %+v (ok %v) before %q; so far %q", ev, ok, until, text.String())
			}
			var le RESTLogEvent
			if err := json.Unmarshal([]byte(ev.data), &le); err != nil {
				t.Fatal(err)
			}
			if le.Offset != offset || ev.id != strconv.FormatInt(offset+int64(len(le.Content)), 10) || time.Since(le.Time) > time.Minute {
				t.Fatalf("event at %d: %+v id %s", offset, le, ev.id)
			}
			text.WriteString(le.Content)
			offset += int64(len(le.Content))
		}
	}
	read("first line")
	if e := env.execution("gated", id); e.Actions[0].Status != engine.InProgress {
		t.Fatalf("the first line came after the run ended (%s)", e.Actions[0].Status)
	}
	if strings.Contains(text.String(), "second line") {
		t.Fatal("the second line came before the gate opened")
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	read("second line")
	var end RESTLogEnd
	for {
		ev, _, ok := s.next()
		if !ok {
			t.Fatal("the stream ended without an end event")
		}
		if ev.name == "log" {
			var le RESTLogEvent
			_ = json.Unmarshal([]byte(ev.data), &le)
			text.WriteString(le.Content)
			offset += int64(len(le.Content))
			continue
		}
		if ev.name != "end" || json.Unmarshal([]byte(ev.data), &end) != nil {
			t.Fatalf("event %+v", ev)
		}
		break
	}
	if _, _, ok := s.next(); ok {
		t.Fatal("events after the end")
	}
	final := env.waitExecution("gated", id, "the end", func(e *engine.Execution) bool { return e.Status.Terminal() })
	file, err := os.ReadFile(final.Actions[0].LogLocation)
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != string(file) || end.NextOffset != int64(len(file)) || end.Status != "Succeeded" {
		t.Fatalf("streamed %q, end %+v; the file %q", text.String(), end, file)
	}

	// A reconnection resumes where it was; asked for past the end, 400.
	at := strings.Index(string(file), "second line")
	r := env.followEvents(logs+"?offset=0", "Last-Event-ID", strconv.Itoa(at))
	ev, _, _ := r.next()
	var le RESTLogEvent
	if ev.name != "log" || json.Unmarshal([]byte(ev.data), &le) != nil || le.Offset != int64(at) || le.Content != string(file[at:]) {
		t.Fatalf("resumed: %+v", ev)
	}
	if ev, _, _ := r.next(); ev.name != "end" {
		t.Fatalf("after the resumed log: %+v", ev)
	}
	for _, bad := range []string{"x", "-1", strconv.Itoa(len(file) + 1)} {
		status, _, body := env.do("GET", logs, nil, "Accept", "text/event-stream", "Last-Event-ID", bad)
		if status != 400 || !strings.Contains(string(body), "ValidationException") {
			t.Errorf("Last-Event-ID %q: %d %s", bad, status, body)
		}
	}
}

// TestRESTLogEventsLimits: heartbeats while nothing is written; a client
// that goes away frees its stream and subscription; beyond
// restMaxLogStreams a follow is refused with 400 LimitExceededException;
// a stream ends after restLogStreamMax.
func TestRESTLogEventsLimits(t *testing.T) {
	oldBeat, oldMax, oldTime := restHeartbeatInterval, restMaxLogStreams, restLogStreamMax
	restHeartbeatInterval, restMaxLogStreams = 30*time.Millisecond, 2
	defer func() { restHeartbeatInterval, restMaxLogStreams, restLogStreamMax = oldBeat, oldMax, oldTime }()

	env := newRESTEnv(t)
	_, id, logs := startGated(env)

	a := env.followEvents(logs)
	if ev, _, ok := a.next(); !ok || ev.name != "log" {
		t.Fatalf("first event %+v", ev)
	}
	// While the action waits, heartbeats.
	for beats := 0; beats < 3; {
		if !a.sc.Scan() {
			t.Fatalf("the stream ended after %d heartbeats: %v", beats, a.sc.Err())
		}
		if strings.HasPrefix(a.sc.Text(), ": heartbeat") {
			beats++
		}
	}
	b := env.followEvents(logs)
	status, _, body := env.do("GET", logs, nil, "Accept", "text/event-stream")
	if status != 400 || !strings.Contains(string(body), "LimitExceededException") {
		t.Fatalf("a third follow: %d %s", status, body)
	}
	// Both clients go away: their streams and subscriptions end.
	a.close()
	b.close()
	deadline := time.Now().Add(5 * time.Second)
	for env.handler.logStreams.Load() != 0 || env.events.Subscribers(id) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams, %d subscriptions after the clients left", env.handler.logStreams.Load(), env.events.Subscribers(id))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A stream's time is up: it ends, without an end event.
	restLogStreamMax = 200 * time.Millisecond
	c := env.followEvents(logs)
	var names []string
	began := time.Now()
	for {
		ev, _, ok := c.next()
		if !ok {
			break
		}
		names = append(names, ev.name)
	}
	if time.Since(began) > 5*time.Second || strings.Join(names, ",") != "log" {
		t.Fatalf("a stream past its time: events %v after %s", names, time.Since(began))
	}
}
