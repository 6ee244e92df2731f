package rest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/store"
)

// A log followed as events is the caller's only when its policy lets it
// read the logs of that pipeline: another pipeline's is 403.
func TestRESTLogEventsAccess(t *testing.T) {
	srv := logsServer(t)
	arn := "arn:aws:codepipeline:" + apitest.Region + ":" + apitest.Account + ":"
	logsOf := map[string]string{}
	for _, name := range []string{"mine", "theirs"} {
		doc := fmt.Sprintf(`{"name": %q, "pipelineType": "V2", "stages": [{"name": "Run", "actions": [{"name": "Print",
		  "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["echo hi"]}]}]}`, name)
		resp, err := srv.Client().Post(srv.URL+"/v1/pipelines", "application/json", strings.NewReader(doc))
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("creating %s: %v %v", name, resp, err)
		}
		resp.Body.Close()
		resp, err = srv.Client().Post(srv.URL+"/v1/pipelines/"+name+"/executions", "application/json", strings.NewReader("{}"))
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("starting %s: %v %v", name, resp, err)
		}
		var started struct {
			ID string `json:"pipelineExecutionId"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&started)
		resp.Body.Close()
		var e *engine.Execution
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if e, err = srv.System.Store.GetExecution(t.Context(), started.ID); err != nil {
				t.Fatal(err)
			}
			if e.Status.Terminal() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not end", name)
			}
		}
		logsOf[name] = "/v1/pipelines/" + name + "/executions/" + e.ID + "/actions/" + e.Actions[0].ID + "/logs"
	}
	policy := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["codepipeline:Get*", "codepipeline:List*", "stageflow:GetActionLogs"],
	  "Resource": ["` + arn + `mine", "` + arn + `mine/*"]}]}`
	client := srv.ClientOf(srv.NewKey("reader", store.AttachedPolicy{Name: "MineOnly", Document: policy}))
	for _, c := range []struct {
		name   string
		status int
		want   string
	}{
		{"mine", 200, "event: end"},
		{"theirs", 403, "AccessDeniedException"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+logsOf[c.name], nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		_, _ = io.Copy(&body, bufio.NewReader(resp.Body))
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(body.String(), c.want) {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, body.String())
		}
		if c.status == 200 && !strings.Contains(body.String(), `\nhi\n`) {
			t.Errorf("%s: the log is missing: %s", c.name, body.String())
		}
	}
}
