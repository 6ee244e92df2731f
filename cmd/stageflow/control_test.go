package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// IDs of the executions of the fake server's pipeline p, oldest first:
// e1 and e2 succeeded, e3 succeeded and is Deploy's latest, e4 (the
// latest) failed in Deploy.
const (
	e1 = "00000000-0000-4000-8000-000000000001"
	e2 = "00000000-0000-4000-8000-000000000002"
	e3 = "00000000-0000-4000-8000-000000000003"
	e4 = "00000000-0000-4000-8000-000000000004"
)

// fakeControlServer answers the reads the control commands make about a
// pipeline p with stages Build and Deploy, and records the changes they ask
// for ("METHOD PATH BODY").
type fakeControlServer struct {
	mu      sync.Mutex
	changes []string
}

func (f *fakeControlServer) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.changes
	f.changes = nil
	return c
}

func (f *fakeControlServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	decl := pipeline.Pipeline{Name: "p", Stages: []pipeline.Stage{{Name: "Build"}, {Name: "Deploy"}}}
	statuses := map[string][2]engine.Status{e1: {engine.Succeeded, engine.Succeeded}, e2: {engine.Succeeded, engine.Succeeded},
		e3: {engine.Succeeded, engine.Succeeded}, e4: {engine.Succeeded, engine.Failed}}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.changes = append(f.changes, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(string(body)))
		f.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/retry"):
			reply(http.StatusAccepted, rest.RESTExecutionID{PipelineExecutionID: strings.Split(r.URL.Path, "/")[5]})
		case strings.HasSuffix(r.URL.Path, "/rollback"):
			reply(http.StatusCreated, rest.RESTExecutionID{PipelineExecutionID: "00000000-0000-4000-8000-000000000005"})
		default:
			w.WriteHeader(http.StatusNoContent)
		}
		return
	}
	switch p := r.URL.Path; {
	case p == "/v1/pipelines/p":
		reply(200, service.GetPipelineOutput{Pipeline: decl})
	case p == "/v1/pipelines/p/state":
		reply(200, service.GetPipelineStateOutput{PipelineName: "p", StageStates: []service.StageState{
			{StageName: "Build", LatestExecution: &service.StageExecution{PipelineExecutionID: e4, Status: "Succeeded"}},
			{StageName: "Deploy", LatestExecution: &service.StageExecution{PipelineExecutionID: e3, Status: "Succeeded"}},
		}})
	case p == "/v1/pipelines/p/executions":
		ids := []string{e4, e3, e2, e1}
		if r.URL.Query().Get("status") == "Succeeded" {
			ids = ids[1:]
		}
		if r.URL.Query().Get("maxResults") == "1" {
			ids = ids[:1]
		}
		var out service.ListPipelineExecutionsOutput
		for _, id := range ids {
			out.PipelineExecutionSummaries = append(out.PipelineExecutionSummaries, service.PipelineExecutionSummary{PipelineExecutionID: id})
		}
		reply(200, out)
	case strings.HasPrefix(p, "/v1/pipelines/p/executions/"):
		id := strings.TrimPrefix(p, "/v1/pipelines/p/executions/")
		st, ok := statuses[id]
		if !ok {
			reply(404, rest.RESTError{Error: rest.RESTErrorDetail{Code: "PipelineExecutionNotFoundException", Message: "no such execution"}})
			return
		}
		status := engine.Succeeded
		if st[1] == engine.Failed {
			status = engine.Failed
		}
		reply(200, engine.Execution{ID: id, PipelineName: "p", Pipeline: decl, Status: status,
			Stages: []engine.StageState{{Name: "Build", Status: st[0]}, {Name: "Deploy", Status: st[1]}}})
	default:
		reply(404, rest.RESTError{Error: rest.RESTErrorDetail{Code: "UnknownOperationException", Message: "no route"}})
	}
}

