package rest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/reqlog"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/service"
)

// restEnv is a REST door over a real embedded system: SQLite store, local
// runner, Commands actions on /bin/sh.
type restEnv struct {
	t       *testing.T
	srv     *httptest.Server
	sys     *embedded.System
	events  *service.Events
	logs    *restSyncBuffer
	handler *Handler
}

type restSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *restSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *restSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newRESTEnv(t *testing.T) *restEnv {
	t.Helper()
	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), Account: "123456789012", NoFirstExecution: true, AuthNone: true})
	if err != nil {
		t.Fatal(err)
	}
	logs := &restSyncBuffer{}
	lg := slog.New(slog.NewTextHandler(logs, nil))
	handler := NewHandler(sys.Service, lg)
	// What api.NewHandler does around the door: one log line per request
	// with what the door added to it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, entry := reqlog.With(r.Context())
		handler.ServeHTTP(w, r.WithContext(ctx))
		attrs, _ := entry.Attrs()
		lg.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	}))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := sys.Close(ctx); err != nil {
			t.Errorf("closing the system: %v", err)
		}
	})
	return &restEnv{t: t, srv: srv, sys: sys, events: sys.Events, logs: logs, handler: handler}
}

// do sends a request; body is a string (sent as is) or a value (JSON).
func (env *restEnv) do(method, path string, body any, header ...string) (int, http.Header, []byte) {
	env.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			env.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, env.srv.URL+path, rd)
	if err != nil {
		env.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		env.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		env.t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, data
}

