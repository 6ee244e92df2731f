package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// AuthorizeValidation decides whether the caller may have a pipeline
// document named name checked without saving it (the REST door's
// POST /v1/validate, the console editor's dry run). Checking reads nothing
// stored and changes nothing, so it is allowed to whoever may create or
// update that pipeline: codepipeline:CreatePipeline on its ARN, or else
// codepipeline:UpdatePipeline on it. A caller allowed neither gets the
// denial of CreatePipeline. The document's tags are CreatePipeline's
// request tags, as they would be when it is saved.
func (s *Service) AuthorizeValidation(ctx context.Context, name string, tags []pipeline.Tag) error {
	err := s.authorizeTagging(ctx, OpCreatePipeline, s.PipelineArn(name), tags, nil)
	if err == nil || errs.CodeOf(err) != errs.Forbidden {
		return err
	}
	if s.authorize(ctx, OpUpdatePipeline, s.PipelineArn(name)) == nil {
		return nil
	}
	return err
}
