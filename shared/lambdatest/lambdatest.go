// Package lambdatest runs the functions' bootstraps under AWS's Lambda
// Runtime Interface Emulator (aws-lambda-rie), which serves a bootstrap
// through the real Lambda Runtime API without a container: Build compiles a
// function for this machine as `make build-lambdas` compiles it for arm64,
// Start runs one emulator on two free 127.0.0.1 ports (its invoke endpoint
// and the Runtime API it gives the bootstrap), Invoke posts one event,
// Stop ends it by its process group's ID. An emulator serves one invocation
// at a time; Pool keeps several for concurrent callers.
//
// The emulator is the one `make rie` installs under tools/bin; without it
// the callers fail saying so (tests skip under -short).
package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// RIEPath is where `make rie` installs the emulator, relative to the module
// root.
const RIEPath = "tools/bin/aws-lambda-rie"

// invokePath is the emulator's invoke endpoint (the Lambda Invoke API's
// path for the one function it runs).
const invokePath = "/2015-03-31/functions/function/invocations"

// startTimeout bounds the wait for an emulator to listen.
const startTimeout = 30 * time.Second

// ModuleRoot finds the directory holding go.mod, upwards from the working
// directory.
func ModuleRoot() (string, error) { return dynamotest.ModuleRoot() }

// FindRIE returns the emulator under root, or an error saying how to
// install it.
func FindRIE(root string) (string, error) {
	p := filepath.Join(root, RIEPath)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return "", fmt.Errorf("the Lambda Runtime Interface Emulator is not installed at %s: run `make rie`", p)
	}
	return p, nil
}

// functionName accepts the folder names of functions/ only: letters,
// digits and dashes, so that it never leaves that folder.
func functionName(fn string) error {
	if fn == "" || len(fn) > 64 {
		return fmt.Errorf("function name %q: want 1 to 64 characters", fn)
	}
	for _, r := range fn {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("function name %q: only lower-case letters, digits and dashes", fn)
		}
	}
	return nil
}

// Build compiles functions/<fn> of the module at root into
// outDir/<fn>/bootstrap for this machine's architecture, with the flags of
// the deployed build (linux, no cgo, lambda.norpc), and returns its path.
func Build(ctx context.Context, root, fn, outDir string) (string, error) {
	if err := functionName(fn); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "functions", fn, "main.go")); err != nil {
		return "", fmt.Errorf("no function %q: functions/%s/main.go does not exist", fn, fn)
	}
	out := filepath.Join(outDir, fn, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./functions/"+fn)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", fn, err, b)
	}
	return out, nil
}

// Config is one emulator.
type Config struct {
	// RIE is the emulator (FindRIE) and Bootstrap the function's binary.
	RIE, Bootstrap string
	// Env is the function's environment. Nothing of this process's
	// environment but PATH reaches the function (no credentials of the
	// machine): AWS_REGION, dummy credentials and a disabled instance
	// metadata lookup are set unless Env sets them.
	Env map[string]string
	// Log, when set, receives the emulator's output (its own lines and
	// the function's) as well as the emulator's own buffer.
	Log io.Writer
}

// Defaults of Config.Env.
var defaultEnv = map[string]string{
	"AWS_REGION":                "us-east-1",
	"AWS_ACCESS_KEY_ID":         "local",
	"AWS_SECRET_ACCESS_KEY":     "local",
	"AWS_EC2_METADATA_DISABLED": "true",
	"AWS_LAMBDA_FUNCTION_NAME":  "",
}