// ok sends a request, checks the status and decodes the answer into out.
func (env *restEnv) ok(method, path string, body any, wantStatus int, out any, header ...string) {
	env.t.Helper()
	status, _, data := env.do(method, path, body, header...)
	if status != wantStatus {
		env.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, wantStatus, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			env.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

func (env *restEnv) execution(pipelineName, id string) *engine.Execution {
	env.t.Helper()
	var e engine.Execution
	env.ok("GET", "/v1/pipelines/"+pipelineName+"/executions/"+id, nil, 200, &e)
	return &e
}

// waitExecution polls the execution until cond holds.
func (env *restEnv) waitExecution(pipelineName, id string, what string, cond func(*engine.Execution) bool) *engine.Execution {
	env.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e := env.execution(pipelineName, id)
		if cond(e) {
			return e
		}
		if time.Now().After(deadline) {
			env.t.Fatalf("execution %s: timed out waiting for %s; status %s", id, what, e.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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

// restUnknownUUID is a well-formed ID that names nothing.
const restUnknownUUID = "0b4a9c8e-1f1e-4c43-9d55-3f1c2b7a6e01"

const restCommands = `{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}`

func restCommandsPipeline(name string, commands ...string) string {
	cmds, _ := json.Marshal(commands)
	return fmt.Sprintf(`{
  "name": %q, "pipelineType": "V2",
  "variables": [{"name": "GREETING", "defaultValue": "hi"}],
  "stages": [{"name": "Build", "actions": [{"name": "Say", "actionTypeId": %s, "commands": %s}]}]
}`, name, restCommands, cmds)
}

func restApprovalPipeline(name string) string {
	return fmt.Sprintf(`{"pipeline": {
  "name": %q, "pipelineType": "V2",
  "stages": [
    {"name": "Approve", "actions": [{"name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
    {"name": "After", "actions": [{"name": "Say", "actionTypeId": %s, "commands": ["echo approved"]}]}
  ]}, "tags": [{"key": "team", "value": "qa"}]}`, name, restCommands)
}

func TestRESTLifecycle(t *testing.T) {
	env := newRESTEnv(t)

	// ---- pipelines ----
	var created service.GetPipelineOutput
	status, hdr, data := env.do("POST", "/v1/pipelines", restCommandsPipeline("rest-hello", "echo greeting #{variables.GREETING}", "echo done"))
	if status != 201 {
		t.Fatalf("create: %d %s", status, data)
	}
	if loc := hdr.Get("Location"); loc != "/v1/pipelines/rest-hello" {
		t.Errorf("Location = %q", loc)
	}
	if err := json.Unmarshal(data, &created); err != nil {
		t.Fatal(err)
	}
	if created.Pipeline.Version == nil || *created.Pipeline.Version != 1 || created.Metadata.PipelineArn != "arn:aws:codepipeline:us-east-1:123456789012:rest-hello" {
		t.Fatalf("created: %s", data)
	}

	var got service.GetPipelineOutput
	env.ok("GET", "/v1/pipelines/rest-hello", nil, 200, &got)
	if *got.Pipeline.Version != 1 {
		t.Fatalf("get: version %d", *got.Pipeline.Version)
	}

	// Update: the answer of GET, edited and sent back (envelope with metadata).
	got.Pipeline.Stages[0].Actions[0].Commands = append(got.Pipeline.Stages[0].Actions[0].Commands, "echo version two")
	var updated service.GetPipelineOutput
	env.ok("PUT", "/v1/pipelines/rest-hello", got, 200, &updated)
	if *updated.Pipeline.Version != 2 {
		t.Fatalf("update: version %d", *updated.Pipeline.Version)
	}
	for _, c := range []struct {
		query    string
		version  int
		commands int
	}{{"", 2, 3}, {"?version=1", 1, 2}, {"?version=2", 2, 3}} {
		var p service.GetPipelineOutput
		env.ok("GET", "/v1/pipelines/rest-hello"+c.query, nil, 200, &p)
		if *p.Pipeline.Version != c.version || len(p.Pipeline.Stages[0].Actions[0].Commands) != c.commands {
			t.Errorf("GET %s: version %d with %d commands, want %d with %d", c.query, *p.Pipeline.Version,
				len(p.Pipeline.Stages[0].Actions[0].Commands), c.version, c.commands)
		}
	}
	restExpectError(t, env, "GET", "/v1/pipelines/rest-hello?version=3", nil, 404, "PipelineVersionNotFoundException", "")

	env.ok("POST", "/v1/pipelines", restCommandsPipeline("rest-slow", "echo first", "sleep 1", "echo second"), 201, nil)
	env.ok("POST", "/v1/pipelines", restApprovalPipeline("rest-approve"), 201, nil)

	// List two at a time.
	var names []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		var page service.ListPipelinesOutput
		env.ok("GET", "/v1/pipelines?maxResults=2&nextToken="+url.QueryEscape(token), nil, 200, &page)
		if len(page.Pipelines) > 2 {
			t.Fatalf("page of %d pipelines", len(page.Pipelines))
		}
		for _, p := range page.Pipelines {
			names = append(names, p.Name)
		}
		if token = page.NextToken; token == "" {
			break
		}
	}
	slices.Sort(names)
	if want := []string{"rest-approve", "rest-hello", "rest-slow"}; !slices.Equal(names, want) {
		t.Fatalf("listed %v, want %v", names, want)
	}

	// ---- start, idempotently ----
	var started, again RESTExecutionID
	start := RESTStartExecution{Variables: map[string]string{"GREETING": "bonjour"}, ClientRequestToken: "tok-1"}
	env.ok("POST", "/v1/pipelines/rest-hello/executions", start, 201, &started)
	env.ok("POST", "/v1/pipelines/rest-hello/executions", start, 201, &again)
	if started.PipelineExecutionID == "" || again.PipelineExecutionID != started.PipelineExecutionID {
		t.Fatalf("idempotent start: %q then %q", started.PipelineExecutionID, again.PipelineExecutionID)
	}
	id := started.PipelineExecutionID

	// ---- follow the execution's events to its end ----
	evs, _ := env.sse("rest-hello", id)
	final := env.sseFinal(evs)
	if final.Status != engine.Succeeded {
		t.Fatalf("final status %s: %s", final.Status, final.StatusSummary)
	}
	// A stream of an execution that has ended is its one terminal event.
	if evs, _ := env.sse("rest-hello", id); len(evs) != 1 || env.sseFinal(evs).Status != engine.Succeeded {
		t.Fatalf("events of an ended execution: %d events", len(evs))
	}
	var list service.ListPipelineExecutionsOutput
	env.ok("GET", "/v1/pipelines/rest-hello/executions?status=Succeeded", nil, 200, &list)
	if len(list.PipelineExecutionSummaries) != 1 || list.PipelineExecutionSummaries[0].PipelineExecutionID != id {
		t.Fatalf("executions: %+v", list)
	}
	env.ok("GET", "/v1/pipelines/rest-hello/executions?status=Failed", nil, 200, &list)
	if len(list.PipelineExecutionSummaries) != 0 {
		t.Fatalf("failed executions: %+v", list)
	}

	// ---- action executions, filtered ----
	for _, c := range []struct {
		query string
		want  int
	}{
		{"", 1},
		{"?executionId=" + id, 1},
		{"?executionId=" + id + "&stage=Build&action=Say&status=Succeeded", 1},
		{"?stage=Build&action=Other", 0},
		{"?stage=Deploy", 0},
		{"?status=Failed", 0},
	} {
		var out service.ListActionExecutionsOutput
		env.ok("GET", "/v1/pipelines/rest-hello/action-executions"+c.query, nil, 200, &out)
		if len(out.ActionExecutionDetails) != c.want {
			t.Errorf("action executions %s: %d, want %d", c.query, len(out.ActionExecutionDetails), c.want)
		}
	}

	// ---- logs, a page at a time ----
	run := final.Actions[0]
	file, err := os.ReadFile(run.LogLocation)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(file, []byte("greeting bonjour")) {
		t.Fatalf("the log lacks the greeting:\n%s", file)
	}
	logsPath := "/v1/pipelines/rest-hello/executions/" + id + "/actions/" + run.ID + "/logs"
	var whole strings.Builder
	var offset int64
	for pages := 0; ; pages++ {
		if pages > len(file)/7+2 {
			t.Fatal("too many log pages")
		}
		var page RESTLogPage
		env.ok("GET", fmt.Sprintf("%s?offset=%d&limit=7", logsPath, offset), nil, 200, &page)
		if page.NextOffset != offset+int64(len(page.Content)) || len(page.Content) > 7 {
			t.Fatalf("page at %d: %d bytes, next %d", offset, len(page.Content), page.NextOffset)
		}
		whole.WriteString(page.Content)
		offset = page.NextOffset
		if page.Complete {
			break
		}
	}
	if whole.String() != string(file) {
		t.Fatalf("paged log:\n%q\nfile:\n%q", whole.String(), file)
	}
	var one RESTLogPage
	env.ok("GET", logsPath, nil, 200, &one)
	if one.Content != string(file) || !one.Complete || one.NextOffset != int64(len(file)) {
		t.Fatalf("one page: %+v", one)
	}
	// Following a run that has ended returns its log at once.
	if status, _, body := env.do("GET", logsPath+"?follow=true", nil); status != 200 || string(body) != string(file) {
		t.Fatalf("follow of an ended run: %d %q", status, body)
	}

	// ---- follow a running action's log ----
	var slow RESTExecutionID
	env.ok("POST", "/v1/pipelines/rest-slow/executions", nil, 201, &slow)
	running := env.waitExecution("rest-slow", slow.PipelineExecutionID, "the action's log", func(e *engine.Execution) bool {
		return len(e.Actions) > 0 && e.Actions[0].LogLocation != ""
	})
	if running.Actions[0].Status != engine.InProgress {
		t.Fatalf("the slow action is already %s", running.Actions[0].Status)
	}
	slowLogs := "/v1/pipelines/rest-slow/executions/" + slow.PipelineExecutionID + "/actions/" + running.Actions[0].ID + "/logs"
	var sseEvents []restSSEEvent
	var wg sync.WaitGroup
	wg.Go(func() { sseEvents, _ = env.sse("rest-slow", slow.PipelineExecutionID) })
	followStart := time.Now()
	resp, err := env.srv.Client().Get(env.srv.URL + slowLogs + "?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("follow: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The first line arrives while the action sleeps; the stream ends after it.
	var followedBuf bytes.Buffer
	var firstAt time.Time
	chunk := make([]byte, 4096)
	for {
		n, rerr := resp.Body.Read(chunk)
		followedBuf.Write(chunk[:n])
		if firstAt.IsZero() && bytes.Contains(followedBuf.Bytes(), []byte("first")) {
			firstAt = time.Now()
			if bytes.Contains(followedBuf.Bytes(), []byte("second")) {
				t.Fatal("the followed log came in one piece after the action ended")
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
	}
	resp.Body.Close()
	followed := followedBuf.Bytes()
	if firstAt.IsZero() || time.Since(firstAt) < 300*time.Millisecond {
		t.Fatalf("the log was not streamed while the action ran (first line at %v)", firstAt)
	}
	wg.Wait()
	slowFinal := env.sseFinal(sseEvents)
	if slowFinal.Status != engine.Succeeded || len(sseEvents) < 2 {
		t.Fatalf("slow execution: %s after %d events", slowFinal.Status, len(sseEvents))
	}
	slowFile, err := os.ReadFile(slowFinal.Actions[0].LogLocation)
	if err != nil {
		t.Fatal(err)
	}
	if string(followed) != string(slowFile) || !bytes.Contains(followed, []byte("first")) || !bytes.Contains(followed, []byte("second")) {
		t.Fatalf("followed:\n%q\nfile:\n%q", followed, slowFile)
	}
	if d := time.Since(followStart); d > 20*time.Second {
		t.Fatalf("follow took %v", d)
	}

	// ---- approval via REST ----
	var appr RESTExecutionID
	env.ok("POST", "/v1/pipelines/rest-approve/executions", RESTStartExecution{}, 201, &appr)
	env.waitExecution("rest-approve", appr.PipelineExecutionID, "the approval", func(e *engine.Execution) bool {
		r, ok := e.LatestRun("Approve", "Gate")
		return ok && r.Status == engine.InProgress
	})
	var state service.GetPipelineStateOutput
	env.ok("GET", "/v1/pipelines/rest-approve/state", nil, 200, &state)
	if len(state.StageStates) != 2 || state.StageStates[0].ActionStates[0].LatestExecution == nil ||
		state.StageStates[0].ActionStates[0].LatestExecution.Token == "" {
		t.Fatalf("state shows no waiting approval: %+v", state)
	}
	restExpectError(t, env, "POST", "/v1/pipelines/rest-approve/approvals",
		RESTApproval{Stage: "Approve", Action: "Gate", Token: restUnknownUUID, Status: "Approved"}, 409, "InvalidApprovalTokenException", "")
	var approved RESTApprovalResult
	env.ok("POST", "/v1/pipelines/rest-approve/approvals",
		RESTApproval{Stage: "Approve", Action: "Gate", Status: "Approved", Summary: "looks good"}, 200, &approved, RESTUserHeader, "alice")
	if approved.ApprovedAt == nil {
		t.Fatal("no approvedAt")
	}
	evs, _ = env.sse("rest-approve", appr.PipelineExecutionID)
	if e := env.sseFinal(evs); e.Status != engine.Succeeded {
		t.Fatalf("approved execution: %s", e.Status)
	}
	var gate service.ListActionExecutionsOutput
	env.ok("GET", "/v1/pipelines/rest-approve/action-executions?executionId="+appr.PipelineExecutionID+"&action=Gate", nil, 200, &gate)
	if len(gate.ActionExecutionDetails) != 1 || gate.ActionExecutionDetails[0].UpdatedBy != "alice" ||
		gate.ActionExecutionDetails[0].Status != "Succeeded" {
		t.Fatalf("gate: %+v", gate.ActionExecutionDetails)
	}
	restExpectError(t, env, "POST", "/v1/pipelines/rest-approve/approvals",
		RESTApproval{ExecutionID: appr.PipelineExecutionID, Stage: "Approve", Action: "Gate", Status: "Approved"}, 409, "InvalidApprovalTokenException", "")

	// ---- stop ----
	var toStop RESTExecutionID
	env.ok("POST", "/v1/pipelines/rest-approve/executions", nil, 201, &toStop)
	env.waitExecution("rest-approve", toStop.PipelineExecutionID, "the approval", func(e *engine.Execution) bool {
		r, ok := e.LatestRun("Approve", "Gate")
		return ok && r.Status == engine.InProgress
	})
	env.ok("POST", "/v1/pipelines/rest-approve/executions/"+toStop.PipelineExecutionID+"/stop",
		RESTStopExecution{Abandon: true, Reason: "not today"}, 202, nil)
	evs, _ = env.sse("rest-approve", toStop.PipelineExecutionID)
	if e := env.sseFinal(evs); e.Status != engine.Stopped || !strings.Contains(e.StatusSummary, "not today") {
		t.Fatalf("stopped execution: %s %q", e.Status, e.StatusSummary)
	}
	restExpectError(t, env, "POST", "/v1/pipelines/rest-approve/executions/"+toStop.PipelineExecutionID+"/stop",
		nil, 409, "PipelineExecutionNotStoppableException", "")

	// ---- tags ----
	var tags RESTTags
	env.ok("GET", "/v1/pipelines/rest-approve/tags", nil, 200, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "team" {
		t.Fatalf("tags from the envelope: %+v", tags)
	}
	env.ok("PUT", "/v1/pipelines/rest-approve/tags", `{"tags": [{"key": "env", "value": "test"}, {"key": "team", "value": "web"}]}`, 200, &tags)
	if len(tags.Tags) != 2 {
		t.Fatalf("tags after PUT: %+v", tags)
	}
	env.ok("DELETE", "/v1/pipelines/rest-approve/tags?key=team", nil, 204, nil)
	env.ok("GET", "/v1/pipelines/rest-approve/tags", nil, 200, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "env" || tags.Tags[0].Value != "test" {
		t.Fatalf("tags after DELETE: %+v", tags)
	}

	// ---- delete ----
	env.ok("DELETE", "/v1/pipelines/rest-approve", nil, 204, nil)
	restExpectError(t, env, "GET", "/v1/pipelines/rest-approve", nil, 404, "PipelineNotFoundException", "")
	restExpectError(t, env, "DELETE", "/v1/pipelines/rest-approve", nil, 404, "PipelineNotFoundException", "")

	// Every request was logged with its route pattern.
	if logs := env.logs.String(); !strings.Contains(logs, `route="GET /v1/pipelines/{name}"`) {
		t.Fatalf("request log:\n%s", logs)
	}
}

// restExpectError checks an error answer: status, exception, and (if given)
// a problem at path or, for a path starting with "~", a message containing it.
func restExpectError(t *testing.T, env *restEnv, method, path string, body any, status int, code, problem string, header ...string) {
	t.Helper()
	got, hdr, data := env.do(method, path, body, header...)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, data)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var e RESTError
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s %s: not a JSON error: %s", method, path, data)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("%s %s: code %q, want %q: %s", method, path, e.Error.Code, code, data)
	}
	switch {
	case problem == "":
	case strings.HasPrefix(problem, "~"):
		if !strings.Contains(e.Error.Message, problem[1:]) {
			t.Fatalf("%s %s: message %q lacks %q", method, path, e.Error.Message, problem[1:])
		}
	default:
		for _, p := range e.Error.Problems {
			if p.Path == problem {
				return
			}
		}
		t.Fatalf("%s %s: no problem at %q: %s", method, path, problem, data)
	}
}

func TestRESTBadInput(t *testing.T) {
	env := newRESTEnv(t)
	env.ok("POST", "/v1/pipelines", restApprovalPipeline("rest-bad"), 201, nil)
	var started RESTExecutionID
	env.ok("POST", "/v1/pipelines", restCommandsPipeline("rest-ok", "echo ok"), 201, nil)
	env.ok("POST", "/v1/pipelines/rest-ok/executions", nil, 201, &started)
	evs, _ := env.sse("rest-ok", started.PipelineExecutionID)
	run := env.sseFinal(evs).Actions[0]
	exec := "/v1/pipelines/rest-ok/executions/" + started.PipelineExecutionID

	big := `{"variables": {"A": "` + strings.Repeat("x", restMaxBody) + `"}}`
	bigPipeline := `{"name": "big", "roleArn": "` + strings.Repeat("x", restMaxBody) + `"}`
	valid := restCommandsPipeline("rest-ok", "echo ok")

	cases := []struct {
		name         string
		method, path string
		body         any
		header       []string
		status       int
		code         string
		problem      string // a problem path, or ~ and a part of the message
	}{
		{"malformed pipeline", "POST", "/v1/pipelines", `{"name": `, nil, 400, "ValidationException", "~malformed JSON"},
		{"malformed start", "POST", "/v1/pipelines/rest-ok/executions", `{"variables": {`, nil, 400, "ValidationException", "~malformed JSON"},
		{"malformed approval", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "Approve",}`, nil, 400, "ValidationException", "~line 1, column 21"},
		{"trailing data", "POST", "/v1/pipelines/rest-ok/executions", `{} {}`, nil, 400, "ValidationException", "~unexpected data"},
		{"array body", "POST", "/v1/pipelines/rest-ok/executions", `[]`, nil, 400, "ValidationException", "~invalid request body: must be an object, got an array"},
		{"repeated key", "POST", exec + "/stop", `{"abandon": true, "abandon": false}`, nil, 400, "ValidationException", "abandon"},
		{"null member", "POST", exec + "/stop", `{"reason": null}`, nil, 400, "ValidationException", "~reason: must not be null"},
		{"did you mean", "POST", "/v1/pipelines/rest-ok/executions", `{"Variables": {}}`, nil, 400, "ValidationException", `~Variables: unknown field "Variables" (did you mean "variables"?)`},
		{"unknown field in start", "POST", "/v1/pipelines/rest-ok/executions", `{"variabls": {}}`, nil, 400, "ValidationException", "variabls"},
		{"unknown field in stop", "POST", exec + "/stop", `{"abandon": true, "why": "x"}`, nil, 400, "ValidationException", "why"},
		{"unknown field in pipeline", "POST", "/v1/pipelines", strings.Replace(valid, `"pipelineType"`, `"pipelineTipe": "V2", "pipelineType"`, 1), nil, 400, "InvalidStructureException", "pipelineTipe"},
		{"wrong type in stop", "POST", exec + "/stop", `{"abandon": "yes"}`, nil, 400, "ValidationException", "abandon"},
		{"wrong type in variables", "POST", "/v1/pipelines/rest-ok/executions", `{"variables": {"GREETING": 5}}`, nil, 400, "ValidationException", "variables.GREETING"},
		{"wrong type in tags", "PUT", "/v1/pipelines/rest-ok/tags", `{"tags": [{"key": 5}]}`, nil, 400, "ValidationException", "tags[0].key"},
		{"tag without value", "PUT", "/v1/pipelines/rest-ok/tags", `{"tags": [{"key": "k"}]}`, nil, 400, "ValidationException", "tags[0].value"},
		{"long tag value", "PUT", "/v1/pipelines/rest-ok/tags", `{"tags": [{"key": "k", "value": "` + strings.Repeat("v", 257) + `"}]}`, nil, 400, "ValidationException", "~tags[0].value: must be at most 256 characters long, got 257"},
		{"long client request token", "POST", "/v1/pipelines/rest-ok/executions", `{"clientRequestToken": "` + strings.Repeat("t", 129) + `"}`, nil, 400, "ValidationException", "~clientRequestToken: must be 1..128 characters long, got 129"},
		{"long stop reason", "POST", exec + "/stop", `{"reason": "` + strings.Repeat("r", 201) + `"}`, nil, 400, "ValidationException", "~reason: must be at most 200 characters long, got 201"},
		{"long variable value", "POST", "/v1/pipelines/rest-ok/executions", `{"variables": {"GREETING": "` + strings.Repeat("v", 1001) + `"}}`, nil, 400, "ValidationException", "~variables.GREETING: must be 1..1000 characters long, got 1001"},
		{"bad variable name", "POST", "/v1/pipelines/rest-ok/executions", `{"variables": {"NO WAY": "x"}}`, nil, 400, "ValidationException", `~variables: key "NO WAY" may only contain letters, digits and @ _ -`},
		{"wrong type in pipeline", "POST", "/v1/pipelines", strings.Replace(valid, `"name": "rest-ok"`, `"name": 5`, 1), nil, 400, "InvalidStructureException", "name"},
		{"undeclared variable", "POST", "/v1/pipelines/rest-ok/executions", `{"variables": {"NOPE": "x"}}`, nil, 400, "ValidationException", "variables.NOPE"},
		{"unknown pipeline", "GET", "/v1/pipelines/nope", nil, nil, 404, "PipelineNotFoundException", ""},
		{"start unknown pipeline", "POST", "/v1/pipelines/nope/executions", nil, nil, 404, "PipelineNotFoundException", ""},
		{"state of unknown pipeline", "GET", "/v1/pipelines/nope/state", nil, nil, 404, "PipelineNotFoundException", ""},
		{"tags of unknown pipeline", "GET", "/v1/pipelines/nope/tags", nil, nil, 404, "PipelineNotFoundException", ""},
		{"update unknown pipeline", "PUT", "/v1/pipelines/nope", restCommandsPipeline("nope", "echo"), nil, 404, "PipelineNotFoundException", ""},
		{"unknown execution", "GET", "/v1/pipelines/rest-ok/executions/nope", nil, nil, 404, "PipelineExecutionNotFoundException", ""},
		{"events of unknown execution", "GET", "/v1/pipelines/rest-ok/executions/nope/events", nil, nil, 404, "PipelineExecutionNotFoundException", ""},
		{"execution of another pipeline", "GET", "/v1/pipelines/rest-bad/executions/" + started.PipelineExecutionID, nil, nil, 404, "PipelineExecutionNotFoundException", ""},
		{"logs of unknown run", "GET", exec + "/actions/nope/logs", nil, nil, 404, "ActionExecutionNotFoundException", ""},
		{"duplicate create", "POST", "/v1/pipelines", valid, nil, 409, "PipelineNameInUseException", ""},
		{"invalid structure", "POST", "/v1/pipelines", `{"name": "bad", "stages": [{"name": "Only", "actions": []}]}`, nil, 400, "InvalidStructureException", "stages[0].actions"},
		{"name mismatch", "PUT", "/v1/pipelines/rest-bad", valid, nil, 400, "ValidationException", "name"},
		{"tags in an update", "PUT", "/v1/pipelines/rest-bad", restApprovalPipeline("rest-bad"), nil, 400, "ValidationException", "tags"},
		{"bad approval token", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "Approve", "action": "Gate", "token": "` + restUnknownUUID + `", "status": "Approved"}`, nil, 409, "InvalidApprovalTokenException", ""},
		{"malformed approval token", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "Approve", "action": "Gate", "token": "nope", "status": "Approved"}`, nil, 400, "ValidationException", "token"},
		{"malformed approval execution", "POST", "/v1/pipelines/rest-bad/approvals", `{"executionId": "exec-1", "stage": "Approve", "action": "Gate", "status": "Approved"}`, nil, 400, "ValidationException", "executionId"},
		{"long approval summary", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "Approve", "action": "Gate", "status": "Approved", "summary": "` + strings.Repeat("s", 513) + `"}`, nil, 400, "ValidationException", "~summary: must be at most 512 characters long, got 513"},
		{"no approval waiting", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "Approve", "action": "Gate", "status": "Approved"}`, nil, 409, "InvalidApprovalTokenException", ""},
		{"approval status", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "Approve", "action": "Gate", "status": "Maybe"}`, nil, 400, "ValidationException", `~status: must be one of Approved, Rejected, got "Maybe"`},
		{"approval of no stage", "POST", "/v1/pipelines/rest-bad/approvals", `{"action": "Gate", "status": "Approved"}`, nil, 400, "ValidationException", "~stage: is required"},
		{"approval of an empty stage", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "", "action": "Gate", "status": "Approved"}`, nil, 400, "ValidationException", "~stage: must be 1..100 characters long, got 0"},
		{"approval unknown stage", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "Nope", "action": "Gate", "status": "Approved"}`, nil, 404, "StageNotFoundException", ""},
		{"approval unknown action", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "Approve", "action": "Nope", "status": "Approved"}`, nil, 404, "ActionNotFoundException", ""},
		{"approval of a build", "POST", "/v1/pipelines/rest-bad/approvals", `{"stage": "After", "action": "Say", "token": "` + restUnknownUUID + `", "status": "Approved"}`, nil, 400, "ValidationException", "action"},
		{"approval without body", "POST", "/v1/pipelines/rest-bad/approvals", nil, nil, 400, "ValidationException", "~empty"},
		{"long user", "POST", "/v1/pipelines/rest-ok/executions", nil, []string{RESTUserHeader, strings.Repeat("u", 200)}, 400, "ValidationException", "~" + RESTUserHeader},
		{"oversize start", "POST", "/v1/pipelines/rest-ok/executions", big, nil, 413, "RequestEntityTooLargeException", ""},
		{"oversize pipeline", "POST", "/v1/pipelines", bigPipeline, nil, 413, "RequestEntityTooLargeException", ""},
		{"unknown route", "GET", "/v1/nope", nil, nil, 404, "UnknownOperationException", ""},
		{"unknown subresource", "GET", "/v1/pipelines/rest-ok/nope/deeper", nil, nil, 404, "UnknownOperationException", ""},
		{"outside /v1", "GET", "/v2/pipelines", nil, nil, 404, "UnknownOperationException", ""},
		{"wrong method", "PATCH", "/v1/pipelines/rest-ok", nil, nil, 405, "MethodNotAllowedException", "~GET"},
		{"wrong method on list", "DELETE", "/v1/pipelines", nil, nil, 405, "MethodNotAllowedException", "~POST"},
		{"maxResults zero", "GET", "/v1/pipelines?maxResults=0", nil, nil, 400, "ValidationException", "maxResults"},
		{"maxResults word", "GET", "/v1/pipelines/rest-ok/executions?maxResults=ten", nil, nil, 400, "ValidationException", "maxResults"},
		{"maxResults too big", "GET", "/v1/pipelines/rest-ok/action-executions?maxResults=101", nil, nil, 400, "ValidationException", "maxResults"},
		{"bad nextToken", "GET", "/v1/pipelines?nextToken=garbage", nil, nil, 400, "InvalidNextTokenException", ""},
		{"malformed query", "GET", "/v1/pipelines?nextToken=%%%garbage", nil, nil, 400, "ValidationException", "~malformed query"},
		{"bad action nextToken", "GET", "/v1/pipelines/rest-ok/action-executions?nextToken=x", nil, nil, 400, "InvalidNextTokenException", ""},
		{"bad version", "GET", "/v1/pipelines/rest-ok?version=first", nil, nil, 400, "ValidationException", "version"},
		{"bad status", "GET", "/v1/pipelines/rest-ok/executions?status=Done", nil, nil, 400, "ValidationException", "status"},
		{"bad action status", "GET", "/v1/pipelines/rest-ok/action-executions?status=Stopped", nil, nil, 400, "ValidationException", "status"},
		{"rule executions: maxResults too big", "GET", "/v1/pipelines/rest-ok/rule-executions?maxResults=101", nil, nil, 400, "ValidationException", "maxResults"},
		{"rule executions: bad execution ID", "GET", "/v1/pipelines/rest-ok/rule-executions?executionId=nope", nil, nil, 400, "ValidationException", "executionId"},
		{"rule executions: bad nextToken", "GET", "/v1/pipelines/rest-ok/rule-executions?nextToken=x", nil, nil, 400, "InvalidNextTokenException", ""},
		{"rule executions: no pipeline", "GET", "/v1/pipelines/nope/rule-executions", nil, nil, 404, "PipelineNotFoundException", ""},
		{"rule types: bad owner", "GET", "/v1/rule-types?owner=Someone", nil, nil, 400, "ValidationException", "owner"},
		{"lane with a line break", "GET", "/v1/pipelines/rest-ok/executions?lane=a%0Ab", nil, nil, 400, "ValidationException", "lane"},
		{"long lane", "GET", "/v1/pipelines/rest-ok/executions?lane=" + strings.Repeat("v", 1001), nil, nil, 400, "ValidationException", "lane"},
		{"two lanes", "GET", "/v1/pipelines/rest-ok/executions?lane=a&lane=b", nil, nil, 400, "ValidationException", "lane"},
		{"state of a lane with a line break", "GET", "/v1/pipelines/rest-ok/state?lane=a%0Ab", nil, nil, 400, "ValidationException", "lane"},
		{"state of two lanes", "GET", "/v1/pipelines/rest-ok/state?lane=&lane=b", nil, nil, 400, "ValidationException", "lane"},
		{"state of a lane of no pipeline", "GET", "/v1/pipelines/nope/state?lane=a", nil, nil, 404, "PipelineNotFoundException", ""},
		{"negative log offset", "GET", exec + "/actions/" + run.ID + "/logs?offset=-1", nil, nil, 400, "ValidationException", "offset"},
		{"log offset past the end", "GET", exec + "/actions/" + run.ID + "/logs?offset=99999999", nil, nil, 400, "ValidationException", "offset"},
		{"bad log limit", "GET", exec + "/actions/" + run.ID + "/logs?limit=0", nil, nil, 400, "ValidationException", "limit"},
		{"bad follow", "GET", exec + "/actions/" + run.ID + "/logs?follow=maybe", nil, nil, 400, "ValidationException", "follow"},
		{"untag without keys", "DELETE", "/v1/pipelines/rest-ok/tags", nil, nil, 400, "ValidationException", "key"},
		{"empty tag key", "PUT", "/v1/pipelines/rest-ok/tags", `{"tags": [{"key": "", "value": "x"}]}`, nil, 400, "ValidationException", "~tags[0].key: must be 1..128 characters long, got 0"},
		{"no tags", "PUT", "/v1/pipelines/rest-ok/tags", `{"tags": []}`, nil, 400, "ValidationException", "tags"},
		{"stop an ended execution", "POST", exec + "/stop", `{}`, nil, 409, "PipelineExecutionNotStoppableException", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			restExpectError(t, env, c.method, c.path, c.body, c.status, c.code, c.problem, c.header...)
		})
	}

	// Odd bodies on every route that reads one: a 4xx JSON error or a
	// success, never a 5xx.
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	odd := []string{"null", "0", `"x"`, "true", `{"a":`, deep, "{\"stage\": \"\xff\xfe\"}", `{"variables": null}`,
		`{"tags": null}`, `{"tags": [null]}`, `{"abandon": null}`, `{"pipeline": null}`, `{"pipeline": {}}`, `{"name": "rest-ok", "stages": null}`}
	for _, route := range []struct{ method, path string }{
		{"POST", "/v1/pipelines"}, {"PUT", "/v1/pipelines/rest-ok"}, {"POST", "/v1/pipelines/rest-ok/executions"},
		{"POST", exec + "/stop"}, {"POST", "/v1/pipelines/rest-bad/approvals"}, {"PUT", "/v1/pipelines/rest-ok/tags"},
	} {
		for _, body := range odd {
			status, hdr, data := env.do(route.method, route.path, body)
			if status >= 500 || (status >= 400 && hdr.Get("Content-Type") != "application/json") {
				t.Errorf("%s %s with %.40q: %d %s", route.method, route.path, body, status, data)
			}
		}
	}

	// The 405 answer names the allowed methods.
	if _, hdr, _ := env.do("PATCH", "/v1/pipelines/rest-ok", nil); !strings.Contains(hdr.Get("Allow"), "PUT") {
		t.Errorf("Allow = %q", hdr.Get("Allow"))
	}
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

// TestRESTRules: the rule types, and the rule runs of an execution's stage
// condition, through the REST door.
func TestRESTRules(t *testing.T) {
	env := newRESTEnv(t)
	var types struct {
		RuleTypes []struct {
			ID struct{ Provider string } `json:"id"`
		} `json:"ruleTypes"`
	}
	env.ok("GET", "/v1/rule-types", nil, 200, &types)
	found := false
	for _, rt := range types.RuleTypes {
		found = found || rt.ID.Provider == "VariableCheck"
	}
	if !found {
		t.Fatalf("rule types %+v lack VariableCheck", types.RuleTypes)
	}
	doc := fmt.Sprintf(`{
  "name": "rest-rules", "pipelineType": "V2",
  "variables": [{"name": "GREETING", "defaultValue": "hi"}],
  "stages": [{"name": "Build", "actions": [{"name": "Say", "actionTypeId": %s, "commands": ["echo hi"]}],
    "beforeEntry": {"conditions": [{"rules": [{"name": "Greets", "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"},
      "configuration": {"Operator": "EQ", "Variable": "#{variables.GREETING}", "Value": "hi"}}]}]}}]
}`, restCommands)
	env.ok("POST", "/v1/pipelines", doc, 201, nil)
	var started RESTExecutionID
	env.ok("POST", "/v1/pipelines/rest-rules/executions", nil, 201, &started)
	evs, _ := env.sse("rest-rules", started.PipelineExecutionID)
	if final := env.sseFinal(evs); final.Status != "Succeeded" {
		t.Fatalf("execution %s", final.Status)
	}
	var out service.ListRuleExecutionsOutput
	env.ok("GET", "/v1/pipelines/rest-rules/rule-executions?executionId="+started.PipelineExecutionID, nil, 200, &out)
	if len(out.RuleExecutionDetails) != 1 {
		t.Fatalf("rule executions %+v", out.RuleExecutionDetails)
	}
	d := out.RuleExecutionDetails[0]
	if d.RuleName != "Greets" || d.Status != "Succeeded" || d.StageName != "Build" || d.Input.ResolvedConfiguration["Variable"] != "hi" {
		t.Errorf("rule execution %+v, input %+v", d, d.Input)
	}
}
