package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/embedded"
)

// resourceFlags are the flags of serve and run that bound what the local
// driver uses of the machine and of the data directory.
type resourceFlags struct {
	maxParallel int
	keepFailed  time.Duration
	retention   time.Duration
}

// minRetention keeps a typo (--retention 10s) from deleting executions as
// soon as they end.
const minRetention = time.Hour

func addResourceFlags(cmd *cobra.Command) *resourceFlags {
	r := &resourceFlags{}
	f := cmd.Flags()
	f.IntVar(&r.maxParallel, "max-parallel-actions", embedded.DefaultMaxParallelActions(),
		"how many Commands and CodeBuild actions may run at once (the default is two per CPU); the others wait, queued, for a slot")
	f.DurationVar(&r.keepFailed, "keep-failed-work", embedded.DefaultKeepFailedWork,
		"how long the work directory of a failed action is kept for a look before it is removed (0: removed at once, as after a success)")
	f.DurationVar(&r.retention, "retention", embedded.DefaultRetention,
		"how long an ended execution is kept after it started, with its logs and artifacts (the default is 365 days, as CodePipeline's 12 months; 0: forever)")
	return r
}

// check refuses values that make no sense, as a wrong command line.
func (r *resourceFlags) check() error {
	switch {
	case r.maxParallel < 1:
		return usageError{fmt.Errorf("--max-parallel-actions must be at least 1, got %d", r.maxParallel)}
	case r.keepFailed < 0:
		return usageError{fmt.Errorf("--keep-failed-work must not be negative, got %s", r.keepFailed)}
	case r.retention < 0 || (r.retention > 0 && r.retention < minRetention):
		return usageError{fmt.Errorf("--retention must be 0 (keep forever) or at least %s, got %s", minRetention, r.retention)}
	}
	return nil
}

// apply sets the options of the embedded system (where zero means the
// default, and a negative value none).
func (r *resourceFlags) apply(o *embedded.Options) {
	o.MaxParallelActions = r.maxParallel
	o.KeepFailedWork, o.Retention = r.keepFailed, r.retention
	if r.keepFailed == 0 {
		o.KeepFailedWork = -1
	}
	if r.retention == 0 {
		o.Retention = -1
	}
}
