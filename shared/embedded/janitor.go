package embedded

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// Resource defaults of the embedded system (the serve and run flags).
const (
	// DefaultRetention is how long an execution is kept after it started,
	// with its logs and artifacts: CodePipeline keeps 12 months of
	// execution history, by start time.
	DefaultRetention = 365 * 24 * time.Hour
	// DefaultKeepFailedWork is how long the work directory of an action
	// that failed is kept for a look.
	DefaultKeepFailedWork = 24 * time.Hour
	// DefaultJanitorInterval is how often the janitor runs after the first
	// time, at start.
	DefaultJanitorInterval = time.Hour
)

// DefaultMaxParallelActions is the default cap of Commands and CodeBuild
// actions running at once: two per CPU, since a build often waits on its
// disk or the network, and at least two.
func DefaultMaxParallelActions() int {
	return max(2, 2*runtime.NumCPU())
}

// pruneBatch is how many executions the janitor deletes per store call.
const pruneBatch = 100

// Pruned counts what one round of the janitor removed.
type Pruned struct {
	Executions int // with their logs and artifacts
	WorkDirs   int
}

// Prune removes what the data directory no longer keeps: executions that
// ended and started more than Options.Retention ago (never one in
// progress), with their logs, artifacts and work folders; and the work
// directories that no run needs (see runner.PruneWork). The clock is
// Options.Now.
func (s *System) Prune(ctx context.Context) (Pruned, error) {
	var out Pruned
	var errList []error
	if s.retention > 0 {
		before := s.now().Add(-s.retention)
		for {
			pruned, err := s.Store.PruneExecutions(ctx, before, pruneBatch)
			if err != nil {
				errList = append(errList, err)
				break
			}
			for _, p := range pruned {
				errList = append(errList, s.Runner.ForgetExecution(p.ID), s.Artifacts.DeleteExecution(p.PipelineName, p.ID))
			}
			out.Executions += len(pruned)
			if len(pruned) < pruneBatch || ctx.Err() != nil {
				break
			}
		}
	}
	n, err := s.Runner.PruneWork(ctx)
	out.WorkDirs = n
	errList = append(errList, err)
	return out, errors.Join(errList...)
}

// startJanitor runs Prune now and then every interval until Close.
func (s *System) startJanitor(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.stopJanitor = func() { cancel(); <-done }
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if p, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("pruning the data directory", "err", err)
			} else if p.Executions > 0 || p.WorkDirs > 0 {
				s.log.Info("pruned the data directory", "executions", p.Executions, "workDirs", p.WorkDirs)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}
