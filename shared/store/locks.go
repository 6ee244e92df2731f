package store

import (
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
)

// NoLocks is the record of a pipeline that has none stored: empty, Version 0
// (what GetPipelineLocks returns for it).
func NoLocks(pipeline string) *engine.PipelineLocks {
	return &engine.PipelineLocks{Pipeline: pipeline}
}

// CheckLocksUpdate checks the arguments of UpdateLocks before a store writes
// anything: the record names a pipeline and keeps its invariants, and every
// execution is one of that pipeline's, given once.
func CheckLocksUpdate(locks *engine.PipelineLocks, executions []*engine.Execution) error {
	if locks == nil || locks.Pipeline == "" {
		return errs.Of(errs.Validation, errs.KindPipeline, "the stage locks record names no pipeline")
	}
	if locks.Version < 0 {
		return errs.Of(errs.Validation, errs.KindPipeline, "the stage locks of pipeline %s have a negative version %d", locks.Pipeline, locks.Version)
	}
	if err := locks.Validate(); err != nil {
		return errs.Of(errs.Validation, errs.KindPipeline, "the stage locks of pipeline %s: %v", locks.Pipeline, err)
	}
	seen := make(map[string]bool, len(executions))
	for _, e := range executions {
		switch {
		case e == nil || e.ID == "":
			return errs.Of(errs.Validation, errs.KindPipelineExecution, "an execution written with the stage locks of pipeline %s has no ID", locks.Pipeline)
		case e.PipelineName != locks.Pipeline:
			return errs.Of(errs.Validation, errs.KindPipelineExecution, "execution %s is of pipeline %q, not %q, whose stage locks are written", e.ID, e.PipelineName, locks.Pipeline)
		case seen[e.ID]:
			return errs.Of(errs.Validation, errs.KindPipelineExecution, "execution %s is given twice", e.ID)
		}
		seen[e.ID] = true
	}
	return nil
}
