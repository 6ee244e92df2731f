package gitsource

import (
	"context"
	"fmt"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/triggers/gitdiff"
)

// Head returns the commit the action's branch points at in its repository
// now, asking the remote for its references only (git ls-remote): what the
// poller compares with the revision it last saw. Credentials are masked in
// the error.
func (p *Provider) Head(ctx context.Context, a pipeline.Action) (string, error) {
	cfg, err := parseConfig(a.ActionTypeID.Provider, a.Configuration)
	if err != nil {
		return "", err
	}
	remote, err := p.resolve(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("resolving repository %q: %s", cfg.repository, maskRemote(remote, err.Error()))
	}
	src, err := newSource(remote)
	if err != nil {
		return "", fmt.Errorf("%s", maskRemote(remote, err.Error()))
	}
	rem := git.NewRemote(memory.NewStorage(), &gitconfig.RemoteConfig{Name: "origin", URLs: []string{src.url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: src.auth})
	if err != nil {
		return "", fmt.Errorf("listing the branches of %s: %s", src.display, src.mask(err.Error()))
	}
	want := branchRef(cfg.branch)
	for _, r := range refs {
		if r.Name() == want {
			return r.Hash().String(), nil
		}
	}
	return "", fmt.Errorf("branch %q does not exist in repository %s", cfg.branch, src.display)
}

// ChangedFiles lists the paths a pull request of head into base changes in
// the connection's repository (gitdiff.ChangedFilesIn: from their merge
// base), for the V2 triggers' filePaths filters when the event carries no
// paths. It clones the repository's history into memory (no tags, nothing
// checked out) under ctx's deadline; credentials are masked in the error.
func (p *Provider) ChangedFiles(ctx context.Context, connectionArn, fullRepositoryID, base, head string) ([]string, error) {
	cfg := &config{provider: ProviderConnection, connectionArn: connectionArn, repository: fullRepositoryID}
	if err := CheckFullRepositoryID(fullRepositoryID); err != nil {
		return nil, err
	}
	remote, err := p.resolve(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("resolving repository %q: %s", fullRepositoryID, maskRemote(remote, err.Error()))
	}
	src, err := newSource(remote)
	if err != nil {
		return nil, fmt.Errorf("%s", maskRemote(remote, err.Error()))
	}
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: src.url, Auth: src.auth, NoCheckout: true, Tags: git.NoTags,
	})
	if err != nil {
		return nil, fmt.Errorf("cloning %s: %s", src.display, src.mask(err.Error()))
	}
	files, err := gitdiff.ChangedFilesIn(ctx, repo, base, head)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", src.display, src.mask(err.Error()))
	}
	return files, nil
}
