package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/artifacts"
)

// fullDepth asks a server for the whole history of a shallow clone (git's
// own --unshallow sends the same depth).
const fullDepth = 0x7fffffff

// lock takes the lock of one cached repository, or fails when ctx ends first.
func (p *Provider) lock(ctx context.Context, key string) (func(), error) {
	p.mu.Lock()
	if p.locks == nil {
		p.locks = map[string]chan struct{}{}
	}
	ch, ok := p.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		p.locks[key] = ch
	}
	p.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// codeZipArtifact fetches the commit into the cache and zips its tree to
// zipPath.
func (p *Provider) codeZipArtifact(ctx context.Context, src *source, branch, pin string, log io.Writer, zipPath string) (*object.Commit, error) {
	if p.CacheDir == "" {
		return nil, errors.New("the git source provider has no cache directory")
	}
	unlock, err := p.lock(ctx, src.cacheKey())
	if err != nil {
		return nil, err
	}
	defer unlock()
	return fetchAndZip(ctx, filepath.Join(p.CacheDir, src.cacheKey()), src, branch, pin, log, zipPath)
}

func fetchAndZip(ctx context.Context, dir string, src *source, branch, pin string, log io.Writer, zipPath string) (*object.Commit, error) {
	repo, err := openCache(dir, src.url)
	if err != nil {
		return nil, fmt.Errorf("the repository cache: %w", err)
	}
	commit, err := fetchCommit(ctx, repo, src, branch, pin, log)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(zipPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	skipped, err := zipCommit(commit, f)
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		logf(log, "Left out %d symbolic links and submodules: an artifact holds regular files only", skipped)
	}
	return commit, f.Close()
}

// openCache opens the bare repository cached for url, making it afresh
// when it is missing or unreadable.
func openCache(dir, url string) (*git.Repository, error) {
	if repo, err := git.PlainOpen(dir); err == nil {
		return repo, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		return nil, err
	}
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		return nil, err
	}
	return repo, nil
}

// fetchCommit brings the branch's head, or the pinned commit, into repo.
func fetchCommit(ctx context.Context, repo *git.Repository, src *source, branch, pin string, log io.Writer) (*object.Commit, error) {
	remoteRef := plumbing.NewRemoteReferenceName("origin", branch)
	branchSpec := gitconfig.RefSpec("+" + branchRef(branch).String() + ":" + remoteRef.String())
	fetch := func(spec gitconfig.RefSpec, depth int) error {
		err := repo.FetchContext(ctx, &git.FetchOptions{
			RemoteName: "origin", RemoteURL: src.url, RefSpecs: []gitconfig.RefSpec{spec},
			Depth: depth, Tags: git.NoTags, Auth: src.auth, Force: true,
		})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	}
	branchMissing := func(err error) error {
		var nm git.NoMatchingRefSpecError
		if errors.As(err, &nm) || errors.Is(err, plumbing.ErrReferenceNotFound) {
			return &notFoundError{fmt.Sprintf("branch %q does not exist in repository %s", branch, src.display)}
		}
		return fmt.Errorf("fetching branch %q of %s: %w", branch, src.display, err)
	}
	if pin == "" {
		if err := fetch(branchSpec, 1); err != nil {
			return nil, branchMissing(err)
		}
		ref, err := repo.Reference(remoteRef, true)
		if err != nil {
			return nil, branchMissing(err)
		}
		c, err := repo.CommitObject(ref.Hash())
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", ref.Hash(), err)
		}
		return c, nil
	}
	hash := plumbing.NewHash(pin)
	if c, err := repo.CommitObject(hash); err == nil {
		logf(log, "Commit %s is in the cache already", pin)
		return c, nil
	}
	// The commit itself, where the server allows asking for it; else the
	// branch's whole history.
	err := fetch(gitconfig.RefSpec(pin+":refs/stageflow/pinned/"+pin), 1)
	if err != nil {
		logf(log, "The server does not give commit %s by itself (%s); fetching the whole history of branch %s", pin, src.mask(err.Error()), branch)
		if err := fetch(branchSpec, fullDepth); err != nil {
			return nil, branchMissing(err)
		}
	}
	c, err := repo.CommitObject(hash)
	if err == nil {
		return c, nil
	}
	// A commit of another branch (a pull request's head): every branch,
	// and the pull requests' heads where the server keeps them.
	logf(log, "Commit %s is not on branch %s; fetching the repository's other branches and pull requests", pin, branch)
	for _, spec := range []gitconfig.RefSpec{"+refs/heads/*:refs/stageflow/heads/*", "+refs/pull/*/head:refs/stageflow/pull/*"} {
		if err := fetch(spec, fullDepth); err != nil {
			var nm git.NoMatchingRefSpecError
			if !errors.As(err, &nm) {
				logf(log, "Fetching %s: %s", spec.Src(), src.mask(err.Error()))
			}
		}
		if c, err := repo.CommitObject(hash); err == nil {
			return c, nil
		}
	}
	return nil, &notFoundError{fmt.Sprintf("commit %s does not exist in repository %s (looked on branch %q, then on every branch and pull request)", pin, src.display, branch)}
}

