package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// CreatePipeline validates and stores version 1 of a pipeline, then starts
// its first execution, as CodePipeline does (firstexecution.go): the
// pipeline is created whether that start succeeds or not. Config's
// NoFirstExecution, or a context from WithoutFirstExecution, starts nothing.
func (s *Service) CreatePipeline(ctx context.Context, p pipeline.Pipeline, tags []pipeline.Tag) (*GetPipelineOutput, error) {
	if err := s.authorizeTagging(ctx, OpCreatePipeline, s.PipelineArn(p.Name), tags, nil); err != nil {
		return nil, err
	}
	if err := validatePipeline(&p); err != nil {
		return nil, err
	}
	if err := checkTags(tags, nil); err != nil {
		return nil, err
	}
	sp, err := s.secretsOf(ctx, &p)
	if err != nil {
		return nil, err
	}
	if err := sp.keepSecrets(&p, nil); err != nil {
		return nil, err
	}
	rec := &store.Pipeline{Name: p.Name, Declaration: p, Tags: tags}
	if err := s.store.CreatePipeline(ctx, rec); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Of(errs.Conflict, errs.KindPipeline, "a pipeline named %q already exists", p.Name)
		}
		return nil, err
	}
	if len(tags) > 0 {
		if err := s.store.TagResource(ctx, s.PipelineArn(p.Name), tags); err != nil {
			return nil, err
		}
	}
	s.startFirstExecution(ctx, p.Name)
	return s.pipelineOutput(rec, sp), nil
}

// UpdatePipeline stores the next version of a pipeline.
func (s *Service) UpdatePipeline(ctx context.Context, p pipeline.Pipeline) (*GetPipelineOutput, error) {
	if err := s.authorize(ctx, OpUpdatePipeline, s.PipelineArn(p.Name)); err != nil {
		return nil, err
	}
	if err := validatePipeline(&p); err != nil {
		return nil, err
	}
	sp, err := s.secretsOf(ctx, &p)
	if err != nil {
		return nil, err
	}
	if len(sp) > 0 {
		// A secret sent back masked keeps the latest version's value.
		cur, err := s.store.GetPipeline(ctx, p.Name, 0)
		if err != nil {
			return nil, pipelineNotFound(err, p.Name)
		}
		if err := sp.keepSecrets(&p, &cur.Declaration); err != nil {
			return nil, err
		}
	}
	rec, err := s.store.UpdatePipeline(ctx, &store.Pipeline{Name: p.Name, Declaration: p})
	if err != nil {
		return nil, pipelineNotFound(err, p.Name)
	}
	// CodePipeline's rules for the executions of an updated pipeline: the
	// SUPERSEDED and QUEUED ones waiting end Cancelled, the ones in a stage
	// once their running actions end; PARALLEL ones go on.
	if err := s.driver.Control(ctx, p.Name, engine.Updated()); err != nil {
		return nil, fmt.Errorf("pipeline %s was updated to version %d, but its executions in progress were not cancelled: %w", p.Name, rec.Version, err)
	}
	return s.pipelineOutput(rec, sp), nil
}

// GetPipeline returns a version of a pipeline (0: the latest), the values
// of secret configuration properties masked (SecretMask).
func (s *Service) GetPipeline(ctx context.Context, name string, version int) (*GetPipelineOutput, error) {
	rec, err := s.getPipeline(ctx, name, version)
	if err != nil {
		return nil, err
	}
	sp, err := s.secretsOf(ctx, &rec.Declaration)
	if err != nil {
		return nil, err
	}
	return s.pipelineOutput(rec, sp), nil
}

// getPipeline is GetPipeline's authorized read of the stored record, secrets
// included.
func (s *Service) getPipeline(ctx context.Context, name string, version int) (*store.Pipeline, error) {
	if err := s.authorize(ctx, OpGetPipeline, s.PipelineArn(name)); err != nil {
		return nil, err
	}
	rec, err := s.store.GetPipeline(ctx, name, version)
	if err != nil {
		if version > 0 && errs.Is(err, errs.NotFound) {
			if _, e2 := s.store.GetPipeline(ctx, name, 0); e2 == nil {
				return nil, errs.Of(errs.NotFound, errs.KindPipelineVersion, "pipeline %q has no version %d", name, version)
			}
		}
		return nil, pipelineNotFound(err, name)
	}
	return rec, nil
}

// DeletePipeline deletes every version of a pipeline, its executions and its
// tags: executions in progress are stopped (abandoned) first, and a pipeline
// created later under the name starts with an empty history. Deleting a
// name that does not exist succeeds, as in CodePipeline; existed says
// whether there was one (the REST door answers 404 without).
func (s *Service) DeletePipeline(ctx context.Context, name string) (existed bool, err error) {
	if err := s.authorize(ctx, OpDeletePipeline, s.PipelineArn(name)); err != nil {
		return false, err
	}
	if err := s.abandonAll(ctx, name); err != nil {
		return false, err
	}
	if err := s.store.DeletePipeline(ctx, name); err != nil {
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return false, err
	}
	tags, err := s.store.ListTags(ctx, s.PipelineArn(name))
	if err != nil || len(tags) == 0 {
		return true, err
	}
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = t.Key
	}
	return true, s.store.UntagResource(ctx, s.PipelineArn(name), keys)
}

