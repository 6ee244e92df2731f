package gitsource

import (
	"context"
	"fmt"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/stageflow/stageflow/shared/pipeline"
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
