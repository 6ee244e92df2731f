package rest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

type restSSEEvent struct {
	name, id string
	data     string
}

// sse reads the event stream of an execution to its end.
func (env *restEnv) sse(pipelineName, id string) (events []restSSEEvent, comments int) {
	env.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", env.srv.URL+"/v1/pipelines/"+pipelineName+"/executions/"+id+"/events", nil)
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		data, _ := io.ReadAll(resp.Body)
		env.t.Fatalf("events: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var cur restSSEEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" || cur.data != "" {
				events = append(events, cur)
			}
			cur = restSSEEvent{}
		case strings.HasPrefix(line, ":"):
			comments++
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				cur.name = value
			case "id":
				cur.id = value
			case "data":
				if cur.data != "" {
					cur.data += "\n"
				}
				cur.data += value
			}
		}
	}
	if err := sc.Err(); err != nil {
		env.t.Fatalf("reading the event stream: %v (ended by the deadline instead of the terminal state?)", err)
	}
	return events, comments
}

// sseFinal checks a stream of execution events and returns the last state.
func (env *restEnv) sseFinal(events []restSSEEvent) *engine.Execution {
	env.t.Helper()
	if len(events) == 0 {
		env.t.Fatal("no events")
	}
	var last int64 = -1
	var e *engine.Execution
	for i, ev := range events {
		if ev.name != "execution" {
			env.t.Fatalf("event %d is %q, want execution", i, ev.name)
		}
		e = &engine.Execution{}
		if err := json.Unmarshal([]byte(ev.data), e); err != nil {
			env.t.Fatalf("event %d: %v", i, err)
		}
		if e.Version <= last {
			env.t.Fatalf("event %d: version %d after %d", i, e.Version, last)
		}
		last = e.Version
		if ev.id != fmt.Sprint(e.Version) {
			env.t.Fatalf("event %d: id %q, version %d", i, ev.id, e.Version)
		}
		if i < len(events)-1 && e.Status.Terminal() {
			env.t.Fatalf("event %d is terminal (%s) but the stream went on", i, e.Status)
		}
	}
	if !e.Status.Terminal() {
		env.t.Fatalf("the last event is %s, not terminal", e.Status)
	}
	return e
}

// The event stream sends heartbeats while nothing changes and ends when the
// client goes away.
func TestRESTEventsHeartbeatAndDisconnect(t *testing.T) {
	old := restHeartbeatInterval
	restHeartbeatInterval = 30 * time.Millisecond
	defer func() { restHeartbeatInterval = old }()

	env := newRESTEnv(t)
	env.ok("POST", "/v1/pipelines", restApprovalPipeline("rest-wait"), 201, nil)
	var started RESTExecutionID
	env.ok("POST", "/v1/pipelines/rest-wait/executions", nil, 201, &started)
	id := started.PipelineExecutionID

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", env.srv.URL+"/v1/pipelines/rest-wait/executions/"+id+"/events", nil)
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	heartbeats := 0
	for heartbeats < 3 && sc.Scan() {
		if strings.HasPrefix(sc.Text(), ": heartbeat") {
			heartbeats++
		}
	}
	if heartbeats < 3 {
		t.Fatalf("%d heartbeats: %v", heartbeats, sc.Err())
	}
	cancel()
	resp.Body.Close()

	// The handler unsubscribes once the client is gone.
	deadline := time.Now().Add(5 * time.Second)
	for env.events.Subscribers(id) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream's subscription outlived its client")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// CloseStreams (server shutdown) ends the streams still open.
	ended := make(chan error, 2)
	for _, path := range []string{"/events", "/actions/" + env.execution("rest-wait", id).Actions[0].ID + "/logs?follow=true"} {
		resp, err := env.srv.Client().Get(env.srv.URL + "/v1/pipelines/rest-wait/executions/" + id + path)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer resp.Body.Close()
			_, err := io.Copy(io.Discard, resp.Body)
			ended <- err
		}()
	}
	env.handler.CloseStreams()
	for range 2 {
		select {
		case err := <-ended:
			if err != nil {
				t.Fatalf("the stream ended with %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("CloseStreams left a stream open")
		}
	}
	env.ok("POST", "/v1/pipelines/rest-wait/executions/"+id+"/stop", RESTStopExecution{Abandon: true}, 202, nil)
	env.waitExecution("rest-wait", id, "the stop", func(e *engine.Execution) bool { return e.Status.Terminal() })
}

// Without an Events hub the streams fall back to polling the store.
func TestRESTStreamsWithoutEvents(t *testing.T) {
	env := newRESTEnv(t)
	env.sys.Runner.OnChange = nil
	svc := service.New(service.Config{Store: env.sys.Store, Driver: env.sys.Runner, Region: "us-east-1", Account: "123456789012", NoFirstExecution: true})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	plain := &restEnv{t: t, srv: srv, sys: env.sys}

	plain.ok("POST", "/v1/pipelines", restCommandsPipeline("rest-poll", "echo one", "sleep 1", "echo two"), 201, nil)
	var started RESTExecutionID
	plain.ok("POST", "/v1/pipelines/rest-poll/executions", nil, 201, &started)
	running := plain.waitExecution("rest-poll", started.PipelineExecutionID, "the action's log", func(e *engine.Execution) bool {
		return len(e.Actions) > 0 && e.Actions[0].LogLocation != ""
	})
	_, _, followed := plain.do("GET", "/v1/pipelines/rest-poll/executions/"+started.PipelineExecutionID+"/actions/"+running.Actions[0].ID+"/logs?follow=1", nil)
	evs, _ := plain.sse("rest-poll", started.PipelineExecutionID)
	final := plain.sseFinal(evs)
	file, _ := os.ReadFile(final.Actions[0].LogLocation)
	if final.Status != engine.Succeeded || string(followed) != string(file) || !bytes.Contains(file, []byte("two")) {
		t.Fatalf("%s; followed %q; file %q", final.Status, followed, file)
	}
}

func TestRESTCutLogPage(t *testing.T) {
	check := "✓" // 3 bytes: e2 9c 93
	cases := []struct {
		buf   string
		limit int
		final bool
		want  string
	}{
		{"abcdef", 4, false, "abcd"},
		{"abc", 4, false, "abc"},
		{"ab" + check + "cd", 3, false, "ab"},         // the limit cuts the check mark: next page
		{"ab" + check + "cd", 4, false, "ab"},         // likewise
		{"ab" + check + "cd", 5, false, "ab" + check}, // whole
		{check + "cd", 1, false, check},               // alone on its page: taken whole
		{check + "cd", 2, true, check},
		{"ab" + check[:2], 8, false, "ab"},            // the end of a running log cuts it: wait
		{check[:2], 1, false, ""},                     // nothing whole yet
		{"ab" + check[:2], 8, true, "ab" + check[:2]}, // a finished log keeps its last bytes
		{"a\xffb", 2, false, "a\xff"},                 // not UTF-8: bytes as they are
	}
	for _, c := range cases {
		if got := string(restCutLogPage([]byte(c.buf), c.limit, c.final)); got != c.want {
			t.Errorf("cut(%q, %d, %v) = %q, want %q", c.buf, c.limit, c.final, got, c.want)
		}
	}
}
