package restclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/api/rest/restclient"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

const commandsType = `{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}`

// commandsPipeline is a one-action pipeline running commands on /bin/sh.
func commandsPipeline(name string, commands ...string) []byte {
	quoted := make([]string, len(commands))
	for i, c := range commands {
		quoted[i] = fmt.Sprintf("%q", c)
	}
	return fmt.Appendf(nil, `{"name": %q, "pipelineType": "V2",
  "variables": [{"name": "GREETING", "defaultValue": "hi"}],
  "stages": [{"name": "Build", "actions": [{"name": "Say", "actionTypeId": %s, "commands": [%s]}]}]}`,
		name, commandsType, strings.Join(quoted, ", "))
}

// approvalPipeline waits for a manual approval, then runs a command.
func approvalPipeline(name string) []byte {
	return fmt.Appendf(nil, `{"pipeline": {"name": %q, "pipelineType": "V2", "stages": [
    {"name": "Approve", "actions": [{"name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
    {"name": "After", "actions": [{"name": "Say", "actionTypeId": %s, "commands": ["echo approved"]}]}
  ]}, "tags": [{"key": "team", "value": "qa"}]}`, name, commandsType)
}

func newClient(t *testing.T) *restclient.Client {
	t.Helper()
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	return restclient.New(srv.URL+"/", srv.Client())
}

