// Package approval is the manual approval provider (Approval/AWS/Manual).
// An approval run waits for PutApprovalResult with its token: approved
// succeeds the action, rejected fails it; the result records the summary, who
// decided and when. CustomData and ExternalEntityLink stay in the run's
// resolved configuration for display.
package approval

import (
	"context"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/engine"
)

// Configuration keys of a manual approval, as CodePipeline defines them.
const (
	ConfigCustomData         = "CustomData"
	ConfigExternalEntityLink = "ExternalEntityLink"
	ConfigNotificationArn    = "NotificationArn"
)

// Approval outcomes, as PutApprovalResult names them.
const (
	Approved = "Approved"
	Rejected = "Rejected"
)

// Decider decides an approval at once (the one-shot `stageflow run` asks on
// its terminal or takes --approve). It returns nil to leave the approval
// waiting for its token.
type Decider func(ctx context.Context, job *actions.Job) *engine.Result

// Provider serves manual approvals.
type Provider struct {
	// Decide, when set, is asked for every approval.
	Decide Decider
}

var _ actions.Provider = Provider{}

// Run leaves the approval waiting, unless Decide decides it.
func (p Provider) Run(ctx context.Context, job *actions.Job) *engine.Result {
	if p.Decide != nil {
		return p.Decide(ctx, job)
	}
	return nil
}

// Resumable is true: the token stays valid across restarts.
func (Provider) Resumable() bool { return true }

// Result turns an approval decision into the action's result.
func Result(status, summary, by string) engine.Result {
	r := engine.Result{Status: engine.Succeeded, Summary: summary, UpdatedBy: by}
	if status != Approved {
		r.Status = engine.Failed
		r.ErrorCode = "Rejected"
		r.ErrorMessage = "rejected"
		if by != "" {
			r.ErrorMessage = "rejected by " + by
		}
		if summary != "" {
			r.ErrorMessage += ": " + summary
		}
	}
	return r
}
