package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/api/rest/restclient"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// The client subcommands talk to a Stageflow server's REST API.

func init() {
	subcommands = append(subcommands, newPipelineCmd, newStartCmd, newStopCmd, newStatusCmd,
		newExecutionsCmd)
}

func defaultEndpoint() string {
	if e := os.Getenv("STAGEFLOW_ENDPOINT"); e != "" {
		return e
	}
	return "http://" + defaultAddr
}

// client holds a command's --endpoint; api is the REST client of it.
type client struct {
	endpoint string
}

func addEndpointFlag(cmd *cobra.Command, c *client) {
	cmd.Flags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")
}

// api is a REST client of the endpoint signing with the credentials the
// command finds (credentials.go). Unsigned (no credentials found), it
// names $USER as the caller, which only a server run with --auth none
// takes at its word. When finding credentials fails, every request fails
// with that credentialsError, which run reports as it is
// (explainAuthError).
func (c *client) api() *restclient.Client {
	hc, signed, err := httpClient(context.Background())
	if err != nil {
		hc = &http.Client{Transport: failingTransport{err}}
	}
	rc := restclient.New(c.endpoint, hc)
	if !signed {
		rc.User = os.Getenv("USER")
	}
	return rc
}

// failingTransport fails every request with the error of finding
// credentials, so that the command reports it.
type failingTransport struct{ err error }

func (t failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, t.err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ---- pipeline create|update|get|list|delete ----

func newPipelineCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "pipeline", Short: "Create, update, show, list and delete pipelines on a server"}
	cmd.PersistentFlags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")

	create := &cobra.Command{
		Use: "create FILE...", Short: "Create pipelines from documents (each starts its first execution, as in CodePipeline)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range args {
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				out, err := c.api().CreatePipeline(cmd.Context(), data)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created pipeline %s (version %d)\n", out.Pipeline.Name, deref(out.Pipeline.Version))
			}
			return nil
		},
	}
	update := &cobra.Command{
		Use: "update FILE", Short: "Store a new version of a pipeline", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, doc, err := loadDocument(args[0])
			if err != nil {
				return err
			}
			out, err := c.api().UpdatePipeline(cmd.Context(), doc.Pipeline.Name, data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updated pipeline %s (version %d)\n", out.Pipeline.Name, deref(out.Pipeline.Version))
			return nil
		},
	}
	apply := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Create pipelines, or store a new version of those that exist when their declaration changed",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range args {
				if err := c.apply(cmd, f); err != nil {
					return err
				}
			}
			return nil
		},
	}
	var version int
	get := &cobra.Command{
		Use: "get NAME", Short: "Print a pipeline (as get-pipeline does)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := c.api().GetPipeline(cmd.Context(), args[0], version)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	get.Flags().IntVar(&version, "version", 0, "the version to show (default: the latest)")
	var listOutput string
	list := &cobra.Command{
		Use: "list", Short: "List pipelines", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := jsonOutput(listOutput)
			if err != nil {
				return err
			}
			all := []service.PipelineSummary{}
			api, token := c.api(), ""
			for {
				out, err := api.ListPipelines(cmd.Context(), 0, token)
				if err != nil {
					return err
				}
				all = append(all, out.Pipelines...)
				if token = out.NextToken; token == "" {
					break
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), all)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tTYPE\tMODE\tUPDATED")
			for _, p := range all {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", p.Name, p.Version, p.PipelineType, p.ExecutionMode, epoch(p.Updated))
			}
			return tw.Flush()
		},
	}
	addOutputFlag(list, &listOutput)
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a pipeline (its executions stay readable)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.api().DeletePipeline(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted pipeline %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, update, apply, get, list, del)
	return cmd
}

// loadDocument reads and checks a pipeline document; its problems are
// listed one per line, each with the file's name.
func loadDocument(file string) ([]byte, *pipeline.Document, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	doc, err := pipeline.Load(data)
	if err != nil {
		return nil, nil, fileError(file, err)
	}
	return data, doc, nil
}

// fileError is err of a document named file: a domain error with problems
// reads "FILE: message:" then a line per problem.
func fileError(file string, err error) error {
	e, ok := errs.As(err)
	if !ok || len(e.Problems) == 0 {
		return fmt.Errorf("%s: %w", file, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s:", file, e.Message)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s", p)
	}
	return errors.New(b.String())
}

