// Package sfntest is the Step Functions test bridge: a loopback server that
// runs state machine executions with the aws-local-stepfunctions interpreter
// (one node process per execution, tools/js/bridge.cjs), answers the Step
// Functions API calls the driver makes (StartExecution, SendTaskSuccess,
// SendTaskFailure, StopExecution, DescribeExecution; JSON 1.0, reached
// through the SDK's endpoint setting), hands out task tokens and invokes the
// functions of the Task states through one Invoke function, so that what
// runs them (the handlers in this process, or bootstraps under the Lambda
// Runtime Interface Emulator) is swapped in one place.
package sfntest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Invoke runs one invocation of a Lambda function: the function as the
// Task state names it and the payload; it returns the function's response.
type Invoke func(ctx context.Context, function string, payload json.RawMessage) (json.RawMessage, error)

// tokenPlaceholder is what $$.Task.Token resolves to in the interpreter
// (bridge.cjs puts it in the context object); the bridge replaces it with
// a fresh token for each task.
const tokenPlaceholder = "BRIDGE-TASK-TOKEN"

// Config configures a Bridge.
type Config struct {
	// Definition is the state machine (ASL JSON).
	Definition []byte
	// StateMachineARN is the ARN StartExecution is called with.
	StateMachineARN string
	// Invoke runs the functions of the Task states.
	Invoke Invoke
	// JSDir is the folder of bridge.cjs with its node_modules (JSDir(t)).
	JSDir string
}

// Bridge is a running test bridge.
type Bridge struct {
	URL string
	cfg Config
	def string // the definition's file
	t   testing.TB

	mu         sync.Mutex
	executions map[string]*execution // by ARN
	tokens     map[string]*task
	calls      map[string]int // API operation → calls
}

type execution struct {
	arn, name, input string
	started          time.Time
	cmd              *exec.Cmd
	stderr           *strings.Builder
	status           string // RUNNING, SUCCEEDED, FAILED, ABORTED
	output           string
	errName, cause   string
	states           []string
	events           int
	stopped          time.Time
	done             chan struct{}
}

// task is a task waiting for its token.
type task struct {
	executionArn string
	result       chan taskResult // buffered: one result
	closed       string          // "" open; else the error a late send gets
}

type taskResult struct {
	output         json.RawMessage
	errName, cause string
}

// Start starts a bridge on a free 127.0.0.1 port; it stops with the test,
// killing the node processes it started.
func Start(t testing.TB, cfg Config) *Bridge {
	t.Helper()
	def := filepath.Join(t.TempDir(), "definition.json")
	if err := os.WriteFile(def, cfg.Definition, 0o644); err != nil {
		t.Fatal(err)
	}
	b := &Bridge{cfg: cfg, def: def, t: t, executions: map[string]*execution{}, tokens: map[string]*task{}, calls: map[string]int{}}
	srv := httptest.NewServer(b)
	b.URL = srv.URL
	t.Cleanup(func() {
		b.mu.Lock()
		var running []*execution
		for _, x := range b.executions {
			if x.status == "RUNNING" {
				running = append(running, x)
			}
		}
		b.mu.Unlock()
		for _, x := range running {
			x.cmd.Process.Kill()
			<-x.done
		}
		srv.Close()
	})
	return b
}

// Client is a Step Functions client of the SDK pointed at the bridge.
func (b *Bridge) Client() *awssfn.Client {
	return awssfn.New(awssfn.Options{
		BaseEndpoint: aws.String(b.URL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBRIDGE", "bridge-secret", ""),
	})
}

// Calls returns how often the driver called each operation.
func (b *Bridge) Calls() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for k, v := range b.calls {
		out[k] = v
	}
	return out
}

// Result is how a state machine execution ended.
type Result struct {
	Status, Output, Error, Cause string
	// States are the states it entered, in order (those of Map
	// iterations included); Events counts the interpreter's event log.
	States []string
	Events int
	// Stderr is what its node process wrote.
	Stderr string
}

