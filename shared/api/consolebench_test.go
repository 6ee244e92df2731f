package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
)

// The console's API requests on a big store against the same requests on a
// small one (issue 16: within 2×, under 50 ms each).

const (
	consoleBenchExecutions = 10000 // in the big store, across the pipelines
	maxConsoleRatio        = 2.0   // big store / small store, per request
	maxConsoleRequest      = 50 * time.Millisecond
)

// consoleBenchPipelines are the pipelines of both stores: three stages of
// several actions. "grown" gets a stage after its history was written (a
// stage no execution reached), the case where the pipeline's state looks
// furthest back for each stage's latest execution.
var consoleBenchPipelines = []string{"api", "web", "worker", "grown"}

func consoleBenchDoc(name string, extraStage bool) string {
	cmd := func(n string, ro int) string {
		return fmt.Sprintf(`{"name":%q,"runOrder":%d,"actionTypeId":{"category":"Compute","owner":"AWS","provider":"Commands","version":"1"},"commands":["echo %s"]}`, n, ro, n)
	}
	stages := []string{
		`{"name":"Build","actions":[` + cmd("Compile", 1) + `,` + cmd("Lint", 1) + `,` + cmd("Package", 2) + `]}`,
		`{"name":"Test","actions":[` + cmd("Unit", 1) + `,` + cmd("Integration", 1) + `]}`,
		`{"name":"Deploy","actions":[` + cmd("Ship", 1) + `,` + cmd("Smoke", 2) + `]}`,
	}
	if extraStage {
		stages = append(stages, `{"name":"Verify","actions":[`+cmd("Check", 1)+`]}`)
	}
	return `{"name":"` + name + `","pipelineType":"V2","stages":[` + strings.Join(stages, ",") + `]}`
}

// consoleStore is a server whose pipelines each have `per` executions.
type consoleStore struct {
	srv    *apitest.Server
	client *http.Client
	latest map[string]string // a pipeline's newest execution
}

