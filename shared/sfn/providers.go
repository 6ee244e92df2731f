package sfn

import (
	"context"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/actions/custom"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// JobStore is what the deployed providers need of the store.
type JobStore interface {
	CreateJob(ctx context.Context, j *store.Job) error
	GetJob(ctx context.Context, id string) (*store.Job, error)
}

// Providers is the registry of the deployed Stageflow: manual approvals
// (waiting for PutApprovalResult), custom actions as jobs for job workers,
// and every other type failing at once with a message saying it is not run
// deployed yet and what is.
func Providers(jobs JobStore, now func() time.Time) *actions.Registry {
	reg := actions.NewRegistry(func(pipeline.ActionTypeID) actions.Provider { return notYet{} })
	reg.Register(pipeline.OwnerAWS, "Manual", approval.Provider{})
	reg.RegisterOwner(pipeline.OwnerCustom, &custom.Provider{Store: onceJobs{jobs}, Now: now})
	return reg
}

// onceJobs makes queueing a run's job idempotent: Dispatch may run twice
// for one run (a retried invocation), and the job of the run, queued the
// first time, is then kept as it is.
type onceJobs struct{ JobStore }

func (s onceJobs) CreateJob(ctx context.Context, j *store.Job) error {
	err := s.JobStore.CreateJob(ctx, j)
	if errs.Is(err, errs.Conflict) {
		if old, gerr := s.GetJob(ctx, j.ID); gerr == nil && old.ActionRunID == j.ActionRunID && old.ExecutionID == j.ExecutionID {
			return nil
		}
	}
	return err
}

// notYet is the provider of the action types the deployed Stageflow cannot
// run yet (Commands, CodeBuild and the other AWS-service providers).
type notYet struct{}

func (notYet) Run(_ context.Context, job *actions.Job) *engine.Result {
	return actions.Failed("ConfigurationError", "action type %s (provider %s) %v: deployed, it runs manual approvals and custom actions served by job workers (run this one with stageflow serve, or as a custom action)",
		job.Run.Type, job.Run.Type.Provider, ErrNotYet)
}

func (notYet) Resumable() bool { return false }
