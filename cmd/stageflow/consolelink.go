package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/service"
)

func init() { subcommands = append(subcommands, newConsoleLinkCmd) }

// ---- console-link ----

func newConsoleLinkCmd() *cobra.Command {
	c := &client{}
	var output string
	cmd := &cobra.Command{
		Use:   "console-link",
		Short: "Print a one-time link that signs this browser into the console as your key",
		Long: `Console-link asks the server for a sign-in link for the access key the
command signs with. Opening the link in a browser signs it in: the server
answers a session cookie whose requests may do what the key's policies allow.
The link works once, within ` + service.ConsoleLinkLifetime.String() + `; the session ends after ` + service.ConsoleSessionIdle.String() + ` unused,
after ` + service.ConsoleSessionLifetime.String() + ` in any case, at sign-out, when the key is deleted and when
the server restarts. Anyone holding the link can sign in as you until then:
treat it like the key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			l, err := c.api().CreateConsoleLink(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), l)
			}
			printLink(cmd.OutOrStdout(), l.URL, l.Principal, l.Expires)
			return nil
		},
	}
	addEndpointFlag(cmd, c)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func printLink(out io.Writer, url, principal string, expires time.Time) {
	fmt.Fprintf(out, "  console:   %s\n", url)
	fmt.Fprintf(out, "             signs in once as %s, until %s; later: bin/stageflow console-link\n",
		principal, expires.Local().Format(time.TimeOnly))
}

// printConsoleLink prints, at the server's start, a sign-in link for the
// admin key (to the server's standard output only, never its log).
func printConsoleLink(ctx context.Context, out io.Writer, svc *service.Service, endpoint, adminKeyID string) {
	l, err := svc.CreateAdminConsoleLink(ctx, adminKeyID)
	if err != nil {
		fmt.Fprintf(out, "  console:   no sign-in link (%v); later: bin/stageflow console-link\n", err)
		return
	}
	printLink(out, rest.ConsoleLinkURL(endpoint, l.Token), l.Principal, l.Expires)
}
