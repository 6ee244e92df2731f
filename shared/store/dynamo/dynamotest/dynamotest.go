// Package dynamotest runs DynamoDB Local (AWS's own emulator) for tests: one
// process per test binary, started on first use on a free 127.0.0.1 port with
// -inMemory, its output captured in a log file, and stopped by PID when the
// tests end. A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
// and Client (or Endpoint) from its tests. The jar is the one `make
// dynamodb-local` installs, found through STAGEFLOW_DYNAMODB_LOCAL_JAR or at
// its default place under tools/. Without it, -short runs skip and full runs
// fail saying to run `make dynamodb-local`. When STAGEFLOW_DYNAMODB_ENDPOINT
// is set, that endpoint is used and nothing is started.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stageflow/stageflow/shared/store/dynamo"
)

// Environment variables.
const (
	// EnvJar names the DynamoDBLocal.jar to run (its DynamoDBLocal_lib folder
	// beside it).
	EnvJar = "STAGEFLOW_DYNAMODB_LOCAL_JAR"
	// EnvEndpoint names a DynamoDB endpoint to use instead of starting one.
	EnvEndpoint = "STAGEFLOW_DYNAMODB_ENDPOINT"
)

// defaultJar is where `make dynamodb-local` installs the jar, relative to the
// module root (the Makefile's DYNAMODB_LOCAL_DIR).
const defaultJar = "tools/dynamodb-local-2.9.30/DynamoDBLocal.jar"

// startTimeout bounds the wait for DynamoDB Local to answer.
const startTimeout = 90 * time.Second

var (
	mu      sync.Mutex
	running *server
	failed  error // a start that failed is not tried again
)

type server struct {
	cmd      *exec.Cmd
	endpoint string
	logPath  string
	dir      string
	done     chan struct{} // closed when the process has exited
}

// Main runs the tests of m and then stops DynamoDB Local if it was started.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain with more to clean up: it
// returns m's exit code.
func Run(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the DynamoDB Local process started by this package, if any,
// by its PID, and waits for it to exit.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if running == nil {
		return
	}
	running.stop()
	running = nil
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = os.RemoveAll(s.dir)
}

// Endpoint returns the URL of the DynamoDB Local shared by this test binary,
// starting it on first use.
func Endpoint(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		return ep
	}
	jar, err := findJar()
	if err != nil {
		if testing.Short() {
			t.Skipf("DynamoDB Local is not installed (%v); run `make dynamodb-local`", err)
		}
		t.Fatalf("DynamoDB Local is not installed (%v): run `make dynamodb-local`", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if running == nil && failed == nil {
		running, failed = start(jar)
	}
	if failed != nil {
		t.Fatalf("starting DynamoDB Local: %v", failed)
	}
	return running.endpoint
}

// Client returns a DynamoDB client for the shared DynamoDB Local, with dummy
// credentials and the store's retry settings.
func Client(t testing.TB) *dynamodb.Client {
	t.Helper()
	c, err := dynamo.NewClient(context.Background(), dynamo.ClientOptions{
		Endpoint: Endpoint(t), Region: "us-east-1", AccessKeyID: "local", SecretAccessKey: "local",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewTable creates a table of the store's design with a fresh name on c,
// deleted when the test ends, and returns its name.
func NewTable(t testing.TB, c *dynamodb.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "stageflow-test-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, c, dynamo.TableOptions{Name: name}); err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name})
	})
	return name
}

// findJar returns the jar named by EnvJar, or the default one under the
// module root.
func findJar() (string, error) {
	jar := os.Getenv(EnvJar)
	if jar == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		jar = filepath.Join(root, defaultJar)
	}
	if _, err := os.Stat(jar); err != nil {
		return "", fmt.Errorf("no jar at %s", jar)
	}
	if _, err := exec.LookPath("java"); err != nil {
		return "", errors.New("java is not on PATH")
	}
	return jar, nil
}

// ModuleRoot finds the directory holding go.mod, upwards from the working
// directory (a test runs in its package's directory), where the tools the
// tests use are installed.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// start runs DynamoDB Local on a free port, trying again on another port if
// the process exits early (the port may have been taken in between).
func start(jar string) (*server, error) {
	var err error
	for range 3 {
		var s *server
		if s, err = startOnce(jar); err == nil {
			return s, nil
		}
	}
	return nil, err
}

func startOnce(jar string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dynamodb-local-")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "dynamodb-local.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command("java",
		"-Djava.library.path="+filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
		"-Xmx512m",
		"-jar", jar, "-inMemory", "-disableTelemetry", "-port", fmt.Sprint(port))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &server{cmd: cmd, endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: logPath, dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := s.waitReady(port); err != nil {
		log, _ := os.ReadFile(logPath)
		s.stop()
		return nil, fmt.Errorf("%w; its log:\n%s", err, tail(string(log), 40))
	}
	return s, nil
}

// waitReady polls the port until DynamoDB Local answers an HTTP request, the
// process exits, or startTimeout passes.
func (s *server) waitReady(port int) error {
	deadline := time.Now().Add(startTimeout)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("DynamoDB Local exited while starting (%v)", s.cmd.ProcessState)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, err := dynamo.NewClient(ctx, dynamo.ClientOptions{Endpoint: s.endpoint, Region: "us-east-1", AccessKeyID: "local", SecretAccessKey: "local"})
			if err == nil {
				_, err = c.ListTables(ctx, &dynamodb.ListTablesInput{})
			}
			cancel()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("DynamoDB Local did not answer on %s within %v", addr, startTimeout)
		}
		select {
		case <-s.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StartLocal starts a DynamoDB Local of its own outside a test (`make
// invoke-%`): the installed jar on a free 127.0.0.1 port, in memory. stop
// ends it by its PID.
func StartLocal() (endpoint string, stop func(), err error) {
	jar, err := findJar()
	if err != nil {
		return "", nil, fmt.Errorf("DynamoDB Local is not installed (%v): run `make dynamodb-local`", err)
	}
	s, err := start(jar)
	if err != nil {
		return "", nil, err
	}
	return s.endpoint, s.stop, nil
}
