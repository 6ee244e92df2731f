package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// What every command shares: usage errors, colour, interrupts, --output.

// noColor is the root's --no-color flag.
var noColor bool

// useColor reports whether output may carry colour: not with --no-color nor
// when NO_COLOR is set to anything (https://no-color.org).
func useColor() bool { return !noColor && os.Getenv("NO_COLOR") == "" }

// markUsageErrors makes the positional-argument errors of cmd and its
// subcommands usage errors (exit 2), and a command group without a
// subcommand, or with an unknown one, a usage error too.
func markUsageErrors(cmd *cobra.Command) {
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	if cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil && cmd.HasParent() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usageError{fmt.Errorf("%s needs a subcommand (see %s --help)", c.CommandPath(), c.CommandPath())}
			}
			return usageError{fmt.Errorf("unknown command %q for %q%s", a[0], c.CommandPath(), suggestCommand(c, a[0]))}
		}
	}
	for _, sub := range cmd.Commands() {
		markUsageErrors(sub)
	}
}

func suggestCommand(c *cobra.Command, name string) string {
	var names []string
	for _, sub := range c.Commands() {
		names = append(names, sub.Name())
	}
	return strictjson.Suggest(name, names)
}

// isCobraUsage tells cobra's own command-line errors, which are not typed.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "required flag(s) ", "if any flags in the group", "invalid argument "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// interruptible is ctx until Ctrl-C (or SIGTERM); interrupted reports
// whether that came.
func interruptible(ctx context.Context) (_ context.Context, stop func(), interrupted func() bool) {
	ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	return ctx, stop, func() bool { return ctx.Err() != nil }
}

// exitInterrupted is the exit after Ctrl-C: 128 + SIGINT.
var exitInterrupted = exitError{130}

// addOutputFlag adds --output/-o text|json.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "text", "output format: text or json")
}

// jsonOutput reports whether --output asks for JSON; another value than
// text or json is a usage error.
func jsonOutput(output string) (bool, error) {
	switch output {
	case "text":
		return false, nil
	case "json":
		return true, nil
	}
	return false, usageError{fmt.Errorf(`--output must be "text" or "json", got %q`, output)}
}

// outcome says how an execution ended, e.g. "failed: action "X" failed" or
// "stopped: by the user", naming the status once even when the summary
// starts with it.
func outcome(e *engine.Execution) string {
	status := strings.ToLower(string(e.Status))
	switch {
	case e.StatusSummary == "", strings.EqualFold(e.StatusSummary, status):
		return status
	case strings.HasPrefix(strings.ToLower(e.StatusSummary), status+": "):
		return e.StatusSummary
	}
	return status + ": " + e.StatusSummary
}

// briefOutcome is outcome without the error of the failed action it ends
// with, for output that has shown that error already (its event line).
func briefOutcome(e *engine.Execution) string {
	o := outcome(e)
	for _, r := range e.Actions {
		if r.Status == engine.Failed && r.ErrorMessage != "" {
			if cut, ok := strings.CutSuffix(o, ": "+r.ErrorMessage); ok {
				return cut
			}
		}
	}
	return o
}
