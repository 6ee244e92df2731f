package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
)

func TestColour(t *testing.T) {
	e := &engine.Execution{ID: "e", PipelineName: "p", Status: engine.InProgress,
		Stages: []engine.StageState{{Name: "S", Status: engine.Succeeded}}}
	cases := []struct {
		name    string
		noColor string // NO_COLOR
		flag    bool   // --no-color
		colour  bool
	}{
		{name: "terminal", colour: true},
		{name: "NO_COLOR", noColor: "1"},
		{name: "--no-color", flag: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tc.noColor)
			var out syncBuffer
			cmd := newRootCmd()
			if tc.flag {
				if err := cmd.ParseFlags([]string{"--no-color"}); err != nil {
					t.Fatal(err)
				}
			}
			p := newProgress(&out, true, false, useColor(cmd))
			p.update(e)
			p.finish(e)
			if got := strings.Contains(out.String(), "\x1b[32m"); got != tc.colour {
				t.Errorf("colour %v, want %v:\n%q", got, tc.colour, out.String())
			}
			if !strings.Contains(out.String(), "S") {
				t.Errorf("no tree drawn: %q", out.String())
			}
		})
	}
}

func TestOutcomeNamesTheStatusOnce(t *testing.T) {
	for _, tc := range []struct {
		status  engine.Status
		summary string
		want    string
	}{
		{engine.Stopped, "stopped: interrupted by the user", "stopped: interrupted by the user"},
		{engine.Stopped, "stopped", "stopped"},
		{engine.Failed, `action "A" in stage "S" failed`, `failed: action "A" in stage "S" failed`},
		{engine.Succeeded, "", "succeeded"},
	} {
		if got := outcome(&engine.Execution{Status: tc.status, StatusSummary: tc.summary}); got != tc.want {
			t.Errorf("outcome(%s, %q) = %q, want %q", tc.status, tc.summary, got, tc.want)
		}
	}
}

// Ctrl-C during `stageflow run` stops the execution and exits 130.
func TestRunInterruptedExits130(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sleep.json")
	os.WriteFile(file, []byte(`{"name": "sleepy", "stages": [{"name": "S", "actions": [{"name": "Nap",
		"actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
		"commands": ["sleep 30"]}]}]}`), 0o644)
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"run", "--data-dir", t.TempDir(), "-o", "json", file}, strings.NewReader(""), &stdout, &stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), `"action":"Nap","status":"InProgress"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the action did not start:\n%s%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit %d, want 130\n%s%s", code, stdout.String(), stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not end after SIGINT")
	}
}
