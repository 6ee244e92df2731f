package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
)

// Work directories: every run handed to a provider gets
// <data-dir>/work/<execution>/<run>. The runner removes it once the provider
// has returned and its completion is recorded (so the next action need not
// wait for it) — unless the run did not succeed and KeepFailedWork is set:
// then it stays for the user to look at, and PruneWork removes it once the
// run ended KeepFailedWork ago. The folder of an execution goes when the
// execution ends and nothing is left in it (else later, with PruneWork).
// Logs are not work: they stay until the execution is pruned (ForgetExecution).

func (r *Runner) workDir(executionID, runID string) string {
	return filepath.Join(r.dataDir, "work", executionID, runID)
}

// makeWorkDir creates a run's work directory under r.mu, which
// removeExecutionWork holds too: the execution's folder is never removed
// between its creation and the run's directory inside it (a retried
// execution's first new run racing the removal of its folder at its end).
func (r *Runner) makeWorkDir(dir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return os.MkdirAll(dir, 0o755)
}

// endWork removes the work directory of a run whose provider has returned,
// or keeps it for a while when the run did not succeed. A nil result (the
// run goes on through its token) needs no work directory either: a provider
// does not use it once Run has returned.
func (r *Runner) endWork(executionID string, run engine.ActionRun, res *engine.Result) {
	dir := r.workDir(executionID, run.ID)
	if res != nil && res.Status != engine.Succeeded && r.keepFailed > 0 {
		r.log.Info("keeping the work directory of a failed action", "execution", executionID, "action", run.Action,
			"dir", dir, "for", r.keepFailed)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		r.log.Warn("removing a work directory", "dir", dir, "err", err)
	}
}

// removeExecutionWork removes the work folder of an ended execution if
// nothing is left in it, and else remembers it as lingering (up to
// maxLingering: PruneWork removes the others). It runs under r.mu, so that a
// run emptying the folder either finds it lingering or leaves it empty
// before the removal is tried.
func (r *Runner) removeExecutionWork(executionID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := os.Remove(filepath.Join(r.dataDir, "work", executionID))
	if err == nil || errors.Is(err, fs.ErrNotExist) || len(r.lingering) >= maxLingering {
		delete(r.lingering, executionID)
		return
	}
	r.lingering[executionID] = struct{}{}
}

// maxLingering bounds the ended executions remembered for the removal of
// their work folders.
const maxLingering = 1000

// isLingering reports whether an ended execution's work folder waits for
// its last run to go.
func (r *Runner) isLingering(executionID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.lingering[executionID]
	return ok
}

// PruneWork removes what is left under <data-dir>/work/ that no run needs:
// the work directories of failed runs kept longer than KeepFailedWork (by
// the clock of Env), those of runs that succeeded or that the store does not
// know (left by a crash, or by a deleted pipeline), and the folders of
// ended executions left empty. The directory of a run in progress is never
// touched. It returns how many directories it removed.
func (r *Runner) PruneWork(ctx context.Context) (int, error) {
	root := filepath.Join(r.dataDir, "work")
	execs, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	now := r.env.Now()
	removed := 0
	for _, ed := range execs {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if !ed.IsDir() || !plainName(ed.Name()) {
			continue
		}
		dir := filepath.Join(root, ed.Name())
		e, err := r.store.GetExecution(ctx, ed.Name())
		if errs.Is(err, errs.NotFound) {
			e, err = nil, nil
		}
		if err != nil {
			return removed, err
		}
		runs, err := os.ReadDir(dir)
		if err != nil {
			return removed, err
		}
		left := 0
		for _, rd := range runs {
			if r.keepWork(e, rd.Name(), now) {
				left++
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, rd.Name())); err != nil {
				return removed, err
			}
			removed++
		}
		if left == 0 && (e == nil || e.Status.Terminal()) {
			if err := os.Remove(dir); err == nil {
				removed++
			}
			r.mu.Lock()
			delete(r.lingering, ed.Name())
			r.mu.Unlock()
		}
	}
	return removed, nil
}

// keepWork reports whether PruneWork keeps the entry name of the work
// folder of e (nil: an execution the store does not know).
func (r *Runner) keepWork(e *engine.Execution, name string, now time.Time) bool {
	if r.isRunning(name) {
		return true // handed to its provider by this runner, or queued
	}
	if e == nil {
		return false
	}
	run, ok := e.Run(name)
	switch {
	case !ok:
		// Every run of an ended execution is in its record; one of an
		// execution going on may be newer than the record read.
		return !e.Status.Terminal()
	case run.Status == engine.InProgress:
		return true
	case run.Status == engine.Succeeded:
		return false
	default:
		return now.Before(run.EndTime.Add(r.keepFailed))
	}
}

// ForgetExecution removes the files the runner keeps of an execution that
// the store no longer has (pruned): its logs and its work folder.
func (r *Runner) ForgetExecution(executionID string) error {
	if !plainName(executionID) {
		return fmt.Errorf("execution ID %q cannot name a folder", executionID)
	}
	var errList []error
	for _, d := range []string{"logs", "work"} {
		errList = append(errList, os.RemoveAll(filepath.Join(r.dataDir, d, executionID)))
	}
	return errors.Join(errList...)
}

// plainName reports whether name is one path component of its own.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && filepath.Base(name) == name
}
