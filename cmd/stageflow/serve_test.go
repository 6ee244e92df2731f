package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stageflow/stageflow/shared/awssign"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server runs `stageflow serve` in-process until stop is called.
type server struct {
	endpoint       string
	dataDir        string
	stop           func() error
	stdout, stderr *syncBuffer
	// creds is the admin key the server wrote to its data directory (zero
	// under --auth none); http signs with it.
	creds aws.Credentials
	http  *http.Client
}

// startServer runs `stageflow serve` on dataDir and points the client
// commands run in-process at its credentials: STAGEFLOW_DATA_DIR is
// dataDir, and no AWS variable names other credentials.
func startServer(t *testing.T, dataDir string, args ...string) *server {
	t.Helper()
	useServerCredentials(t, dataDir)
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	root := newRootCmd()
	// The examples' source actions fetch this repository (its branch main)
	// through the connection make run makes; nothing polls (the tests start
	// what they watch).
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--shutdown-grace", "20s",
		"--local-connection", "stageflow-examples=" + repo, "--poll-interval", "0"}, args...))
	root.SetOut(stdout)
	root.SetErr(stderr)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	re := regexp.MustCompile(`endpoint=(http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			s := &server{endpoint: m[1], dataDir: dataDir, stdout: stdout, stderr: stderr, http: &http.Client{}}
			if id, secret, err := embedded.ReadCredentialsFile(filepath.Join(dataDir, embedded.CredentialsFile), embedded.CredentialsProfile); err == nil {
				s.creds = aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
				s.http = signingClient(s.creds)
			} else if !authNone(args) {
				cancel()
				t.Fatalf("serve wrote no admin key: %v", err)
			}
			var once sync.Once
			var err error
			s.stop = func() error {
				once.Do(func() { cancel(); err = <-done })
				return err
			}
			t.Cleanup(func() { s.stop() })
			return s
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not say where it listens:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// authNone reports whether serve's arguments turn authentication off.
func authNone(args []string) bool {
	for i, a := range args {
		if a == "--auth=none" || a == "--auth" && i+1 < len(args) && args[i+1] == "none" {
			return true
		}
	}
	return false
}

// useServerCredentials makes the client commands run in-process sign with
// the admin key of the server whose data directory is dataDir, whatever
// the environment of the test names.
func useServerCredentials(t *testing.T, dataDir string) {
	t.Helper()
	t.Setenv("STAGEFLOW_DATA_DIR", dataDir)
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// signingClient is an HTTP client signing with creds.
func signingClient(creds aws.Credentials) *http.Client {
	return awssign.Client(credentials.StaticCredentialsProvider{Value: creds}, embedded.DefaultRegion)
}

func (s *server) get(t *testing.T, path string, out any) int {
	t.Helper()
	resp, err := s.http.Get(s.endpoint + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (s *server) post(t *testing.T, path, body string, out any) int {
	t.Helper()
	resp, err := s.http.Post(s.endpoint+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode
}

// waitExecution polls an execution until cond holds.
func (s *server) waitExecution(t *testing.T, pipeline, id, what string, cond func(*engine.Execution) bool) *engine.Execution {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var e engine.Execution
		if code := s.get(t, fmt.Sprintf("/v1/pipelines/%s/executions/%s", pipeline, id), &e); code == 200 && cond(&e) {
			return &e
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last status %s)", what, e.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeResumesAfterRestart starts the server with the examples, runs one
// to its approval, shuts the server down gracefully, starts it again on the
// same data directory and approves: the execution resumes and succeeds.
func TestServeResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "--load", "../../examples", "--start", "hello")

	// The example started at boot succeeds.
	var list struct {
		Summaries []struct {
			ID string `json:"pipelineExecutionId"`
		} `json:"pipelineExecutionSummaries"`
	}
	// --load and --start run once the server listens: poll for them.
	deadline := time.Now().Add(30 * time.Second)
	for s.get(t, "/v1/pipelines/hello/executions", &list); len(list.Summaries) != 1; s.get(t, "/v1/pipelines/hello/executions", &list) {
		if time.Now().After(deadline) {
			t.Fatalf("hello executions: %+v", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.waitExecution(t, "hello", list.Summaries[0].ID, "hello to succeed", func(e *engine.Execution) bool { return e.Status == engine.Succeeded })

	// A request for another host name is refused (DNS rebinding), signed
	// or not.
	req, _ := http.NewRequest("GET", s.endpoint+"/v1/pipelines", nil)
	req.Host = "rebind.attacker.test"
	if resp, err := s.http.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %v %v, want 403", resp.StatusCode, err)
	} else if body, _ := io.ReadAll(resp.Body); strings.Contains(string(body), "Authentication") || strings.Contains(string(body), "security token") {
		t.Errorf("foreign Host refused for its signature, not its host: %s", body)
	}

	var started struct {
		ID string `json:"pipelineExecutionId"`
	}
	if code := s.post(t, "/v1/pipelines/build-test-deploy/executions", `{}`, &started); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("start: %d", code)
	}
	s.waitExecution(t, "build-test-deploy", started.ID, "the approval to wait", func(e *engine.Execution) bool {
		r, ok := e.LatestRun("Release", "ApproveRelease")
		return ok && r.Status == engine.InProgress
	})
	if err := s.stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("no shutdown log:\n%s", s.stderr.String())
	}

	s2 := startServer(t, dir)
	// The second start keeps the admin key of the first: the client of the
	// first server is let in.
	if s2.creds != s.creds || strings.Contains(s2.stderr.String(), "made the admin key") {
		t.Errorf("the restarted server made a new admin key (%s, was %s):\n%s", s2.creds.AccessKeyID, s.creds.AccessKeyID, s2.stderr.String())
	}
	s2.http = s.http
	body := `{"stage": "Release", "action": "ApproveRelease", "status": "Approved", "summary": "after restart"}`
	if code := s2.post(t, "/v1/pipelines/build-test-deploy/approvals", body, nil); code >= 300 {
		t.Fatalf("approve after restart: HTTP %d", code)
	}
	final := s2.waitExecution(t, "build-test-deploy", started.ID, "the execution to end", func(e *engine.Execution) bool { return e.Status.Terminal() })
	if final.Status != engine.Succeeded {
		t.Fatalf("after restart the execution ended %s: %s", final.Status, final.StatusSummary)
	}
	if r, _ := final.LatestRun("Release", "ApproveRelease"); r.Summary != "after restart" {
		t.Errorf("approval summary %q", r.Summary)
	}
}

// TestServeLoadStartsOnlyWhatIsNamed: the pipelines `serve --load` creates
// start no first execution of their own; --start starts one execution of
// each pipeline it names, and nothing else.
func TestServeLoadStartsOnlyWhatIsNamed(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		start map[string]int // executions per pipeline; 0 when absent
	}{
		{"--load alone", []string{"--load", "../../examples"}, nil},
		{"--load and --start hello", []string{"--load", "../../examples", "--start", "hello"}, map[string]int{"hello": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, t.TempDir(), tt.args...)
			// --load and --start run once the server listens; this line ends them.
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(s.stdout.String(), "Stageflow is at") {
				if time.Now().After(deadline) {
					t.Fatalf("serve did not finish loading:\n%s\n%s", s.stdout.String(), s.stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The AWS CLI hint says what the CLI needs besides the endpoint:
			// the credentials file of the admin key, its profile and a region.
			out := s.stdout.String()
			abs, _ := filepath.Abs(filepath.Join(s.dataDir, embedded.CredentialsFile))
			for _, want := range []string{
				"admin key: " + s.creds.AccessKeyID + " in " + abs,
				"export AWS_SHARED_CREDENTIALS_FILE=" + abs + " AWS_PROFILE=stageflow AWS_DEFAULT_REGION=us-east-1",
				"aws codepipeline list-pipelines --endpoint-url " + s.endpoint,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("the start-up hint lacks %q:\n%s", want, out)
				}
			}
			var pipelines struct {
				Pipelines []struct {
					Name string `json:"name"`
				} `json:"pipelines"`
			}
			if code := s.get(t, "/v1/pipelines", &pipelines); code != http.StatusOK || len(pipelines.Pipelines) < 2 {
				t.Fatalf("pipelines: HTTP %d, %+v; want the examples", code, pipelines.Pipelines)
			}
			for _, p := range pipelines.Pipelines {
				var list struct {
					Summaries []struct {
						Trigger struct {
							Type   string `json:"triggerType"`
							Detail string `json:"triggerDetail"`
						} `json:"trigger"`
					} `json:"pipelineExecutionSummaries"`
				}
				s.get(t, "/v1/pipelines/"+p.Name+"/executions", &list)
				if len(list.Summaries) != tt.start[p.Name] {
					t.Errorf("pipeline %s has %d executions, want %d: %+v", p.Name, len(list.Summaries), tt.start[p.Name], list.Summaries)
				}
				for _, e := range list.Summaries {
					if e.Trigger.Type != "StartPipelineExecution" || e.Trigger.Detail != "stageflow serve --start" {
						t.Errorf("pipeline %s: an execution with trigger %+v, want StartPipelineExecution by stageflow serve --start", p.Name, e.Trigger)
					}
				}
			}
		})
	}
}

// TestClientCommands drives the client subcommands against a running server.
func TestClientCommands(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	cli := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code := run(append(args, "--endpoint", s.endpoint), strings.NewReader(""), &out, &out)
		return code, out.String()
	}
	steps := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"pipeline", "create", "../../examples/hello.json", "../../examples/build-test-deploy.json"}, 0, []string{"created pipeline hello (version 1)", "created pipeline build-test-deploy (version 1)"}},
		{[]string{"pipeline", "create", "../../examples/hello.json"}, 1, []string{"PipelineNameInUseException"}},
		{[]string{"pipeline", "update", "../../examples/hello.json"}, 0, []string{"updated pipeline hello (version 2)"}},
		{[]string{"pipeline", "list"}, 0, []string{"build-test-deploy  1", "hello              2"}},
		{[]string{"pipeline", "get", "hello", "--version", "1"}, 0, []string{`"name": "hello"`, `"version": 1`}},
		{[]string{"start", "hello", "--watch"}, 0, []string{"hello › Hello › SayHello", "succeeded"}},
		{[]string{"status", "hello"}, 0, []string{"✓ SayHello", "Succeeded"}},
		{[]string{"executions", "hello"}, 0, []string{"Succeeded", "StartPipelineExecution", "CreatePipeline"}},
		{[]string{"logs", "hello", "--action", "Hello/SayHello"}, 0, []string{"Hello from Stageflow, execution"}},
		{[]string{"pipeline", "list", "-o", "json"}, 0, []string{`"name": "hello"`, `"name": "build-test-deploy"`}},
		{[]string{"status", "hello", "--output", "json"}, 0, []string{`"pipelineName": "hello"`, `"status": "Succeeded"`}},
		// The caller recorded is the verified principal of the key, not $USER.
		{[]string{"executions", "hello", "-o", "json"}, 0, []string{`"pipelineExecutionId": `, `"status": "Succeeded"`, `"triggerDetail": "arn:aws:iam::000000000000:user/admin"`}},
		{[]string{"start", "hello", "-o", "json", "--watch"}, 0, []string{`"pipelineExecutionId": `, `"action":"SayHello","status":"Succeeded"`}},
		{[]string{"executions", "hello", "-o", "yaml"}, 2, []string{`--output must be "text" or "json", got "yaml"`}},
		// pipeline create started build-test-deploy's first execution; it
		// runs to its approval while the steps below go on.
		{[]string{"executions", "build-test-deploy"}, 0, []string{"CreatePipeline"}},
		{[]string{"start", "nope"}, 1, []string{"PipelineNotFoundException"}},
		{[]string{"approve", "build-test-deploy", "--stage", "Relase"}, 1, []string{`pipeline build-test-deploy has no stage "Relase" (did you mean "Release"?)`}},
		{[]string{"reject", "build-test-deploy", "--stage", "Release", "--action", "ApproveReleas"}, 1, []string{`stage Release has no action "ApproveReleas" (did you mean "ApproveRelease"?)`}},
		{[]string{"approve", "build-test-deploy", "--action", "Deploi"}, 1, []string{`pipeline build-test-deploy has no action "Deploi" (did you mean "Deploy"?)`}},
		{[]string{"pipeline", "delete", "hello"}, 0, []string{"deleted pipeline hello"}},
		{[]string{"status", "hello"}, 1, []string{"PipelineNotFoundException"}},
	}
	for _, st := range steps {
		code, out := cli(st.args...)
		if code != st.code {
			t.Fatalf("stageflow %s: exit %d, want %d\n%s", strings.Join(st.args, " "), code, st.code, out)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("stageflow %s: output lacks %q:\n%s", strings.Join(st.args, " "), w, out)
			}
		}
	}
	// The approval is waiting; approve it from the command line and watch the end.
	var list struct {
		Summaries []struct {
			ID string `json:"pipelineExecutionId"`
		} `json:"pipelineExecutionSummaries"`
	}
	s.get(t, "/v1/pipelines/build-test-deploy/executions", &list)
	id := list.Summaries[0].ID
	s.waitExecution(t, "build-test-deploy", id, "the approval to wait", func(e *engine.Execution) bool {
		r, ok := e.LatestRun("Release", "ApproveRelease")
		return ok && r.Status == engine.InProgress
	})
	if code, out := cli("approve", "build-test-deploy"); code != 0 || !strings.Contains(out, "approved Release › ApproveRelease") {
		t.Fatalf("approve with the pipeline alone: %d %s", code, out)
	}
	if code, out := cli("status", "build-test-deploy", id, "--watch"); code != 0 || !strings.Contains(out, "Release › Deploy") {
		t.Fatalf("status --watch: %d\n%s", code, out)
	}
}

// With several approvals waiting, approve names them and wants one; with
// --action it takes that one.
func TestApproveAmongSeveral(t *testing.T) {
	s := startServer(t, t.TempDir())
	cli := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code := run(append(args, "--endpoint", s.endpoint), strings.NewReader(""), &out, &out)
		return code, out.String()
	}
	file := filepath.Join(t.TempDir(), "two.json")
	manual := `"actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}`
	os.WriteFile(file, []byte(`{"name": "two", "stages": [{"name": "Gate", "actions": [{"name": "Left", `+manual+`}, {"name": "Right", `+manual+`}]}]}`), 0o644)
	if code, out := cli("pipeline", "create", file); code != 0 {
		t.Fatalf("create: %d %s", code, out)
	}
	// Creating the pipeline started its first execution.
	id := s.onlyExecution(t, "two", "CreatePipeline")
	s.waitExecution(t, "two", id, "both approvals to wait", func(e *engine.Execution) bool {
		l, lok := e.LatestRun("Gate", "Left")
		r, rok := e.LatestRun("Gate", "Right")
		return lok && rok && l.Status == engine.InProgress && r.Status == engine.InProgress
	})
	if code, out := cli("approve", "two"); code != 2 || !strings.Contains(out, "2 manual approvals of pipeline two are waiting; say which:\n  --stage Gate --action Left\n  --stage Gate --action Right") {
		t.Fatalf("approve with two waiting: %d %s", code, out)
	}
	if code, out := cli("reject", "two", "--action", "Right"); code != 0 || !strings.Contains(out, "rejected Gate › Right") {
		t.Fatalf("reject --action Right: %d %s", code, out)
	}
	// Left still waits; once the execution is abandoned nothing does.
	if code, out := cli("stop", "two", id, "--abandon"); code != 0 {
		t.Fatalf("stop --abandon: %d %s", code, out)
	}
	s.waitExecution(t, "two", id, "the execution to stop", func(e *engine.Execution) bool { return e.Status.Terminal() })
	if code, out := cli("approve", "two"); code != 1 || !strings.Contains(out, "no manual approval of pipeline two is waiting") {
		t.Fatalf("approve with none waiting: %d %s", code, out)
	}
}

// onlyExecution returns the ID of the one execution of a pipeline, failing
// the test unless there is exactly one and its trigger type is trigger.
func (s *server) onlyExecution(t *testing.T, pipeline, trigger string) string {
	t.Helper()
	var list struct {
		Summaries []struct {
			ID      string `json:"pipelineExecutionId"`
			Trigger struct {
				Type string `json:"triggerType"`
			} `json:"trigger"`
		} `json:"pipelineExecutionSummaries"`
	}
	if code := s.get(t, "/v1/pipelines/"+pipeline+"/executions", &list); code != http.StatusOK || len(list.Summaries) != 1 {
		t.Fatalf("executions of %s: HTTP %d, %+v; want exactly one", pipeline, code, list.Summaries)
	}
	if got := list.Summaries[0].Trigger.Type; got != trigger {
		t.Fatalf("the execution of %s has trigger type %q, want %q", pipeline, got, trigger)
	}
	return list.Summaries[0].ID
}
