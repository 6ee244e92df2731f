package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/stageflow/stageflow/shared/actions/custom"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// PollForJobs hands out queued jobs of a custom action type.
func (s *Service) PollForJobs(ctx context.Context, typ pipeline.ActionTypeID, maxBatch int) ([]Job, error) {
	if err := s.authorize(ctx, OpPollForJobs, s.ActionTypeArn(typ)); err != nil {
		return nil, err
	}
	if !s.actionTypeExists(ctx, typ) {
		return nil, errs.Of(errs.NotFound, errs.KindActionType, "no action type %s; create it with CreateCustomActionType", typ)
	}
	if maxBatch <= 0 {
		maxBatch = 1
	}
	out := []Job{}
	var taken []*store.Job // handed out by this call, so far
	for len(out) < maxBatch {
		jobs, err := s.store.PollJobs(ctx, typ, maxBatch-len(out), s.now().UTC())
		if err != nil {
			return nil, err
		}
		skipped := 0
		for i, j := range jobs {
			if ended, err := s.dropJobOfEndedRun(ctx, j); err != nil {
				return nil, s.requeue(ctx, err, append(taken, jobs[i:]...))
			} else if ended != "" {
				skipped++ // its run was stopped or abandoned: no worker gets it
				continue
			}
			data, err := s.jobData(ctx, j)
			if err != nil {
				return nil, s.requeue(ctx, err, append(taken, jobs[i:]...))
			}
			taken = append(taken, j)
			out = append(out, Job{ID: j.ID, Data: data, Nonce: j.Nonce, AccountID: s.account})
		}
		if skipped == 0 {
			break // the queue had no more, or gave all that was asked
		}
	}
	return out, nil
}

// dropJobOfEndedRun marks Failed a job whose action run has ended without it
// (the execution was stopped, abandoned or deleted), so that the job leaves
// the queue and a worker's result is refused. It returns the run's status
// ("" while the run is still going; NotFound when the execution is gone).
func (s *Service) dropJobOfEndedRun(ctx context.Context, j *store.Job) (engine.Status, error) {
	status := engine.Status("")
	e, err := s.store.GetExecution(ctx, j.ExecutionID)
	switch {
	case errs.Is(err, errs.NotFound):
		status = "NotFound"
	case err != nil:
		return "", err
	default:
		if r, ok := e.Run(j.ActionRunID); !ok {
			status = "NotFound"
		} else if r.Status.Terminal() {
			status = r.Status
		}
	}
	if status == "" {
		return "", nil
	}
	j.Status = store.JobFailed
	j.Updated = s.now().UTC()
	if err := s.store.UpdateJob(ctx, j); err != nil && !errs.Is(err, errs.Conflict) {
		return "", err
	}
	return status, nil
}

func (s *Service) actionTypeExists(ctx context.Context, typ pipeline.ActionTypeID) bool {
	types, err := s.store.ListActionTypes(ctx)
	if err != nil {
		return false
	}
	for _, t := range types {
		if t.ID == typ {
			return true
		}
	}
	return false
}

// requeue puts back the jobs a poll took when it cannot answer (their
// credentials could not be issued, say), so that no job waits for a worker
// that never got it; it returns err.
func (s *Service) requeue(ctx context.Context, err error, jobs []*store.Job) error {
	for _, j := range jobs {
		if j.Status != store.JobDispatched {
			continue
		}
		j.Status = store.JobQueued
		if uerr := s.store.UpdateJob(context.WithoutCancel(ctx), j); uerr != nil {
			s.log.Error("putting back a job a failed poll took", "job", j.ID, "err", uerr)
		}
	}
	return err
}

