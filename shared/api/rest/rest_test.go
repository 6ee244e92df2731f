package rest

import (
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
