package service

import (
	"context"
	"fmt"
	"time"

	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// ApprovalInput decides a manual approval. Token may be left out (the REST
// door and the command line): the approval waiting at Stage/Action in the
// execution ExecutionID, or, without ExecutionID, in the one execution that
// waits there, is decided.
type ApprovalInput struct {
	PipelineName, Stage, Action string
	Token, ExecutionID          string
	Status, Summary             string
}

// PutApprovalResult approves or rejects a waiting manual approval; the
// caller is recorded as the approver. It returns when it was decided.
func (s *Service) PutApprovalResult(ctx context.Context, in ApprovalInput) (time.Time, error) {
	name, stage, action := in.PipelineName, in.Stage, in.Action
	if err := s.authorize(ctx, OpPutApprovalResult, s.ActionArn(name, stage, action)); err != nil {
		return time.Time{}, err
	}
	rec, err := s.store.GetPipeline(ctx, name, 0)
	if err != nil {
		return time.Time{}, pipelineNotFound(err, name)
	}
	if in.Status != approval.Approved && in.Status != approval.Rejected {
		return time.Time{}, errs.Invalid("invalid approval", []errs.Problem{{Path: "result.status",
			Message: fmt.Sprintf("must be Approved or Rejected, got %q", in.Status)}})
	}
	if err := checkApprovalAction(rec.Declaration, stage, action); err != nil {
		return time.Time{}, err
	}
	token := in.Token
	if token == "" {
		if token, err = s.waitingApprovalToken(ctx, name, in.ExecutionID, stage, action); err != nil {
			return time.Time{}, err
		}
	}
	invalid := errs.Of(errs.InvalidState, errs.KindApprovalToken, "the approval token is not valid for action %q of stage %q", action, stage)
	e, err := s.store.ExecutionByRunToken(ctx, token) // however old the execution
	if errs.Is(err, errs.NotFound) {
		return time.Time{}, invalid
	} else if err != nil {
		return time.Time{}, err
	}
	r, ok := e.RunByToken(token)
	if e.PipelineName != name || !ok || r.Stage != stage || r.Action != action || r.Type.Category != pipeline.CategoryApproval {
		return time.Time{}, invalid
	}
	if r.Status != engine.InProgress {
		return time.Time{}, errs.Of(errs.InvalidState, errs.KindApprovalAlreadyCompleted, "the approval %q was already completed (%s)", action, r.Status)
	}
	by := CallerFrom(ctx).Principal
	if err := s.driver.Complete(ctx, e.ID, r.ID, approval.Result(in.Status, in.Summary, by)); err != nil {
		if errs.Is(err, errs.InvalidState) {
			return time.Time{}, errs.Of(errs.InvalidState, errs.KindApprovalAlreadyCompleted, "the approval %q was already completed", action)
		}
		return time.Time{}, err
	}
	return s.now().UTC(), nil
}

// checkApprovalAction makes sure the named action of the latest version
// exists and is a manual approval, so that a token of another kind of action
// cannot complete it.
func checkApprovalAction(p pipeline.Pipeline, stage, action string) error {
	for _, st := range p.Stages {
		if st.Name != stage {
			continue
		}
		for _, a := range st.Actions {
			if a.Name != action {
				continue
			}
			if a.ActionTypeID.Category != pipeline.CategoryApproval {
				return errs.Invalid("invalid approval", []errs.Problem{{Path: "action",
					Message: fmt.Sprintf("%q is a %s action, not a manual approval", action, a.ActionTypeID.Category)}})
			}
			return nil
		}
		return errs.Of(errs.NotFound, errs.KindAction, "stage %q of pipeline %q has no action %q", stage, p.Name, action)
	}
	return errs.Of(errs.NotFound, errs.KindStage, "pipeline %q has no stage %q", p.Name, stage)
}

// waitingApprovalToken finds the token of the approval waiting at
// stage/action: in the given execution, or else in the one execution waiting
// there.
func (s *Service) waitingApprovalToken(ctx context.Context, name, executionID, stage, action string) (string, error) {
	if executionID == "" {
		// An approval waits only in an execution in progress (or
		// stopping, letting its running actions finish): those, however old.
		var waiting []string
		for _, status := range []engine.Status{engine.InProgress, engine.Stopping} {
			err := s.eachExecution(ctx, store.ExecutionFilter{PipelineName: name, Status: status}, func(e *engine.Execution) bool {
				if r, ok := e.LatestRun(stage, action); ok && r.Status == engine.InProgress {
					waiting = append(waiting, e.ID)
				}
				return len(waiting) < 2 // two are enough to refuse
			})
			if err != nil {
				return "", err
			}
		}
		switch len(waiting) {
		case 0:
			return "", errs.Of(errs.InvalidState, errs.KindApprovalToken, "no approval is waiting at action %q of stage %q", action, stage)
		case 1:
			executionID = waiting[0]
		default:
			return "", errs.Of(errs.InvalidState, errs.KindApprovalToken,
				"more than one execution waits at action %q of stage %q; give the token or the executionId", action, stage)
		}
	}
	e, err := s.execution(ctx, name, executionID)
	if err != nil {
		return "", err
	}
	if run, ok := e.LatestRun(stage, action); ok && run.Status == engine.InProgress &&
		run.Type.Category == pipeline.CategoryApproval && run.Token != "" {
		return run.Token, nil
	}
	return "", errs.Of(errs.InvalidState, errs.KindApprovalToken, "execution %s has no approval waiting at action %q of stage %q", executionID, action, stage)
}
