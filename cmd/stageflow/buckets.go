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

func init() { subcommands = append(subcommands, newBucketCmd) }

// readSecret reads a secret from a file (- for standard input) or an
// environment variable, exactly one of them: never from the command line.
func readSecret(stdin io.Reader, file, env, what string, max int) (string, error) {
	var v string
	switch {
	case file != "" && env != "":
		return "", usageError{fmt.Errorf("give --secret-file or --secret-env, not both")}
	case file == "" && env == "":
		return "", usageError{fmt.Errorf("the %s is required: give --secret-file F (- for standard input) or --secret-env VAR", what)}
	case file == "-":
		b, err := io.ReadAll(io.LimitReader(stdin, int64(max)+2))
		if err != nil {
			return "", fmt.Errorf("reading the %s from standard input: %w", what, err)
		}
		v = string(b)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageError{fmt.Errorf("--secret-file: %w", err)}
		}
		v = string(b)
	default:
		e, ok := os.LookupEnv(env)
		if !ok || e == "" {
			return "", usageError{fmt.Errorf("--secret-env: the environment variable %s is not set", env)}
		}
		v = e
	}
	return strings.TrimRight(v, "\r\n"), nil
}

func printBuckets(cmd *cobra.Command, list []service.Bucket, asJSON bool) error {
	if asJSON {
		return printJSON(cmd.OutOrStdout(), list)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tENDPOINT\tREGION\tADDRESSING\tACCESS KEY ID\tCREATED")
	for _, b := range list {
		addressing := "virtual-host"
		if b.PathStyle {
			addressing = "path-style"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Endpoint, b.Region, addressing, b.AccessKeyID, b.Created.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// ---- bucket create|list|delete ----

func newBucketCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "bucket", Short: "Create, list and delete buckets at other S3-compatible endpoints, for S3 source actions"}
	cmd.PersistentFlags().StringVar(&c.endpoint, "endpoint", defaultEndpoint(), "the Stageflow server (env STAGEFLOW_ENDPOINT)")

	var s3Endpoint, region, accessKeyID, secretFile, secretEnv, output string
	var pathStyle bool
	create := &cobra.Command{
		Use:   "create NAME --s3-endpoint URL --access-key-id ID (--secret-file F | --secret-env VAR) [--region R] [--path-style]",
		Short: "Record a bucket at another S3-compatible endpoint with its credentials",
		Long: `Create records where an S3 source action whose S3Bucket is NAME reads from:
an S3-compatible endpoint (https://, or http:// to a loopback host only) and
the access key that reads it. The secret access key is read from a file or
an environment variable, never given on the command line, and kept
encrypted. Other buckets are Stageflow's own artifact store's.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			if s3Endpoint == "" {
				return usageError{fmt.Errorf("--s3-endpoint is required: the https:// URL of the S3-compatible endpoint")}
			}
			if accessKeyID == "" {
				return usageError{fmt.Errorf("--access-key-id is required")}
			}
			secret, err := readSecret(cmd.InOrStdin(), secretFile, secretEnv, "secret access key", service.MaxSecretAccessKey)
			if err != nil {
				return err
			}
			out, err := c.api().CreateBucket(cmd.Context(), rest.RESTCreateBucket{Name: args[0], Endpoint: s3Endpoint,
				Region: region, PathStyle: pathStyle, AccessKeyID: accessKeyID, SecretAccessKey: secret})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created bucket %s at %s (%s)\n", out.Name, out.Endpoint, out.Region)
			return nil
		},
	}
	create.Flags().StringVar(&s3Endpoint, "s3-endpoint", "", "the S3-compatible endpoint's URL (https://, or http:// to a loopback host)")
	create.Flags().StringVar(&region, "region", "", "the region requests are signed for (default "+service.DefaultBucketRegion+")")
	create.Flags().BoolVar(&pathStyle, "path-style", false, "address the bucket in the path (endpoint/bucket/key), as most S3-compatible servers want")
	create.Flags().StringVar(&accessKeyID, "access-key-id", "", "the access key ID")
	create.Flags().StringVar(&secretFile, "secret-file", "", "read the secret access key from this file (- for standard input)")
	create.Flags().StringVar(&secretEnv, "secret-env", "", "read the secret access key from this environment variable")
	create.Flags().StringVarP(&output, "output", "o", "text", "text or json")

	list := listRecordsCmd("List the buckets (never their secrets)",
		func(ctx context.Context) ([]service.Bucket, error) { return c.api().ListBuckets(ctx) }, printBuckets)
	del := deleteRecordsCmd("delete NAME...", "Forget buckets (the buckets themselves are not touched)", "bucket",
		func(ctx context.Context, name string) error { return c.api().DeleteBucket(ctx, name) })
	cmd.AddCommand(create, list, del)
	return cmd
}
