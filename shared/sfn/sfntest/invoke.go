package sfntest

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/stageflow/stageflow/shared/sfn"
)

// InProcess invokes the handlers of d in this process, as the functions
// named advance and dispatch (the equivalence and driver tests use it);
// lambdatest.Functions is the other Invoke: the functions' bootstraps
// under the Lambda Runtime Interface Emulator.
// Payloads are decoded as the Lambda runtime for Go decodes them (unknown
// fields ignored).
func InProcess(d *sfn.Driver, advance, dispatch string) Invoke {
	return func(ctx context.Context, function string, payload json.RawMessage) (json.RawMessage, error) {
		switch function {
		case advance:
			var in sfn.AdvanceInput
			if err := json.Unmarshal(payload, &in); err != nil {
				return nil, err
			}
			out, err := d.HandleAdvance(ctx, in)
			if err != nil {
				return nil, err
			}
			return json.Marshal(out)
		case dispatch:
			var in sfn.DispatchInput
			if err := json.Unmarshal(payload, &in); err != nil {
				return nil, err
			}
			if err := d.Dispatch(ctx, in); err != nil {
				return nil, err
			}
			return json.RawMessage("null"), nil
		}
		return nil, fmt.Errorf("no function %q", function)
	}
}

// Validate checks definition files with asl-validator (in jsDir, see
// JSDir), in one run, and returns its report: an error when any is invalid.
func Validate(jsDir string, definitionFiles ...string) (string, error) {
	args := []string{"--require", filepath.Join(jsDir, "polyfill.cjs"),
		filepath.Join(jsDir, "node_modules", "asl-validator", "dist", "bin", "asl-validator.js")}
	for _, f := range definitionFiles {
		args = append(args, "--json-path", f)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = jsDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("asl-validator: %v: %s", err, out)
	}
	return string(out), nil
}
