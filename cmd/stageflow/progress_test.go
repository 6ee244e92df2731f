package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// screen is a small terminal emulator of a fixed width: it wraps long rows
// as a terminal does and interprets the sequences the live tree writes
// (cursor up, clear to the end of the screen, colours), so a test can see
// what stays on screen.
type screen struct {
	width    int
	rows     [][]rune
	row, col int
}

func (s *screen) Write(p []byte) (int, error) {
	text := []rune(string(p))
	for i := 0; i < len(text); i++ {
		r := text[i]
		switch {
		case r == '\n':
			s.row++
			s.col = 0
		case r == '\r':
			s.col = 0
		case r == 0x1b && i+1 < len(text) && text[i+1] == '[':
			j := i + 2
			for j < len(text) && !(text[j] >= '@' && text[j] <= '~') {
				j++
			}
			arg, cmd := string(text[i+2:j]), text[j]
			i = j
			switch cmd {
			case 'A':
				n, _ := strconv.Atoi(arg)
				s.row = max(s.row-max(n, 1), 0)
			case 'J':
				if s.row < len(s.rows) {
					if s.col < len(s.rows[s.row]) {
						s.rows[s.row] = s.rows[s.row][:s.col]
					}
					s.rows = s.rows[:s.row+1]
				}
			}
		default:
			if s.col >= s.width { // the row is full: wrap
				s.row++
				s.col = 0
			}
			for len(s.rows) <= s.row {
				s.rows = append(s.rows, nil)
			}
			line := s.rows[s.row]
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = r
			s.rows[s.row] = line
			s.col++
		}
	}
	return len(p), nil
}

