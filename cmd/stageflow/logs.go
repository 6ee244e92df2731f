package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api/rest/restclient"
	"github.com/stageflow/stageflow/shared/engine"
)

// ---- logs [-f] [--output json] ----

func init() { subcommands = append(subcommands, newLogsCmd) }

func newLogsCmd() *cobra.Command {
	c := &client{}
	var follow bool
	var action, output string
	cmd := &cobra.Command{
		Use:   "logs PIPELINE [EXECUTION] [--action [STAGE/]ACTION]",
		Short: "Print an action run's log (default: the latest execution); -f follows the whole execution, or the action named",
		Long: `Logs prints the log of one action run of an execution (default: the
latest execution; the action named by --action, else the latest failed or
running one), as it is.

With -f and no --action it follows the whole execution: every action's log
as the execution reaches it, each line prefixed with [Stage/Action], until
the execution ends. With -f and --action it follows that action until it
ends.

With --output json every line is a JSON object of its own:
{"time", "executionId", "pipeline", "stage", "action", "runId", "log"},
as run --output json prints them.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			id, err := c.executionID(cmd.Context(), args)
			if err != nil {
				return err
			}
			api := c.api()
			e, err := api.GetExecution(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			lw := &logWriter{w: cmd.OutOrStdout(), json: asJSON, execution: e}
			if follow && action == "" {
				return followExecutionLogs(cmd, api, e, lw)
			}
			run, err := pickRun(e, action)
			if err != nil {
				return err
			}
			if follow {
				log, err := api.FollowLog(cmd.Context(), args[0], id, run.ID, 0)
				if err != nil {
					return err
				}
				defer log.Close()
				return lw.copy(run, log, false)
			}
			offset := int64(0)
			for {
				page, err := api.LogPage(cmd.Context(), args[0], id, run.ID, offset, 0)
				if err != nil {
					return err
				}
				lw.page(run, page.Content, page.Complete || page.NextOffset <= offset)
				if page.Complete || page.NextOffset <= offset {
					return nil
				}
				offset = page.NextOffset
			}
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing while the execution (or the action named) runs")
	cmd.Flags().StringVar(&action, "action", "", "the action, as STAGE/ACTION or ACTION (default: the latest failed or running action)")
	addOutputFlag(cmd, &output)
	return cmd
}

// logWriter prints log lines: as they are, prefixed with their action, or
// as JSON objects; several actions' lines may come at once, a line at a
// time.
type logWriter struct {
	mu        sync.Mutex
	w         io.Writer
	json      bool
	execution *engine.Execution
	partial   map[string]string // run ID → a line not ended yet (page)
}

func (lw *logWriter) line(run *engine.ActionRun, line string, prefixed bool) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	switch {
	case lw.json:
		b, _ := json.Marshal(logEvent{Time: time.Now().UTC(), ExecutionID: lw.execution.ID, Pipeline: lw.execution.PipelineName,
			Stage: run.Stage, Action: run.Action, RunID: run.ID, Log: line})
		fmt.Fprintf(lw.w, "%s\n", b)
	case prefixed:
		fmt.Fprintln(lw.w, logPrefix(run)+line)
	default:
		fmt.Fprintln(lw.w, line)
	}
}

// copy prints a log stream line by line (text as it is, unprefixed,
// is copied unchanged).
func (lw *logWriter) copy(run *engine.ActionRun, r io.Reader, prefixed bool) error {
	if !lw.json && !prefixed {
		lw.mu.Lock()
		defer lw.mu.Unlock()
		_, err := io.Copy(lw.w, r)
		return err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			lw.line(run, strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r"), prefixed)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// page prints a page of a log; in JSON a line cut by the page's end waits
// for the next page.
func (lw *logWriter) page(run *engine.ActionRun, content string, last bool) {
	if !lw.json {
		lw.mu.Lock()
		io.WriteString(lw.w, content)
		lw.mu.Unlock()
		return
	}
	if lw.partial == nil {
		lw.partial = map[string]string{}
	}
	content = lw.partial[run.ID] + content
	lines := strings.Split(content, "\n")
	lw.partial[run.ID] = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		lw.line(run, strings.TrimSuffix(l, "\r"), false)
	}
	if last && lw.partial[run.ID] != "" {
		lw.line(run, lw.partial[run.ID], false)
		delete(lw.partial, run.ID)
	}
}

// followExecutionLogs follows every action run of an execution as the
// execution reaches it, until the execution has ended and every log has
// been read to its end.
func followExecutionLogs(cmd *cobra.Command, api *restclient.Client, e *engine.Execution, lw *logWriter) error {
	ctx, stop, interrupted := interruptible(cmd.Context())
	defer stop()
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
		started  = map[string]bool{}
	)
	startRuns := func(e *engine.Execution) {
		for i := range e.Actions {
			run := e.Actions[i]
			if started[run.ID] {
				continue
			}
			started[run.ID] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := followRun(ctx, api, e, &run, lw)
				if err != nil && ctx.Err() == nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s › %s: %w", run.Stage, run.Action, err)
					}
					errMu.Unlock()
				}
			}()
		}
	}
	startRuns(e)
	if !e.Status.Terminal() {
		events, err := api.Events(ctx, e.PipelineName, e.ID)
		if err != nil {
			return err
		}
		for {
			next, err := events.Next()
			if err != nil {
				break // the stream ended (at the execution's end) or broke: see below
			}
			startRuns(next)
			if next.Status.Terminal() {
				break
			}
		}
		events.Close()
		if ctx.Err() == nil {
			// Whatever ended the stream, the last state names every run.
			if last, err := api.GetExecution(ctx, e.PipelineName, e.ID); err == nil {
				startRuns(last)
			}
		}
	}
	wg.Wait()
	if interrupted() {
		return exitInterrupted
	}
	return firstErr
}

// followRun prints one run's log, prefixed, while the run goes on.
func followRun(ctx context.Context, api *restclient.Client, e *engine.Execution, run *engine.ActionRun, lw *logWriter) error {
	log, err := api.FollowLog(ctx, e.PipelineName, e.ID, run.ID, 0)
	if err != nil {
		return err
	}
	defer log.Close()
	return lw.copy(run, log, true)
}

// pickRun chooses the action run a logs command means.
func pickRun(e *engine.Execution, spec string) (*engine.ActionRun, error) {
	stage, action, ok := strings.Cut(spec, "/")
	if !ok {
		stage, action = "", spec
	}
	var found *engine.ActionRun
	for i := range e.Actions {
		r := &e.Actions[i]
		switch {
		case spec == "" && (r.Status == engine.Failed || r.Status == engine.InProgress):
			found = r
		case spec != "" && r.Action == action && (stage == "" || r.Stage == stage):
			found = r
		}
	}
	if found == nil && spec == "" && len(e.Actions) > 0 {
		found = &e.Actions[len(e.Actions)-1]
	}
	if found == nil {
		if spec == "" {
			return nil, fmt.Errorf("execution %s has run no action yet", e.ID)
		}
		return nil, fmt.Errorf("execution %s has no run of action %q", e.ID, spec)
	}
	return found, nil
}
