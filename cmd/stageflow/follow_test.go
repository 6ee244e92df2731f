package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
)

// The follower shows whole lines as a log grows, holds a partial line back
// until it ends, and at stop shows what is left, the partial line included.
func TestLogFollowerShowsWholeLines(t *testing.T) {
	dir := t.TempDir()
	path := func(execID, runID string) string { return filepath.Join(dir, execID, runID+".log") }
	var out bytes.Buffer
	prog := newProgress(&out, false, false)
	f := newLogFollower(prog, path)
	defer func() {
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()
	state := func(v int64, s engine.Status) *engine.Execution {
		return &engine.Execution{ID: "e", PipelineName: "p", Version: v, Actions: []engine.ActionRun{{ID: "r", Stage: "S", Action: "A", Status: s}}}
	}
	f.track(state(1, engine.InProgress)) // before follow: ignored
	f.follow("e")
	f.track(state(2, engine.InProgress)) // no log file yet
	if out.Len() != 0 {
		t.Fatalf("output before the log exists: %q", out.String())
	}
	os.MkdirAll(filepath.Join(dir, "e"), 0o755)
	os.WriteFile(path("e", "r"), []byte("one\ntw"), 0o644)
	f.track(state(3, engine.InProgress))
	if got := out.String(); got != "[S/A] one\n" {
		t.Fatalf("after one line and a half: %q", got)
	}
	file, _ := os.OpenFile(path("e", "r"), os.O_APPEND|os.O_WRONLY, 0)
	file.WriteString("o\r\nthree")
	file.Close()
	f.stop(state(4, engine.Succeeded))
	if got := out.String(); got != "[S/A] one\n[S/A] two\n[S/A] three\n" {
		t.Fatalf("at the end: %q", got)
	}
}
