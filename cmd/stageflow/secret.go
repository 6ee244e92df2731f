package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/secrets"
)

func init() { subcommands = append(subcommands, newSecretCmd) }

// newSecretCmd is `stageflow secret put|list|delete`: the data directory's
// secret store (package secrets), used directly, so also while a server
// runs on the same directory.
func newSecretCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage the local secret store that builds' secrets-manager and parameter-store read",
		Long: `Secret manages the secret store of a data directory: values encrypted with
AES-256-GCM in secrets.json, with the key in secrets.key. CodeBuild and
Commands actions read them where AWS would read Secrets Manager or Parameter
Store: SECRETS_MANAGER and PARAMETER_STORE environment variables and the
buildspec's env.secrets-manager (name[:json-key]) and env.parameter-store
(name). Their values are masked (***) in action logs. A running server
picks up changes at its next build.`,
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", embedded.DefaultDataDir(), "the data directory whose secrets to manage")
	store := func() *secrets.Store { return secrets.Open(dataDir) }

	var value string
	put := &cobra.Command{
		Use:   "put NAME",
		Short: "Store a secret: the value of --value, or else standard input (one final newline dropped)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := value
			if !cmd.Flags().Changed("value") {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("reading the value from standard input: %w", err)
				}
				v = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			}
			if err := store().Put(args[0], v); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "stored secret %s\n", args[0])
			return err
		},
	}
	put.Flags().StringVar(&value, "value", "", "the value (visible to other local users in the process list: prefer standard input)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the names of the stored secrets (never their values)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, err := store().List()
			if err != nil {
				return err
			}
			for _, n := range names {
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), n); err != nil {
					return err
				}
			}
			return nil
		},
	}

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a secret",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := store().Delete(args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "deleted secret %s\n", args[0])
			return err
		},
	}
	cmd.AddCommand(put, list, del)
	return cmd
}
