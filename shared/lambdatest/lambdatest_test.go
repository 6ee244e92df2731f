package lambdatest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stageflow/stageflow/shared/lambdatest"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// builds holds the bootstraps this test binary builds (once each).
var builds lambdatest.Builds

func TestMain(m *testing.M) {
	code := dynamotest.Run(m)
	builds.Remove()
	os.Exit(code)
}

// bootstrap builds functions/<fn> for this machine, once per test binary.
func bootstrap(t *testing.T, fn string) string { return builds.Bootstrap(t, fn) }

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := lambdatest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// rie returns the emulator: -short runs skip (they build nothing), full
// runs fail without it.
func rie(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no Lambda Runtime Interface Emulator")
	}
	p, err := lambdatest.FindRIE(moduleRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// emulator starts fn under the emulator with env; it stops with the test,
// and its log is shown when the test fails.
func emulator(t *testing.T, fn string, env map[string]string) *lambdatest.Emulator {
	t.Helper()
	e, err := lambdatest.Start(lambdatest.Config{RIE: rie(t), Bootstrap: bootstrap(t, fn), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("the %s emulator's log:\n%s", fn, e.Log())
		}
	})
	return e
}

func TestSplitEvents(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		wantErr string
	}{
		{`{"a":1}`, 1, ""},
		{"  \n[{\"a\":1}, {\"b\":2}, 3]\n", 3, ""},
		{"", 0, "empty"},
		{"[]", 0, "empty array"},
		{"{", 0, "not valid JSON"},
		{`{"a":1} {"b":2}`, 0, "not valid JSON"},
	}
	for _, tt := range tests {
		got, err := lambdatest.SplitEvents([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SplitEvents(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != tt.n {
			t.Errorf("SplitEvents(%q) = %d events, %v; want %d", tt.in, len(got), err, tt.n)
		}
	}
}

func TestBuildRejectsBadNames(t *testing.T) {
	for _, fn := range []string{"", "../cmd/stageflow", "API", "a b", "no-such-function"} {
		if _, err := lambdatest.Build(context.Background(), moduleRoot(t), fn, t.TempDir()); err == nil {
			t.Errorf("Build(%q) built something", fn)
		}
	}
}

// TestEmulatorFailures: a bootstrap that cannot start (its environment
// lacks the table) makes Invoke fail with the emulator's log, naming what
// is missing; Stop ends the process group.
func TestEmulatorFailures(t *testing.T) {
	e := emulator(t, "advance", map[string]string{})
	_, err := e.Invoke(t.Context(), []byte(`{"executionId":"x"}`))
	if err == nil || !strings.Contains(err.Error(), "STAGEFLOW_TABLE") {
		t.Fatalf("Invoke without the environment: %v; want an error naming STAGEFLOW_TABLE", err)
	}
}

// eventFiles lists events/*.json.
func eventFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(moduleRoot(t), "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events/*.json (%v)", err)
	}
	return files
}

// TestEverySampleIsChecked: every file of events/ is one of the samples
// the emulator tests invoke, so that a new sample cannot go unchecked.
func TestEverySampleIsChecked(t *testing.T) {
	for _, f := range eventFiles(t) {
		name := filepath.Base(f)
		if _, ok := apiSamples[name]; ok {
			continue
		}
		if _, ok := machineSamples[name]; ok {
			continue
		}
		if _, ok := providerSamples[name]; ok {
			continue
		}
		if _, ok := webhookSamples[name]; ok {
			continue
		}
		if strings.HasPrefix(name, "webhook.") {
			continue // a payload POSTed to a webhook URL, not an event: shared/api/webhookdoor's tests send it
		}
		if strings.HasPrefix(name, "github.") {
			continue // a GitHub event for a connection's endpoint: shared/triggers' and githubhook's tests send it
		}
		t.Errorf("events/%s is checked by no test: add it to apiSamples, machineSamples, providerSamples or webhookSamples", name)
	}
	for name := range apiSamples {
		if _, err := os.Stat(filepath.Join(moduleRoot(t), "events", name)); err != nil {
			t.Errorf("apiSamples names %s: %v", name, err)
		}
	}
	for name := range providerSamples {
		if _, err := os.Stat(filepath.Join(moduleRoot(t), "events", name)); err != nil {
			t.Errorf("providerSamples names %s: %v", name, err)
		}
	}
	for name := range webhookSamples {
		if _, err := os.Stat(filepath.Join(moduleRoot(t), "events", name)); err != nil {
			t.Errorf("webhookSamples names %s: %v", name, err)
		}
	}
	for name := range machineSamples {
		if _, err := os.Stat(filepath.Join(moduleRoot(t), "events", name)); err != nil {
			t.Errorf("machineSamples names %s: %v", name, err)
		}
	}
}

// TestPoolServesConcurrentCalls: concurrent invocations each get an
// emulator of their own (an emulator refuses a second invocation while one
// runs), at most the pool's size, reused afterwards.
func TestPoolServesConcurrentCalls(t *testing.T) {
	rie := rie(t)
	c := dynamotest.Client(t)
	refuse, err := lambdatest.RefusingEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "events", "api.rest-list-pipelines.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := lambdatest.NewPool(lambdatest.Config{RIE: rie, Bootstrap: bootstrap(t, "api"),
		Env: lambdatest.Env(dynamotest.NewTable(t, c), dynamotest.Endpoint(t), refuse)}, 3)
	defer p.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			out, err := p.Invoke(t.Context(), data)
			if err == nil && !strings.Contains(string(out), `"statusCode":200`) {
				err = errors.New("answer " + string(out))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a concurrent invocation: %v", err)
		}
	}
	if n := p.Started(); n < 1 || n > 3 {
		t.Errorf("%d emulators started for 8 calls, want 1 to 3", n)
	}
	t.Logf("%d emulators served 8 concurrent calls", p.Started())
}
