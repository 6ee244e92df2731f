package service

import (
	"context"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// Store is what the service needs of the store (shared/store documents the
// whole contract; every store satisfies it).
type Store interface {
	CreatePipeline(ctx context.Context, p *store.Pipeline) error
	UpdatePipeline(ctx context.Context, p *store.Pipeline) (*store.Pipeline, error)
	GetPipeline(ctx context.Context, name string, version int) (*store.Pipeline, error)
	ListPipelines(ctx context.Context, page store.Page) ([]store.PipelineSummary, string, error)
	DeletePipeline(ctx context.Context, name string) error

	CreateExecution(ctx context.Context, e *engine.Execution) (stored *engine.Execution, created bool, err error)
	GetExecution(ctx context.Context, id string) (*engine.Execution, error)
	ListExecutions(ctx context.Context, f store.ExecutionFilter, page store.Page) ([]store.ExecutionSummary, string, error)
	ExecutionByRunToken(ctx context.Context, token string) (*engine.Execution, error)
	GetPipelineLocks(ctx context.Context, pipeline string) (*engine.PipelineLocks, error)

	GetJob(ctx context.Context, id string) (*store.Job, error)
	PollJobs(ctx context.Context, typ pipeline.ActionTypeID, max int, now time.Time) ([]*store.Job, error)
	UpdateJob(ctx context.Context, j *store.Job) error
	ListExpiredJobs(ctx context.Context, now time.Time) ([]*store.Job, error)

	CreateActionType(ctx context.Context, t *store.CustomActionType) error
	DeleteActionType(ctx context.Context, id pipeline.ActionTypeID) error
	ListActionTypes(ctx context.Context) ([]store.CustomActionType, error)

	TagResource(ctx context.Context, arn string, tags []pipeline.Tag) error
	UntagResource(ctx context.Context, arn string, keys []string) error
	ListTags(ctx context.Context, arn string) ([]pipeline.Tag, error)
}

var _ Store = store.Store(nil)
