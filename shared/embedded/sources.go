package embedded

import (
	"context"
	"errors"

	"github.com/stageflow/stageflow/shared/actions/gitsource"
	"github.com/stageflow/stageflow/shared/service"
)

// serviceSources resolves git source actions through the service's
// connections and CodeCommit repositories (a pointer filled in once the
// service exists: providers are registered before it is built).
type serviceSources struct{ svc **service.Service }

var _ gitsource.Resolver = serviceSources{}

func (s serviceSources) service() (*service.Service, error) {
	if s.svc == nil || *s.svc == nil {
		return nil, errors.New("the connection store is not open yet")
	}
	return *s.svc, nil
}

func remote(r service.GitRemote) gitsource.Remote {
	return gitsource.Remote{URL: r.URL, Username: r.Username, Token: r.Token, SSHKey: r.SSHKey}
}

func (s serviceSources) ConnectionRemote(ctx context.Context, arn, repo string) (gitsource.Remote, error) {
	svc, err := s.service()
	if err != nil {
		return gitsource.Remote{}, err
	}
	r, err := svc.ConnectionRemote(ctx, arn, repo)
	return remote(r), err
}

func (s serviceSources) CodeCommitRemote(ctx context.Context, name string) (gitsource.Remote, error) {
	svc, err := s.service()
	if err != nil {
		return gitsource.Remote{}, err
	}
	r, err := svc.CodeCommitRemote(ctx, name)
	return remote(r), err
}