// abandonAll stops every execution of the pipeline still going, abandoning
// its running actions.
func (s *Service) abandonAll(ctx context.Context, name string) error {
	var going []string
	for _, status := range []engine.Status{engine.InProgress, engine.Stopping} {
		err := s.eachExecution(ctx, store.ExecutionFilter{PipelineName: name, Status: status}, func(e *engine.Execution) bool {
			going = append(going, e.ID)
			return true
		})
		if err != nil {
			return err
		}
	}
	for _, id := range going {
		// An execution that ended meanwhile (or was abandoned already) is fine.
		err := s.driver.Stop(ctx, id, true, "the pipeline was deleted", CallerFrom(ctx).Principal)
		if e, ok := errs.As(err); err != nil && (!ok || e.Code != errs.InvalidState && e.Kind != errs.KindDuplicatedStop) {
			return err
		}
	}
	return nil
}

// ListPipelines lists pipelines by name, a page at a time.
func (s *Service) ListPipelines(ctx context.Context, maxResults int, nextToken string) (*ListPipelinesOutput, error) {
	if err := s.authorize(ctx, OpListPipelines, AllResources); err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListPipelines(ctx, store.Page{Token: nextToken, Limit: maxResults})
	if err != nil {
		return nil, tokenError(err)
	}
	out := &ListPipelinesOutput{Pipelines: []PipelineSummary{}, NextToken: next}
	for _, r := range rows {
		out.Pipelines = append(out.Pipelines, PipelineSummary{
			Name: r.Name, Version: r.Version, PipelineType: r.PipelineType, ExecutionMode: r.ExecutionMode,
			Created: ts(r.Created), Updated: ts(r.Updated),
		})
	}
	return out, nil
}

// EachPipeline calls fn with the latest version of every pipeline (as
// GetPipeline answers it), in name order, a page of ListPipelines at a time;
// a pipeline deleted between the page and its read is skipped. The error is
// the listing's, or fn's, which stops the walk.
func (s *Service) EachPipeline(ctx context.Context, fn func(*pipeline.Pipeline) error) error {
	next := ""
	for {
		page, err := s.ListPipelines(ctx, 100, next)
		if err != nil {
			return err
		}
		for _, sum := range page.Pipelines {
			got, err := s.GetPipeline(ctx, sum.Name, 0)
			if errs.Is(err, errs.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := fn(&got.Pipeline); err != nil {
				return err
			}
		}
		if page.NextToken == "" {
			return nil
		}
		next = page.NextToken
	}
}

// pipelineOutput is a stored pipeline as the API shows it: its secret
// configuration values masked.
func (s *Service) pipelineOutput(rec *store.Pipeline, sp secretProps) *GetPipelineOutput {
	p := sp.maskPipeline(rec.Declaration)
	v := rec.Version
	p.Version = &v
	return &GetPipelineOutput{Pipeline: p, Metadata: &PipelineMetadata{
		PipelineArn: s.PipelineArn(rec.Name), Created: ts(rec.Created), Updated: ts(rec.Updated),
	}}
}

func validatePipeline(p *pipeline.Pipeline) error {
	if problems := pipeline.Validate(p); len(problems) > 0 {
		e := errs.Invalid("the pipeline structure is invalid", problems)
		e.Kind = errs.KindStructure
		return e
	}
	return nil
}

func pipelineNotFound(err error, name string) error {
	if errs.Is(err, errs.NotFound) {
		return errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %q does not exist", name)
	}
	return err
}

func tokenError(err error) error {
	if e, ok := errs.As(err); ok && e.Code == errs.Validation {
		return errs.Of(errs.Validation, errs.KindNextToken, "%s", e.Message)
	}
	return err
}

// Applied says what ApplyPipeline did.
type Applied string

// What ApplyPipeline did.
const (
	Created   Applied = "created"
	Updated   Applied = "updated"
	Unchanged Applied = "unchanged"
)

// ApplyPipeline creates a pipeline, or stores a new version when its
// declaration differs from the latest one (`serve --load`, `stageflow run`).
// Creating starts the first execution as CreatePipeline does (unless ctx
// comes from WithoutFirstExecution, as it does for those two); updating
// starts nothing, as UpdatePipeline.
func (s *Service) ApplyPipeline(ctx context.Context, p pipeline.Pipeline, tags []pipeline.Tag) (*GetPipelineOutput, Applied, error) {
	p.Version = nil
	cur, err := s.getPipeline(ctx, p.Name, 0)
	if errs.Is(err, errs.NotFound) {
		out, err := s.CreatePipeline(ctx, p, tags)
		return out, Created, err
	}
	if err != nil {
		return nil, "", err
	}
	// Compared with the stored values: a masked secret keeps its value.
	sp, err := s.secretsOf(ctx, &p)
	if err != nil {
		return nil, "", err
	}
	if err := sp.keepSecrets(&p, &cur.Declaration); err != nil {
		return nil, "", err
	}
	old := cur.Declaration
	old.Version = nil
	a, _ := json.Marshal(old)
	b, _ := json.Marshal(p)
	if bytes.Equal(a, b) {
		sp, err := s.secretsOf(ctx, &cur.Declaration)
		if err != nil {
			return nil, "", err
		}
		return s.pipelineOutput(cur, sp), Unchanged, nil
	}
	out, err := s.UpdatePipeline(ctx, p)
	return out, Updated, err
}
