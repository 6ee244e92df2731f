package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// The list and delete commands of the records that hold credentials
// (connections, repositories, buckets): the same shape for each.

// listRecordsCmd is `… list [-o json]`: fetch the records, print them.
func listRecordsCmd[T any](short string, fetch func(ctx context.Context) ([]T, error), print func(*cobra.Command, []T, bool) error) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use: "list", Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			all, err := fetch(cmd.Context())
			if err != nil {
				return err
			}
			return print(cmd, all, asJSON)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// deleteRecordsCmd is `… delete NAME...`, saying "deleted <what> NAME" for
// each and stopping at the first error.
func deleteRecordsCmd(use, short, what string, del func(ctx context.Context, name string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, name := range args {
				if err := del(cmd.Context(), name); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s %s\n", what, name)
			}
			return nil
		},
	}
}