// cloneArtifact makes a full clone of the branch with its .git folder in
// the run's work directory, checks out the pinned commit if any, and zips
// the clone to zipPath.
func (p *Provider) cloneArtifact(ctx context.Context, src *source, branch, pin string, job *actions.Job, zipPath string) (*object.Commit, error) {
	dir := filepath.Join(job.WorkDir, "clone")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// Bound file systems: nothing the repository holds (a symbolic link)
	// makes go-git write outside the clone.
	st := filesystem.NewStorage(osfs.New(filepath.Join(dir, ".git"), osfs.WithBoundOS()), cache.NewObjectLRUDefault())
	repo, err := git.CloneContext(ctx, st, osfs.New(dir, osfs.WithBoundOS()), &git.CloneOptions{
		URL: src.url, Auth: src.auth, ReferenceName: branchRef(branch), SingleBranch: true, Tags: git.TagFollowing,
	})
	if err != nil {
		var nm git.NoMatchingRefSpecError
		if errors.As(err, &nm) || errors.Is(err, plumbing.ErrReferenceNotFound) {
			return nil, &notFoundError{fmt.Sprintf("branch %q does not exist in repository %s", branch, src.display)}
		}
		return nil, fmt.Errorf("cloning branch %q of %s: %w", branch, src.display, err)
	}
	head, err := repo.Head()
	if err != nil {
		return nil, err
	}
	hash := head.Hash()
	if pin != "" {
		hash = plumbing.NewHash(pin)
		if _, err := repo.CommitObject(hash); err != nil {
			err := repo.FetchContext(ctx, &git.FetchOptions{
				RefSpecs: []gitconfig.RefSpec{gitconfig.RefSpec(pin + ":refs/stageflow/pinned/" + pin)},
				Tags:     git.NoTags, Auth: src.auth,
			})
			if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
				return nil, &notFoundError{fmt.Sprintf("commit %s does not exist on branch %q of repository %s", pin, branch, src.display)}
			}
		}
		wt, err := repo.Worktree()
		if err != nil {
			return nil, err
		}
		if err := wt.Checkout(&git.CheckoutOptions{Hash: hash, Force: true}); err != nil {
			return nil, fmt.Errorf("checking out commit %s: %w", pin, err)
		}
		logf(job.Log, "Checked out commit %s (detached HEAD)", pin)
	}
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return nil, &notFoundError{fmt.Sprintf("commit %s does not exist in repository %s", hash, src.display)}
	}
	f, err := os.Create(zipPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := artifacts.ZipDir(dir, f); err != nil {
		return nil, err
	}
	return commit, f.Close()
}
