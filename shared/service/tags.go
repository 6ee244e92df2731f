package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// TagResource, UntagResource and ListTags act on a pipeline's tags by ARN.
func (s *Service) TagResource(ctx context.Context, arn string, tags []pipeline.Tag) error {
	if err := s.authorizeTagging(ctx, OpTagResource, arn, tags, nil); err != nil {
		return err
	}
	if err := s.checkArn(ctx, arn); err != nil {
		return err
	}
	existing, err := s.store.ListTags(ctx, arn)
	if err != nil {
		return err
	}
	if err := checkTags(tags, existing); err != nil {
		return err
	}
	return s.store.TagResource(ctx, arn, tags)
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	if err := s.authorizeTagging(ctx, OpUntagResource, arn, nil, keys); err != nil {
		return err
	}
	if err := s.checkArn(ctx, arn); err != nil {
		return err
	}
	return s.store.UntagResource(ctx, arn, keys)
}

// ListTags lists a resource's tags.
func (s *Service) ListTags(ctx context.Context, arn string) ([]pipeline.Tag, error) {
	if err := s.authorize(ctx, OpListTagsForResource, arn); err != nil {
		return nil, err
	}
	if err := s.checkArn(ctx, arn); err != nil {
		return nil, err
	}
	tags, err := s.store.ListTags(ctx, arn)
	if tags == nil {
		tags = []pipeline.Tag{}
	}
	return tags, err
}

func (s *Service) checkArn(ctx context.Context, arn string) error {
	prefix := s.arnPrefix()
	if len(arn) <= len(prefix) || arn[:len(prefix)] != prefix {
		return errs.Of(errs.NotFound, errs.KindResource, "no resource %q (pipeline ARNs here start with %s)", arn, prefix)
	}
	if _, err := s.store.GetPipeline(ctx, arn[len(prefix):], 0); err != nil {
		if errs.Is(err, errs.NotFound) {
			return errs.Of(errs.NotFound, errs.KindResource, "no resource %q", arn)
		}
		return err
	}
	return nil
}