// TestControlCommands: what each control command sends, with its defaults
// looked up through the REST API, and its usage errors.
func TestControlCommands(t *testing.T) {
	useServerCredentials(t, t.TempDir()) // no key: unsigned requests
	fake := &fakeControlServer{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	const x = "/v1/pipelines/p/executions/"
	cases := []struct {
		args    []string
		code    int
		out     string   // a fragment of the output
		changes []string // the requests that change something, in order
	}{
		{[]string{"retry", "p"}, 0, "retrying stage Deploy of execution " + e4 + " (its failed actions)",
			[]string{"POST " + x + e4 + `/stages/Deploy/retry {"retryMode":"FAILED_ACTIONS"}`}},
		{[]string{"retry", "p", e1, "--stage", "Build", "--all"}, 0, "retrying stage Build of execution " + e1 + " (all its actions)",
			[]string{"POST " + x + e1 + `/stages/Build/retry {"retryMode":"ALL_ACTIONS"}`}},
		{[]string{"retry", "p", "-o", "json"}, 0, `"pipelineExecutionId": "` + e4 + `"`, []string{"POST " + x + e4 + `/stages/Deploy/retry {"retryMode":"FAILED_ACTIONS"}`}},
		{[]string{"retry", "p", e2}, 1, "execution " + e2 + " (succeeded) has no failed or stopped stage to retry; name one with --stage", nil},
		{[]string{"retry", "p", "--stage", "Deplo"}, 1, `pipeline p has no stage "Deplo" (did you mean "Deploy"?)`, nil},
		{[]string{"retry", "p", "00000000-0000-4000-8000-000000000009"}, 1, "PipelineExecutionNotFoundException", nil},
		{[]string{"retry", "p", e1, e2}, 2, "accepts between 1 and 2 arg(s)", nil},
		{[]string{"retry", "p", "--mode", "ALL"}, 2, "unknown flag: --mode", nil},
		{[]string{"rollback", "p", "--stage", "Deploy"}, 0, "rolling stage Deploy back to execution " + e2 + ": execution 00000000-0000-4000-8000-000000000005",
			[]string{`POST /v1/pipelines/p/stages/Deploy/rollback {"targetPipelineExecutionId":"` + e2 + `"}`}},
		{[]string{"rollback", "p", "--stage", "Build"}, 0, "back to execution " + e3,
			[]string{`POST /v1/pipelines/p/stages/Build/rollback {"targetPipelineExecutionId":"` + e3 + `"}`}},
		{[]string{"rollback", "p", "--stage", "Deploy", "--to", e1, "-o", "json"}, 0, `"pipelineExecutionId": "00000000-0000-4000-8000-000000000005"`,
			[]string{`POST /v1/pipelines/p/stages/Deploy/rollback {"targetPipelineExecutionId":"` + e1 + `"}`}},
		{[]string{"rollback", "p"}, 2, `required flag(s) "stage" not set`, nil},
		{[]string{"rollback", "p", "--stage", "Biuld"}, 1, `(did you mean "Build"?)`, nil},
		{[]string{"transition", "disable", "p", "Build", "--reason", "Frozen for the release"}, 0, "disabled the transition into stage Build of pipeline p",
			[]string{`POST /v1/pipelines/p/stages/Build/disable-transition {"reason":"Frozen for the release"}`}},
		{[]string{"transition", "disable", "p", "Build"}, 2, `required flag(s) "reason" not set`, nil},
		{[]string{"transition", "disable", "p", "Nope", "--reason", "r"}, 1, `pipeline p has no stage "Nope"`, nil},
		{[]string{"transition", "enable", "p", "Deploy"}, 0, "enabled the transition into stage Deploy of pipeline p",
			[]string{`POST /v1/pipelines/p/stages/Deploy/enable-transition {}`}},
		{[]string{"transition", "enable", "p"}, 2, "accepts 2 arg(s), received 1", nil},
		{[]string{"transition"}, 2, "stageflow transition needs a subcommand", nil},
		{[]string{"transition", "freeze", "p", "Build"}, 2, `unknown command "freeze" for "stageflow transition"`, nil},
		{[]string{"override-condition", "p", "Deploy", "--type", "ON_SUCCESS"}, 0, "overrode the ON_SUCCESS condition of stage Deploy for execution " + e3,
			[]string{"POST " + x + e3 + `/stages/Deploy/override-condition {"conditionType":"ON_SUCCESS"}`}},
		{[]string{"override-condition", "p", "Build", e1, "--type", "BEFORE_ENTRY"}, 0, "for execution " + e1,
			[]string{"POST " + x + e1 + `/stages/Build/override-condition {"conditionType":"BEFORE_ENTRY"}`}},
		{[]string{"override-condition", "p", "Deploy", "--type", "ON_FAILURE"}, 2, `--type must be one of BEFORE_ENTRY, ON_SUCCESS, got "ON_FAILURE"`, nil},
		{[]string{"override-condition", "p", "Deploy"}, 2, `required flag(s) "type" not set`, nil},
		{[]string{"override-condition", "p", "--type", "ON_SUCCESS"}, 2, "accepts between 2 and 3 arg(s)", nil},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			code := run(append(tc.args, "--endpoint", srv.URL), strings.NewReader(""), &out, &out)
			if code != tc.code || !strings.Contains(out.String(), tc.out) {
				t.Errorf("exit %d, want %d; output:\n%s\nwant it to contain %q", code, tc.code, out.String(), tc.out)
			}
			if got := fake.take(); strings.Join(got, "\n") != strings.Join(tc.changes, "\n") {
				t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.changes, "\n  "))
			}
		})
	}
}