func (s *screen) lines() []string {
	var out []string
	for _, r := range s.rows {
		out = append(out, strings.TrimRight(string(r), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// treeExecution is an execution of a pipeline with long names, an approval
// and a custom action, at a step: 0 running, 1 waiting for the approval, 2
// ended.
func treeExecution(step int) *engine.Execution {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	build := pipeline.ActionTypeID{Category: "Build", Owner: "AWS", Provider: "CodeBuild", Version: "1"}
	manual := pipeline.ActionTypeID{Category: "Approval", Owner: "AWS", Provider: "Manual", Version: "1"}
	custom := pipeline.ActionTypeID{Category: "Deploy", Owner: "Custom", Provider: "Rollout", Version: "1"}
	e := &engine.Execution{
		ID: "0f0e0d0c-0b0a-4988-8776-655443322110", PipelineName: "a-pipeline-with-a-rather-long-name",
		Pipeline: pipeline.Pipeline{Name: "a-pipeline-with-a-rather-long-name", Stages: []pipeline.Stage{
			{Name: "BuildEverythingThatThereIs", Actions: []pipeline.Action{{Name: "CompileTheWholeApplication", ActionTypeID: build}}},
			{Name: "Release", Actions: []pipeline.Action{{Name: "ApproveTheRelease", ActionTypeID: manual}, {Name: "RollOut", ActionTypeID: custom}}},
		}},
		Status: engine.InProgress, StartTime: t0, Version: int64(step + 1),
		Stages: []engine.StageState{{Name: "BuildEverythingThatThereIs", Status: engine.InProgress, StartTime: t0}, {Name: "Release"}},
		Actions: []engine.ActionRun{{ID: "r1", Stage: "BuildEverythingThatThereIs", Action: "CompileTheWholeApplication", Type: build,
			Status: engine.InProgress, StartTime: t0, Summary: "queued: waiting for a slot"}},
	}
	if step >= 1 {
		e.Actions[0].Status, e.Actions[0].EndTime, e.Actions[0].Summary = engine.Succeeded, t0.Add(time.Second), ""
		e.Stages[0].Status, e.Stages[0].EndTime = engine.Succeeded, t0.Add(time.Second)
		e.Stages[1].Status, e.Stages[1].StartTime = engine.InProgress, t0.Add(time.Second)
		e.Actions = append(e.Actions,
			engine.ActionRun{ID: "r2", StageIndex: 1, Stage: "Release", Action: "ApproveTheRelease", Type: manual, Status: engine.InProgress, StartTime: t0.Add(time.Second)},
			engine.ActionRun{ID: "r3", StageIndex: 1, ActionIndex: 1, Stage: "Release", Action: "RollOut", Type: custom, Status: engine.InProgress, StartTime: t0.Add(time.Second)})
	}
	if step >= 2 {
		for i := 1; i < 3; i++ {
			e.Actions[i].Status, e.Actions[i].EndTime = engine.Succeeded, t0.Add(2*time.Second)
		}
		e.Stages[1].Status, e.Stages[1].EndTime = engine.Succeeded, t0.Add(2*time.Second)
		e.Status, e.EndTime = engine.Succeeded, t0.Add(2*time.Second)
	}
	return e
}

// liveProgress is a live progress on a screen of the given width, with a
// stopped clock and no ticker.
func liveProgress(scr *screen) *progress {
	p := &progress{w: scr, live: true, seen: map[string]string{}, tails: map[string][]string{},
		now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 9, 0, time.UTC) }, stopTick: make(chan struct{})}
	p.width = func() int { return scr.width }
	return p
}

// On a narrow terminal every row of the live tree fits (cut, never
// wrapped), and after redraws the screen holds the final tree once, with
// nothing left of the earlier ones.
func TestLiveTreeFitsANarrowTerminal(t *testing.T) {
	for _, width := range []int{40, 60, 79, 120} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			scr := &screen{width: width}
			p := liveProgress(scr)
			p.update(treeExecution(0))
			p.logLine("x", "p", &treeExecution(0).Actions[0], "a line the build printed, long enough to pass the edge of the screen")
			p.update(treeExecution(0))
			p.update(treeExecution(1))
			p.update(treeExecution(1))
			p.finish(treeExecution(2))
			got := scr.lines()
			want := renderTree(treeExecution(2), treeOptions{now: p.now(), spin: "x", width: width - 1})
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("screen:\n%s\nwant the final tree alone:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, l := range got {
				if n := displayWidth(l); n >= width {
					t.Errorf("row of %d columns on a screen of %d: %q", n, width, l)
				}
			}
		})
	}
}

// After an approval prompt the tree is on screen once, below the prompt.
func TestLiveTreeOnceAfterAPrompt(t *testing.T) {
	scr := &screen{width: 100}
	p := liveProgress(scr)
	p.update(treeExecution(0))
	p.update(treeExecution(1))
	resume := p.pause()
	scr.Write([]byte("\nApproval \"ApproveTheRelease\" in stage \"Release\" is waiting.\nApprove? [y/N] y\n"))
	resume()
	p.update(treeExecution(1))
	p.finish(treeExecution(2))
	out := strings.Join(scr.lines(), "\n")
	if n := strings.Count(out, "execution 0f0e0d0c"); n != 1 {
		t.Errorf("the tree is on screen %d times:\n%s", n, out)
	}
	if i, j := strings.Index(out, "Approve? [y/N] y"), strings.Index(out, "execution 0f0e0d0c"); i < 0 || j < i {
		t.Errorf("the tree is not below the prompt:\n%s", out)
	}
}

