package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/service"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

func init() { subcommands = append(subcommands, newRunCmd) }

func newRunCmd() *cobra.Command {
	var (
		vars    []string
		sources []string
		dataDir string
		approve bool
		output  string
		quiet   bool
		res     *resourceFlags
	)
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a pipeline once on this machine, without a server",
		Long: `Run executes a pipeline document once with the embedded store in a data
directory and shows its progress: a live stage/action tree on a terminal, one
event per line in a pipe or with --output json. What the actions print is
shown as it comes: lines prefixed with [Stage/Action] in a pipe (JSON objects
with a "log" member with --output json), the last lines of each running
action under it in the tree, and the whole output above the tree when the
action ends; --quiet shows the tree or the events alone. It exits 0 when the
execution succeeds and 1 when it does not.

Source actions (CodeStarSourceConnection, CodeCommit) fetch nothing: they
take the git work tree the command runs in as it is, committed and
uncommitted files alike, leaving out what .gitignore ignores, with the
commit variables of HEAD. --source ACTION=DIR feeds the named source action
(S3 too) from the directory DIR instead.

A manual approval asks on the terminal, or is approved at once with --approve;
without a terminal and without --approve it fails at once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			overrides, err := parseVars(vars)
			if err != nil {
				return err
			}
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			if err := res.check(); err != nil {
				return err
			}
			dirs, err := parseSources(sources)
			if err != nil {
				return err
			}
			return runOnce(cmd, args[0], runOptions{dataDir: dataDir, vars: overrides, sources: dirs, approve: approve, json: asJSON, quiet: quiet, res: res})
		},
	}
	cmd.Flags().StringArrayVar(&vars, "var", nil, "pipeline variable override `NAME=VALUE` (repeatable)")
	cmd.Flags().StringArrayVar(&sources, "source", nil, "feed source action `ACTION=DIR` from the directory DIR (repeatable; default: the git work tree run in)")
	cmd.Flags().StringVar(&dataDir, "data-dir", embedded.DefaultDataDir(), "where the embedded store, artifacts and logs live")
	cmd.Flags().BoolVar(&approve, "approve", false, "approve every manual approval at once")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "show the tree (or the events) alone, not what the actions print")
	addOutputFlag(cmd, &output)
	res = addResourceFlags(cmd)
	return cmd
}

func parseVars(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--var %q: want NAME=VALUE", kv)}
		}
		out[k] = v
	}
	return out, nil
}

// parseSources reads --source ACTION=DIR flags: each DIR must be a
// directory, each ACTION named once.
func parseSources(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, usageError{fmt.Errorf("--source %q: want ACTION=DIR", kv)}
		}
		if _, dup := out[k]; dup {
			return nil, usageError{fmt.Errorf("--source: action %q is given twice", k)}
		}
		info, err := os.Stat(v)
		switch {
		case err != nil:
			return nil, usageError{fmt.Errorf("--source %s: directory %s: %w", kv, v, errors.Unwrap(err))}
		case !info.IsDir():
			return nil, usageError{fmt.Errorf("--source %s: %s is not a directory", kv, v)}
		}
		out[k] = v
	}
	return out, nil
}

// checkSources refuses --source names that are not source actions of p.
func checkSources(p *pipeline.Pipeline, dirs map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(dirs)) {
		var found *pipeline.Action
		for si := range p.Stages {
			for ai := range p.Stages[si].Actions {
				if a := &p.Stages[si].Actions[ai]; a.Name == name {
					found = a
				}
			}
		}
		switch {
		case found == nil:
			return usageError{fmt.Errorf("--source %s=…: pipeline %s has no action %q", name, p.Name, name)}
		case found.ActionTypeID.Category != pipeline.CategorySource:
			return usageError{fmt.Errorf("--source %s=…: action %q is a %s action (%s), not a source action", name, name, found.ActionTypeID.Category, found.ActionTypeID.Provider)}
		}
	}
	return nil
}

type runOptions struct {
	dataDir string
	vars    map[string]string
	sources map[string]string
	approve bool
	json    bool
	quiet   bool
	res     *resourceFlags
}

func runOnce(cmd *cobra.Command, file string, opt runOptions) error {
	out := cmd.OutOrStdout()
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ctx, stop, interrupted := interruptible(cmd.Context())
	defer stop()

	stdinTTY := isTerminal(cmd.InOrStdin())
	live := isTerminal(out) && !opt.json
	prog := newProgress(out, live, opt.json, useColor(cmd))

	decide := func(ctx context.Context, job *actions.Job) *engine.Result {
		switch {
		case opt.approve:
			r := approval.Result(approval.Approved, "approved with --approve", "stageflow run --approve")
			return &r
		case stdinTTY && live:
			resume := prog.pause()
			defer resume()
			r := askApproval(ctx, cmd.InOrStdin(), out, job)
			return &r
		}
		return actions.Failed("ApprovalNeeded", "approval %q needs a decision, but there is no terminal to ask on: run on a terminal, or pass --approve", job.Run.Action)
	}

	if len(opt.sources) > 0 {
		if doc, err := pipeline.Load(data); err == nil { // else applyDocument says what is wrong
			if err := checkSources(&doc.Pipeline, opt.sources); err != nil {
				return err
			}
		}
	}
	if !opt.approve && !(stdinTTY && live) {
		if doc, err := pipeline.Load(data); err == nil {
			if as := approvals(&doc.Pipeline); len(as) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "stageflow run: the pipeline has a manual approval (%s › %s) and there is no terminal to ask on: run on a terminal, or pass --approve\n", as[0].stage, as[0].action)
				return exitError{1}
			}
		}
	}

	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	eopt := embedded.Options{DataDir: opt.dataDir, Decide: decide, OneShot: true, LocalSources: opt.sources, WorkTree: wd}
	if opt.res != nil {
		opt.res.apply(&eopt)
	}
	sys, err := embedded.Open(eopt)
	if err != nil {
		return err
	}
	defer sys.Close(context.WithoutCancel(ctx))
	ctx = service.LocalCaller(ctx, "stageflow run")
	name, err := applyDocument(ctx, sys.Service, data)
	if err != nil {
		return fileError(file, err)
	}
	// What the actions print is read from their log files as they grow.
	var follower *logFollower
	if !opt.quiet {
		follower = newLogFollower(prog, func(execID, runID string) string { return sys.Runner.LogPath(execID, runID) })
		defer follower.stop(nil) // on the paths that end early
	}
	sys.Runner.OnChange = func(e *engine.Execution) {
		if follower != nil {
			follower.track(e)
		}
		prog.update(e)
	}
	e, err := sys.Service.StartExecution(ctx, service.StartInput{PipelineName: name, Variables: opt.vars, TriggerType: "StageflowRun", TriggerDetail: file})
	if err != nil {
		return err
	}
	if follower != nil {
		follower.follow(e.ID)
	}
	final, err := sys.Runner.Wait(ctx, e.ID)
	if errors.Is(err, context.Canceled) {
		// Interrupted: abandon what runs and record it.
		_ = sys.Runner.Stop(context.WithoutCancel(ctx), e.ID, true, "interrupted by the user", "")
		final, err = sys.Store.GetExecution(context.WithoutCancel(ctx), e.ID)
	}
	if err != nil {
		return err
	}
	if follower != nil {
		follower.stop(final) // every line before the final state
	}
	prog.finish(final)
	if interrupted() {
		if !opt.json {
			fmt.Fprintf(out, "\nexecution %s interrupted: %s\n", final.ID, strings.ToLower(string(final.Status)))
		}
		return exitInterrupted
	}
	if final.Status == engine.Succeeded {
		if !opt.json {
			fmt.Fprintf(out, "\nexecution %s succeeded in %s (logs: %s)\n", final.ID, formatDuration(final.EndTime.Sub(final.StartTime)),
				filepath.Dir(sys.Runner.LogPath(final.ID, "run")))
		}
		return nil
	}
	if !opt.json {
		if live {
			fmt.Fprintf(out, "\nexecution %s %s\n", final.ID, outcome(final))
		} else {
			fmt.Fprintf(out, "\nexecution %s %s\n", final.ID, briefOutcome(final)) // the error is in the action's event
		}
		if opt.quiet {
			showFailedLogs(out, final)
		} else {
			showFailedLogPaths(out, final) // their lines are shown already
		}
	}
	return exitError{1}
}

// showFailedLogs prints the tail of the log of every failed action.
func showFailedLogs(w io.Writer, e *engine.Execution) {
	for _, r := range e.Actions {
		if r.Status != engine.Failed || r.LogLocation == "" {
			continue
		}
		lines, err := tailFile(r.LogLocation, 20)
		if err != nil || len(lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n── last lines of %s › %s (%s) ──\n", r.Stage, r.Action, r.LogLocation)
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

// showFailedLogPaths says where the log of every failed action is.
func showFailedLogPaths(w io.Writer, e *engine.Execution) {
	for _, r := range e.Actions {
		if r.Status == engine.Failed && r.LogLocation != "" {
			fmt.Fprintf(w, "── log of %s › %s: %s\n", r.Stage, r.Action, r.LogLocation)
		}
	}
}

func tailFile(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines, sc.Err()
}

func askApproval(ctx context.Context, in io.Reader, out io.Writer, job *actions.Job) engine.Result {
	fmt.Fprintf(out, "\nApproval %q in stage %q is waiting.\n", job.Run.Action, job.Run.Stage)
	if d := job.Run.Configuration[approval.ConfigCustomData]; d != "" {
		fmt.Fprintf(out, "  %s\n", d)
	}
	if l := job.Run.Configuration[approval.ConfigExternalEntityLink]; l != "" {
		fmt.Fprintf(out, "  review: %s\n", l)
	}
	fmt.Fprint(out, "Approve? [y/N] ")
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- strings.TrimSpace(strings.ToLower(line))
	}()
	who := "terminal user"
	if u := os.Getenv("USER"); u != "" {
		who = u
	}
	select {
	case a := <-answer:
		if a == "y" || a == "yes" {
			return approval.Result(approval.Approved, "approved on the terminal", who)
		}
		return approval.Result(approval.Rejected, "rejected on the terminal", who)
	case <-ctx.Done():
		return approval.Result(approval.Rejected, "interrupted", who)
	}
}

// approvalAction is a manual approval of a pipeline.
type approvalAction struct{ stage, action string }

// approvals lists a pipeline's manual approvals in order.
func approvals(p *pipeline.Pipeline) []approvalAction {
	var out []approvalAction
	for _, s := range p.Stages {
		for _, a := range s.Actions {
			if a.ActionTypeID.Category == pipeline.CategoryApproval {
				out = append(out, approvalAction{s.Name, a.Name})
			}
		}
	}
	return out
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth is the width in columns of the terminal w is, or 0.
func terminalWidth(w any) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return cols
}

// applyDocument loads a pipeline document and stores it through the service:
// a new pipeline, or a new version when its declaration changed. It returns
// the pipeline's name. It starts nothing, even when it creates the pipeline:
// `run` starts its one execution itself, `serve --load` only what --start
// names.
func applyDocument(ctx context.Context, svc *service.Service, data []byte) (string, error) {
	doc, err := pipeline.Load(data)
	if err != nil {
		return "", err
	}
	_, _, err = svc.ApplyPipeline(service.WithoutFirstExecution(ctx), doc.Pipeline, doc.Tags)
	return doc.Pipeline.Name, err
}