// Wait waits for the state machine execution of arn to end.
func (b *Bridge) Wait(ctx context.Context, arn string) (Result, error) {
	b.mu.Lock()
	x := b.executions[arn]
	b.mu.Unlock()
	if x == nil {
		return Result{}, fmt.Errorf("no execution %s", arn)
	}
	select {
	case <-x.done:
	case <-ctx.Done():
		return Result{Stderr: x.stderr.String()}, ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return Result{Status: x.status, Output: x.output, Error: x.errName, Cause: x.cause, States: x.states, Events: x.events, Stderr: x.stderr.String()}, nil
}

func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/bridge/task":
		b.serveTask(w, r, body)
	case "/bridge/done":
		b.serveDone(w, body)
	case "/":
		op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
		if !ok {
			apiError(w, "UnknownOperationException", "no X-Amz-Target of AWSStepFunctions")
			return
		}
		b.mu.Lock()
		b.calls[op]++
		b.mu.Unlock()
		out, err := b.api(op, body)
		if err != nil {
			var ae *awsError
			if errors.As(err, &ae) {
				apiError(w, ae.name, ae.msg)
				return
			}
			apiError(w, "InvalidParameterValue", err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		json.NewEncoder(w).Encode(out)
	default:
		http.NotFound(w, r)
	}
}

type awsError struct{ name, msg string }

func (e *awsError) Error() string { return e.name + ": " + e.msg }

func apiError(w http.ResponseWriter, name, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": name, "message": msg})
}

// epoch is a timestamp as the JSON 1.0 protocol writes it.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// api answers one Step Functions operation.
func (b *Bridge) api(op string, body []byte) (any, error) {
	var in struct {
		StateMachineArn, Name, Input       string
		ExecutionArn, Cause, Error, Output string
		TaskToken                          string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &awsError{"SerializationException", err.Error()}
	}
	switch op {
	case "StartExecution":
		return b.startExecution(in.StateMachineArn, in.Name, in.Input)
	case "DescribeExecution":
		b.mu.Lock()
		defer b.mu.Unlock()
		x := b.executions[in.ExecutionArn]
		if x == nil {
			return nil, &awsError{"ExecutionDoesNotExist", "no execution " + in.ExecutionArn}
		}
		out := map[string]any{"executionArn": x.arn, "stateMachineArn": b.cfg.StateMachineARN, "name": x.name,
			"status": x.status, "startDate": epoch(x.started), "input": x.input}
		if x.status != "RUNNING" {
			out["stopDate"] = epoch(x.stopped)
		}
		if x.output != "" {
			out["output"] = x.output
		}
		if x.errName != "" {
			out["error"], out["cause"] = x.errName, x.cause
		}
		return out, nil
	case "StopExecution":
		return b.stopExecution(in.ExecutionArn, in.Error, in.Cause)
	case "SendTaskSuccess":
		if !json.Valid([]byte(in.Output)) {
			return nil, &awsError{"InvalidOutput", "the output is not JSON"}
		}
		return map[string]any{}, b.finishTask(in.TaskToken, taskResult{output: json.RawMessage(in.Output)})
	case "SendTaskFailure":
		return map[string]any{}, b.finishTask(in.TaskToken, taskResult{errName: in.Error, cause: in.Cause})
	}
	return nil, &awsError{"UnknownOperationException", "the bridge does not answer " + op}
}

func (b *Bridge) startExecution(machine, name, input string) (any, error) {
	if machine != b.cfg.StateMachineARN {
		return nil, &awsError{"StateMachineDoesNotExist", "no state machine " + machine}
	}
	if input == "" {
		input = "{}"
	}
	arn := strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name
	b.mu.Lock()
	defer b.mu.Unlock()
	if x := b.executions[arn]; x != nil {
		if x.status == "RUNNING" && x.input == input {
			return map[string]any{"executionArn": arn, "startDate": epoch(x.started)}, nil
		}
		return nil, &awsError{"ExecutionAlreadyExists", "execution " + name + " exists"}
	}
	cmd := exec.Command("node", "--require", filepath.Join(b.cfg.JSDir, "polyfill.cjs"), filepath.Join(b.cfg.JSDir, "bridge.cjs"), b.def)
	cmd.Dir = b.cfg.JSDir
	cmd.Env = append(os.Environ(), "BRIDGE_URL="+b.URL, "BRIDGE_EXECUTION_ARN="+arn, "BRIDGE_INPUT="+input)
	x := &execution{arn: arn, name: name, input: input, started: time.Now(), cmd: cmd, stderr: &strings.Builder{}, status: "RUNNING", done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = x.stderr, x.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting node: %w", err)
	}
	b.executions[arn] = x
	go func() {
		err := cmd.Wait()
		b.mu.Lock()
		if x.status == "RUNNING" {
			// It exited without reporting its end.
			x.status, x.errName, x.cause, x.stopped = "FAILED", "Bridge.NodeExited", fmt.Sprintf("node: %v: %s", err, x.stderr.String()), time.Now()
		}
		b.closeTasks(arn, "TaskDoesNotExist")
		b.mu.Unlock()
		close(x.done)
	}()
	return map[string]any{"executionArn": arn, "startDate": epoch(x.started)}, nil
}

func (b *Bridge) stopExecution(arn, errName, cause string) (any, error) {
	b.mu.Lock()
	x := b.executions[arn]
	if x == nil {
		b.mu.Unlock()
		return nil, &awsError{"ExecutionDoesNotExist", "no execution " + arn}
	}
	if x.status == "RUNNING" {
		x.status, x.errName, x.cause, x.stopped = "ABORTED", errName, cause, time.Now()
		x.cmd.Process.Kill()
	}
	stopped := x.stopped
	b.mu.Unlock()
	<-x.done
	return map[string]any{"stopDate": epoch(stopped)}, nil
}

// closeTasks closes the open tasks of an execution (b.mu held).
func (b *Bridge) closeTasks(arn, why string) {
	for _, tk := range b.tokens {
		if tk.executionArn == arn && tk.closed == "" {
			tk.closed = why
		}
	}
}

func (b *Bridge) finishTask(token string, res taskResult) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	tk := b.tokens[token]
	if tk == nil {
		return &awsError{"InvalidToken", "unknown task token"}
	}
	if tk.closed != "" {
		return &awsError{tk.closed, "the task of this token has ended"}
	}
	tk.closed = "TaskDoesNotExist"
	tk.result <- res
	return nil
}

