package rest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/engine"
)

// logsServer is the apitest server: the whole HTTP surface, as `stageflow
// serve` runs it (pipelines start only when the test starts them).
func logsServer(t *testing.T) *apitest.Server {
	t.Helper()
	return apitest.NewServer(t, apitest.WithoutFirstExecution())
}

func logsGet(t *testing.T, srv *apitest.Server, path string, out any) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, data)
		}
	}
}

// Pages of any size end on character boundaries and add up to the log.
func TestRESTLogPagesKeepCharactersWhole(t *testing.T) {
	srv := logsServer(t)
	doc := `{"name": "logs-utf8", "pipelineType": "V2", "stages": [{"name": "Run", "actions": [{"name": "Print",
	  "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	  "commands": ["printf 'héllo wörld ✓ 𝄞 end\\n'"]}]}]}`
	resp, err := srv.Client().Post(srv.URL+"/v1/pipelines", "application/json", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	resp, err = srv.Client().Post(srv.URL+"/v1/pipelines/logs-utf8/executions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var started rest.RESTExecutionID
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	e, err := srv.System.Runner.Wait(t.Context(), started.PipelineExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != engine.Succeeded {
		t.Fatalf("execution %s: %s", e.Status, e.StatusSummary)
	}
	file, err := os.ReadFile(e.Actions[0].LogLocation)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(file), "𝄞") {
		t.Fatalf("the log lacks the clef:\n%s", file)
	}
	base := fmt.Sprintf("/v1/pipelines/logs-utf8/executions/%s/actions/%s/logs", e.ID, e.Actions[0].ID)
	for limit := 1; limit <= 5; limit++ {
		var whole strings.Builder
		var offset int64
		for pages := 0; ; pages++ {
			if pages > len(file)+1 {
				t.Fatalf("limit %d: too many pages", limit)
			}
			var page rest.RESTLogPage
			logsGet(t, srv, fmt.Sprintf("%s?offset=%d&limit=%d", base, offset, limit), &page)
			if !utf8.ValidString(page.Content) || strings.ContainsRune(page.Content, utf8.RuneError) {
				t.Fatalf("limit %d, offset %d: page %q cuts a character", limit, offset, page.Content)
			}
			if page.Content == "" && !page.Complete {
				t.Fatalf("limit %d, offset %d: an empty page of a finished log", limit, offset)
			}
			whole.WriteString(page.Content)
			offset = page.NextOffset
			if page.Complete {
				break
			}
		}
		if whole.String() != string(file) {
			t.Fatalf("limit %d: pages %q, file %q", limit, whole.String(), file)
		}
	}
}

// Mounted under another mux, the REST door still answers unknown /v1 routes
// and wrong methods with JSON, and streams events.
func TestRESTMountedOnAPITest(t *testing.T) {
	srv := logsServer(t)
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nope", 404, "UnknownOperationException"},
		{"PATCH", "/v1/pipelines", 405, "MethodNotAllowedException"},
		{"GET", "/v1/pipelines/nope", 404, "PipelineNotFoundException"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.status || err != nil || body.Error.Code != c.code {
			t.Errorf("%s %s: %d %q (%v), want %d %s", c.method, c.path, resp.StatusCode, body.Error.Code, err, c.status, c.code)
		}
	}

	doc := `{"name": "logs-events", "pipelineType": "V2", "stages": [{"name": "Run", "actions": [{"name": "Print",
	  "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	  "commands": ["echo hi"]}]}]}`
	resp, err := srv.Client().Post(srv.URL+"/v1/pipelines", "application/json", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = srv.Client().Post(srv.URL+"/v1/pipelines/logs-events/executions", "application/json", strings.NewReader(`{"clientRequestToken": "t"}`))
	if err != nil {
		t.Fatal(err)
	}
	var started rest.RESTExecutionID
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()

	done := make(chan string, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL + "/v1/pipelines/logs-events/executions/" + started.PipelineExecutionID + "/events")
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		done <- string(data)
	}()
	select {
	case stream := <-done:
		blocks := strings.Split(strings.TrimSpace(stream), "\n\n")
		last := blocks[len(blocks)-1]
		_, data, ok := strings.Cut(last, "data: ")
		var e engine.Execution
		if !ok || json.Unmarshal([]byte(data), &e) != nil || e.Status != engine.Succeeded {
			t.Fatalf("the stream does not end with the Succeeded execution:\n%s", stream)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the event stream did not end")
	}
}
