package service

import (
	"strings"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// MaxTags is CodePipeline's quota of tags per resource.
const MaxTags = 50

// reservedTagPrefix starts the keys AWS keeps for itself; in any case
// (aws:, AWS:, …) a user may not set them.
const reservedTagPrefix = "aws:"

// checkTags checks tags to be added to a resource that has existing ones:
// no reserved keys (InvalidTagsException), and at most MaxTags once added.
// A key the resource has already is overwritten and does not count again.
func checkTags(tags, existing []pipeline.Tag) error {
	keys := make(map[string]bool, len(tags)+len(existing))
	for _, t := range existing {
		keys[t.Key] = true
	}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), reservedTagPrefix) {
			return errs.Of(errs.Validation, errs.KindTags, "tag key %q: keys starting with %q are reserved for AWS", t.Key, reservedTagPrefix)
		}
		keys[t.Key] = true
	}
	if len(keys) > MaxTags {
		return errs.Of(errs.LimitExceeded, errs.KindTags, "a resource can have at most %d tags; this would give it %d", MaxTags, len(keys))
	}
	return nil
}

// checkOutputVariables checks the combined size of a job's output variables.
func checkOutputVariables(vars map[string]string) error {
	if n := engine.OutputVariablesSize(vars); n > engine.MaxOutputVariablesSize {
		return errs.Of(errs.LimitExceeded, errs.KindOutputVariables,
			"the output variables total %d characters; an action's output variables may total at most %d", n, engine.MaxOutputVariablesSize)
	}
	return nil
}