// What an action in progress waits for is in its row and its event line:
// the summary its driver set, else an approval or a job worker.
func TestWaitingNotes(t *testing.T) {
	running := strings.Join(renderTree(treeExecution(0), treeOptions{spin: "x"}), "\n")
	waiting := strings.Join(renderTree(treeExecution(1), treeOptions{spin: "x"}), "\n")
	for _, want := range []string{"CompileTheWholeApplication", "queued: waiting for a slot"} {
		if !strings.Contains(running, want) {
			t.Errorf("tree lacks %q:\n%s", want, running)
		}
	}
	for _, want := range []string{"ApproveTheRelease", "waiting for approval", "RollOut", "waiting for a job worker"} {
		if !strings.Contains(waiting, want) {
			t.Errorf("tree lacks %q:\n%s", want, waiting)
		}
	}
	if strings.Contains(waiting, "queued") {
		t.Errorf("an ended action shows its queue note:\n%s", waiting)
	}

	var b bytes.Buffer
	p := newProgress(&b, false, false, false)
	p.update(treeExecution(0))
	p.update(treeExecution(1))
	for _, want := range []string{
		"CompileTheWholeApplication InProgress: queued: waiting for a slot",
		"ApproveTheRelease InProgress: waiting for approval",
		"RollOut InProgress: waiting for a job worker",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("events lack %q:\n%s", want, b.String())
		}
	}
}

// The execution's last event names its status once.
func TestStatusWithSummary(t *testing.T) {
	tests := []struct {
		status  engine.Status
		summary string
		want    string
	}{
		{engine.Stopped, "stopped: interrupted by the user", "Stopped: interrupted by the user"},
		{engine.Stopped, "stopped", "Stopped"},
		{engine.Failed, `action "A" in stage "S" failed`, `Failed: action "A" in stage "S" failed`},
		{engine.Succeeded, "", "Succeeded"},
	}
	for _, tt := range tests {
		if got := statusWithSummary(tt.status, tt.summary); got != tt.want {
			t.Errorf("statusWithSummary(%s, %q) = %q, want %q", tt.status, tt.summary, got, tt.want)
		}
	}
}

func TestFitWidth(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  string
	}{
		{"hello", 0, "hello"},
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"✓ 構築する", 6, "✓ 構…"},
	}
	for _, tt := range tests {
		if got := fitWidth(tt.in, tt.width); got != tt.want {
			t.Errorf("fitWidth(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
	if got := displayable("a\tb\x1b[31mc\r"); got != "a b[31mc" {
		t.Errorf("displayable: %q", got)
	}
}

// A stage's row says why the execution waits in front of it, or what its
// condition in progress waits for.
func TestStageNotes(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *engine.Execution)
		want   string
	}{
		{"held stage", func(e *engine.Execution) {
			e.Wait = &engine.Wait{Stage: "Release", Reason: engine.WaitStage}
		}, "waiting: another execution is in the stage"},
		{"disabled transition", func(e *engine.Execution) {
			e.Wait = &engine.Wait{Stage: "Release", Reason: engine.WaitTransition}
		}, "waiting: the inbound transition is disabled"},
		{"condition in progress", func(e *engine.Execution) {
			e.Stages[1].Status, e.Stages[1].EntryCondition = engine.InProgress, "c1"
			e.Conditions = []engine.ConditionRun{{ID: "c1", Stage: "Release", StageIndex: 1, Kind: engine.ConditionBeforeEntry, Status: engine.InProgress,
				Summary: "Hours: outside the deployment window"}}
		}, "condition before entry: Hours: outside the deployment window"},
		{"no control characters from a summary", func(e *engine.Execution) {
			e.Stages[1].Status, e.Stages[1].EntryCondition = engine.InProgress, "c1"
			e.Conditions = []engine.ConditionRun{{ID: "c1", Stage: "Release", StageIndex: 1, Kind: engine.ConditionBeforeEntry, Status: engine.InProgress,
				Summary: "red \x1b[31malert\x1b[0m"}}
		}, "red [31malert[0m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := treeExecution(0)
			e.Stages[0].Status, e.Actions[0].Status = engine.Succeeded, engine.Succeeded
			tt.change(e)
			lines := renderTree(e, treeOptions{spin: "x"})
			var release string
			for _, l := range lines {
				if strings.Contains(l, " Release ") {
					release = l
				}
			}
			if !strings.Contains(release, tt.want) {
				t.Errorf("the Release row %q lacks %q", release, tt.want)
			}
		})
	}
}
