package embedded

import (
	"context"
	"errors"

	"github.com/stageflow/stageflow/shared/actions/gitsource"
	"github.com/stageflow/stageflow/shared/actions/s3source"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// serviceSources resolves git source actions through the service's
// connections and CodeCommit repositories (a pointer filled in once the
// service exists: providers are registered before it is built).
type serviceSources struct{ svc **service.Service }

var (
	_ gitsource.Resolver = serviceSources{}
	_ s3source.Buckets   = serviceSources{}
)

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

// BucketRemote resolves an S3 source action's bucket through the
// service's buckets (stageflow bucket create); a bucket it does not know
// is the artifact store's.
func (s serviceSources) BucketRemote(ctx context.Context, bucket string) (s3source.Remote, bool, error) {
	if bucket == LocalBucket {
		return s3source.Remote{}, false, nil // the artifact store's own, whatever is recorded
	}
	svc, err := s.service()
	if err != nil {
		return s3source.Remote{}, false, err
	}
	if service.CheckBucketName(bucket) != nil {
		return s3source.Remote{}, false, nil // no bucket of ours: the artifact store says what is wrong
	}
	r, err := svc.BucketRemote(ctx, bucket)
	if errs.Is(err, errs.NotFound) {
		return s3source.Remote{}, false, nil
	}
	if err != nil {
		return s3source.Remote{}, false, err
	}
	return s3source.Remote{Endpoint: r.Endpoint, Region: r.Region, PathStyle: r.PathStyle,
		AccessKeyID: r.AccessKeyID, SecretAccessKey: r.SecretAccessKey}, true, nil
}
