// Package custom serves custom actions (owner Custom): each run becomes a job
// in the store's queue, which job workers take with PollForJobs and finish
// with PutJobSuccessResult or PutJobFailureResult. The job's ID is the run's
// completion token.
package custom

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/store"
)

// JobStore is what the provider needs of the store.
type JobStore interface {
	CreateJob(ctx context.Context, j *store.Job) error
}

// JobData is the payload a worker receives: the resolved configuration and
// the artifact locations of the run.
type JobData struct {
	Configuration   map[string]string    `json:"configuration,omitempty"`
	InputArtifacts  []engine.ArtifactRef `json:"inputArtifacts,omitempty"`
	OutputArtifacts []engine.ArtifactRef `json:"outputArtifacts,omitempty"`
	Stage           string               `json:"stage"`
	Action          string               `json:"action"`
}

// Provider queues jobs.
type Provider struct {
	Store JobStore
	Now   func() time.Time
}

var _ actions.Provider = (*Provider)(nil)

// Run queues the job and leaves the run waiting for its token.
func (p *Provider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	data, err := json.Marshal(JobData{
		Configuration:   job.Run.Configuration,
		InputArtifacts:  job.Run.InputArtifacts,
		OutputArtifacts: job.Run.OutputArtifacts,
		Stage:           job.Run.Stage,
		Action:          job.Run.Action,
	})
	if err != nil {
		return actions.Failed("JobFailed", "encoding the job: %v", err)
	}
	now := p.Now().UTC()
	// The job's deadline is the run's: the engine's timeout of the action
	// (its timeoutInMinutes, else engine.CustomActionTimeout), counted from
	// the run's start. The engine's driver fails the
	// run at that deadline; ExpireJobs then finds the job expired too.
	deadline := engine.Deadline(&job.Run)
	j := &store.Job{
		ID:           job.Run.Token,
		Nonce:        NewNonce(),
		ActionTypeID: job.Run.Type,
		ExecutionID:  job.ExecutionID,
		ActionRunID:  job.Run.ID,
		PipelineName: job.PipelineName,
		Status:       store.JobQueued,
		Data:         data,
		Created:      now,
		Updated:      now,
		Deadline:     deadline,
	}
	if err := p.Store.CreateJob(ctx, j); err != nil {
		return actions.Failed("JobFailed", "queueing the job for workers: %v", err)
	}
	job.Log.Write([]byte("queued job " + j.ID + " for workers of " + j.ActionTypeID.String() + "\n"))
	return nil
}

// NewNonce returns a job's nonce: 144 random bits from crypto/rand, 24
// URL-safe base64 characters (AcknowledgeJob takes nonces of at most 50).
// Only the worker handed the job learns it: it is not the action execution
// ID or any other ID ListActionExecutions and the like show, and it is
// drawn anew each time the job goes back to the queue.
func NewNonce() string {
	b := make([]byte, 18)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Resumable is true: the queued job survives restarts.
func (*Provider) Resumable() bool { return true }
