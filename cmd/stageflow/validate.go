package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

func init() { subcommands = append(subcommands, newValidateCmd) }

// fileReport is the result of validating one file; --output json prints a
// list of them.
type fileReport struct {
	File     string         `json:"file"`
	Valid    bool           `json:"valid"`
	Problems []errs.Problem `json:"problems"`
	readErr  error
}

func newValidateCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check pipeline documents against CodePipeline's rules",
		Long: `Validate checks pipeline documents (a bare pipeline declaration, or the
{"pipeline": ...} envelope of get-pipeline and create-pipeline --cli-input-json)
and reports every problem with its JSON path. A FILE of "-" is read from
standard input.

Exit status: 0 when every file is valid, 1 when a file is invalid or cannot
be read, 2 on a wrong command line.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("validate needs at least one FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := jsonOutput(output)
			if err != nil {
				return err
			}
			reports := make([]fileReport, len(args))
			ok := true
			for i, file := range args {
				reports[i] = validateFile(file, cmd.InOrStdin())
				ok = ok && reports[i].Valid
			}
			if asJSON {
				err = writeJSONReports(cmd.OutOrStdout(), reports)
			} else {
				err = writeTextReports(cmd.OutOrStdout(), cmd.ErrOrStderr(), reports)
			}
			if err != nil {
				return err
			}
			if !ok {
				return exitError{1}
			}
			return nil
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// validateFile reads and validates one file ("-" is standard input).
func validateFile(file string, stdin io.Reader) fileReport {
	r := fileReport{File: file, Problems: []errs.Problem{}}
	data, err := readDocument(file, stdin)
	if err != nil {
		r.readErr = err
		r.Problems = append(r.Problems, errs.Problem{Message: err.Error()})
		return r
	}
	if _, err := pipeline.Load(data); err != nil {
		if e, ok := errs.As(err); ok && len(e.Problems) > 0 {
			r.Problems = append(r.Problems, e.Problems...)
		} else {
			r.Problems = append(r.Problems, errs.Problem{Message: err.Error()})
		}
		return r
	}
	r.Valid = true
	return r
}

// readDocument reads at most one byte more than a document may have, so
// that an oversized file is reported by the loader without being read whole.
func readDocument(file string, stdin io.Reader) ([]byte, error) {
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the file name is already on the line
			}
			return nil, fmt.Errorf("cannot read the file: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, errors.New("cannot read the file: it is a directory")
		}
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, pipeline.MaxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	return data, nil
}

// writeTextReports prints "FILE: valid" for a valid file and one
// "FILE: path: message" line per problem otherwise. Files that cannot be
// read are reported on stderr.
func writeTextReports(stdout, stderr io.Writer, reports []fileReport) error {
	for _, r := range reports {
		if r.readErr != nil {
			if _, err := fmt.Fprintf(stderr, "%s: %v\n", r.File, r.readErr); err != nil {
				return err
			}
			continue
		}
		if r.Valid {
			if _, err := fmt.Fprintf(stdout, "%s: valid\n", r.File); err != nil {
				return err
			}
			continue
		}
		for _, p := range r.Problems {
			if _, err := fmt.Fprintf(stdout, "%s: %s\n", r.File, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeJSONReports(w io.Writer, reports []fileReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(reports)
}