func newConsoleStore(b *testing.B, per int) *consoleStore {
	b.Helper()
	srv := apitest.NewServer(b, apitest.WithoutFirstExecution())
	cs := &consoleStore{srv: srv, client: srv.Client(), latest: map[string]string{}}
	ctx := context.Background()
	began := time.Now()
	for pi, name := range consoleBenchPipelines {
		cs.send(b, http.MethodPost, "/v1/pipelines", consoleBenchDoc(name, false), http.StatusCreated)
		var started struct {
			ID string `json:"pipelineExecutionId"`
		}
		cs.decode(b, cs.send(b, http.MethodPost, "/v1/pipelines/"+name+"/executions", "{}", http.StatusCreated), &started)
		// The one real execution, run by the runner: the template of the rest.
		var tmpl *engine.Execution
		for deadline := time.Now().Add(30 * time.Second); ; {
			e, err := srv.System.Store.GetExecution(ctx, started.ID)
			if err != nil {
				b.Fatal(err)
			}
			if e.Status.Terminal() {
				if e.Status != engine.Succeeded {
					b.Fatalf("the template execution of %s: %s %s", name, e.Status, e.StatusSummary)
				}
				tmpl = e
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the template execution of %s did not end", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cs.latest[name] = tmpl.ID
		// The others: copies of it, a minute apart, before it; one in five
		// fails its Test stage (so Deploy is not reached).
		raw, err := json.Marshal(tmpl)
		if err != nil {
			b.Fatal(err)
		}
		for i := 1; i < per; i++ {
			var e engine.Execution
			if err := json.Unmarshal(raw, &e); err != nil {
				b.Fatal(err)
			}
			shift := -time.Duration(i) * time.Minute
			e.ID = fmt.Sprintf("%08x-%04x-4000-8000-%012x", i, pi, i*7919)
			e.ClientRequestToken = ""
			e.Version = 0
			e.StartTime, e.LastUpdateTime = e.StartTime.Add(shift), e.LastUpdateTime.Add(shift)
			if !e.EndTime.IsZero() {
				e.EndTime = e.EndTime.Add(shift)
			}
			for j := range e.Stages {
				st := &e.Stages[j]
				if !st.StartTime.IsZero() {
					st.StartTime, st.EndTime = st.StartTime.Add(shift), st.EndTime.Add(shift)
				}
			}
			runs := e.Actions[:0]
			for _, r := range e.Actions {
				r.ID = fmt.Sprintf("%s-%d-%d", e.ID[:13], r.StageIndex, r.ActionIndex)
				r.Token = ""
				r.StartTime, r.LastUpdateTime = r.StartTime.Add(shift), r.LastUpdateTime.Add(shift)
				if !r.EndTime.IsZero() {
					r.EndTime = r.EndTime.Add(shift)
				}
				if i%5 == 0 && r.Stage == "Deploy" {
					continue
				}
				if i%5 == 0 && r.Stage == "Test" && r.Action == "Unit" {
					r.Status, r.ErrorCode, r.ErrorMessage = engine.Failed, "JobFailed", "exit status 1"
				}
				runs = append(runs, r)
			}
			e.Actions = runs
			if i%5 == 0 {
				e.Status, e.StatusSummary = engine.Failed, "Stage Test failed"
				for j := range e.Stages {
					switch e.Stages[j].Name {
					case "Test":
						e.Stages[j].Status = engine.Failed
					case "Deploy":
						e.Stages[j] = engine.StageState{Name: "Deploy"}
					}
				}
			}
			if _, _, err := srv.System.Store.CreateExecution(ctx, &e); err != nil {
				b.Fatalf("storing execution %d of %s: %v", i, name, err)
			}
		}
	}
	// The grown pipeline's new stage, which no execution reached.
	cs.send(b, http.MethodPut, "/v1/pipelines/grown", consoleBenchDoc("grown", true), http.StatusOK)
	b.Logf("a store of %d executions in %s", per*len(consoleBenchPipelines), time.Since(began).Round(time.Millisecond))
	return cs
}

func (cs *consoleStore) send(b *testing.B, method, path, body string, want int) []byte {
	b.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, cs.srv.URL+path, rd)
	if err != nil {
		b.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cs.client.Do(req)
	if err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return data
}

func (cs *consoleStore) decode(b *testing.B, data []byte, v any) {
	b.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		b.Fatalf("decoding %s: %v", data, err)
	}
}

// consoleRequest is one request a console view makes; path may name
// {name} (each pipeline in turn) and {latest} (its newest execution).
// A request whose answer itself grows with the history up to a page
// (paged) is held to the time bound only: on the small store its page
// holds the few rows there are.
type consoleRequest struct {
	name, path string
	paged      bool
}

// consoleRequests are the requests of the console's views (see
// consoleui/static): the list (list.js: the pipelines, then each row's
// state and recent executions for its stages and health), the pipeline
// view (pipeline.js: the pipeline, its recent executions, the latest one,
// the caller's permissions, the transitions' state; and the action
// executions a history shows), the approvals page (approvals.js: the
// executions in progress of each pipeline) and whoami (app.js).
var consoleRequests = []consoleRequest{
	{"list/pipelines", "/v1/pipelines?maxResults=100", false},
	{"list/state", "/v1/pipelines/{name}/state", false},
	{"list/executions", "/v1/pipelines/{name}/executions?maxResults=20", true},
	{"view/pipeline", "/v1/pipelines/{name}", false},
	{"view/executions", "/v1/pipelines/{name}/executions?maxResults=10", true},
	{"view/execution", "/v1/pipelines/{name}/executions/{latest}", false},
	{"view/permissions", "/v1/whoami?action=codepipeline:StartPipelineExecution&resource={arn}&action=codepipeline:StopPipelineExecution&resource={arn}" +
		"&action=codepipeline:RetryStageExecution&resource={arn}&action=stageflow:GetActionLogs&resource={arn}" +
		"&action=codepipeline:DisableStageTransition&resource={arn}/Test&action=codepipeline:EnableStageTransition&resource={arn}/Test", false},
	{"view/action-executions", "/v1/pipelines/{name}/action-executions?executionId={latest}&maxResults=100", false},
	{"history/action-executions", "/v1/pipelines/{name}/action-executions?maxResults=100", true},
	{"approvals/in-progress", "/v1/pipelines/{name}/executions?status=InProgress&maxResults=100", false},
	{"whoami", "/v1/whoami", false},
}

// timeRequest is the mean time of one request over n rounds (each round:
// the request once for each pipeline when it names one).
func (cs *consoleStore) timeRequest(b *testing.B, rq consoleRequest, n int) time.Duration {
	b.Helper()
	var paths []string
	for _, name := range consoleBenchPipelines {
		arn := url.QueryEscape("arn:aws:codepipeline:" + apitest.Region + ":" + apitest.Account + ":" + name)
		p := strings.NewReplacer("{name}", name, "{latest}", cs.latest[name], "{arn}", arn).Replace(rq.path)
		paths = append(paths, p)
		if p == rq.path {
			break // names no pipeline
		}
	}
	start := time.Now()
	for range n {
		for _, p := range paths {
			cs.send(b, http.MethodGet, p, "", http.StatusOK)
		}
	}
	return time.Since(start) / time.Duration(n*len(paths))
}

// BenchmarkConsoleRequests times each of the console's requests on a store
// of 10,000 executions (four pipelines of 2,500) and on one of the same
// pipelines with one execution each, in the same run, through the real
// HTTP handler over loopback, signed. It reports ns per request on both
// and their ratio, and fails when a ratio passes maxConsoleRatio (but for
// the paged requests, whose answer on the small store is smaller) or a
// request on the big store takes more than maxConsoleRequest.
func BenchmarkConsoleRequests(b *testing.B) {
	big := newConsoleStore(b, consoleBenchExecutions/len(consoleBenchPipelines))
	small := newConsoleStore(b, 1)
	for _, rq := range consoleRequests {
		b.Run(strings.ReplaceAll(rq.name, "/", "-"), func(b *testing.B) {
			// Warm both (connections, caches), then alternate so that the
			// machine's load weighs on both alike.
			big.timeRequest(b, rq, 2)
			small.timeRequest(b, rq, 2)
			var tb, ts time.Duration
			b.ResetTimer()
			for range 3 {
				tb += big.timeRequest(b, rq, max(1, b.N/3))
				ts += small.timeRequest(b, rq, max(1, b.N/3))
			}
			b.StopTimer()
			tb, ts = tb/3, ts/3
			ratio := float64(tb) / float64(ts)
			b.ReportMetric(float64(tb.Nanoseconds()), "ns/big")
			b.ReportMetric(float64(ts.Nanoseconds()), "ns/small")
			b.ReportMetric(ratio, "big/small")
			// A ratio is judged over enough rounds to be more than noise.
			if !rq.paged && b.N >= 20 && ratio > maxConsoleRatio {
				b.Fatalf("%s: %s on 10,000 executions, %.2f× the %s on one execution a pipeline (target: at most %.0f×)", rq.name, tb, ratio, ts, maxConsoleRatio)
			}
			if tb > maxConsoleRequest {
				b.Fatalf("%s: %s on 10,000 executions (target: under %s)", rq.name, tb, maxConsoleRequest)
			}
		})
	}
}
