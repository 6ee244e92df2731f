package embedded_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const patience = 30 * time.Second

func open(t *testing.T, dir string, c *clock) *embedded.System {
	t.Helper()
	sys, err := embedded.Open(embedded.Options{
		DataDir: dir, Now: c.Now, KeepFailedWork: time.Hour, Retention: 30 * 24 * time.Hour,
		JanitorInterval: 24 * time.Hour, // the round at Open only: the test calls Prune itself
	})
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

func createPipeline(t *testing.T, sys *embedded.System, name string, act pipeline.Action) {
	t.Helper()
	p := pipeline.Pipeline{Name: name, Stages: []pipeline.Stage{{Name: "Only", Actions: []pipeline.Action{act}}}}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := pipeline.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Store.CreatePipeline(t.Context(), &store.Pipeline{Name: name, Declaration: doc.Pipeline}); err != nil {
		t.Fatal(err)
	}
}

func commands(cmds ...string) pipeline.Action {
	return pipeline.Action{
		Name:         "Run",
		ActionTypeID: pipeline.ActionTypeID{Category: pipeline.CategoryCompute, Owner: pipeline.OwnerAWS, Provider: "Commands", Version: "1"},
		Commands:     cmds,
	}
}

func start(t *testing.T, sys *embedded.System, name string) *engine.Execution {
	t.Helper()
	e, err := sys.Service.StartExecution(service.LocalCaller(t.Context(), "test"), service.StartInput{PipelineName: name})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func wait(t *testing.T, sys *embedded.System, id string) *engine.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	e, err := sys.Runner.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// eventually polls cond until it holds, or fails the test after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func prune(t *testing.T, sys *embedded.System) embedded.Pruned {
	t.Helper()
	p, err := sys.Prune(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJanitor(t *testing.T) {
	dir := t.TempDir()
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	sys := open(t, dir, c)
	defer func() { sys.Close(context.Background()) }()
	work := func(parts ...string) string { return filepath.Join(append([]string{dir, "work"}, parts...)...) }

	ok := commands("echo built > out.txt")
	ok.OutputArtifacts = []pipeline.OutputArtifact{{Name: "Out", Files: []string{"out.txt"}}}
	createPipeline(t, sys, "ok", ok)
	createPipeline(t, sys, "fails", commands("echo half > partial.txt", "exit 3"))
	createPipeline(t, sys, "waits", pipeline.Action{
		Name: "Approve", ActionTypeID: pipeline.ActionTypeID{Category: pipeline.CategoryApproval, Owner: pipeline.OwnerAWS, Provider: "Manual", Version: "1"},
	})

	// A success leaves no work directory; its log and artifact stay.
	good := wait(t, sys, start(t, sys, "ok").ID)
	if good.Status != engine.Succeeded {
		t.Fatalf("ok: %s", good.Status)
	}
	goodRun := good.Actions[0]
	eventually(t, "the work folder of the succeeded execution to go", func() bool { return !exists(work(good.ID)) })
	goodArtifact := sys.Artifacts.Path("ok", good.ID, "Out")
	if !exists(goodRun.LogLocation) || !exists(goodArtifact) {
		t.Fatalf("log or artifact of the success missing")
	}

	// A failure keeps its work directory for KeepFailedWork.
	bad := wait(t, sys, start(t, sys, "fails").ID)
	if bad.Status != engine.Failed {
		t.Fatalf("fails: %s", bad.Status)
	}
	kept := work(bad.ID, bad.Actions[0].ID)
	if !exists(filepath.Join(kept, "src", "_primary", "partial.txt")) {
		t.Fatalf("the work directory of the failed action is gone")
	}
	waiting := start(t, sys, "waits")
	prune(t, sys)
	if !exists(kept) {
		t.Fatalf("pruned before KeepFailedWork passed")
	}

	// Across a restart: the janitor's round at Open removes it once
	// KeepFailedWork has passed.
	if err := sys.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	sys = open(t, dir, c)
	eventually(t, "the janitor at start to remove the kept work directory", func() bool { return !exists(work(bad.ID)) })
	if !exists(bad.Actions[0].LogLocation) {
		t.Errorf("the log of the failed action went with its work directory")
	}

	// Retention: ended executions older than it go with their logs and
	// artifacts; one in progress stays, however old.
	c.Advance(29 * 24 * time.Hour)
	if p := prune(t, sys); p.Executions != 0 {
		t.Fatalf("pruned %d executions before the retention passed", p.Executions)
	}
	c.Advance(24 * time.Hour)
	if p := prune(t, sys); p.Executions != 2 {
		t.Errorf("pruned %d executions, want 2", p.Executions)
	}
	for _, e := range []*engine.Execution{good, bad} {
		if _, err := sys.Store.GetExecution(t.Context(), e.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("execution %s of %s: %v, want NotFound", e.ID, e.PipelineName, err)
		}
		if exists(filepath.Join(dir, "logs", e.ID)) {
			t.Errorf("the logs of pruned execution %s are still there", e.ID)
		}
	}
	if exists(goodArtifact) {
		t.Errorf("the artifact of a pruned execution is still there")
	}
	if e, err := sys.Store.GetExecution(t.Context(), waiting.ID); err != nil || e.Status != engine.InProgress {
		t.Errorf("the execution in progress: %v, %v", e, err)
	}
}