// TestControlCommandsReachTheServer runs each control command against a
// real server: the request is valid and allowed, so it succeeds or fails
// with an error of the operation itself (until the engine is wired, the
// service's UnsupportedOperationException).
func TestControlCommandsReachTheServer(t *testing.T) {
	s := startServer(t, t.TempDir())
	cli := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code := run(append(args, "--endpoint", s.endpoint), strings.NewReader(""), &out, &out)
		return code, out.String()
	}
	file := filepath.Join(t.TempDir(), "two.json")
	commands := `"actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}`
	os.WriteFile(file, []byte(`{"name": "ctl", "stages": [{"name": "Build", "actions": [{"name": "Make", `+commands+`, "commands": ["true"]}]},
		{"name": "Deploy", "actions": [{"name": "Ship", `+commands+`, "commands": ["false"]}]}]}`), 0o644)
	if code, out := cli("pipeline", "create", file); code != 0 {
		t.Fatalf("create: %d %s", code, out)
	}
	id := s.onlyExecution(t, "ctl", "CreatePipeline")
	s.waitExecution(t, "ctl", id, "the execution to fail", func(e *engine.Execution) bool { return e.Status.Terminal() })
	exception := regexp.MustCompile(`stageflow: (\w+Exception)`)
	for _, args := range [][]string{
		{"transition", "disable", "ctl", "Deploy", "--reason", "Frozen (cli test)"},
		{"transition", "enable", "ctl", "Deploy"},
		{"retry", "ctl"},
		{"retry", "ctl", id, "--stage", "Deploy", "--all"},
		{"rollback", "ctl", "--stage", "Build", "--to", id},
		{"override-condition", "ctl", "Deploy", "--type", "BEFORE_ENTRY"},
	} {
		code, out := cli(args...)
		if code == 0 {
			continue
		}
		m := exception.FindStringSubmatch(out)
		switch {
		case code != 1 || m == nil:
			t.Errorf("stageflow %s: exit %d, want 0 or 1 with an error of the server:\n%s", strings.Join(args, " "), code, out)
		case m[1] == "ValidationException" || m[1] == "AccessDeniedException" || m[1] == "UnknownOperationException" || m[1] == "MethodNotAllowedException":
			t.Errorf("stageflow %s: the request did not reach the service:\n%s", strings.Join(args, " "), out)
		default:
			t.Logf("stageflow %s reached the service: %s", strings.Join(args, " "), strings.TrimSpace(out))
		}
	}
	// The server checks what the command passes on as it is.
	if code, out := cli("transition", "disable", "ctl", "Deploy", "--reason", "frozen; for now"); code != 1 || !strings.Contains(out, "ValidationException") || !strings.Contains(out, "reason: ") {
		t.Errorf("transition disable with a semicolon in the reason: %d\n%s", code, out)
	}
}
