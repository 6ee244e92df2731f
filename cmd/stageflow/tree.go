package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// The stage/action tree: rows fitted to the terminal's width, never wrapped.

// treeOptions say how renderTree draws.
type treeOptions struct {
	now   time.Time
	spin  string
	color bool
	// width is the terminal's width in columns; every line is cut to fit
	// it (0: no limit).
	width int
	// tails holds the last lines of each running action's log by run ID,
	// drawn under its row.
	tails map[string][]string
}

// Widths of the tree's columns.
const (
	nameColumn    = 44 // at most; narrower when no name needs it
	minNameColumn = 12
	statusColumn  = 11
	elapsedColumn = 8
)

// renderTree draws an execution as a stage/action tree.
func renderTree(e *engine.Execution, opt treeOptions) []string {
	paint := func(s engine.Status, text string) string {
		if !opt.color {
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
			return opt.spin
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
			end = opt.now
		}
		return formatDuration(end.Sub(start))
	}

	type row struct {
		indent int
		status engine.Status
		name   string
		start  time.Time
		end    time.Time
		note   string
		tail   []string
	}
	rows := []row{{indent: 0, status: e.Status, name: "pipeline " + e.PipelineName, start: e.StartTime, end: e.EndTime}}
	for si, st := range e.Stages {
		rows = append(rows, row{indent: 1, status: st.Status, name: st.Name, start: st.StartTime, end: st.EndTime, note: stageNote(e, st)})
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
				rows = append(rows, row{indent: 2, name: a.Name})
				continue
			}
			r := row{indent: 2, status: run.Status, name: a.Name, start: run.StartTime, end: run.EndTime, note: waitingNote(run)}
			if run.Status == engine.InProgress {
				r.tail = opt.tails[run.ID]
			}
			rows = append(rows, r)
		}
	}

	// The name column is as wide as the widest name needs, and narrower
	// still when the terminal is: the status and elapsed time stay in view.
	nameW := minNameColumn
	for _, r := range rows {
		nameW = max(nameW, 2*r.indent+2+displayWidth(r.name))
	}
	nameW = min(nameW, nameColumn)
	if opt.width > 0 {
		nameW = max(min(nameW, opt.width-2-statusColumn-elapsedColumn), minNameColumn)
	}

	lines := []string{fitWidth(fmt.Sprintf("%s  execution %s", e.PipelineName, e.ID), opt.width)}
	for _, r := range rows {
		label := string(r.status)
		if label == "" {
			label = "-"
		}
		left := fmt.Sprintf("%s%s %s", strings.Repeat("  ", r.indent), icon(r.status), r.name)
		text := fmt.Sprintf("%s %-*s %*s", padWidth(fitWidth(left, nameW), nameW), statusColumn, label, elapsedColumn, elapsed(r.start, r.end))
		if r.note != "" {
			text += "  " + displayable(r.note) // a provider's or a rule's words
		}
		lines = append(lines, paint(r.status, fitWidth(text, opt.width)))
		for _, l := range r.tail {
			tail := fitWidth(strings.Repeat("  ", r.indent+1)+"│ "+l, opt.width)
			if opt.color {
				tail = "\x1b[2m" + tail + "\x1b[0m"
			}
			lines = append(lines, tail)
		}
	}
	return lines
}

// stageNote says what a stage waits for: the execution parked in front of
// it (its lock held by another execution, its transition disabled), or one
// of its conditions in progress.
func stageNote(e *engine.Execution, st engine.StageState) string {
	if w := e.Wait; w != nil && w.Stage == st.Name && !e.Status.Terminal() {
		if w.Reason == engine.WaitTransition {
			return "waiting: the inbound transition is disabled"
		}
		return "waiting: another execution is in the stage"
	}
	for _, id := range []string{st.EntryCondition, st.SuccessCondition} {
		if cr, ok := e.ConditionRunByID(id); ok && cr.Status == engine.InProgress {
			return "condition " + strings.ToLower(strings.ReplaceAll(cr.Kind, "_", " ")) + ": " + cr.Summary
		}
	}
	return ""
}

// waitingNote says what an action in progress waits for: the summary its
// driver set (e.g. "queued: waiting for a slot"), else a decision for an
// approval or a worker for a custom action's job.
func waitingNote(run *engine.ActionRun) string {
	if run.Status != engine.InProgress {
		return ""
	}
	switch {
	case run.Summary != "":
		return run.Summary
	case run.Type.Category == pipeline.CategoryApproval:
		return "waiting for approval"
	case run.Type.Owner == pipeline.OwnerCustom:
		return "waiting for a job worker"
	}
	return ""
}

// displayable makes a log line safe to draw inside the tree: tabs become
// spaces and other control characters (escape sequences, carriage
// returns) are dropped, so that the line's width is what it shows.
func displayable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// runeWidth is the number of columns a rune takes on a terminal: 0 for
// combining marks, 2 for East Asian wide characters and emoji, else 1.
func runeWidth(r rune) int {
	switch {
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || r == 0x200B:
		return 0
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF, r >= 0xAC00 && r <= 0xD7A3,
		r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F, r >= 0xFF00 && r <= 0xFF60,
		r >= 0xFFE0 && r <= 0xFFE6, r >= 0x1F300 && r <= 0x1F64F, r >= 0x1F900 && r <= 0x1F9FF,
		r >= 0x20000 && r <= 0x3FFFD:
		return 2
	}
	return 1
}

// displayWidth is the number of columns s takes (s holds no escape
// sequences).
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// fitWidth cuts s to at most width columns, ending it with "…" when it
// was cut; width 0 is no limit.
func fitWidth(s string, width int) string {
	if width <= 0 || displayWidth(s) <= width {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		w := runeWidth(r)
		if n+w > width-1 {
			break
		}
		b.WriteRune(r)
		n += w
	}
	b.WriteString("…")
	return b.String()
}

// padWidth pads s with spaces to width columns.
func padWidth(s string, width int) string {
	if n := displayWidth(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
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
