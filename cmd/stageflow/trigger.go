package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/triggers"
)

func init() { subcommands = append(subcommands, newTriggerCmd) }

func newTriggerCmd() *cobra.Command {
	root := &cobra.Command{Use: "trigger", Short: "Work with pipelines' V2 triggers"}
	var c client
	var eventType, connection, output string
	test := &cobra.Command{
		Use:   "test PIPELINE EVENT.json",
		Short: "Show which triggers a sample GitHub event fires, and why the others do not",
		Long: `Test evaluates a pipeline's triggers against a GitHub-compatible event
(push, pull_request), as the event endpoint of a connection does, without
starting anything. PIPELINE is a pipeline document (as validate takes), or,
when no such file exists, the name of a pipeline on the server.

Exit status: 0 when the pipeline would start, 1 when it would not, 2 on bad
input (a wrong command line, an unreadable or invalid pipeline or event).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("trigger test needs PIPELINE and EVENT.json")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			p, err := c.triggerPipeline(cmd, args[0])
			if err != nil {
				return usageError{err}
			}
			body, err := readEvent(args[1])
			if err != nil {
				return usageError{err}
			}
			typ := eventType
			if typ == "" {
				typ = triggers.GuessType(body)
			}
			if typ != triggers.EventPush && typ != triggers.EventPullRequest {
				return usageError{fmt.Errorf("%s: event type %q: only push and pull_request events start pipelines", args[1], typ)}
			}
			ev, err := triggers.Parse(typ, body)
			if err != nil {
				return usageError{fmt.Errorf("%s: %w", args[1], err)}
			}
			res := triggers.NewEvaluator(ev, triggers.Options{ConnectionArn: connection}).Evaluate(cmd.Context(), p)
			if asJSON {
				err = printJSON(cmd.OutOrStdout(), res)
			} else {
				err = writeTriggerResult(cmd.OutOrStdout(), ev, res)
			}
			if err != nil {
				return err
			}
			if !res.Fired {
				return exitError{1}
			}
			return nil
		},
	}
	test.Flags().StringVar(&eventType, "event-type", "", "push or pull_request (default: guessed from the payload)")
	test.Flags().StringVar(&connection, "connection", "", "the connection ARN the event comes through (default: any)")
	addOutputFlag(test, &output)
	addEndpointFlag(test, &c)
	root.AddCommand(test)
	return root
}

// triggerPipeline reads a pipeline document, or the named pipeline from the
// server when no file of that name exists.
func (c *client) triggerPipeline(cmd *cobra.Command, arg string) (*pipeline.Pipeline, error) {
	if _, err := os.Stat(arg); err == nil {
		_, doc, err := loadDocument(arg)
		if err != nil {
			return nil, err
		}
		return &doc.Pipeline, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	out, err := c.api().GetPipeline(cmd.Context(), arg, 0)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a file nor a pipeline on the server: %w", arg, err)
	}
	return &out.Pipeline, nil
}

func readEvent(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the event: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the event: %w", file, err)
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("%s: the event is larger than 1 MiB", file)
	}
	return data, nil
}

func writeTriggerResult(out io.Writer, ev *triggers.Event, r triggers.Result) error {
	w := &strings.Builder{}
	what := ""
	if ev.Push != nil {
		what = "push of " + ev.Push.Ref
	} else {
		what = fmt.Sprintf("pull request #%d (%s) into %s", ev.PR.Number, ev.PR.Action, ev.PR.BaseRef)
	}
	if r.Fired {
		fmt.Fprintf(w, "%s: starts on the %s to %s\n", r.Pipeline, what, ev.Repository)
	} else {
		fmt.Fprintf(w, "%s: does not start on the %s to %s\n", r.Pipeline, what, ev.Repository)
	}
	for _, f := range r.Findings {
		mark := "no "
		if f.Matched {
			mark = "yes"
		}
		name := f.Action
		if name != "" {
			name += " "
		}
		fmt.Fprintf(w, "  %s %s%s: %s\n", mark, name, f.Filter, f.Reason)
	}
	for _, rev := range r.Revisions {
		fmt.Fprintf(w, "  source revision %s %s=%s (trigger %s)\n", rev.Action, rev.Type, rev.Value, r.TriggerType)
	}
	_, err := io.WriteString(out, w.String())
	return err
}