// Emulator is one running aws-lambda-rie with its bootstrap.
type Emulator struct {
	// URL is the invoke endpoint.
	URL  string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// Start runs an emulator on free 127.0.0.1 ports (never the defaults 8080
// and 9001), trying other ports when it exits while starting.
func Start(cfg Config) (*Emulator, error) {
	var err error
	for range 3 {
		var e *Emulator
		if e, err = startOnce(cfg); err == nil {
			return e, nil
		}
	}
	return nil, err
}

func startOnce(cfg Config) (*Emulator, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cmd := exec.Command(cfg.RIE,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--log-level", "warn",
		cfg.Bootstrap)
	cmd.Dir = filepath.Dir(cfg.Bootstrap)
	env := map[string]string{"PATH": os.Getenv("PATH")}
	for k, v := range defaultEnv {
		env[k] = v
	}
	if env["AWS_LAMBDA_FUNCTION_NAME"] == "" {
		env["AWS_LAMBDA_FUNCTION_NAME"] = filepath.Base(filepath.Dir(cfg.Bootstrap))
	}
	for k, v := range cfg.Env {
		env[k] = v
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	e := &Emulator{URL: "http://" + addr + invokePath, cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	var out io.Writer = e.log
	if cfg.Log != nil {
		out = io.MultiWriter(e.log, cfg.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that Stop ends the bootstrap it runs too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.RIE, err)
	}
	go func() { _ = cmd.Wait(); close(e.done) }()
	deadline := time.Now().Add(startTimeout)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return e, nil
		}
		select {
		case <-e.done:
			return nil, fmt.Errorf("the emulator exited while starting (%v): %s", cmd.ProcessState, tail(e.log.String(), 20))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.Stop()
			return nil, fmt.Errorf("the emulator did not listen on %s within %v: %s", addr, startTimeout, tail(e.log.String(), 20))
		}
	}
}

// invokeDone is what the emulator logs at the end of each invocation.
const invokeDone = "Invoke DONE"

// settleTimeout bounds how long a failed invocation waits for the
// emulator's log to tell the end of it.
const settleTimeout = 2 * time.Second

// settledLog is the emulator's log once it tells how the last invocation
// ended (one more invokeDone than donesBefore), or as it is after settleTimeout: the emulator may
// answer a failed invocation before the bootstrap's last words and its own
// report of them have reached the log.
func (e *Emulator) settledLog(ctx context.Context, donesBefore int) string {
	deadline := time.Now().Add(settleTimeout)
	for {
		log := e.log.String()
		if strings.Count(log, invokeDone) > donesBefore || time.Now().After(deadline) || ctx.Err() != nil {
			return log
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FunctionError is an invocation the function answered with an error (its
// handler returned one): what Lambda reports with X-Amz-Function-Error.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Invoke posts one event and returns the function's response. A handler's
// error is a *FunctionError; an emulator or runtime failure (the bootstrap
// exited, timed out) an error carrying the end of the emulator's log.
func (e *Emulator) Invoke(ctx context.Context, event []byte) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	dones := strings.Count(e.log.String(), invokeDone)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoking the emulator: %w; its log: %s", err, tail(e.settledLog(ctx, dones), 20))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 7<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the emulator answered %s: %s; its log: %s", res.Status, body, tail(e.settledLog(ctx, dones), 20))
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("the function's response is not JSON: %q; the emulator's log: %s", body, tail(e.log.String(), 20))
	}
	var fe FunctionError
	if res.Header.Get("X-Amz-Function-Error") != "" || isError(body, &fe) {
		if fe.Type == "" && fe.Message == "" {
			_ = json.Unmarshal(body, &fe)
		}
		return nil, &fe
	}
	return json.RawMessage(body), nil
}

// isError reports whether body is the error document the Go runtime posts
// to the Runtime API's invocation error path: an object of exactly
// errorMessage and errorType (and the optional stackTrace).
func isError(body []byte, fe *FunctionError) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, hasMsg := m["errorMessage"]
	_, hasType := m["errorType"]
	if !hasMsg || !hasType {
		return false
	}
	for k := range m {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return false
		}
	}
	return json.Unmarshal(body, fe) == nil
}

// Log returns what the emulator and its function wrote so far.
func (e *Emulator) Log() string { return e.log.String() }

// Stop ends the emulator and its bootstrap by their process group's ID:
// SIGTERM, then SIGKILL after five seconds. It waits for the exit.
func (e *Emulator) Stop() {
	if e.cmd.Process == nil {
		return
	}
	pgid := e.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.done
	}
	// The bootstrap may outlive its emulator for a moment.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// Pool runs invocations of one function concurrently, each on an emulator
// of its own: an idle one, or a new one when all are busy (at most Max;
// callers beyond wait).
type Pool struct {
	cfg  Config
	max  int
	mu   sync.Mutex
	idle []*Emulator
	all  []*Emulator
	sem  chan struct{}
}

// NewPool makes a pool of at most max emulators of cfg (started on demand).
func NewPool(cfg Config, max int) *Pool {
	if max < 1 {
		max = 1
	}
	return &Pool{cfg: cfg, max: max, sem: make(chan struct{}, max)}
}

// Invoke posts event to an emulator of its own.
func (p *Pool) Invoke(ctx context.Context, event []byte) (json.RawMessage, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.sem }()
	p.mu.Lock()
	var e *Emulator
	if n := len(p.idle); n > 0 {
		e, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	if e == nil {
		var err error
		if e, err = Start(p.cfg); err != nil {
			return nil, err
		}
		p.mu.Lock()
		p.all = append(p.all, e)
		p.mu.Unlock()
	}
	out, err := e.Invoke(ctx, event)
	p.mu.Lock()
	p.idle = append(p.idle, e)
	p.mu.Unlock()
	return out, err
}

