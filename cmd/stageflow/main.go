// Command stageflow is the Stageflow command line: a self-hosted pipeline
// service compatible with AWS CodePipeline documents.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// subcommands holds the constructors of the root's subcommands. Each
// subcommand lives in its own file and registers itself from an init
// function:
//
//	func init() { subcommands = append(subcommands, newFooCmd) }
//
// Exit codes: a command that has printed its own report returns
// exitError{code}; a wrong command line is a usageError (exit 2); any other
// error is printed as "stageflow: <error>" and exits 1.
var subcommands []func() *cobra.Command

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// newRootCmd builds the root command with every registered subcommand.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "stageflow",
		Short:         "Stageflow runs pipelines written for AWS CodePipeline",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{err}
	})
	root.Version = versionString()
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().Bool("no-color", false, "no colour in the output (also when NO_COLOR is set)")
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd())
	}
	markUsageErrors(root)
	return root
}

// run executes the command line and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ex exitError
	if errors.As(err, &ex) {
		// The command has already said what went wrong.
		return ex.code
	}
	err = explainAuthError(err)
	fmt.Fprintln(stderr, "stageflow:", err)
	var usage usageError
	if errors.As(err, &usage) || isCobraUsage(err) {
		return 2
	}
	return 1
}

// exitError ends the program with a code after the command has printed its
// own report.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError marks a wrong command line; it exits with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