func (s *Service) jobData(ctx context.Context, j *store.Job) (JobData, error) {
	var d custom.JobData
	if err := json.Unmarshal(j.Data, &d); err != nil {
		return JobData{}, fmt.Errorf("job %s: %w", j.ID, err)
	}
	creds := s.jobCredentials(j)
	if s.jobCreds != nil {
		c, err := s.jobCreds(ctx, j, d.InputArtifacts, d.OutputArtifacts)
		if err != nil {
			return JobData{}, err
		}
		creds = c
	}
	arts := func(refs []engine.ArtifactRef) []Artifact {
		out := []Artifact{}
		for _, r := range refs {
			out = append(out, Artifact{Name: r.Name, Revision: r.Revision, Location: ArtifactLocation{Type: "S3", S3Location: JobS3Location{BucketName: r.Bucket, ObjectKey: r.Key}}})
		}
		return out
	}
	return JobData{
		ActionTypeID:        j.ActionTypeID,
		ActionConfiguration: ActionConfiguration{Configuration: d.Configuration},
		PipelineContext: PipelineContext{
			PipelineName: j.PipelineName, Stage: StageContext{Name: d.Stage},
			Action:      ActionContext{Name: d.Action, ActionExecutionID: j.ActionRunID},
			PipelineArn: s.PipelineArn(j.PipelineName), PipelineExecutionID: j.ExecutionID,
		},
		InputArtifacts:      arts(d.InputArtifacts),
		OutputArtifacts:     arts(d.OutputArtifacts),
		ArtifactCredentials: creds,
		ContinuationToken:   j.ContinuationToken,
	}, nil
}

func (s *Service) job(ctx context.Context, id string) (*store.Job, error) {
	j, err := s.store.GetJob(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Of(errs.NotFound, errs.KindJob, "no job %q", id)
	}
	return j, err
}

// AcknowledgeJob confirms a worker took a job; it returns the job's status.
func (s *Service) AcknowledgeJob(ctx context.Context, id, nonce string) (string, error) {
	if err := s.authorize(ctx, OpAcknowledgeJob, AllResources); err != nil {
		return "", err
	}
	for {
		j, err := s.job(ctx, id)
		if err != nil {
			return "", err
		}
		if j.Nonce != nonce {
			return "", errs.Of(errs.Validation, errs.KindNonce, "the nonce does not match job %q", id)
		}
		if j.Status != store.JobDispatched {
			return string(j.Status), nil
		}
		j.Status = store.JobInProgress
		j.Updated = s.now().UTC()
		if err := s.store.UpdateJob(ctx, j); errs.Is(err, errs.Conflict) {
			continue
		} else if err != nil {
			return "", err
		}
		return string(j.Status), nil
	}
}

// GetJobDetails returns a job's data.
func (s *Service) GetJobDetails(ctx context.Context, id string) (*JobDetails, error) {
	if err := s.authorize(ctx, OpGetJobDetails, AllResources); err != nil {
		return nil, err
	}
	j, err := s.job(ctx, id)
	if err != nil {
		return nil, err
	}
	data, err := s.jobData(ctx, j)
	if err != nil {
		return nil, err
	}
	return &JobDetails{ID: j.ID, Data: data, AccountID: s.account}, nil
}

// JobSuccess is PutJobSuccessResult's input.
type JobSuccess struct {
	OutputVariables     map[string]string
	ContinuationToken   string
	Summary             string
	ExternalExecutionID string
	// CurrentRevision is the revision the job worked on; it ends the job,
	// so it cannot come with a ContinuationToken.
	CurrentRevision *engine.Revision
}

