package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// The client subcommands talk to a Stageflow server's REST API.

func init() {
	subcommands = append(subcommands, newPipelineCmd, newStartCmd, newStopCmd, newStatusCmd,
		newExecutionsCmd, newLogsCmd,
		func() *cobra.Command { return newApprovalCmd("approve") },
		func() *cobra.Command { return newApprovalCmd("reject") })
}

func defaultEndpoint() string {
	if e := os.Getenv("STAGEFLOW_ENDPOINT"); e != "" {
		return e
	}
	return "http://" + defaultAddr
}

// client is a small REST client.
type client struct {
	endpoint string
	http     *http.Client
}

func addEndpointFlag(cmd *cobra.Command, c *client) {
	cmd.Flags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")
	c.http = &http.Client{}
}

// apiError is the REST door's error body.
type apiError struct {
	Status int
	Error  struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Problems []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"problems"`
	} `json:"error"`
}

func (e *apiError) err() error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Error.Code, e.Error.Message)
	for _, p := range e.Error.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Path, p.Message)
	}
	return fmt.Errorf("%s", b.String())
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (c *client) do(ctx context.Context, method, path string, body any, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	return nil
}

func (c *client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.endpoint, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u := os.Getenv("USER"); u != "" {
		req.Header.Set("X-Stageflow-User", u)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Stageflow server at %s (start it with `stageflow serve`): %w", c.endpoint, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		ae := &apiError{Status: resp.StatusCode}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, ae) != nil || ae.Error.Code == "" {
			return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
		}
		return nil, ae.err()
	}
	return resp, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func pathEsc(s string) string { return url.PathEscape(s) }

// ---- pipeline create|update|get|list|delete ----

func newPipelineCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "pipeline", Short: "Create, update, show, list and delete pipelines on a server"}
	cmd.PersistentFlags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")
	c.http = &http.Client{}

	create := &cobra.Command{
		Use: "create FILE...", Short: "Create pipelines from documents", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range args {
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				var out struct {
					Pipeline pipeline.Pipeline `json:"pipeline"`
				}
				if err := c.do(cmd.Context(), "POST", "/v1/pipelines", data, &out); err != nil {
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
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			doc, problems := pipeline.Parse(data)
			if len(problems) > 0 || doc.Pipeline.Name == "" {
				_, err := pipeline.Load(data)
				return fmt.Errorf("%s: %v", args[0], err)
			}
			var out struct {
				Pipeline pipeline.Pipeline `json:"pipeline"`
			}
			if err := c.do(cmd.Context(), "PUT", "/v1/pipelines/"+pathEsc(doc.Pipeline.Name), data, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updated pipeline %s (version %d)\n", out.Pipeline.Name, deref(out.Pipeline.Version))
			return nil
		},
	}
	var version int
	get := &cobra.Command{
		Use: "get NAME", Short: "Print a pipeline (as get-pipeline does)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/v1/pipelines/" + pathEsc(args[0])
			if version > 0 {
				path += "?version=" + strconv.Itoa(version)
			}
			var out json.RawMessage
			if err := c.do(cmd.Context(), "GET", path, nil, &out); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	get.Flags().IntVar(&version, "version", 0, "the version to show (default: the latest)")
	list := &cobra.Command{
		Use: "list", Short: "List pipelines", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tTYPE\tMODE\tUPDATED")
			token := ""
			for {
				var out struct {
					Pipelines []struct {
						Name          string  `json:"name"`
						Version       int     `json:"version"`
						PipelineType  string  `json:"pipelineType"`
						ExecutionMode string  `json:"executionMode"`
						Updated       float64 `json:"updated"`
					} `json:"pipelines"`
					NextToken string `json:"nextToken"`
				}
				if err := c.do(cmd.Context(), "GET", "/v1/pipelines?nextToken="+url.QueryEscape(token), nil, &out); err != nil {
					return err
				}
				for _, p := range out.Pipelines {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", p.Name, p.Version, p.PipelineType, p.ExecutionMode, epoch(p.Updated))
				}
				if token = out.NextToken; token == "" {
					break
				}
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a pipeline (its executions stay readable)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.do(cmd.Context(), "DELETE", "/v1/pipelines/"+pathEsc(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted pipeline %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, update, get, list, del)
	return cmd
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func epoch(f float64) string {
	if f == 0 {
		return "-"
	}
	return time.UnixMilli(int64(f * 1000)).Local().Format("2006-01-02 15:04:05")
}

// ---- start, stop ----

func newStartCmd() *cobra.Command {
	c := &client{}
	var vars []string
	var token string
	var watch bool
	cmd := &cobra.Command{
		Use: "start PIPELINE", Short: "Start an execution of a pipeline", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			overrides, err := parseVars(vars)
			if err != nil {
				return usageError{err}
			}
			var out struct {
				ID string `json:"pipelineExecutionId"`
			}
			body := map[string]any{"variables": overrides}
			if token != "" {
				body["clientRequestToken"] = token
			}
			if err := c.do(cmd.Context(), "POST", "/v1/pipelines/"+pathEsc(args[0])+"/executions", body, &out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out.ID)
			if watch {
				return c.watch(cmd, args[0], out.ID)
			}
			return nil
		},
	}
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
			body := map[string]any{"abandon": abandon, "reason": reason}
			if err := c.do(cmd.Context(), "POST", "/v1/pipelines/"+pathEsc(args[0])+"/executions/"+pathEsc(id)+"/stop", body, nil); err != nil {
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
	var out struct {
		Summaries []struct {
			ID string `json:"pipelineExecutionId"`
		} `json:"pipelineExecutionSummaries"`
	}
	if err := c.do(ctx, "GET", "/v1/pipelines/"+pathEsc(args[0])+"/executions?maxResults=1", nil, &out); err != nil {
		return "", err
	}
	if len(out.Summaries) == 0 {
		return "", fmt.Errorf("pipeline %s has no executions yet", args[0])
	}
	return out.Summaries[0].ID, nil
}

func (c *client) execution(ctx context.Context, name, id string) (*engine.Execution, error) {
	var e engine.Execution
	if err := c.do(ctx, "GET", "/v1/pipelines/"+pathEsc(name)+"/executions/"+pathEsc(id), nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// ---- status [--watch], executions ----

func newStatusCmd() *cobra.Command {
	c := &client{}
	var watch bool
	cmd := &cobra.Command{
		Use: "status PIPELINE [EXECUTION]", Short: "Show an execution's stage/action tree (default: the latest)", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.executionID(cmd.Context(), args)
			if err != nil {
				return err
			}
			if watch {
				return c.watch(cmd, args[0], id)
			}
			e, err := c.execution(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			for _, l := range renderTree(e, time.Now(), "…", isTerminal(cmd.OutOrStdout())) {
				fmt.Fprintln(cmd.OutOrStdout(), l)
			}
			if e.StatusSummary != "" {
				fmt.Fprintln(cmd.OutOrStdout(), e.StatusSummary)
			}
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the execution live until it ends")
	return cmd
}

// watch follows an execution's server-sent events until it ends, drawing
// the tree live on a terminal or printing events in a pipe. It exits 1 when
// the execution does not succeed.
func (c *client) watch(cmd *cobra.Command, name, id string) error {
	out := cmd.OutOrStdout()
	prog := newProgress(out, isTerminal(out), false)
	resp, err := c.send(cmd.Context(), "GET", "/v1/pipelines/"+pathEsc(name)+"/executions/"+pathEsc(id)+"/events", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var last *engine.Execution
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		case line == "" && data.Len() > 0:
			var e engine.Execution
			if err := json.Unmarshal([]byte(data.String()), &e); err == nil {
				last = &e
				prog.update(last)
			}
			data.Reset()
		}
		if last != nil && last.Status.Terminal() {
			break
		}
	}
	if last == nil {
		return fmt.Errorf("the server sent no state of execution %s", id)
	}
	if !last.Status.Terminal() {
		// The stream ended early; show the latest state we can read.
		if e, err := c.execution(cmd.Context(), name, id); err == nil {
			last = e
		}
	}
	prog.finish(last)
	if last.Status != engine.Succeeded {
		fmt.Fprintf(out, "\nexecution %s %s: %s\n", last.ID, strings.ToLower(string(last.Status)), last.StatusSummary)
		return exitError{1}
	}
	fmt.Fprintf(out, "\nexecution %s succeeded\n", last.ID)
	return nil
}

func newExecutionsCmd() *cobra.Command {
	c := &client{}
	var max int
	cmd := &cobra.Command{
		Use: "executions PIPELINE", Short: "List a pipeline's executions, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Summaries []struct {
					ID            string  `json:"pipelineExecutionId"`
					Status        string  `json:"status"`
					StatusSummary string  `json:"statusSummary"`
					StartTime     float64 `json:"startTime"`
					Trigger       struct {
						Type string `json:"triggerType"`
					} `json:"trigger"`
				} `json:"pipelineExecutionSummaries"`
			}
			if err := c.do(cmd.Context(), "GET", "/v1/pipelines/"+pathEsc(args[0])+"/executions?maxResults="+strconv.Itoa(max), nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EXECUTION\tSTATUS\tSTARTED\tTRIGGER\tSUMMARY")
			for _, s := range out.Summaries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Status, epoch(s.StartTime), s.Trigger.Type, s.StatusSummary)
			}
			return tw.Flush()
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().IntVar(&max, "max", 20, "how many to list")
	return cmd
}

// ---- logs [-f] ----

func newLogsCmd() *cobra.Command {
	c := &client{}
	var follow bool
	var action string
	cmd := &cobra.Command{
		Use:   "logs PIPELINE [EXECUTION] --action [STAGE/]ACTION",
		Short: "Print the log of an action run (default: the latest execution); -f follows it while it runs",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.executionID(cmd.Context(), args)
			if err != nil {
				return err
			}
			e, err := c.execution(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			run, err := pickRun(e, action)
			if err != nil {
				return err
			}
			path := "/v1/pipelines/" + pathEsc(args[0]) + "/executions/" + pathEsc(id) + "/actions/" + pathEsc(run.ID) + "/logs"
			if follow {
				resp, err := c.send(cmd.Context(), "GET", path+"?follow=true", nil)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
				return err
			}
			offset := int64(0)
			for {
				var page struct {
					Content    string `json:"content"`
					NextOffset int64  `json:"nextOffset"`
					Complete   bool   `json:"complete"`
				}
				if err := c.do(cmd.Context(), "GET", path+"?offset="+strconv.FormatInt(offset, 10), nil, &page); err != nil {
					return err
				}
				io.WriteString(cmd.OutOrStdout(), page.Content)
				if page.Complete || page.NextOffset <= offset {
					return nil
				}
				offset = page.NextOffset
			}
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing while the action runs")
	cmd.Flags().StringVar(&action, "action", "", "the action, as STAGE/ACTION or ACTION (default: the latest failed or running action)")
	return cmd
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

// ---- approve, reject ----

func newApprovalCmd(verb string) *cobra.Command {
	c := &client{}
	var stage, action, summary string
	status := "Approved"
	if verb == "reject" {
		status = "Rejected"
	}
	cmd := &cobra.Command{
		Use:   verb + " PIPELINE --stage STAGE --action ACTION",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a waiting manual approval",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if stage == "" || action == "" {
				return usageError{fmt.Errorf("--stage and --action are required")}
			}
			body := map[string]string{"stage": stage, "action": action, "status": status, "summary": summary}
			if err := c.do(cmd.Context(), "POST", "/v1/pipelines/"+pathEsc(args[0])+"/approvals", body, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s › %s\n", strings.ToLower(status), stage, action)
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().StringVar(&stage, "stage", "", "the approval's stage")
	cmd.Flags().StringVar(&action, "action", "", "the approval action")
	cmd.Flags().StringVar(&summary, "summary", verb+"d from the command line", "a note kept with the decision")
	return cmd
}