// Started is how many emulators the pool has started.
func (p *Pool) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// Logs returns the output of every emulator of the pool.
func (p *Pool) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for i, e := range p.all {
		fmt.Fprintf(&b, "--- emulator %d\n%s", i+1, e.Log())
	}
	return b.String()
}

// Close stops every emulator of the pool.
func (p *Pool) Close() {
	p.mu.Lock()
	all := p.all
	p.all, p.idle = nil, nil
	p.mu.Unlock()
	for _, e := range all {
		e.Stop()
	}
}

// freePorts returns n distinct free 127.0.0.1 ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// syncBuffer is a buffer written by the process and read by tests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 { // keep the log bounded
		s.b.Reset()
		s.b.WriteString("[earlier output dropped]\n")
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Local names of the resources the functions are configured with under the
// emulator (no AWS account is involved).
const (
	LocalAccount         = "000000000000"
	LocalRegion          = "us-east-1"
	LocalBucket          = "stageflow-local-artifacts"
	LocalStateMachineARN = "arn:aws:states:us-east-1:000000000000:stateMachine:stageflow-local"
	LocalArtifactRoleARN = "arn:aws:iam::000000000000:role/stageflow-local-artifacts"
	LocalKMSKeyARN       = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000"
	LocalUserPoolID      = "us-east-1_Local0000"
)

// Env is the environment infra gives each function (shared/lambdaenv;
// every function gets them all here) with the store on the DynamoDB at
// dynamoEndpoint and the Step Functions client on sfnEndpoint, through the
// SDK's per-service endpoint variable (AWS_ENDPOINT_URL_SFN). The STS client
// that issues job workers' artifact credentials and the KMS client that
// opens access keys' secrets are pointed there too: no test here polls for
// jobs or verifies a key through a function, and a call would fail at once
// rather than leave the machine.
func Env(table, dynamoEndpoint, sfnEndpoint string) map[string]string {
	return map[string]string{
		"STAGEFLOW_TABLE":             table,
		"STAGEFLOW_ARTIFACT_BUCKET":   LocalBucket,
		"STAGEFLOW_STATE_MACHINE_ARN": LocalStateMachineARN,
		"STAGEFLOW_ACCOUNT":           LocalAccount,
		"STAGEFLOW_DYNAMODB_ENDPOINT": dynamoEndpoint,
		"STAGEFLOW_ARTIFACT_ROLE_ARN": LocalArtifactRoleARN,
		"AWS_ENDPOINT_URL_SFN":        sfnEndpoint,
		"AWS_ENDPOINT_URL_STS":        sfnEndpoint,
		"AWS_ENDPOINT_URL_KMS":        sfnEndpoint,
		"STAGEFLOW_KMS_KEY_ARN":       LocalKMSKeyARN,
		"STAGEFLOW_USER_POOL_ID":      LocalUserPoolID,
		"AWS_REGION":                  LocalRegion,
	}
}

// RefusingEndpoint returns the URL of a 127.0.0.1 port nothing listens on
// (one just freed): a Step Functions client pointed there fails at once
// with "connection refused" and reaches nothing.
func RefusingEndpoint() (string, error) {
	ports, err := freePorts(1)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("http://127.0.0.1:%d", ports[0]), nil
}

// SplitEvents reads an events file: one JSON event, or a JSON array of
// events (each invoked in turn).
func SplitEvents(data []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("the events file is empty")
	}
	if !json.Valid(trimmed) {
		return nil, errors.New("the events file is not valid JSON")
	}
	if trimmed[0] != '[' {
		return []json.RawMessage{json.RawMessage(trimmed)}, nil
	}
	var events []json.RawMessage
	if err := json.Unmarshal(trimmed, &events); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, errors.New("the events file is an empty array")
	}
	return events, nil
}

// ErrorType and ErrorMessage are what Lambda reports of a function error
// (Step Functions names a failed Task state's error after ErrorType).
func (e *FunctionError) ErrorType() string    { return e.Type }
func (e *FunctionError) ErrorMessage() string { return e.Message }

// Functions invokes the function named by its first argument on that
// function's pool: the shape of the Step Functions test bridge's Invoke
// (shared/sfn/sfntest), for state machines whose Task states call
// bootstraps under the emulator.
func Functions(pools map[string]*Pool) func(ctx context.Context, function string, payload json.RawMessage) (json.RawMessage, error) {
	return func(ctx context.Context, function string, payload json.RawMessage) (json.RawMessage, error) {
		p := pools[function]
		if p == nil {
			return nil, fmt.Errorf("no function %q", function)
		}
		return p.Invoke(ctx, payload)
	}
}
