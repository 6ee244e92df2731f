package pipeline

import (
	"strconv"

	"github.com/stageflow/stageflow/shared/errs"
)

// Validate applies CodePipeline's rules and quotas to a pipeline and returns
// every problem found, each with its JSON path.
func Validate(p *Pipeline) []errs.Problem {
	return nil
}

func validateEnvelope(d *Document) []errs.Problem { return nil }

func stagePath(i int) string { return "stages[" + itoa(i) + "]" }

func itoa(i int) string { return strconv.Itoa(i) }
