package artifacts

import (
	"context"
	"io"

	"github.com/stageflow/stageflow/shared/errs"
)

// Download unpacks the artifact at bucket/key into dir.
func (s *Store) Download(ctx context.Context, bucket, key, dir string) error {
	f, size, err := s.Open(ctx, Location{Bucket: bucket, Key: key})
	if err != nil {
		return err
	}
	defer f.Close()
	return Unzip(f, size, dir)
}

// Upload stores the zip read from r at bucket/key.
func (s *Store) Upload(ctx context.Context, bucket, key string, r io.Reader) error {
	if bucket != s.bucket() {
		return errs.Of(errs.NotFound, errs.KindArtifact, "artifact store %q does not hold bucket %q", s.bucket(), bucket)
	}
	_, err := s.PutKey(ctx, key, r)
	return err
}
