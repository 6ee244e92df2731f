package rest

import (
	"encoding/json"
	"strings"
	"testing"
)

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

// TestRESTNoStore: no answer of the door, a success or a refusal, may be
// kept by a browser's or a proxy's cache.
func TestRESTNoStore(t *testing.T) {
	env := newRESTEnv(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/whoami"},
		{"GET", "/v1/pipelines"},
		{"GET", "/v1/pipelines/missing"},
		{"GET", "/v1/pipelines?maxResults=%zz"},
	} {
		_, h, _ := env.do(tc.method, tc.path, nil)
		if got := h.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", tc.method, tc.path, got)
		}
	}
}
