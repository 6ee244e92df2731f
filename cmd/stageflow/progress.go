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
// terminal, or one event per line (text or JSON) in a pipe; and, unless
// quiet, what the actions print (see logLine).
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	live    bool // redraw a tree in place (terminal)
	jsonOut bool
	color   bool // colour the tree (useColor)
	// width, when set, is the terminal's width in columns, asked at each
	// redraw (the terminal may be resized).
	width    func() int
	last     *engine.Execution
	seen     map[string]string // stage or run key → last status (and note) printed
	drawn    []int             // the widths of the lines of the tree on screen
	above    []string          // lines to print above the tree at the next redraw
	tails    map[string][]string
	frame    int
	paused   bool
	now      func() time.Time
	stopTick chan struct{}
	stopOnce sync.Once
}

// tailLines is how many of its last log lines a running action shows in
// the live tree.
const tailLines = 3

func newProgress(w io.Writer, live, jsonOut, color bool) *progress {
	p := &progress{w: w, live: live && !jsonOut, jsonOut: jsonOut, color: color, seen: map[string]string{}, tails: map[string][]string{},
		now: time.Now, stopTick: make(chan struct{})}
	if p.live {
		p.width = func() int { return terminalWidth(w) }
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
	p.stopOnce.Do(func() { close(p.stopTick) })
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = e
	p.paused = false
	if p.live {
		p.redraw()
		return
	}
	p.events(e)
}

// pause takes the tree off the screen and stops redrawing it (while a
// prompt is on screen); the function it returns resumes, drawing the tree
// anew below the prompt — so the tree is on screen once.
func (p *progress) pause() func() {
	p.mu.Lock()
	p.paused = true
	if p.live {
		io.WriteString(p.w, p.erase())
	}
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.paused = false
		if p.live && p.last != nil {
			p.redraw()
		}
		p.mu.Unlock()
	}
}

// logEvent is one line an action printed, in JSON output.
type logEvent struct {
	Time        time.Time `json:"time"`
	ExecutionID string    `json:"executionId"`
	Pipeline    string    `json:"pipeline"`
	Stage       string    `json:"stage"`
	Action      string    `json:"action"`
	RunID       string    `json:"runId"`
	Log         string    `json:"log"`
}

// logPrefix is how a line of an action's output is marked: "[Stage/Action] ".
func logPrefix(run *engine.ActionRun) string { return "[" + run.Stage + "/" + run.Action + "] " }

// logLine shows one line an action printed: prefixed in a pipe, a JSON
// object with JSON output, and on a terminal among the last lines under
// the action's row while it runs (logEnd prints them all above the tree).
func (p *progress) logLine(executionID, pipelineName string, run *engine.ActionRun, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.jsonOut:
		b, _ := json.Marshal(logEvent{Time: p.now().UTC(), ExecutionID: executionID, Pipeline: pipelineName,
			Stage: run.Stage, Action: run.Action, RunID: run.ID, Log: line})
		fmt.Fprintf(p.w, "%s\n", b)
	case p.live:
		t := append(p.tails[run.ID], displayable(line))
		if len(t) > tailLines {
			t = t[len(t)-tailLines:]
		}
		p.tails[run.ID] = t
	default:
		fmt.Fprintln(p.w, logPrefix(run)+line)
	}
}

// logEnd takes the whole output of an action that has ended; on a terminal
// it goes above the tree, where it stays.
func (p *progress) logEnd(run *engine.ActionRun, lines []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.tails, run.ID)
	if !p.live {
		return
	}
	for _, l := range lines {
		p.above = append(p.above, logPrefix(run)+l)
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
	// note is what an action in progress waits for (text output only).
	note string
}

// events prints what changed since the last state, one event per line.
func (p *progress) events(e *engine.Execution) {
	var out []event
	emit := func(key string, ev event) {
		seen := string(ev.Status) + "\x00" + ev.note
		if ev.Status == "" || p.seen[key] == seen {
			return
		}
		p.seen[key] = seen
		ev.Time, ev.ExecutionID, ev.Pipeline = e.LastUpdateTime, e.ID, e.PipelineName
		out = append(out, ev)
	}
	emit("", event{Status: e.Status})
	for _, st := range e.Stages {
		// A stage starts before its actions and ends after them.
		if !st.Status.Terminal() {
			emit("stage/"+st.Name, event{Stage: st.Name, Status: st.Status})
		}
		for i := range e.Actions {
			if r := &e.Actions[i]; r.Stage == st.Name {
				emit("run/"+r.ID, event{Stage: r.Stage, Action: r.Action, Status: r.Status, Summary: r.Summary, Error: r.ErrorMessage, note: waitingNote(r)})
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
		status := string(ev.Status)
		switch {
		case ev.Error != "":
			status += ": " + ev.Error
		case ev.note != "":
			status += ": " + ev.note
		case ev.Summary != "" && ev.Stage == "" && !ev.Status.Terminal():
			// (A terminal one is the final line's, printed after the events.)
			status = statusWithSummary(ev.Status, ev.Summary)
		}
		// Summaries and errors are anyone's text (a job worker's, a
		// variable's value): no control character reaches the terminal.
		fmt.Fprintf(p.w, "%s  %-40s %s\n", ev.Time.Local().Format("15:04:05"), where, displayable(status))
	}
}

// statusWithSummary is "Status: summary", naming the status once when the
// summary starts with it ("Stopped: interrupted", not "Stopped: stopped:
// interrupted").
func statusWithSummary(s engine.Status, summary string) string {
	status := string(s)
	switch lower := strings.ToLower(summary); {
	case summary == "", lower == strings.ToLower(status):
		return status
	case strings.HasPrefix(lower, strings.ToLower(status)+": "):
		return status + summary[len(status):]
	}
	return status + ": " + summary
}

// erase is the escape sequence that takes the drawn tree off the screen:
// the cursor goes up as many rows as the tree takes at the terminal's
// width now (rows a narrower terminal has wrapped count twice), and the
// screen is cleared from there down.
func (p *progress) erase() string {
	if len(p.drawn) == 0 {
		return ""
	}
	width := 0
	if p.width != nil {
		width = p.width()
	}
	rows := 0
	for _, w := range p.drawn {
		if width > 0 && w > width {
			rows += (w + width - 1) / width
		} else {
			rows++
		}
	}
	p.drawn = nil
	return fmt.Sprintf("\r\x1b[%dA\x1b[J", rows)
}

func (p *progress) redraw() {
	var b strings.Builder
	b.WriteString(p.erase())
	width := 0
	if p.width != nil {
		width = p.width()
	}
	for _, l := range p.above {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	p.above = nil
	// One column is kept free: a row that fills the last column leaves some
	// terminals at the start of the next row, which the count would miss.
	fit := 0
	if width > 1 {
		fit = width - 1
	}
	lines := renderTree(p.last, treeOptions{now: p.now(), spin: spinner[p.frame%len(spinner)], color: p.color, width: fit, tails: p.tails})
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
		p.drawn = append(p.drawn, displayWidth(stripEscapes(l)))
	}
	io.WriteString(p.w, b.String())
}

// stripEscapes removes the colour sequences (ESC [ … letter) from s.
func stripEscapes(s string) string {
	if !strings.Contains(s, "\x1b") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && !(s[j] >= '@' && s[j] <= '~') {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
