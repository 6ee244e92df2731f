package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/errs"
)

// TestDoorsRefuseTheSameValues sends the same bad value to the CodePipeline
// door and to the REST door: both answer 400 ValidationException with one
// problem in the same words (shared/strictjson's and shared/apispec's), at
// the member's path in each door's body.
func TestDoorsRefuseTheSameValues(t *testing.T) {
	srv := apitest.NewServer(t)
	const id = "0b4a9c8e-1f1e-4c43-9d55-3f1c2b7a6e01"
	const exec = "/v1/pipelines/doors/executions/" + id
	const arn = "arn:aws:codepipeline:us-east-1:000000000000:doors"
	long := func(n int) string { return strings.Repeat("x", n) }
	approval := func(result string) string {
		return `{"pipelineName": "doors", "stageName": "Approve", "actionName": "Gate", "token": "` + id + `", "result": {` + result + `}}`
	}
	cases := []struct {
		name             string
		cpOp, cpBody     string
		method, restPath string
		restBody         string
		cpAt, restAt     string // the problem's path in each door
		message          string
	}{
		{"long clientRequestToken",
			"StartPipelineExecution", `{"name": "doors", "clientRequestToken": "` + long(129) + `"}`,
			"POST", "/v1/pipelines/doors/executions", `{"clientRequestToken": "` + long(129) + `"}`,
			"clientRequestToken", "clientRequestToken", "must be 1..128 characters long, got 129"},
		{"clientRequestToken pattern",
			"StartPipelineExecution", `{"name": "doors", "clientRequestToken": "tok_1"}`,
			"POST", "/v1/pipelines/doors/executions", `{"clientRequestToken": "tok_1"}`,
			"clientRequestToken", "clientRequestToken", `"tok_1" may only contain letters, digits and -`},
		{"long variable value",
			"StartPipelineExecution", `{"name": "doors", "variables": [{"name": "V", "value": "` + long(1001) + `"}]}`,
			"POST", "/v1/pipelines/doors/executions", `{"variables": {"V": "` + long(1001) + `"}}`,
			"variables[0].value", "variables.V", "must be 1..1000 characters long, got 1001"},
		{"variable value with a line break",
			"StartPipelineExecution", `{"name": "doors", "variables": [{"name": "V", "value": "a\nb"}]}`,
			"POST", "/v1/pipelines/doors/executions", `{"variables": {"V": "a\nb"}}`,
			"variables[0].value", "variables.V", `"a\nb" must not contain line breaks`},
		{"unknown member with a did-you-mean",
			"StartPipelineExecution", `{"name": "doors", "clientRequestTokn": "a"}`,
			"POST", "/v1/pipelines/doors/executions", `{"clientRequestTokn": "a"}`,
			"clientRequestTokn", "clientRequestTokn", `unknown field "clientRequestTokn" (did you mean "clientRequestToken"?)`},
		{"repeated member",
			"StartPipelineExecution", `{"name": "doors", "clientRequestToken": "a", "clientRequestToken": "b"}`,
			"POST", "/v1/pipelines/doors/executions", `{"clientRequestToken": "a", "clientRequestToken": "b"}`,
			"clientRequestToken", "clientRequestToken", `key "clientRequestToken" appears more than once in the object`},
		{"long stop reason",
			"StopPipelineExecution", `{"pipelineName": "doors", "pipelineExecutionId": "` + id + `", "reason": "` + long(201) + `"}`,
			"POST", exec + "/stop", `{"reason": "` + long(201) + `"}`,
			"reason", "reason", "must be at most 200 characters long, got 201"},
		{"long approval summary",
			"PutApprovalResult", approval(`"status": "Approved", "summary": "` + long(513) + `"`),
			"POST", "/v1/pipelines/doors/approvals", `{"stage": "Approve", "action": "Gate", "token": "` + id + `", "status": "Approved", "summary": "` + long(513) + `"}`,
			"result.summary", "summary", "must be at most 512 characters long, got 513"},
		{"approval status",
			"PutApprovalResult", approval(`"status": "Maybe", "summary": ""`),
			"POST", "/v1/pipelines/doors/approvals", `{"stage": "Approve", "action": "Gate", "token": "` + id + `", "status": "Maybe"}`,
			"result.status", "status", `must be one of Approved, Rejected, got "Maybe"`},
		{"malformed approval token",
			"PutApprovalResult", `{"pipelineName": "doors", "stageName": "Approve", "actionName": "Gate", "token": "nope", "result": {"status": "Approved", "summary": ""}}`,
			"POST", "/v1/pipelines/doors/approvals", `{"stage": "Approve", "action": "Gate", "token": "nope", "status": "Approved"}`,
			"token", "token", `"nope" must be an ID of the form 01234567-89ab-cdef-0123-456789abcdef (lower-case hexadecimal)`},
		{"stage name pattern",
			"PutApprovalResult", `{"pipelineName": "doors", "stageName": "no stage", "actionName": "Gate", "token": "` + id + `", "result": {"status": "Approved", "summary": ""}}`,
			"POST", "/v1/pipelines/doors/approvals", `{"stage": "no stage", "action": "Gate", "status": "Approved"}`,
			"stageName", "stage", `"no stage" may only contain letters, digits and . @ _ -`},
		{"long tag key",
			"TagResource", `{"resourceArn": "` + arn + `", "tags": [{"key": "` + long(129) + `", "value": "v"}]}`,
			"PUT", "/v1/pipelines/doors/tags", `{"tags": [{"key": "` + long(129) + `", "value": "v"}]}`,
			"tags[0].key", "tags[0].key", "must be 1..128 characters long, got 129"},
		{"long tag value",
			"TagResource", `{"resourceArn": "` + arn + `", "tags": [{"key": "k", "value": "` + long(257) + `"}]}`,
			"PUT", "/v1/pipelines/doors/tags", `{"tags": [{"key": "k", "value": "` + long(257) + `"}]}`,
			"tags[0].value", "tags[0].value", "must be at most 256 characters long, got 257"},
		{"tag without a value",
			"TagResource", `{"resourceArn": "` + arn + `", "tags": [{"key": "k"}]}`,
			"PUT", "/v1/pipelines/doors/tags", `{"tags": [{"key": "k"}]}`,
			"tags[0].value", "tags[0].value", "is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCP := "1 validation error detected: " + errs.Problem{Path: c.cpAt, Message: c.message}.String()
			if exception, message := doorsCP(t, srv, c.cpOp, c.cpBody); exception != "ValidationException" || message != wantCP {
				t.Errorf("CodePipeline door: %s %q\nwant ValidationException %q", exception, message, wantCP)
			}
			want := []errs.Problem{{Path: c.restAt, Message: c.message}}
			if code, problems := doorsREST(t, srv, c.method, c.restPath, c.restBody); code != "ValidationException" || !slices.Equal(problems, want) {
				t.Errorf("REST door: %s %v\nwant ValidationException %v", code, problems, want)
			}
		})
	}
}

// doorsCP calls an operation of the CodePipeline door that must be refused
// with 400 and returns the exception and message.
func doorsCP(t *testing.T, srv *apitest.Server, op, body string) (exception, message string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", cpdoor.TargetPrefix+op)
	req.Header.Set("Content-Type", cpdoor.ContentType)
	status, data := send(t, srv.Client(), req)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &e); err != nil || status != http.StatusBadRequest {
		t.Fatalf("%s: %d %s", op, status, data)
	}
	return e.Type, e.Message
}

// doorsREST calls a route of the REST door that must be refused with 400
// and returns the error code and problems.
func doorsREST(t *testing.T, srv *apitest.Server, method, path, body string) (string, []errs.Problem) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	status, data := send(t, srv.Client(), req)
	var e rest.RESTError
	if err := json.Unmarshal(data, &e); err != nil || status != http.StatusBadRequest {
		t.Fatalf("%s %s: %d %s", method, path, status, data)
	}
	return e.Error.Code, e.Error.Problems
}