// PutJobSuccessResult ends a job successfully, or with a continuation token
// sends it back to the queue for another round of the same action.
func (s *Service) PutJobSuccessResult(ctx context.Context, id string, in JobSuccess) error {
	if err := s.authorize(ctx, OpPutJobSuccessResult, AllResources); err != nil {
		return err
	}
	// Too large a set of output variables fails the call and changes
	// nothing: the worker still holds the job and may retry with less.
	if err := checkOutputVariables(in.OutputVariables); err != nil {
		return err
	}
	if err := checkCurrentRevision(in.CurrentRevision); err != nil {
		return err
	}
	if in.CurrentRevision != nil && in.ContinuationToken != "" {
		return errs.Invalid("invalid job result", []errs.Problem{{Path: "currentRevision",
			Message: "currentRevision can be given only without a continuationToken, in the call that ends the job"}})
	}
	j, err := s.finishJob(ctx, id, func(j *store.Job) {
		if in.ContinuationToken != "" {
			// Another round of the same action: back to the queue with a
			// fresh nonce and a fresh deadline of the same length.
			if timeout := j.Deadline.Sub(j.Created); timeout > 0 {
				j.Deadline = s.now().UTC().Add(timeout)
			}
			j.Status = store.JobQueued
			j.ContinuationToken = in.ContinuationToken
			j.Nonce = custom.NewNonce()
			return
		}
		j.Status = store.JobSucceeded
	})
	if err != nil || in.ContinuationToken != "" {
		return err
	}
	return s.driver.Complete(ctx, j.ExecutionID, j.ActionRunID, engine.Result{
		Status: engine.Succeeded, Summary: in.Summary, OutputVariables: in.OutputVariables,
		ExternalExecutionID: in.ExternalExecutionID, UpdatedBy: CallerFrom(ctx).Principal, CurrentRevision: in.CurrentRevision,
	})
}

// PutJobFailureResult ends a job with a failure.
func (s *Service) PutJobFailureResult(ctx context.Context, id, failureType, message, externalID string) error {
	if err := s.authorize(ctx, OpPutJobFailureResult, AllResources); err != nil {
		return err
	}
	j, err := s.finishJob(ctx, id, func(j *store.Job) { j.Status = store.JobFailed })
	if err != nil {
		return err
	}
	return s.driver.Complete(ctx, j.ExecutionID, j.ActionRunID, engine.Result{
		Status: engine.Failed, ErrorCode: failureType, ErrorMessage: message, ExternalExecutionID: externalID, UpdatedBy: CallerFrom(ctx).Principal,
	})
}

// finishJob applies a change to a job a worker holds (Dispatched or InProgress).
func (s *Service) finishJob(ctx context.Context, id string, change func(*store.Job)) (*store.Job, error) {
	for {
		j, err := s.job(ctx, id)
		if err != nil {
			return nil, err
		}
		if j.Status != store.JobDispatched && j.Status != store.JobInProgress {
			return nil, errs.Of(errs.InvalidState, errs.KindJobState, "job %q is %s; only a job a worker holds can be completed", id, j.Status)
		}
		if ended, err := s.dropJobOfEndedRun(ctx, j); err != nil {
			return nil, err
		} else if ended != "" {
			return nil, errs.Of(errs.InvalidState, errs.KindJobState, "job %q belongs to an action execution that has ended (%s)", id, ended)
		}
		change(j)
		j.Updated = s.now().UTC()
		if err := s.store.UpdateJob(ctx, j); errs.Is(err, errs.Conflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		return j, nil
	}
}

// ExpireJobs times out jobs past their deadline and fails their actions. The
// server calls it periodically; it returns how many jobs it timed out.
func (s *Service) ExpireJobs(ctx context.Context) (int, error) {
	if err := s.authorize(ctx, OpExpireJobs, AllResources); err != nil {
		return 0, err
	}
	jobs, err := s.store.ListExpiredJobs(ctx, s.now().UTC())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		j.Status = store.JobTimedOut
		j.Updated = s.now().UTC()
		if err := s.store.UpdateJob(ctx, j); err != nil {
			continue // a worker finished it meanwhile
		}
		n++
		err := s.driver.Complete(ctx, j.ExecutionID, j.ActionRunID, engine.Result{
			Status: engine.Failed, ErrorCode: engine.CodeTimedOut, ErrorMessage: "no job worker completed the job before its timeout",
		})
		if err != nil && !errs.Is(err, errs.InvalidState) {
			return n, err
		}
	}
	return n, nil
}
