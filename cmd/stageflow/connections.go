package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/service"
)

func init() { subcommands = append(subcommands, newConnectionCmd, newRepositoryCmd) }

// credentialFlags are the flags that give a remote's credentials: never a
// secret itself on the command line (it would sit in the shell's history
// and in ps), only where to read it.
type credentialFlags struct {
	remote, username, tokenFile, tokenEnv, sshKeyFile string
}

func (f *credentialFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.remote, "remote", "", "the git remote: https:// or ssh:// URL, user@host:path, file:// URL or absolute path ({FullRepositoryId} is replaced)")
	cmd.Flags().StringVar(&f.username, "username", "", "the user name sent with the token (HTTPS)")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "", "read the token from this file (- for standard input)")
	cmd.Flags().StringVar(&f.tokenEnv, "token-env", "", "read the token from this environment variable")
	cmd.Flags().StringVar(&f.sshKeyFile, "ssh-key-file", "", "read the SSH private key from this file")
}

// secrets reads the token and the SSH key the flags point at.
func (f *credentialFlags) secrets(stdin io.Reader) (token, key string, err error) {
	if f.remote == "" {
		return "", "", usageError{fmt.Errorf("--remote is required: an https:// or ssh:// URL, user@host:path, a file:// URL or an absolute path")}
	}
	if f.tokenFile != "" && f.tokenEnv != "" {
		return "", "", usageError{fmt.Errorf("give --token-file or --token-env, not both")}
	}
	switch {
	case f.tokenFile == "-":
		b, err := io.ReadAll(io.LimitReader(stdin, service.MaxToken+2))
		if err != nil {
			return "", "", fmt.Errorf("reading the token from standard input: %w", err)
		}
		token = string(b)
	case f.tokenFile != "":
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return "", "", usageError{fmt.Errorf("--token-file: %w", err)}
		}
		token = string(b)
	case f.tokenEnv != "":
		v, ok := os.LookupEnv(f.tokenEnv)
		if !ok || v == "" {
			return "", "", usageError{fmt.Errorf("--token-env: the environment variable %s is not set", f.tokenEnv)}
		}
		token = v
	}
	token = strings.TrimRight(token, "\r\n")
	if f.sshKeyFile != "" {
		b, err := os.ReadFile(f.sshKeyFile)
		if err != nil {
			return "", "", usageError{fmt.Errorf("--ssh-key-file: %w", err)}
		}
		key = string(b)
	}
	return token, key, nil
}

func printConnections(cmd *cobra.Command, list []service.Connection, asJSON bool) error {
	if asJSON {
		return printJSON(cmd.OutOrStdout(), list)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tREMOTE\tCREDENTIALS\tCREATED")
	for _, c := range list {
		creds := "none"
		switch {
		case c.HasToken:
			creds = "token"
		case c.HasSSHKey:
			creds = "ssh key"
		}
		if c.Username != "" {
			creds += " (" + c.Username + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Remote, creds, c.Created.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// ---- connection create|list|delete|rotate-secret ----

func newConnectionCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "connection", Short: "Create, list and delete connections: git remotes for CodeStarSourceConnection actions"}
	cmd.PersistentFlags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")

	var creds credentialFlags
	var id, output string
	create := &cobra.Command{
		Use:   "create NAME --remote URL [--id ID] [--token-file F | --token-env VAR | --ssh-key-file F] [--username U]",
		Short: "Make a connection; prints its ARN and its trigger secret, shown this once",
		Long: `Create makes a connection: a git remote and its credentials, named by an ARN
in CodeConnections' format that pipelines give as ConnectionArn. A remote
holding {FullRepositoryId} serves every repository of a host: the source
action's FullRepositoryId replaces it. Secrets are read from a file or an
environment variable, never given on the command line, and kept encrypted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			token, key, err := creds.secrets(cmd.InOrStdin())
			if err != nil {
				return err
			}
			out, err := c.api().CreateConnection(cmd.Context(), rest.RESTCreateConnection{Name: args[0], ID: id,
				Remote: creds.remote, Username: creds.username, Token: token, SSHKey: key})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "created connection %s\n", out.Arn)
			fmt.Fprintf(w, "trigger secret: %s   (shown this once; the webhook secret of its event endpoint)\n", out.TriggerSecret)
			return nil
		},
	}
	creds.add(create)
	create.Flags().StringVar(&id, "id", "", "the connection's ID (1 to 64 letters, digits and -; a UUID when not given)")
	create.Flags().StringVarP(&output, "output", "o", "text", "text or json")

	list := listRecordsCmd("List the connections (never their secrets)",
		func(ctx context.Context) ([]service.Connection, error) { return c.api().ListConnections(ctx) }, printConnections)
	del := deleteRecordsCmd("delete ID...", "Delete connections", "connection",
		func(ctx context.Context, id string) error { return c.api().DeleteConnection(ctx, id) })

	var rotateOutput string
	rotate := &cobra.Command{
		Use: "rotate-secret ID", Short: "Give a connection a new trigger secret, shown this once (the old one stops verifying)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(rotateOutput)
			if err != nil {
				return err
			}
			out, err := c.api().RotateTriggerSecret(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new trigger secret of %s: %s   (shown this once)\n", out.Arn, out.TriggerSecret)
			return nil
		},
	}
	rotate.Flags().StringVarP(&rotateOutput, "output", "o", "text", "text or json")
	cmd.AddCommand(create, list, del, rotate)
	return cmd
}

// ---- repository create|list|delete ----

func newRepositoryCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "repository", Short: "Create, list and delete CodeCommit repository names: git remotes for CodeCommit actions"}
	cmd.PersistentFlags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")

	var creds credentialFlags
	var output string
	create := &cobra.Command{
		Use:   "create NAME --remote URL [--token-file F | --token-env VAR | --ssh-key-file F] [--username U]",
		Short: "Map a CodeCommit RepositoryName to a git remote",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			token, key, err := creds.secrets(cmd.InOrStdin())
			if err != nil {
				return err
			}
			out, err := c.api().CreateRepository(cmd.Context(), rest.RESTCreateRepository{Name: args[0],
				Remote: creds.remote, Username: creds.username, Token: token, SSHKey: key})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created repository %s (%s)\n", out.ID, out.Arn)
			return nil
		},
	}
	creds.add(create)
	create.Flags().StringVarP(&output, "output", "o", "text", "text or json")

	list := listRecordsCmd("List the repositories (never their secrets)",
		func(ctx context.Context) ([]service.Connection, error) { return c.api().ListRepositories(ctx) }, printConnections)
	del := deleteRecordsCmd("delete NAME...", "Delete repository names", "repository",
		func(ctx context.Context, name string) error { return c.api().DeleteRepository(ctx, name) })
	cmd.AddCommand(create, list, del)
	return cmd
}
