package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/service"
)

func init() { subcommands = append(subcommands, newWebhookCmd) }

// ---- webhook create|list|delete: V1 webhooks through the CodePipeline door ----

// cpCall sends one operation of the CodePipeline door to the endpoint,
// signed as the other client commands sign, and decodes its output.
func (c *client) cpCall(ctx context.Context, operation string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	hc, _, err := httpClient(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", cpdoor.ContentType)
	req.Header.Set("X-Amz-Target", cpdoor.TargetPrefix+operation)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Type == "" {
			return fmt.Errorf("%s: HTTP %d", operation, resp.StatusCode)
		}
		return fmt.Errorf("%s: %s", e.Type, e.Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func newWebhookCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "webhook", Short: "Create, list and delete V1 webhooks (CodePipeline's PutWebhook)"}
	cmd.PersistentFlags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")

	var pipelineName, action, auth, secretFile, secretEnv, ipRange, output string
	var filters []string
	create := &cobra.Command{
		Use:   "create NAME --pipeline P --action A --filter 'JSONPATH=MATCH'... --auth GITHUB_HMAC|IP|UNAUTHENTICATED",
		Short: "Create or replace a webhook; prints its URL",
		Long: `Create makes (or replaces) a webhook that starts pipeline P when a POST to its
URL passes its authentication and every filter. A filter is JSONPATH=MATCH:
the JSONPath expression (RFC 9535) must select a value equal to MATCH, in
which {Key} stands for the target action's configuration value of Key (such
as refs/heads/{BranchName}); a filter without =MATCH needs the path to select
something. GITHUB_HMAC takes the secret from --secret-file or --secret-env
(never from the command line); IP takes --allowed-ip-range CIDR.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			if pipelineName == "" || action == "" || len(filters) == 0 || auth == "" {
				return usageError{fmt.Errorf("--pipeline, --action, --filter and --auth are required")}
			}
			d := service.WebhookDefinition{Name: args[0], TargetPipeline: pipelineName, TargetAction: action, Authentication: strings.ToUpper(auth)}
			for _, f := range filters {
				path, match, _ := strings.Cut(f, "=")
				d.Filters = append(d.Filters, service.WebhookFilterRule{JSONPath: path, MatchEquals: match})
			}
			switch {
			case secretFile != "" && secretEnv != "":
				return usageError{fmt.Errorf("give --secret-file or --secret-env, not both")}
			case secretFile != "":
				b, err := os.ReadFile(secretFile)
				if err != nil {
					return err
				}
				d.AuthenticationConfiguration.SecretToken = strings.TrimRight(string(b), "\r\n")
			case secretEnv != "":
				v, ok := os.LookupEnv(secretEnv)
				if !ok || v == "" {
					return usageError{fmt.Errorf("the environment variable %s is not set", secretEnv)}
				}
				d.AuthenticationConfiguration.SecretToken = v
			}
			d.AuthenticationConfiguration.AllowedIPRange = ipRange
			var out struct {
				Webhook service.WebhookItem `json:"webhook"`
			}
			if err := c.cpCall(cmd.Context(), "PutWebhook", map[string]any{"webhook": d}, &out); err != nil {
				return explainAuthError(err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out.Webhook)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "webhook %s: %s\n  ARN %s\n", out.Webhook.Definition.Name, out.Webhook.URL, out.Webhook.Arn)
			return nil
		},
	}
	create.Flags().StringVar(&pipelineName, "pipeline", "", "the pipeline to start")
	create.Flags().StringVar(&action, "action", "", "the target action (of the pipeline's first stage)")
	create.Flags().StringArrayVar(&filters, "filter", nil, "JSONPATH=MATCH, repeatable (1 to 5)")
	create.Flags().StringVar(&auth, "auth", "", "GITHUB_HMAC, IP or UNAUTHENTICATED")
	create.Flags().StringVar(&secretFile, "secret-file", "", "a file holding the GITHUB_HMAC secret")
	create.Flags().StringVar(&secretEnv, "secret-env", "", "an environment variable holding the GITHUB_HMAC secret")
	create.Flags().StringVar(&ipRange, "allowed-ip-range", "", "the CIDR range IP accepts")
	create.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the webhooks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			all := []service.WebhookItem{}
			token := ""
			for {
				var out service.ListWebhooksOutput
				in := map[string]any{}
				if token != "" {
					in["NextToken"] = token
				}
				if err := c.cpCall(cmd.Context(), "ListWebhooks", in, &out); err != nil {
					return explainAuthError(err)
				}
				all = append(all, out.Webhooks...)
				if out.NextToken == "" {
					break
				}
				token = out.NextToken
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), all)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPIPELINE\tACTION\tAUTH\tURL")
			for _, w := range all {
				d := w.Definition
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Name, d.TargetPipeline, d.TargetAction, d.Authentication, w.URL)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a webhook (its URL stops answering)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.cpCall(cmd.Context(), "DeleteWebhook", map[string]string{"name": args[0]}, nil); err != nil {
				return explainAuthError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted webhook %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}