// newClientAs is a client signing with a key of user's, of full access.
func newClientAs(t *testing.T, user string) *restclient.Client {
	t.Helper()
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	key := srv.NewKey(user, apitest.Builtin(auth.FullAccess), apitest.Builtin(auth.StageflowFullAccess))
	return restclient.New(srv.URL+"/", srv.ClientOf(key))
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// step is one call of a scenario: call makes it and checks what it
// answers; a call meant to fail names the status and code of its *Error.
type step struct {
	name       string
	call       func(t *testing.T) error
	wantStatus int
	wantCode   string
}

// runSteps runs the steps in order; a step's failure ends the scenario.
func runSteps(t *testing.T, steps []step) {
	t.Helper()
	for _, st := range steps {
		err := st.call(t)
		if st.wantCode == "" {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			continue
		}
		var ae *restclient.Error
		if !errors.As(err, &ae) || ae.StatusCode != st.wantStatus || ae.Code != st.wantCode {
			t.Fatalf("%s: error %v (%T), want HTTP %d %s", st.name, err, err, st.wantStatus, st.wantCode)
		}
	}
}

// waitFor reads the execution's events until cond holds of a state.
func waitFor(t *testing.T, c *restclient.Client, name, id, what string, cond func(*engine.Execution) bool) *engine.Execution {
	t.Helper()
	events, err := c.Events(testContext(t), name, id)
	if err != nil {
		t.Fatalf("events of %s: %v", id, err)
	}
	defer events.Close()
	for {
		e, err := events.Next()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if cond(e) {
			return e
		}
	}
}

func terminal(e *engine.Execution) bool { return e.Status.Terminal() }

func gateWaiting(e *engine.Execution) bool {
	r, ok := e.LatestRun("Approve", "Gate")
	return ok && r.Status == engine.InProgress
}

func TestPipelines(t *testing.T) {
	c := newClient(t)
	ctx := testContext(t)
	version := func(t *testing.T, out *service.GetPipelineOutput, want int) {
		t.Helper()
		if v := out.Pipeline.Version; v == nil || *v != want {
			t.Errorf("pipeline %s: version %v, want %d", out.Pipeline.Name, v, want)
		}
	}
	var token string
	runSteps(t, []step{
		{name: "create", call: func(t *testing.T) error {
			out, err := c.CreatePipeline(ctx, commandsPipeline("one", "echo one"))
			if err == nil {
				version(t, out, 1)
				if out.Metadata == nil || !strings.HasSuffix(out.Metadata.PipelineArn, ":one") {
					t.Errorf("metadata %+v", out.Metadata)
				}
			}
			return err
		}},
		{name: "create another", call: func(t *testing.T) error {
			_, err := c.CreatePipeline(ctx, approvalPipeline("two"))
			return err
		}},
		{name: "create again", wantStatus: 409, wantCode: "PipelineNameInUseException", call: func(t *testing.T) error {
			_, err := c.CreatePipeline(ctx, commandsPipeline("one", "echo one"))
			return err
		}},
		{name: "create a broken document", wantStatus: 400, wantCode: "InvalidStructureException", call: func(t *testing.T) error {
			_, err := c.CreatePipeline(ctx, []byte(`{"name": 5}`))
			var ae *restclient.Error
			if errors.As(err, &ae) && len(ae.Problems) == 0 {
				t.Errorf("no problems in %v", ae)
			}
			return err
		}},
		{name: "update", call: func(t *testing.T) error {
			out, err := c.UpdatePipeline(ctx, "one", commandsPipeline("one", "echo one", "echo two"))
			if err == nil {
				version(t, out, 2)
			}
			return err
		}},
		{name: "update under another name", wantStatus: 400, wantCode: "ValidationException", call: func(t *testing.T) error {
			_, err := c.UpdatePipeline(ctx, "two", commandsPipeline("one", "echo"))
			return err
		}},
		{name: "get the latest", call: func(t *testing.T) error {
			out, err := c.GetPipeline(ctx, "one", 0)
			if err == nil {
				version(t, out, 2)
			}
			return err
		}},
		{name: "get version 1", call: func(t *testing.T) error {
			out, err := c.GetPipeline(ctx, "one", 1)
			if err == nil {
				version(t, out, 1)
				if n := len(out.Pipeline.Stages[0].Actions[0].Commands); n != 1 {
					t.Errorf("version 1 has %d commands", n)
				}
			}
			return err
		}},
		{name: "get an unknown pipeline", wantStatus: 404, wantCode: "PipelineNotFoundException", call: func(t *testing.T) error {
			_, err := c.GetPipeline(ctx, "no/such pipeline", 0)
			return err
		}},
		{name: "list a first page", call: func(t *testing.T) error {
			out, err := c.ListPipelines(ctx, 1, "")
			if err == nil && (len(out.Pipelines) != 1 || out.Pipelines[0].Name != "one" || out.NextToken == "") {
				t.Errorf("first page %+v", out)
			}
			token = out.NextToken
			return err
		}},
		{name: "list the next page", call: func(t *testing.T) error {
			out, err := c.ListPipelines(ctx, 1, token)
			if err == nil && (len(out.Pipelines) != 1 || out.Pipelines[0].Name != "two" || out.NextToken != "") {
				t.Errorf("second page %+v", out)
			}
			return err
		}},
		{name: "state", call: func(t *testing.T) error {
			out, err := c.PipelineState(ctx, "two")
			if err == nil && (out.PipelineName != "two" || len(out.StageStates) != 2) {
				t.Errorf("state %+v", out)
			}
			return err
		}},
		{name: "tags from the document", call: func(t *testing.T) error {
			out, err := c.ListTags(ctx, "two")
			if err == nil && (len(out.Tags) != 1 || out.Tags[0] != pipeline.Tag{Key: "team", Value: "qa"}) {
				t.Errorf("tags %+v", out.Tags)
			}
			return err
		}},
		{name: "tag", call: func(t *testing.T) error {
			out, err := c.TagPipeline(ctx, "two", rest.RESTTags{Tags: []pipeline.Tag{{Key: "env", Value: "test"}}})
			if err == nil && len(out.Tags) != 2 {
				t.Errorf("tags %+v", out.Tags)
			}
			return err
		}},
		{name: "untag", call: func(t *testing.T) error {
			if err := c.UntagPipeline(ctx, "two", "team", "env"); err != nil {
				return err
			}
			out, err := c.ListTags(ctx, "two")
			if err == nil && len(out.Tags) != 0 {
				t.Errorf("tags left %+v", out.Tags)
			}
			return err
		}},
		{name: "delete", call: func(t *testing.T) error { return c.DeletePipeline(ctx, "one") }},
		{name: "delete again", wantStatus: 404, wantCode: "PipelineNotFoundException", call: func(t *testing.T) error {
			return c.DeletePipeline(ctx, "one")
		}},
	})
}

func TestExecutions(t *testing.T) {
	c := newClientAs(t, "alice")
	ctx := testContext(t)
	if _, err := c.CreatePipeline(ctx, commandsPipeline("say", "echo greeting #{variables.GREETING}")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePipeline(ctx, approvalPipeline("gated")); err != nil {
		t.Fatal(err)
	}
	var id, gated, stopped string
	var run *engine.ActionRun
	var whole string // the whole log of the run
	const said = "greeting hello\n"
	runSteps(t, []step{
		{name: "start", call: func(t *testing.T) error {
			var err error
			id, err = c.StartExecution(ctx, "say", rest.RESTStartExecution{Variables: map[string]string{"GREETING": "hello"}, ClientRequestToken: "once"})
			return err
		}},
		{name: "start with the same token", call: func(t *testing.T) error {
			again, err := c.StartExecution(ctx, "say", rest.RESTStartExecution{Variables: map[string]string{"GREETING": "hello"}, ClientRequestToken: "once"})
			if err == nil && again != id {
				t.Errorf("second start %s, want %s", again, id)
			}
			return err
		}},
		{name: "start an unknown pipeline", wantStatus: 404, wantCode: "PipelineNotFoundException", call: func(t *testing.T) error {
			_, err := c.StartExecution(ctx, "nope", rest.RESTStartExecution{})
			return err
		}},
		{name: "events to the end", call: func(t *testing.T) error {
			if e := waitFor(t, c, "say", id, "the end", terminal); e.Status != engine.Succeeded {
				t.Errorf("execution %s: %s", e.Status, e.StatusSummary)
			}
			return nil
		}},
		{name: "get the record", call: func(t *testing.T) error {
			e, err := c.GetExecution(ctx, "say", id)
			if err == nil {
				var ok bool
				if run, ok = e.LatestRun("Build", "Say"); !ok || e.ID != id || run.Status != engine.Succeeded {
					t.Fatalf("execution %+v", e)
				}
			}
			return err
		}},
		{name: "list executions", call: func(t *testing.T) error {
			out, err := c.ListExecutions(ctx, "say", engine.Succeeded, 1, "")
			if err == nil && (len(out.PipelineExecutionSummaries) != 1 || out.PipelineExecutionSummaries[0].PipelineExecutionID != id) {
				t.Errorf("executions %+v", out)
			}
			return err
		}},
		{name: "list executions of a bad status", wantStatus: 400, wantCode: "ValidationException", call: func(t *testing.T) error {
			_, err := c.ListExecutions(ctx, "say", "Sleeping", 0, "")
			return err
		}},
		{name: "log page", call: func(t *testing.T) error {
			page, err := c.LogPage(ctx, "say", id, run.ID, 0, 0)
			if err == nil && (!strings.Contains(page.Content, said) || !page.Complete || page.NextOffset != int64(len(page.Content))) {
				t.Errorf("page %+v", page)
			}
			whole = page.Content
			return err
		}},
		{name: "log page at an offset", call: func(t *testing.T) error {
			at := int64(strings.Index(whole, said))
			page, err := c.LogPage(ctx, "say", id, run.ID, at, 8)
			if err == nil && (page.Content != said[:8] || page.NextOffset != at+8 || page.Complete) {
				t.Errorf("page %+v", page)
			}
			return err
		}},
		{name: "follow the log", call: func(t *testing.T) error {
			rd, err := c.FollowLog(ctx, "say", id, run.ID, 0)
			if err != nil {
				return err
			}
			defer rd.Close()
			data, err := io.ReadAll(rd)
			if err == nil && string(data) != whole {
				t.Errorf("followed log %q", data)
			}
			return err
		}},
		{name: "start the gated pipeline", call: func(t *testing.T) error {
			var err error
			gated, err = c.StartExecution(ctx, "gated", rest.RESTStartExecution{})
			if err == nil {
				waitFor(t, c, "gated", gated, "the approval", gateWaiting)
			}
			return err
		}},
		{name: "approve with a wrong token", wantStatus: 409, wantCode: "InvalidApprovalTokenException", call: func(t *testing.T) error {
			_, err := c.PutApproval(ctx, "gated", rest.RESTApproval{Stage: "Approve", Action: "Gate", Token: "0b4a9c8e-1f1e-4c43-9d55-3f1c2b7a6e01", Status: "Approved"})
			return err
		}},
		{name: "approve with a malformed token", wantStatus: 400, wantCode: "ValidationException", call: func(t *testing.T) error {
			_, err := c.PutApproval(ctx, "gated", rest.RESTApproval{Stage: "Approve", Action: "Gate", Token: "wrong", Status: "Approved"})
			return err
		}},
		{name: "approve", call: func(t *testing.T) error {
			out, err := c.PutApproval(ctx, "gated", rest.RESTApproval{Stage: "Approve", Action: "Gate", Status: "Approved", Summary: "fine"})
			if err == nil && out.ApprovedAt == nil {
				t.Error("no approvedAt")
			}
			if e := waitFor(t, c, "gated", gated, "the end", terminal); e.Status != engine.Succeeded {
				t.Errorf("approved execution: %s", e.Status)
			}
			return err
		}},
		{name: "the approver is the user", call: func(t *testing.T) error {
			f := service.ActionExecutionFilter{PipelineExecutionID: gated, Action: "Gate"}
			out, err := c.ListActionExecutions(ctx, "gated", f, 10, "")
			if err == nil && (len(out.ActionExecutionDetails) != 1 || out.ActionExecutionDetails[0].UpdatedBy != "arn:aws:iam::"+apitest.Account+":user/alice") {
				t.Errorf("gate %+v", out.ActionExecutionDetails)
			}
			return err
		}},
		{name: "stop", call: func(t *testing.T) error {
			var err error
			if stopped, err = c.StartExecution(ctx, "gated", rest.RESTStartExecution{}); err != nil {
				return err
			}
			waitFor(t, c, "gated", stopped, "the approval", gateWaiting)
			if err := c.StopExecution(ctx, "gated", stopped, rest.RESTStopExecution{Abandon: true, Reason: "not today"}); err != nil {
				return err
			}
			if e := waitFor(t, c, "gated", stopped, "the stop", terminal); e.Status != engine.Stopped {
				t.Errorf("stopped execution: %s", e.Status)
			}
			return nil
		}},
		{name: "stop again", wantStatus: 409, wantCode: "PipelineExecutionNotStoppableException", call: func(t *testing.T) error {
			return c.StopExecution(ctx, "gated", stopped, rest.RESTStopExecution{})
		}},
	})
}

// TestErrorText: an *Error reads as the command line prints it.
func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *restclient.Error
		want string
	}{
		{"code and message", &restclient.Error{StatusCode: 404, RESTErrorDetail: rest.RESTErrorDetail{Code: "PipelineNotFoundException", Message: "no such pipeline"}},
			"PipelineNotFoundException: no such pipeline"},
		{"problems", &restclient.Error{StatusCode: 400, RESTErrorDetail: rest.RESTErrorDetail{Code: "InvalidStructureException", Message: "invalid",
			Problems: []errs.Problem{{Path: "name", Message: "is required"}, {Path: "stages", Message: "must not be empty"}}}},
			"InvalidStructureException: invalid\n  name: is required\n  stages: must not be empty"},
		{"problems also in the message", &restclient.Error{StatusCode: 400, RESTErrorDetail: rest.RESTErrorDetail{Code: "InvalidStructureException",
			Message:  "invalid pipeline: name: is required; stages: must not be empty",
			Problems: []errs.Problem{{Path: "name", Message: "is required"}, {Path: "stages", Message: "must not be empty"}}}},
			"InvalidStructureException: invalid pipeline:\n  name: is required\n  stages: must not be empty"},
		{"a problem without a path", &restclient.Error{StatusCode: 400, RESTErrorDetail: rest.RESTErrorDetail{Code: "ValidationException",
			Message:  "invalid pipeline: line 2, column 1: malformed JSON",
			Problems: []errs.Problem{{Message: "line 2, column 1: malformed JSON"}}}},
			"ValidationException: invalid pipeline:\n  line 2, column 1: malformed JSON"},
		{"no REST error body", &restclient.Error{StatusCode: 502, Method: "GET", Path: "/v1/pipelines?maxResults=1", Body: "bad gateway"},
			"GET /v1/pipelines?maxResults=1: HTTP 502: bad gateway"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestTransportErrors: answers that are no REST error and a server that
// cannot be reached.
func TestTransportErrors(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream is down", http.StatusBadGateway)
	}))
	t.Cleanup(plain.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	ctx := testContext(t)
	tests := []struct {
		name     string
		endpoint string
		want     string
	}{
		{"plain-text answer", plain.URL, "GET /v1/pipelines?maxResults=5: HTTP 502: upstream is down"},
		{"no server", gone.URL, "cannot reach the Stageflow server at " + gone.URL},
	}
	for _, tt := range tests {
		_, err := restclient.New(tt.endpoint, nil).ListPipelines(ctx, 5, "")
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
