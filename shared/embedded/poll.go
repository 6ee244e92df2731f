package embedded

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/stageflow/stageflow/shared/actions/gitsource"
	"github.com/stageflow/stageflow/shared/actions/s3source"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/poller"
)

// Poller is the system's source poller (`stageflow serve --poll-interval`):
// git source actions are asked for their branch's head through the
// system's connections (Options.Sources), S3 source actions for their
// object's version in the artifact store or at its bucket's endpoint.
func (s *System) Poller(logger *slog.Logger) *poller.Poller {
	return &poller.Poller{Service: s.Service, Log: logger, Heads: heads{
		git: &gitsource.Provider{Sources: s.sources, CacheDir: filepath.Join(s.dataDir, "git-cache")},
		s3:  &s3source.Provider{Objects: s.Artifacts, Buckets: s.buckets},
	}}
}

type heads struct {
	git *gitsource.Provider
	s3  *s3source.Provider
}

func (h heads) Head(ctx context.Context, a pipeline.Action) (string, error) {
	if a.ActionTypeID.Provider == "S3" {
		return h.s3.Head(ctx, a)
	}
	return h.git.Head(ctx, a)
}
