package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/auth"
)

func init() { subcommands = append(subcommands, newKeysCmd, newWhoamiCmd) }

// ---- keys create|list|delete ----

func newKeysCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "keys", Short: "Create, list and delete the server's access keys (admin only)"}
	cmd.PersistentFlags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")

	var user, description, output string
	var policies []string
	create := &cobra.Command{
		Use:   "create --user NAME --policy NAME|FILE...",
		Short: "Make an access key with policies attached; prints its secret, shown this once",
		Long: `Create makes an access key on the server for a user, with policies attached:
the name of a built-in policy (` + strings.Join(auth.BuiltinNames(), ", ") + `)
or a file holding a policy document in IAM's JSON policy language (named after
the file). A document using an element Stageflow does not evaluate
(NotResource, Principal, a Condition beyond the tag keys CodePipeline
documents) is refused, never half-applied.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			if user == "" {
				return usageError{fmt.Errorf("--user is required: who signs with the key (recorded as arn:aws:iam::<account>:user/NAME)")}
			}
			if len(policies) == 0 {
				return usageError{fmt.Errorf("--policy is required: a built-in policy (%s) or a policy document file", strings.Join(auth.BuiltinNames(), ", "))}
			}
			body := rest.RESTCreateAccessKey{User: user, Description: description}
			for _, p := range policies {
				rp, err := policyArg(p)
				if err != nil {
					return err
				}
				body.Policies = append(body.Policies, rp)
			}
			out, err := c.api().CreateAccessKey(cmd.Context(), body)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{
					"accessKeyId": out.AccessKeyID, "secretAccessKey": out.SecretAccessKey, "policy": out.Policies,
					"user": out.User, "principal": out.Principal,
				})
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "created access key %s for %s (policies: %s)\n", out.AccessKeyID, out.Principal, strings.Join(out.Policies, ", "))
			fmt.Fprintf(w, "secret access key: %s   (shown this once)\n", out.SecretAccessKey)
			fmt.Fprintf(w, "use it:  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=<the secret> AWS_DEFAULT_REGION=%s\n"+
				"         (stageflow commands, the AWS CLI and SDKs, job workers; or keep it in a profile: aws configure --profile %s)\n",
				out.AccessKeyID, signingRegion(), out.User)
			return nil
		},
	}
	create.Flags().StringVar(&user, "user", "", "who signs with the key (IAM's user-name rule)")
	create.Flags().StringVar(&description, "description", "", "what the key is for")
	create.Flags().StringArrayVar(&policies, "policy", nil, "a built-in policy's name, or a policy document file (repeatable)")
	create.Flags().StringVarP(&output, "output", "o", "text", "text or json")

	var listOutput string
	list := &cobra.Command{
		Use: "list", Short: "List the server's access keys (never their secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := jsonOutput(listOutput)
			if err != nil {
				return err
			}
			keys, err := c.api().ListAccessKeys(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCESS KEY ID\tUSER\tPOLICIES\tCREATED\tLAST USED")
			for _, k := range keys {
				last := "never"
				if !k.LastUsed.IsZero() {
					last = k.LastUsed.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.AccessKeyID, k.User, strings.Join(k.Policies, ","),
					k.Created.Local().Format(time.DateTime), last)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVarP(&listOutput, "output", "o", "text", "text or json")

	del := &cobra.Command{
		Use: "delete ACCESS_KEY_ID...", Short: "Delete access keys: requests signed with them are refused from then on", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, id := range args {
				if err := c.api().DeleteAccessKey(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted access key %s\n", id)
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}

// policyArg is a --policy value: a built-in policy's name, or a file.
func policyArg(p string) (rest.RESTPolicy, error) {
	if _, ok := auth.Builtin(p); ok {
		return rest.RESTPolicy{Name: p}, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return rest.RESTPolicy{}, usageError{fmt.Errorf("--policy %s is neither a built-in policy (%s) nor a readable file: %w",
			p, strings.Join(auth.BuiltinNames(), ", "), err)}
	}
	name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	return rest.RESTPolicy{Name: name, Document: string(data)}, nil
}

// ---- whoami ----

func newWhoamiCmd() *cobra.Command {
	c := &client{}
	var output string
	cmd := &cobra.Command{
		Use: "whoami", Short: "Show who the server takes you for and what you may do", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			id, err := c.api().WhoAmI(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), id)
			}
			w := cmd.OutOrStdout()
			verified := "verified"
			if !id.Verified {
				verified = "NOT verified (the server runs with --auth none)"
			}
			fmt.Fprintf(w, "%s (%s", id.Principal, verified)
			if id.AccessKeyID != "" {
				fmt.Fprintf(w, ", access key %s", id.AccessKeyID)
			}
			fmt.Fprintln(w, ")")
			var allowed []string
			for _, ch := range id.Checks {
				if ch.Allowed {
					allowed = append(allowed, ch.Action)
				}
			}
			fmt.Fprintf(w, "may: %s\n", strings.Join(allowed, " "))
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
