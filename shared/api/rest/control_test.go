package rest

import (
	"encoding/json"
	"strings"
	"testing"
)

// The execution-control routes: bodies and path segments are checked as the
// CodePipeline API constrains them, and a valid request reaches the
// service (which, until the engine is wired, answers
// UnsupportedOperationException in its own words).

func TestRESTControlBadInput(t *testing.T) {
	env := newRESTEnv(t)
	env.ok("POST", "/v1/pipelines", restCommandsPipeline("rest-ctl", "true"), 201, nil)
	const stage = "/v1/pipelines/rest-ctl/stages/Build"
	exec := "/v1/pipelines/rest-ctl/executions/" + restUnknownUUID
	cases := []struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
		problem      string // a problem path, or ~ and a part of the message
	}{
		{"disable without body", "POST", stage + "/disable-transition", nil, 400, "ValidationException", "~empty"},
		{"disable without reason", "POST", stage + "/disable-transition", `{}`, 400, "ValidationException", "reason"},
		{"disable with an empty reason", "POST", stage + "/disable-transition", `{"reason": ""}`, 400, "ValidationException", "reason"},
		{"disable with a comma", "POST", stage + "/disable-transition", `{"reason": "frozen, for now"}`, 400, "ValidationException", "~reason: \"frozen, for now\" may only contain letters, digits, spaces and ! @ ( ) . * ? -"},
		{"disable with a long reason", "POST", stage + "/disable-transition", `{"reason": "` + strings.Repeat("r", 301) + `"}`, 400, "ValidationException", "~reason: must be 1..300 characters long, got 301"},
		{"disable sideways", "POST", stage + "/disable-transition", `{"reason": "r", "transitionType": "Sideways"}`, 400, "ValidationException", "transitionType"},
		{"disable: unknown field", "POST", stage + "/disable-transition", `{"reason": "r", "enabled": false}`, 400, "ValidationException", "enabled"},
		{"enable: wrong type", "POST", stage + "/enable-transition", `{"transitionType": 1}`, 400, "ValidationException", "transitionType"},
		{"enable: malformed stage", "POST", "/v1/pipelines/rest-ctl/stages/No%20Way/enable-transition", nil, 400, "ValidationException", "stage"},
		{"enable: malformed pipeline", "POST", "/v1/pipelines/" + strings.Repeat("p", 101) + "/stages/Build/enable-transition", nil, 400, "ValidationException", "name"},
		{"retry: mode", "POST", exec + "/stages/Build/retry", `{"retryMode": "SOME_ACTIONS"}`, 400, "ValidationException", "~retryMode: must be one of FAILED_ACTIONS, ALL_ACTIONS, got \"SOME_ACTIONS\""},
		{"retry: null mode", "POST", exec + "/stages/Build/retry", `{"retryMode": null}`, 400, "ValidationException", "~retryMode: must not be null"},
		{"retry: malformed execution", "POST", "/v1/pipelines/rest-ctl/executions/latest/stages/Build/retry", nil, 400, "ValidationException", "id"},
		{"retry: malformed execution and stage", "POST", "/v1/pipelines/rest-ctl/executions/latest/stages/B%20d/retry", nil, 400, "ValidationException", "stage"},
		{"rollback without target", "POST", stage + "/rollback", `{}`, 400, "ValidationException", "targetPipelineExecutionId"},
		{"rollback without body", "POST", stage + "/rollback", nil, 400, "ValidationException", "~empty"},
		{"rollback to a malformed target", "POST", stage + "/rollback", `{"targetPipelineExecutionId": "../etc"}`, 400, "ValidationException", "targetPipelineExecutionId"},
		{"override without type", "POST", exec + "/stages/Build/override-condition", `{}`, 400, "ValidationException", "conditionType"},
		{"override ON_FAILURE", "POST", exec + "/stages/Build/override-condition", `{"conditionType": "ON_FAILURE"}`, 400, "ValidationException", "~conditionType: must be one of BEFORE_ENTRY, ON_SUCCESS, got \"ON_FAILURE\""},
		{"GET a control route", "GET", stage + "/rollback", nil, 405, "MethodNotAllowedException", "~POST"},
		{"no such control route", "POST", stage + "/freeze", `{}`, 404, "UnknownOperationException", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			restExpectError(t, env, c.method, c.path, c.body, c.status, c.code, c.problem)
		})
	}
	// Odd bodies: a 4xx JSON error, never a 5xx.
	for _, path := range []string{stage + "/disable-transition", stage + "/enable-transition", stage + "/rollback", exec + "/stages/Build/retry", exec + "/stages/Build/override-condition"} {
		for _, body := range []string{"null", "0", `"x"`, "[]", `{"a":`, "{\"reason\": \"\xff\"}", strings.Repeat("[", 10000)} {
			status, hdr, data := env.do("POST", path, body)
			if status >= 500 || status < 400 || hdr.Get("Content-Type") != "application/json" {
				t.Errorf("POST %s with %.40q: %d %s", path, body, status, data)
			}
		}
	}
}

// TestRESTControlReachesTheService: valid requests get past decoding and
// authorization: they succeed (with the documented status) or fail with an
// error of the operation itself.
func TestRESTControlReachesTheService(t *testing.T) {
	env := newRESTEnv(t)
	env.ok("POST", "/v1/pipelines", restCommandsPipeline("rest-ctl", "true"), 201, nil)
	var started RESTExecutionID
	env.ok("POST", "/v1/pipelines/rest-ctl/executions", nil, 201, &started)
	exec := "/v1/pipelines/rest-ctl/executions/" + started.PipelineExecutionID
	const stage = "/v1/pipelines/rest-ctl/stages/Build"
	for _, c := range []struct {
		path   string
		body   any
		status int // on success
	}{
		{stage + "/disable-transition", `{"reason": "Frozen (release 1.2) - ask @ops!"}`, 204},
		{stage + "/disable-transition", `{"reason": "r", "transitionType": "Inbound"}`, 204},
		{stage + "/enable-transition", nil, 204},
		{stage + "/enable-transition", `{"transitionType": "Inbound"}`, 204},
		{stage + "/rollback", `{"targetPipelineExecutionId": "` + started.PipelineExecutionID + `"}`, 201},
		{exec + "/stages/Build/retry", nil, 202},
		{exec + "/stages/Build/retry", `{"retryMode": "ALL_ACTIONS"}`, 202},
		{exec + "/stages/Build/override-condition", `{"conditionType": "BEFORE_ENTRY"}`, 204},
	} {
		status, hdr, data := env.do("POST", c.path, c.body)
		if status == c.status {
			continue
		}
		var e RESTError
		if status < 400 || status >= 500 || json.Unmarshal(data, &e) != nil || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("POST %s %v: %d %s, want %d or an error of the operation", c.path, c.body, status, data, c.status)
			continue
		}
		switch e.Error.Code {
		case "ValidationException", "AccessDeniedException", "UnknownOperationException", "MethodNotAllowedException", "":
			t.Errorf("POST %s %v: the request did not reach the service: %d %s", c.path, c.body, status, data)
		default:
			t.Logf("POST %s reached the service: %d %s", c.path, status, strings.TrimSpace(string(data)))
		}
	}
}
