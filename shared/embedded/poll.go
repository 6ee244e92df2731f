package embedded

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

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

// ChangedFiles lists the paths a pull request changes in a connection's
// repository, read from the repository itself (for the V2 triggers'
// filePaths filters; api.Config.ChangedFiles).
func (s *System) ChangedFiles(ctx context.Context, connectionArn, repo, base, head string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, changedFilesTimeout)
	defer cancel()
	git := &gitsource.Provider{Sources: s.sources}
	return git.ChangedFiles(ctx, connectionArn, repo, base, head)
}

// changedFilesTimeout bounds the clone ChangedFiles makes, well within a
// webhook sender's patience (GitHub waits 10 seconds).
const changedFilesTimeout = 8 * time.Second
