// Package gitsource runs CodePipeline's git source actions,
// AWS/CodeStarSourceConnection and AWS/CodeCommit, with go-git: it resolves
// the action's repository to a git remote through a Resolver (Stageflow's
// connections and CodeCommit repository names), fetches the branch (or the
// pinned commit) into a cache of shallow clones kept per repository, and
// writes the output artifact: the tree at the commit, zipped (CODE_ZIP), or
// a full clone with its .git folder (CODEBUILD_CLONE_REF). The output
// variables are the ones CodePipeline documents for each provider, and the
// commit is reported as the run's current revision.
package gitsource

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
)

// The action types this package serves (owner AWS, category Source).
const (
	ProviderConnection = "CodeStarSourceConnection"
	ProviderCodeCommit = "CodeCommit"
)

// Remote is where a repository is fetched from and how.
type Remote struct {
	URL      string // https://…, ssh://… or git@host:path, or a local path / file:// URL
	Username string // for HTTPS basic auth with Token (default "x-access-token" when Token is set)
	Token    string // HTTPS token or password; never logged
	SSHKey   []byte // PEM private key for SSH; never logged
	// ProviderType is the connection's provider as CodeConnections names it
	// (GitHub, GitHubEnterpriseServer, GitLab, GitLabSelfManaged,
	// Bitbucket); it is the ProviderType output variable. Empty: GitHub.
	ProviderType string
}

// Resolver maps what a source action names to a remote.
type Resolver interface {
	// ConnectionRemote resolves a connection ARN and FullRepositoryId ("owner/repo").
	ConnectionRemote(ctx context.Context, connectionArn, fullRepositoryID string) (Remote, error)
	// CodeCommitRemote resolves a CodeCommit repository name.
	CodeCommitRemote(ctx context.Context, repositoryName string) (Remote, error)
}

// NoResolver is the Resolver of a system without a connection store: it
// fails every lookup.
type NoResolver struct{}

var _ Resolver = NoResolver{}

// ConnectionRemote fails.
func (NoResolver) ConnectionRemote(context.Context, string, string) (Remote, error) {
	return Remote{}, fmt.Errorf("no connection store configured")
}

// CodeCommitRemote fails.
func (NoResolver) CodeCommitRemote(context.Context, string) (Remote, error) {
	return Remote{}, fmt.Errorf("no connection store configured")
}

// Provider runs git source actions. One Provider serves both action types
// and every run at once; runs of one repository take turns on its cache.
type Provider struct {
	// Sources resolves the repositories (nil: NoResolver).
	Sources Resolver
	// CacheDir holds the cached clones, one folder per remote URL
	// (e.g. <data-dir>/git-cache).
	CacheDir string

	mu    sync.Mutex
	locks map[string]chan struct{}
}

var _ actions.Provider = (*Provider)(nil)

// Resumable is false: a fetch that was running when the process stopped is gone.
func (*Provider) Resumable() bool { return false }

