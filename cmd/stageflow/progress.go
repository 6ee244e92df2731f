package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
)

// progress shows an execution as it runs: a live stage/action tree on a
// terminal, or one event per line (text or JSON) in a pipe.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	live     bool // redraw a tree in place (terminal)
	jsonOut  bool
	last     *engine.Execution
	seen     map[string]engine.Status // stage or run key → last status printed
	drawn    int                      // lines of the last tree drawn
	frame    int
	paused   bool
	now      func() time.Time
	stopTick chan struct{}
}

func newProgress(w io.Writer, live, jsonOut bool) *progress {
	p := &progress{w: w, live: live && !jsonOut, jsonOut: jsonOut, seen: map[string]engine.Status{}, now: time.Now, stopTick: make(chan struct{})}
	if p.live {
		go p.tick()
	}
	return p
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (p *progress) tick() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stopTick:
			return
		case <-t.C:
			p.mu.Lock()
			p.frame++
			if !p.paused && p.last != nil {
				p.redraw()
			}
			p.mu.Unlock()
		}
	}
}

// update takes a new state of the execution.
func (p *progress) update(e *engine.Execution) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last != nil && p.last.Version > e.Version {
		return // an older state arriving late
	}
	p.last = e
	if p.live {
		if !p.paused {
			p.redraw()
		}
		return
	}
	p.events(e)
}

// finish draws the final state and stops the ticker.
func (p *progress) finish(e *engine.Execution) {
	close(p.stopTick)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = e
	if p.live {
		p.redraw()
		return
	}
	p.events(e)
}

// pause stops redrawing (while a prompt is on screen) and returns the
// function that resumes it.
func (p *progress) pause() func() {
	p.mu.Lock()
	p.paused = true
	p.drawn = 0 // the prompt follows the tree; draw anew below it
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.paused = false
		p.mu.Unlock()
	}
}

type event struct {
	Time        time.Time     `json:"time"`
	ExecutionID string        `json:"executionId"`
	Pipeline    string        `json:"pipeline"`
	Stage       string        `json:"stage,omitempty"`
	Action      string        `json:"action,omitempty"`
	Status      engine.Status `json:"status"`
	Summary     string        `json:"summary,omitempty"`
	Error       string        `json:"error,omitempty"`
}

// events prints what changed since the last state, one event per line.
func (p *progress) events(e *engine.Execution) {
	var out []event
	emit := func(key string, ev event) {
		if ev.Status == "" || p.seen[key] == ev.Status {
			return
		}
		p.seen[key] = ev.Status
		ev.Time, ev.ExecutionID, ev.Pipeline = e.LastUpdateTime, e.ID, e.PipelineName
		out = append(out, ev)
	}
	emit("", event{Status: e.Status})
	for _, st := range e.Stages {
		// A stage starts before its actions and ends after them.
		if !st.Status.Terminal() {
			emit("stage/"+st.Name, event{Stage: st.Name, Status: st.Status})
		}
		for _, r := range e.Actions {
			if r.Stage == st.Name {
				emit("run/"+r.ID, event{Stage: r.Stage, Action: r.Action, Status: r.Status, Summary: r.Summary, Error: r.ErrorMessage})
			}
		}
		if st.Status.Terminal() {
			emit("stage/"+st.Name, event{Stage: st.Name, Status: st.Status})
		}
	}
	// The execution's own terminal event comes last.
	if len(out) > 0 && out[0].Stage == "" && e.Status.Terminal() {
		out = append(out[1:], out[0])
		out[len(out)-1].Summary = e.StatusSummary
	}
	for _, ev := range out {
		if p.jsonOut {
			b, _ := json.Marshal(ev)
			fmt.Fprintf(p.w, "%s\n", b)
			continue
		}
		where := ev.Pipeline
		if ev.Stage != "" {
			where += " › " + ev.Stage
		}
		if ev.Action != "" {
			where += " › " + ev.Action
		}
		line := fmt.Sprintf("%s  %-40s %s", ev.Time.Local().Format("15:04:05"), where, ev.Status)
		if ev.Error != "" {
			line += ": " + ev.Error
		} else if ev.Summary != "" && ev.Stage == "" {
			line += ": " + ev.Summary
		}
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) redraw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.drawn)
	}
	lines := renderTree(p.last, p.now(), spinner[p.frame%len(spinner)], useColor())
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	p.drawn = len(lines)
	io.WriteString(p.w, b.String())
}

// renderTree draws an execution as a stage/action tree.
func renderTree(e *engine.Execution, now time.Time, spin string, color bool) []string {
	paint := func(s engine.Status, text string) string {
		if !color {
			return text
		}
		code := ""
		switch s {
		case engine.Succeeded:
			code = "32"
		case engine.Failed, engine.Abandoned:
			code = "31"
		case engine.InProgress, engine.Stopping:
			code = "36"
		case engine.Stopped, engine.Superseded, engine.Cancelled:
			code = "33"
		default:
			code = "2"
		}
		return "\x1b[" + code + "m" + text + "\x1b[0m"
	}
	icon := func(s engine.Status) string {
		switch s {
		case engine.Succeeded:
			return "✓"
		case engine.Failed:
			return "✗"
		case engine.InProgress, engine.Stopping:
			return spin
		case engine.Abandoned, engine.Stopped, engine.Superseded, engine.Cancelled:
			return "■"
		}
		return "·"
	}
	elapsed := func(start, end time.Time) string {
		if start.IsZero() {
			return ""
		}
		if end.IsZero() {
			end = now
		}
		return formatDuration(end.Sub(start))
	}
	row := func(indent int, s engine.Status, name string, start, end time.Time) string {
		label := string(s)
		if label == "" {
			label = "-"
		}
		left := fmt.Sprintf("%s%s %s", strings.Repeat("  ", indent), icon(s), name)
		return paint(s, fmt.Sprintf("%-44s %-11s %8s", left, label, elapsed(start, end)))
	}
	lines := []string{
		fmt.Sprintf("%s  execution %s", e.PipelineName, e.ID),
		row(0, e.Status, "pipeline "+e.PipelineName, e.StartTime, e.EndTime),
	}
	for si, st := range e.Stages {
		lines = append(lines, row(1, st.Status, st.Name, st.StartTime, st.EndTime))
		if si >= len(e.Pipeline.Stages) {
			continue
		}
		for ai, a := range e.Pipeline.Stages[si].Actions {
			var run *engine.ActionRun
			for i := range e.Actions {
				if r := &e.Actions[i]; r.StageIndex == si && r.ActionIndex == ai && (run == nil || r.Attempt > run.Attempt) {
					run = r
				}
			}
			if run == nil {
				lines = append(lines, row(2, "", a.Name, time.Time{}, time.Time{}))
				continue
			}
			l := row(2, run.Status, a.Name, run.StartTime, run.EndTime)
			if run.Status == engine.InProgress && run.Type.Category == "Approval" {
				l += "  waiting for approval"
			}
			lines = append(lines, l)
		}
	}
	return lines
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