// serveTask runs one Task state for the interpreter: it invokes the
// function with the Payload of the Parameters and, for a task with a
// token, waits until the token is sent.
func (b *Bridge) serveTask(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		ExecutionArn   string `json:"executionArn"`
		State          string `json:"state"`
		Resource       string `json:"resource"`
		TimeoutSeconds int    `json:"timeoutSeconds"`
		Input          struct {
			FunctionName string          `json:"FunctionName"`
			Payload      json.RawMessage `json:"Payload"`
		} `json:"input"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	fail := func(name, cause string) { reply(map[string]string{"error": name, "cause": cause}) }
	ctx := context.WithoutCancel(r.Context())
	payload := in.Input.Payload
	var tk *task
	var token string
	if strings.HasSuffix(in.Resource, ".waitForTaskToken") {
		token = newToken()
		replaced := strings.Replace(string(payload), `"`+tokenPlaceholder+`"`, `"`+token+`"`, 1)
		if replaced == string(payload) {
			fail("States.Runtime", "the payload of a .waitForTaskToken task must pass $$.Task.Token")
			return
		}
		payload = json.RawMessage(replaced)
		tk = &task{executionArn: in.ExecutionArn, result: make(chan taskResult, 1)}
		b.mu.Lock()
		b.tokens[token] = tk
		b.mu.Unlock()
	}
	out, err := b.cfg.Invoke(ctx, in.Input.FunctionName, payload)
	if err != nil {
		if tk != nil {
			b.mu.Lock()
			tk.closed = "TaskDoesNotExist"
			b.mu.Unlock()
		}
		// As Lambda reports a handler's error: its type's name and message
		// (a function under the emulator tells both itself).
		name := reflect.TypeOf(err).String()
		name = name[strings.LastIndex(name, ".")+1:]
		msg := err.Error()
		var fe lambdaError
		if errors.As(err, &fe) {
			name, msg = fe.ErrorType(), fe.ErrorMessage()
		}
		cause, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": name})
		fail(name, string(cause))
		return
	}
	if tk == nil {
		// What the optimized integration returns.
		reply(map[string]any{"output": map[string]any{"ExecutedVersion": "$LATEST", "Payload": out, "StatusCode": 200}})
		return
	}
	var timeout <-chan time.Time
	if in.TimeoutSeconds > 0 {
		timer := time.NewTimer(time.Duration(in.TimeoutSeconds) * time.Second)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case res := <-tk.result:
		if res.errName != "" || res.cause != "" {
			fail(res.errName, res.cause)
			return
		}
		reply(map[string]any{"output": res.output})
	case <-timeout:
		// The interpreter times the task out itself; a late send is refused.
		b.mu.Lock()
		if tk.closed == "" {
			tk.closed = "TaskTimedOut"
		}
		b.mu.Unlock()
		fail("States.Timeout", "the task timed out")
	case <-r.Context().Done():
		b.mu.Lock()
		if tk.closed == "" {
			tk.closed = "TaskDoesNotExist"
		}
		b.mu.Unlock()
	}
}

// lambdaError is an error a function reported through the Lambda Runtime
// API (lambdatest.FunctionError).
type lambdaError interface {
	error
	ErrorType() string
	ErrorMessage() string
}

func (b *Bridge) serveDone(w http.ResponseWriter, body []byte) {
	var in struct {
		ExecutionArn, Status, Output, Error, Cause string
		States                                     []string
		Events                                     int
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	if x := b.executions[in.ExecutionArn]; x != nil && x.status == "RUNNING" {
		x.status, x.output, x.errName, x.cause, x.stopped = in.Status, in.Output, in.Error, in.Cause, time.Now()
		x.states, x.events = in.States, in.Events
		b.closeTasks(in.ExecutionArn, "TaskDoesNotExist")
	}
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

func newToken() string {
	buf := make([]byte, 24)
	rand.Read(buf)
	return "bridge-" + hex.EncodeToString(buf)
}

// JSDir returns the repository's tools/js folder, failing the test when
// its packages are not installed (make js-deps installs them).
func JSDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
	js := filepath.Join(dir, "tools", "js")
	for _, pkg := range []string{"asl-validator", "aws-local-stepfunctions"} {
		if _, err := os.Stat(filepath.Join(js, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("the JavaScript test tools are not installed (%v): run `make js-deps`", err)
		}
	}
	return js
}
