package service

import (
	"context"
)

// TriggerCreatePipeline is the trigger type of the execution that creating a
// pipeline starts, as CodePipeline names it.
const TriggerCreatePipeline = "CreatePipeline"

type noFirstExecutionKey struct{}

// WithoutFirstExecution returns a context under which CreatePipeline (and
// ApplyPipeline when it creates) starts no first execution: for processes
// that store a pipeline and decide themselves what to start (`stageflow
// run`, `serve --load`).
func WithoutFirstExecution(ctx context.Context) context.Context {
	return context.WithValue(ctx, noFirstExecutionKey{}, true)
}

func firstExecutionWanted(ctx context.Context) bool {
	no, _ := ctx.Value(noFirstExecutionKey{}).(bool)
	return !no
}

// startFirstExecution starts the execution that a newly created pipeline
// begins with, as CodePipeline does: trigger type CreatePipeline, the caller
// as trigger detail. It asks no authorization of its own: it is part of the
// CreatePipeline the caller was allowed. A start that fails (a variable
// without default value that only a StartPipelineExecution can give, the
// driver refusing) does not undo the creation: it is logged, and the
// pipeline waits for a StartPipelineExecution.
func (s *Service) startFirstExecution(ctx context.Context, name string) {
	if s.noFirstExecution || !firstExecutionWanted(ctx) {
		return
	}
	e, err := s.start(ctx, StartInput{PipelineName: name, TriggerType: TriggerCreatePipeline})
	if err != nil {
		s.log.Warn("the pipeline was created, but its first execution did not start; start it with StartPipelineExecution",
			"pipeline", name, "err", err)
		return
	}
	s.log.Info("started the first execution of a new pipeline", "pipeline", name, "execution", e.ID)
}
