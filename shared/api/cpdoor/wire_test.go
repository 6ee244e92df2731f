package cpdoor_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apierr"
	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// ---- bad input on the door, with raw net/http ----

type rawResponse struct {
	status             int
	header             http.Header
	body               []byte
	errorType, message string
}

func rawCall(t *testing.T, client *http.Client, url, method, target, contentType string, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := rawResponse{status: resp.StatusCode, header: resp.Header, body: data}
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil {
		r.errorType, r.message = e.Type, e.Message
	}
	return r
}

const target = cpdoor.TargetPrefix

func TestCodePipelineBadInput(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	url := srv.URL + "/"
	call := func(op, body string) rawResponse {
		return rawCall(t, srv.Client(), url, http.MethodPost, target+op, cpdoor.ContentType, []byte(body))
	}
	// Fixtures: a pipeline with an approval.
	const fixture = `{"pipeline": {"name": "bad-input", "stages": [
		{"name": "Build", "actions": [{"name": "Make", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]},
		{"name": "Approve", "actions": [{"name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}}`
	if r := call("CreatePipeline", fixture); r.status != 200 {
		t.Fatalf("CreatePipeline fixture: %d %s", r.status, r.body)
	}
	const unknownUUID = "0b4a9c8e-1f1e-4c43-9d55-3f1c2b7a6e01"
	big := `{"name": "` + strings.Repeat("x", cpdoor.MaxRequestBytes) + `"}`

	cases := []struct {
		name               string
		method, target, ct string
		path               string
		body               string
		wantStatus         int
		wantType           string
		wantInMessage      string
	}{
		{name: "malformed JSON", target: target + "ListPipelines", body: `{"maxResults": `, wantStatus: 400, wantType: "SerializationException", wantInMessage: "malformed JSON"},
		{name: "not an object", target: target + "ListPipelines", body: `[1, 2]`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "must be an object, got an array"},
		{name: "trailing data", target: target + "ListPipelines", body: `{} {}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "line 1, column 4: unexpected data after the JSON document"},
		{name: "unknown operation", target: target + "FlyToTheMoon", body: `{}`, wantStatus: 400, wantType: "UnknownOperationException", wantInMessage: "FlyToTheMoon"},
		{name: "target of another service", target: "Logs_20140328.PutLogEvents", body: `{}`, wantStatus: 400, wantType: "UnknownOperationException", wantInMessage: "Logs_20140328.PutLogEvents"},
		{name: "missing target", target: "", body: `{}`, wantStatus: 400, wantType: "UnknownOperationException", wantInMessage: "X-Amz-Target"},
		{name: "GET /", method: http.MethodGet, target: "", wantStatus: 405, wantType: "UnknownOperationException", wantInMessage: "POST"},
		{name: "another path", path: "/favicon.ico", method: http.MethodGet, wantStatus: 404, wantType: "UnknownOperationException", wantInMessage: "/favicon.ico"},
		{name: "unimplemented operation", target: target + "PutThirdPartyJobSuccessResult", body: `{}`, wantStatus: 400, wantType: "UnsupportedOperationException", wantInMessage: "PutThirdPartyJobSuccessResult"},
		{name: "wrong content type", target: target + "ListPipelines", ct: "text/plain", body: `{}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "Content-Type"},
		{name: "wrong type: string for integer", target: target + "ListPipelines", body: `{"maxResults": "ten"}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: `maxResults: must be an integer, got the string "ten"`},
		{name: "wrong type: fraction for integer", target: target + "ListPipelines", body: `{"maxResults": 1.5}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "maxResults: must be a whole number, got 1.5"},
		{name: "wrong type: nested", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Approve", "actionName": "Gate", "token": "t", "result": {"status": "Approved", "summary": 7}}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "result.summary: must be a string, got the number 7"},
		{name: "wrong type: pipeline", target: target + "CreatePipeline", body: `{"pipeline": "yes"}`, wantStatus: 400, wantType: "SerializationException", wantInMessage: "pipeline"},
		{name: "unknown field", target: target + "GetPipeline", body: `{"name": "bad-input", "nmae": "x"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `nmae: unknown field "nmae" (did you mean "name"?)`},
		{name: "field in the wrong case", target: target + "GetPipeline", body: `{"Name": "bad-input"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `2 validation errors detected: Name: unknown field "Name" (did you mean "name"?); name: is required`},
		{name: "missing required member", target: target + "GetPipeline", body: `{}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "1 validation error detected: name: is required"},
		{name: "null required member", target: target + "GetPipelineState", body: `{"name": null}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "name: is required"},
		{name: "integer below minimum", target: target + "ListPipelines", body: `{"maxResults": 0}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "maxResults: must be 1..1000, got 0"},
		{name: "bad name pattern", target: target + "GetPipeline", body: `{"name": "no spaces allowed"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `name: "no spaces allowed" may only contain letters, digits and . @ _ -`},
		{name: "enum", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Approve", "actionName": "Gate", "token": "` + unknownUUID + `", "result": {"status": "Maybe", "summary": ""}}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `1 validation error detected: result.status: must be one of Approved, Rejected, got "Maybe"`},
		{name: "malformed approval token", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Approve", "actionName": "Gate", "token": "t", "result": {"status": "Approved", "summary": ""}}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `token: "t" must be an ID of the form`},
		{name: "malformed execution ID", target: target + "GetPipelineExecution", body: `{"pipelineName": "bad-input", "pipelineExecutionId": "exec-1"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `pipelineExecutionId: "exec-1" must be an ID of the form`},
		{name: "malformed job ID", target: target + "AcknowledgeJob", body: `{"jobId": "job-1", "nonce": "1"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `jobId: "job-1" must be an ID of the form`},
		{name: "repeated member", target: target + "GetPipeline", body: `{"name": "bad-input", "name": "other"}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: `name: key "name" appears more than once in the object`},
		{name: "null in a list", target: target + "UntagResource", body: `{"resourceArn": "arn:aws:codepipeline:us-east-1:000000000000:bad-input", "tagKeys": [null]}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "tagKeys[0]: must not be null"},
		{name: "tag key too long", target: target + "UntagResource", body: `{"resourceArn": "arn:aws:codepipeline:us-east-1:000000000000:bad-input", "tagKeys": ["` + strings.Repeat("k", 129) + `"]}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "tagKeys[0]: must be 1..128 characters long, got 129"},
		{name: "several problems", target: target + "PutJobFailureResult", body: `{"failureDetails": {"type": "Oops"}}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "3 validation errors detected: failureDetails.type: must be one of JobFailed, "},
		{name: "oversize body", target: target + "GetPipeline", body: big, wantStatus: 413, wantType: "RequestEntityTooLargeException", wantInMessage: "limit"},
		{name: "unknown pipeline", target: target + "GetPipeline", body: `{"name": "nope"}`, wantStatus: 400, wantType: "PipelineNotFoundException", wantInMessage: "nope"},
		{name: "unknown pipeline version", target: target + "GetPipeline", body: `{"name": "bad-input", "version": 9}`, wantStatus: 400, wantType: "PipelineVersionNotFoundException"},
		{name: "create duplicate", target: target + "CreatePipeline", body: fixture, wantStatus: apierr.Describe(errs.Of(errs.Conflict, errs.KindPipeline, ""), apierr.CodePipeline).Status, wantType: "PipelineNameInUseException", wantInMessage: "bad-input"},
		{name: "invalid structure", target: target + "CreatePipeline", body: `{"pipeline": {"name": "broken", "stages": [
			{"name": "Only", "actions": [{"name": "Use", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"], "inputArtifacts": [{"name": "Nowhere"}]}]}]}}`,
			wantStatus: 400, wantType: "InvalidStructureException", wantInMessage: "stages[0]"},
		{name: "invalid structure: unknown member inside", target: target + "UpdatePipeline", body: `{"pipeline": {"name": "bad-input", "stagez": []}}`, wantStatus: 400, wantType: "InvalidStructureException", wantInMessage: "stagez"},
		{name: "update unknown pipeline", target: target + "UpdatePipeline", body: `{"pipeline": {"name": "nope", "stages": [
			{"name": "A", "actions": [{"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]},
			{"name": "B", "actions": [{"name": "B", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}]}}`,
			wantStatus: 400, wantType: "PipelineNotFoundException"},
		{name: "bad approval token", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Approve", "actionName": "Gate", "token": "` + unknownUUID + `", "result": {"status": "Approved", "summary": "ok"}}`, wantStatus: 400, wantType: "InvalidApprovalTokenException"},
		{name: "approval of unknown stage", target: target + "PutApprovalResult", body: `{"pipelineName": "bad-input", "stageName": "Nope", "actionName": "Gate", "token": "` + unknownUUID + `", "result": {"status": "Approved", "summary": "ok"}}`, wantStatus: 400, wantType: "StageNotFoundException"},
		{name: "unknown job: acknowledge", target: target + "AcknowledgeJob", body: `{"jobId": "` + unknownUUID + `", "nonce": "1"}`, wantStatus: 400, wantType: "JobNotFoundException"},
		{name: "unknown job: details", target: target + "GetJobDetails", body: `{"jobId": "` + unknownUUID + `"}`, wantStatus: 400, wantType: "JobNotFoundException"},
		{name: "unknown job: success", target: target + "PutJobSuccessResult", body: `{"jobId": "` + unknownUUID + `"}`, wantStatus: 400, wantType: "JobNotFoundException"},
		{name: "unknown execution", target: target + "GetPipelineExecution", body: `{"pipelineName": "bad-input", "pipelineExecutionId": "` + unknownUUID + `"}`, wantStatus: 400, wantType: "PipelineExecutionNotFoundException"},
		{name: "unknown action type", target: target + "PollForJobs", body: `{"actionTypeId": {"category": "Build", "owner": "Custom", "provider": "Nobody", "version": "1"}}`, wantStatus: 400, wantType: "ActionTypeNotFoundException"},
		{name: "bad next token", target: target + "ListPipelines", body: `{"nextToken": "garbage"}`, wantStatus: 400, wantType: "InvalidNextTokenException"},
		{name: "undeclared variable", target: target + "StartPipelineExecution", body: `{"name": "bad-input", "variables": [{"name": "NOPE", "value": "1"}]}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "NOPE"},
		{name: "unsupported filter", target: target + "ListPipelineExecutions", body: `{"pipelineName": "bad-input", "filter": {"succeededInStage": {"stageName": "Build"}}}`, wantStatus: 400, wantType: "ValidationException", wantInMessage: "succeededInStage"},
		{name: "unknown tag resource", target: target + "TagResource", body: `{"resourceArn": "arn:aws:codepipeline:us-east-1:000000000000:nope", "tags": []}`, wantStatus: 400, wantType: "ResourceNotFoundException"},
		{name: "empty body is {}", target: target + "ListPipelines", body: ``, wantStatus: 200},
		{name: "application/json", target: target + "ListPipelines", ct: "application/json", body: `{}`, wantStatus: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			ct := tc.ct
			if ct == "" && method == http.MethodPost {
				ct = cpdoor.ContentType
			}
			u := url
			if tc.path != "" {
				u = srv.URL + tc.path
			}
			r := rawCall(t, srv.Client(), u, method, tc.target, ct, []byte(tc.body))
			if r.status >= 500 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if r.status != tc.wantStatus || r.errorType != tc.wantType {
				t.Fatalf("got %d %q (%s), want %d %q", r.status, r.errorType, truncate(string(r.body), 300), tc.wantStatus, tc.wantType)
			}
			if got := r.header.Get("X-Amzn-Requestid"); got == "" {
				t.Errorf("no x-amzn-RequestId header")
			}
			if ct := r.header.Get("Content-Type"); ct != cpdoor.ContentType {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.wantType != "" {
				if got := r.header.Get("X-Amzn-Errortype"); got != tc.wantType {
					t.Errorf("x-amzn-ErrorType %q, want %q", got, tc.wantType)
				}
				if !strings.Contains(r.message, tc.wantInMessage) {
					t.Errorf("message %q does not contain %q", r.message, tc.wantInMessage)
				}
			}
		})
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// TestCodePipelineRequestLog: one structured line per request, with the
// operation, status and duration, and neither the body nor credentials.
func TestCodePipelineRequestLog(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, nil))
	srv := apitest.NewServer(t, apitest.WithLogger(logger))
	door := srv.HTTP

	req, _ := http.NewRequest(http.MethodPost, door.URL+"/", strings.NewReader(`{"name": "secret-body-value"}`))
	req.Header.Set("X-Amz-Target", target+"GetPipeline")
	req.Header.Set("Content-Type", cpdoor.ContentType)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	door.Close() // the log line is written before the response completes; Close waits for the handler

	mu.Lock()
	out := buf.String()
	mu.Unlock()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %d:\n%s", len(lines), out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if rec["operation"] != "GetPipeline" || rec["status"] != float64(400) || rec["exception"] != "PipelineNotFoundException" || rec["duration"] == nil || rec["requestId"] == nil {
		t.Errorf("log record = %v", rec)
	}
	for _, secret := range []string{"secret-body-value", srv.Admin.SecretAccessKey, "Signature=", "AWS4-HMAC-SHA256"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %q:\n%s", secret, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestCallerAccessKeyID(t *testing.T) {
	for _, tc := range []struct{ auth, want string }{
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/codepipeline/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "AKIDEXAMPLE"},
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/codepipeline/aws4_request,SignedHeaders=host,Signature=abc", "AKIDEXAMPLE"},
		{"", service.Anonymous},
		{"Basic dXNlcjpwYXNz", service.Anonymous},
		{"AWS4-HMAC-SHA256 Credential=../../etc/20150830/x", service.Anonymous},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := cpdoor.CallerAccessKeyID(r); got != tc.want {
			t.Errorf("CallerAccessKeyID(%q) = %q, want %q", tc.auth, got, tc.want)
		}
	}
}

// TestCodePipelineOperationsMatchAPIDefinition checks the door against
// botocore's copy of the API definition, when botocore is installed: every
// operation is implemented or answers UnsupportedOperationException, and
// the door names no operation the definition lacks.
func TestCodePipelineOperationsMatchAPIDefinition(t *testing.T) {
	path := botocoreDefinition(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		Metadata   struct{ TargetPrefix string }
		Operations map[string]json.RawMessage
	}
	if err := json.NewDecoder(zr).Decode(&def); err != nil {
		t.Fatal(err)
	}
	if def.Metadata.TargetPrefix+"." != cpdoor.TargetPrefix {
		t.Errorf("target prefix %q, the definition's is %q", cpdoor.TargetPrefix, def.Metadata.TargetPrefix)
	}
	known := map[string]bool{}
	for _, n := range append(cpdoor.Operations(), cpdoor.UnsupportedOperations()...) {
		if _, ok := def.Operations[n]; !ok {
			t.Errorf("the door names %s, which the API definition does not have", n)
		}
		if known[n] {
			t.Errorf("%s is both implemented and unsupported", n)
		}
		known[n] = true
	}
	for n := range def.Operations {
		if !known[n] {
			t.Errorf("the API definition's %s is neither implemented nor listed as unsupported", n)
		}
	}
}

func botocoreDefinition(t *testing.T) string {
	t.Helper()
	const rel = "data/codepipeline/2015-07-09/service-2.json.gz"
	if py, err := exec.LookPath("python3"); err == nil {
		out, err := exec.Command(py, "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
		if err == nil {
			p := filepath.Join(strings.TrimSpace(string(out)), rel)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Skip("botocore is not installed (python3 -c 'import botocore' fails); cannot read the API definition")
	return ""
}

// ---- the AWS CLI ----

// TestAWSCLIRoundTrip runs scripts/cli-roundtrip.sh, which drives the AWS
// CLI against a test server.
func TestAWSCLIRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI round trip takes half a minute (each aws call starts Python)")
	}
	for _, tool := range []string{"aws", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH; the AWS CLI round trip needs the AWS CLI and jq", tool)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.NewServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, filepath.Join(root, "scripts", "cli-roundtrip.sh"))
	cmd.Dir = root
	noFiles := t.TempDir() // the machine's ~/.aws files must not matter
	cmd.Env = append(os.Environ(),
		"STAGEFLOW_ENDPOINT="+srv.URL,
		"AWS_CONFIG_FILE="+filepath.Join(noFiles, "config"),
		"STAGEFLOW_CREDENTIALS="+filepath.Join(srv.DataDir, "credentials"),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("cli-roundtrip.sh:\n%s", out)
	if err != nil {
		t.Fatalf("cli-roundtrip.sh failed: %v", err)
	}
}