// apply creates the pipeline of a document, or stores a new version of it
// when its declaration differs from the server's latest one.
func (c *client) apply(cmd *cobra.Command, file string) error {
	data, doc, err := loadDocument(file)
	if err != nil {
		return err
	}
	api, name, out := c.api(), doc.Pipeline.Name, cmd.OutOrStdout()
	cur, err := api.GetPipeline(cmd.Context(), name, 0)
	if isNotFound(err) {
		created, err := api.CreatePipeline(cmd.Context(), data)
		if err == nil {
			fmt.Fprintf(out, "created pipeline %s (version %d)\n", name, deref(created.Pipeline.Version))
			return nil
		}
		var re *restclient.Error
		if !errors.As(err, &re) || re.Code != "PipelineNameInUseException" {
			return fmt.Errorf("%s: %w", file, err)
		}
		// Created meanwhile by someone else: update it.
	} else if err != nil {
		return err
	} else if sameDeclaration(cur.Pipeline, doc.Pipeline) {
		fmt.Fprintf(out, "pipeline %s unchanged (version %d)\n", name, deref(cur.Pipeline.Version))
		return nil
	}
	updated, err := api.UpdatePipeline(cmd.Context(), name, data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	fmt.Fprintf(out, "updated pipeline %s (version %d)\n", name, deref(updated.Pipeline.Version))
	return nil
}

func isNotFound(err error) bool {
	var re *restclient.Error
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// sameDeclaration reports whether two declarations are the same, versions
// aside.
func sameDeclaration(a, b pipeline.Pipeline) bool {
	a.Version, b.Version = nil, nil
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func epoch(t *service.Timestamp) string {
	if t == nil {
		return "-"
	}
	return time.Time(*t).Local().Format("2006-01-02 15:04:05")
}

// ---- start, stop ----

func newStartCmd() *cobra.Command {
	c := &client{}
	var vars []string
	var token string
	var watch bool
	var output string
	cmd := &cobra.Command{
		Use: "start PIPELINE", Short: "Start an execution of a pipeline", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			overrides, err := parseVars(vars)
			if err != nil {
				return err
			}
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			id, err := c.api().StartExecution(cmd.Context(), args[0], rest.RESTStartExecution{Variables: overrides, ClientRequestToken: token})
			if err != nil {
				return err
			}
			if asJSON {
				err = printJSON(cmd.OutOrStdout(), map[string]string{"pipelineExecutionId": id})
			} else {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			if err == nil && watch {
				return c.watch(cmd, args[0], id, asJSON)
			}
			return err
		},
	}
	addOutputFlag(cmd, &output)
	addEndpointFlag(cmd, c)
	cmd.Flags().StringArrayVar(&vars, "var", nil, "pipeline variable override `NAME=VALUE` (repeatable)")
	cmd.Flags().StringVar(&token, "client-request-token", "", "idempotency token: a second start with the same token returns the same execution")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "watch the execution until it ends")
	return cmd
}

func newStopCmd() *cobra.Command {
	c := &client{}
	var abandon bool
	var reason string
	cmd := &cobra.Command{
		Use: "stop PIPELINE [EXECUTION]", Short: "Stop an execution (default: the latest)", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.executionID(cmd.Context(), args)
			if err != nil {
				return err
			}
			if err := c.api().StopExecution(cmd.Context(), args[0], id, rest.RESTStopExecution{Abandon: abandon, Reason: reason}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stopping execution %s\n", id)
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().BoolVar(&abandon, "abandon", false, "abandon running actions instead of letting them finish")
	cmd.Flags().StringVar(&reason, "reason", "", "why it is stopped")
	return cmd
}

// executionID is args[1], or the latest execution of pipeline args[0].
func (c *client) executionID(ctx context.Context, args []string) (string, error) {
	if len(args) > 1 {
		return args[1], nil
	}
	out, err := c.api().ListExecutions(ctx, args[0], "", 1, "")
	if err != nil {
		return "", err
	}
	if len(out.PipelineExecutionSummaries) == 0 {
		return "", fmt.Errorf("pipeline %s has no executions yet", args[0])
	}
	return out.PipelineExecutionSummaries[0].PipelineExecutionID, nil
}

// ---- status [--watch], executions ----

func newStatusCmd() *cobra.Command {
	c := &client{}
	var watch bool
	var output, lane string
	cmd := &cobra.Command{
		Use: "status PIPELINE [EXECUTION]", Short: "Show an execution's stage/action tree (default: the latest, of --lane)", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			var id string
			if l := laneFlag(cmd, lane); l != nil && len(args) == 1 {
				id, err = c.latestOfLane(cmd.Context(), args[0], *l)
			} else {
				id, err = c.executionID(cmd.Context(), args)
			}
			if err != nil {
				return err
			}
			if watch {
				return c.watch(cmd, args[0], id, asJSON)
			}
			e, err := c.api().GetExecution(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), e)
			}
			out := cmd.OutOrStdout()
			for _, l := range renderTree(e, treeOptions{now: time.Now(), spin: "…", color: isTerminal(out) && useColor(cmd), width: terminalWidth(out)}) {
				fmt.Fprintln(cmd.OutOrStdout(), l)
			}
			if e.StatusSummary != "" {
				fmt.Fprintln(cmd.OutOrStdout(), displayable(e.StatusSummary))
			}
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the execution live until it ends")
	addLaneFlag(cmd, &lane, "without EXECUTION, show the latest execution of this lane")
	addOutputFlag(cmd, &output)
	return cmd
}

// addLaneFlag adds --lane: the value of the pipeline's StageflowLane
// variable ("" for the executions in no lane).
func addLaneFlag(cmd *cobra.Command, lane *string, usage string) {
	cmd.Flags().StringVar(lane, "lane", "", usage+` (the value of StageflowLane; "" for no lane)`)
}

// laneFlag is the --lane given, nil when it was not.
func laneFlag(cmd *cobra.Command, lane string) *string {
	if !cmd.Flags().Changed("lane") {
		return nil
	}
	return &lane
}

// latestOfLane is the ID of the latest execution of a lane of a pipeline.
func (c *client) latestOfLane(ctx context.Context, name, lane string) (string, error) {
	q := service.ListExecutionsQuery{PipelineName: name, Lane: &lane, MaxResults: 1}
	for {
		out, err := c.api().ListExecutionsIn(ctx, q)
		if err != nil {
			return "", err
		}
		if len(out.PipelineExecutionSummaries) > 0 {
			return out.PipelineExecutionSummaries[0].PipelineExecutionID, nil
		}
		if q.NextToken = out.NextToken; q.NextToken == "" {
			return "", fmt.Errorf("pipeline %s has no executions in lane %q", name, lane)
		}
	}
}

// watch follows an execution's server-sent events until it ends, drawing
// the tree live on a terminal or printing events in a pipe (JSON lines with
// asJSON). It exits 1 when the execution does not succeed.
func (c *client) watch(cmd *cobra.Command, name, id string, asJSON bool) error {
	out := cmd.OutOrStdout()
	prog := newProgress(out, isTerminal(out), asJSON, useColor(cmd))
	api := c.api()
	ctx, stop, interrupted := interruptible(cmd.Context())
	defer stop()
	events, err := api.Events(ctx, name, id)
	if err != nil {
		return err
	}
	defer events.Close()
	var last *engine.Execution
	for last == nil || !last.Status.Terminal() {
		e, err := events.Next()
		if err != nil {
			break // the stream ended (or broke): see below
		}
		last = e
		prog.update(last)
	}
	if interrupted() {
		if last != nil {
			prog.finish(last)
		}
		return exitInterrupted // the execution goes on on the server
	}
	if last == nil {
		return fmt.Errorf("the server sent no state of execution %s", id)
	}
	if !last.Status.Terminal() {
		// The stream ended early; show the latest state we can read.
		if e, err := api.GetExecution(cmd.Context(), name, id); err == nil {
			last = e
		}
	}
	prog.finish(last)
	switch {
	case asJSON && last.Status != engine.Succeeded:
		return exitError{1}
	case asJSON:
		return nil
	}
	if last.Status != engine.Succeeded {
		o := outcome(last)
		if !isTerminal(out) {
			o = briefOutcome(last) // the error is in the action's event
		}
		fmt.Fprintf(out, "\nexecution %s %s\n", last.ID, o)
		return exitError{1}
	}
	fmt.Fprintf(out, "\nexecution %s succeeded\n", last.ID)
	return nil
}

func newExecutionsCmd() *cobra.Command {
	c := &client{}
	var max int
	var output, lane string
	cmd := &cobra.Command{
		Use: "executions PIPELINE", Short: "List a pipeline's executions, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			if max < 1 || max > 100 {
				return usageError{fmt.Errorf("--max must be 1..100, got %d", max)}
			}
			rows, err := c.executions(cmd.Context(), service.ListExecutionsQuery{PipelineName: args[0], Lane: laneFlag(cmd, lane), MaxResults: max})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			laned := slices.ContainsFunc(rows, func(s service.LanedExecutionSummary) bool { return s.Lane != "" })
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if laned {
				fmt.Fprintln(tw, "EXECUTION\tSTATUS\tLANE\tSTARTED\tTRIGGER\tSUMMARY")
			} else {
				fmt.Fprintln(tw, "EXECUTION\tSTATUS\tSTARTED\tTRIGGER\tSUMMARY")
			}
			for _, s := range rows {
				trigger := ""
				if s.Trigger != nil {
					trigger = s.Trigger.TriggerType
				}
				if laned {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.PipelineExecutionID, s.Status, displayable(s.Lane), epoch(s.StartTime), trigger, displayable(s.StatusSummary))
				} else {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.PipelineExecutionID, s.Status, epoch(s.StartTime), trigger, displayable(s.StatusSummary))
				}
			}
			return tw.Flush()
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().IntVar(&max, "max", 20, "how many to list (1..100)")
	addLaneFlag(cmd, &lane, "list only the executions of this lane")
	addOutputFlag(cmd, &output)
	return cmd
}

// executions reads up to q.MaxResults of a pipeline's executions, newest
// first, through as many pages as a lane's listing takes (its pages may
// come back short).
func (c *client) executions(ctx context.Context, q service.ListExecutionsQuery) ([]service.LanedExecutionSummary, error) {
	rows := []service.LanedExecutionSummary{}
	want := q.MaxResults
	for len(rows) < want {
		q.MaxResults = want - len(rows)
		out, err := c.api().ListExecutionsIn(ctx, q)
		if err != nil {
			return nil, err
		}
		rows = append(rows, out.PipelineExecutionSummaries...)
		if q.NextToken = out.NextToken; q.NextToken == "" {
			break
		}
	}
	return rows, nil
}