// Run fetches the repository and writes the output artifacts.
func (p *Provider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	cfg, err := parseConfig(job.Run.Type.Provider, job.Run.Configuration)
	if err != nil {
		return actions.Failed(engine.CodeConfigurationError, "%v", err)
	}
	pin, err := pinnedCommit(job.Run.SourceRevisions)
	if err != nil {
		return actions.Failed(engine.CodeConfigurationError, "%v", err)
	}
	remote, err := p.resolve(ctx, cfg)
	if err != nil {
		what := fmt.Sprintf("CodeCommit repository %q", cfg.repository)
		if cfg.provider == ProviderConnection {
			what = fmt.Sprintf("connection %q (repository %q)", cfg.connectionArn, cfg.repository)
		}
		return actions.Failed(engine.CodeConfigurationError, "cannot resolve %s: %s", what, maskRemote(remote, err.Error()))
	}
	src, err := newSource(remote)
	if err != nil {
		return actions.Failed(engine.CodeConfigurationError, "%s", maskRemote(remote, err.Error()))
	}
	logf(job.Log, "Fetching branch %s of %s", cfg.branch, src.display)
	if pin != "" {
		logf(job.Log, "The execution pins commit %s", pin)
	}

	zipPath := filepath.Join(job.WorkDir, "source.zip")
	var commit *object.Commit
	if cfg.format == FormatCloneRef {
		commit, err = p.cloneArtifact(ctx, src, cfg.branch, pin, job, zipPath)
	} else {
		commit, err = p.codeZipArtifact(ctx, src, cfg.branch, pin, job.Log, zipPath)
	}
	if err != nil {
		if ctx.Err() != nil {
			return actions.Failed(engine.CodeJobFailed, "the fetch was interrupted: %s", src.mask(err.Error()))
		}
		return actions.Failed(failureCode(err), "%s", src.mask(err.Error()))
	}
	for _, out := range job.Run.OutputArtifacts {
		if err := upload(ctx, job, out, zipPath); err != nil {
			return actions.Failed(engine.CodeJobFailed, "uploading output artifact %q: %v", out.Name, err)
		}
	}
	_ = os.Remove(zipPath)
	extra := map[string]string{}
	if cfg.provider == ProviderConnection {
		extra["ConnectionArn"] = cfg.connectionArn
		extra["FullRepositoryName"] = cfg.repository
		extra["ProviderType"] = providerType(remote)
	} else {
		extra["RepositoryName"] = cfg.repository
	}
	vars := CommitVariables(cfg.provider, commit, cfg.branch, extra)
	logf(job.Log, "Commit %s: %s", commit.Hash, firstLine(commit.Message))
	return &engine.Result{
		Status:          engine.Succeeded,
		Summary:         truncate(firstLine(commit.Message), 2048),
		OutputVariables: vars,
		CurrentRevision: Revision(cfg.provider, commit, providerType(remote)),
	}
}

// resolve maps the action's repository to its remote.
func (p *Provider) resolve(ctx context.Context, cfg *config) (Remote, error) {
	resolver := p.Sources
	if resolver == nil {
		resolver = NoResolver{}
	}
	if cfg.provider == ProviderConnection {
		return resolver.ConnectionRemote(ctx, cfg.connectionArn, cfg.repository)
	}
	return resolver.CodeCommitRemote(ctx, cfg.repository)
}

func upload(ctx context.Context, job *actions.Job, out engine.ArtifactRef, zipPath string) error {
	f, err := os.Open(zipPath)
	if err != nil {
		return err
	}
	defer f.Close()
	return job.Artifacts.Upload(ctx, out.Bucket, out.Key, f)
}

func providerType(r Remote) string {
	if r.ProviderType == "" {
		return "GitHub"
	}
	return r.ProviderType
}

// failureCode is ConfigurationError for what the pipeline asked wrongly (a
// branch or commit that does not exist), JobFailed for the rest.
func failureCode(err error) string {
	if _, ok := err.(*notFoundError); ok {
		return engine.CodeConfigurationError
	}
	return engine.CodeJobFailed
}

// notFoundError is a branch or commit the repository does not have.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// pinnedCommit is the COMMIT_ID the execution asks for, if any.
func pinnedCommit(list []engine.SourceRevision) (string, error) {
	pin := ""
	for _, sr := range list {
		if sr.Type != "COMMIT_ID" {
			return "", fmt.Errorf("sourceRevisions: revision type %s does not apply to a git source action (use COMMIT_ID)", sr.Type)
		}
		if !isFullHash(sr.Value) {
			return "", fmt.Errorf("sourceRevisions: COMMIT_ID %q is not a full 40-character hexadecimal commit ID", truncate(sr.Value, 100))
		}
		pin = sr.Value
	}
	return pin, nil
}

func isFullHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func branchRef(branch string) plumbing.ReferenceName { return plumbing.NewBranchReferenceName(branch) }
