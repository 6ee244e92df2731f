// Package worksource serves source actions in a one-shot `stageflow run`
// from directories of this machine instead of fetching: a
// CodeStarSourceConnection or CodeCommit action takes the git work tree
// `stageflow run` was started in as it is (committed and uncommitted files,
// ignored files left out, as `act` does), with the output variables of its
// HEAD; `--source ACTION=DIR` feeds a named source action, of any source
// provider, from DIR. See Snapshot for what is taken.
package worksource

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
)

// The source providers this package serves.
const (
	CodeStarSourceConnection = "CodeStarSourceConnection"
	CodeCommit               = "CodeCommit"
	S3                       = "S3"
)

// GitProviders are the source providers a work tree feeds.
var GitProviders = []string{CodeStarSourceConnection, CodeCommit}

// Provider serves source actions from local directories. It keeps no state
// of a run: one value serves concurrent runs.
type Provider struct {
	// Dirs maps source action names to the directory each takes
	// (`--source ACTION=DIR`).
	Dirs map[string]string
	// WorkTree is where `stageflow run` was started: the git work tree it
	// is in feeds the CodeStarSourceConnection and CodeCommit actions that
	// Dirs does not name. Empty: only Dirs feed actions.
	WorkTree string
	// Exclude lists directories never taken (the data directory).
	Exclude []string
	// Next, if not nil, runs the actions of other providers (S3) that Dirs
	// does not name.
	Next actions.Provider
}

var _ actions.Provider = (*Provider)(nil)

// Resumable is false: a run that the process left behind is redone.
func (*Provider) Resumable() bool { return false }

// Run zips the action's directory into its output artifact and returns the
// source variables.
func (p *Provider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	provider := job.Run.Type.Provider
	git := provider == CodeStarSourceConnection || provider == CodeCommit
	dir, given := p.Dirs[job.Run.Action]
	if !given {
		if !git && p.Next != nil {
			return p.Next.Run(ctx, job)
		}
		if !git || p.WorkTree == "" {
			return actions.Failed(engine.CodeConfigurationError,
				"source action %q (%s) has no directory to take in a one-shot `stageflow run`: pass --source %s=DIR", job.Run.Action, provider, job.Run.Action)
		}
		dir = p.WorkTree
	}
	if len(job.Run.OutputArtifacts) != 1 {
		return actions.Failed(engine.CodeConfigurationError, "source action %q declares %d output artifacts; a source action has exactly one", job.Run.Action, len(job.Run.OutputArtifacts))
	}
	tree, err := Snapshot(dir, Options{RequireGit: !given, WholeTree: !given, Exclude: p.Exclude})
	if err != nil {
		if !given {
			return actions.Failed(engine.CodeConfigurationError,
				"source action %q (%s) has no directory to take: %v; run `stageflow run` inside a git work tree, or pass --source %s=DIR", job.Run.Action, provider, err, job.Run.Action)
		}
		return actions.Failed(engine.CodeConfigurationError, "source action %q: --source %s: %v", job.Run.Action, dir, err)
	}
	describe(job, tree)
	if err := upload(ctx, job, tree); err != nil {
		return actions.Failed(engine.CodeJobFailed, "source action %q: storing the output artifact: %v", job.Run.Action, err)
	}
	res := &engine.Result{Status: engine.Succeeded, Summary: summary(tree)}
	if git {
		// A plain directory still gives every variable, the commit's
		// empty, so that references to them resolve.
		res.OutputVariables = Variables(provider, job.Run.Configuration, tree.Git)
	}
	if c := tree.Git; c != nil && git {
		res.CurrentRevision = &engine.Revision{ID: c.ID, ChangeIdentifier: c.CommitterDate.UTC().Format(time.RFC3339), Summary: c.Message, Created: c.AuthorDate}
	}
	return res
}

// Variables are the output variables CodePipeline documents for a git
// source provider, from the action's configuration and the commit c.
// BranchName is the configured branch (the one the action tracks), as in
// CodePipeline, whatever branch is checked out. With c nil (a directory
// outside git) the commit's variables are empty.
func Variables(provider string, config map[string]string, c *Commit) map[string]string {
	if c == nil {
		c = &Commit{}
	}
	v := map[string]string{
		"CommitId":      c.ID,
		"CommitMessage": c.Message,
		"AuthorDate":    isoDate(c.AuthorDate),
		"BranchName":    config["BranchName"],
	}
	if v["BranchName"] == "" {
		v["BranchName"] = c.Branch
	}
	switch provider {
	case CodeStarSourceConnection:
		v["FullRepositoryName"] = config["FullRepositoryId"]
		v["ConnectionArn"] = config["ConnectionArn"]
	case CodeCommit:
		v["RepositoryName"] = config["RepositoryName"]
		v["CommitterDate"] = isoDate(c.CommitterDate)
	}
	return v
}

func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// summary says what was taken, and that a dirty tree is not HEAD.
func summary(t *Tree) string {
	c := t.Git
	if c == nil {
		return fmt.Sprintf("local directory %s (%d files)", t.Dir, len(t.Files))
	}
	s := fmt.Sprintf("local work tree %s at %s", t.Dir, short(c.ID))
	if c.Dirty() {
		s += fmt.Sprintf(" with uncommitted changes (%d modified, %d untracked): the commit variables name HEAD", c.Modified, c.Untracked)
	}
	return s
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// describe writes what is taken to the run's log.
func describe(job *actions.Job, t *Tree) {
	w := job.Log
	if w == nil {
		return
	}
	fmt.Fprintf(w, "taking %s instead of fetching (one-shot stageflow run)\n", t.Dir)
	if c := t.Git; c != nil {
		branch := c.Branch
		if branch == "" {
			branch = "detached HEAD"
		}
		fmt.Fprintf(w, "HEAD %s (%s): %s\n", c.ID, branch, firstLine(c.Message))
		if want := job.Run.Configuration["BranchName"]; want != "" && c.Branch != "" && want != c.Branch {
			fmt.Fprintf(w, "note: the action tracks branch %s; the work tree has %s checked out\n", want, c.Branch)
		}
		if c.Dirty() {
			fmt.Fprintf(w, "note: the work tree has uncommitted changes (%d modified, %d untracked files), taken as they are; the commit variables name HEAD\n", c.Modified, c.Untracked)
		}
	}
	if t.Git == nil && (job.Run.Type.Provider == CodeStarSourceConnection || job.Run.Type.Provider == CodeCommit) {
		fmt.Fprintf(w, "note: %s is not in a git work tree: the commit variables (CommitId, CommitMessage, AuthorDate) are empty\n", t.Dir)
	}
	if f := job.Run.Configuration["OutputArtifactFormat"]; f != "" && f != "CODE_ZIP" {
		fmt.Fprintf(w, "note: OutputArtifactFormat %s: a local run hands over the files alone, without .git\n", f)
	}
	fmt.Fprintf(w, "%d files; %d left out by ignore rules; %d symbolic links or special files left out\n", len(t.Files), t.Ignored, t.Skipped)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// upload zips the tree's files, through a file in the run's work directory,
// into the output artifact.
func upload(ctx context.Context, job *actions.Job, t *Tree) error {
	tmp, err := os.CreateTemp(job.WorkDir, "source-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := artifacts.ZipFiles(t.Dir, t.Files, tmp); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return err
	}
	out := job.Run.OutputArtifacts[0]
	return job.Artifacts.Upload(ctx, out.Bucket, out.Key, tmp)
}
