package engine

import (
	"fmt"
	"time"

	"github.com/stageflow/stageflow/shared/pipeline"
)

// Action timeouts. The defaults are those of CodePipeline's quotas page
// ("Quotas in AWS CodePipeline", the length of time before an action times
// out): CloudFormation deployment actions 3 days; CodeDeploy and CodeDeploy
// ECS (blue/green) deployment actions 5 days; Lambda invoke actions 24 hours;
// Amazon S3 deployment actions 90 minutes; manual approvals 7 days unless the
// action's timeoutInMinutes (5 to 86400 minutes) says otherwise; Step
// Functions invoke actions 7 days; CodeBuild build and test actions 8 hours;
// all other actions 1 hour. CodePipeline accepts timeoutInMinutes only on
// manual approvals; Stageflow accepts it on every action and lets it replace
// the default of any type.
//
// Custom actions: 24 hours, as the page lists them.
const (
	ApprovalTimeout       = 7 * 24 * time.Hour
	CloudFormationTimeout = 3 * 24 * time.Hour
	CodeDeployTimeout     = 5 * 24 * time.Hour
	LambdaInvokeTimeout   = 24 * time.Hour
	S3DeployTimeout       = 90 * time.Minute
	StepFunctionsTimeout  = 7 * 24 * time.Hour
	CodeBuildTimeout      = 8 * time.Hour
	CustomActionTimeout   = 24 * time.Hour
	OtherActionTimeout    = time.Hour
)

// ActionTimeout is how long a run may stay in progress before the engine's
// driver fails it with CodeTimedOut: its declared timeoutInMinutes, else the
// default of its action type.
func ActionTimeout(run *ActionRun) time.Duration {
	d, _ := actionTimeout(run)
	return d
}

// Deadline is when a run times out: its start plus its ActionTimeout.
func Deadline(run *ActionRun) time.Time {
	return run.StartTime.Add(ActionTimeout(run))
}

// DefaultTimeout is the timeout of an action of type t that declares no
// timeoutInMinutes, and what it applies to, as a phrase ("a manual
// approval").
func DefaultTimeout(t pipeline.ActionTypeID) (time.Duration, string) {
	aws := t.Owner == pipeline.OwnerAWS
	switch {
	case t.Owner == pipeline.OwnerCustom:
		return CustomActionTimeout, "a custom action"
	case t.Category == pipeline.CategoryApproval:
		return ApprovalTimeout, "a manual approval"
	case aws && t.Category == pipeline.CategoryDeploy && t.Provider == "CloudFormation":
		return CloudFormationTimeout, "a CloudFormation deployment action"
	case aws && t.Category == pipeline.CategoryDeploy && (t.Provider == "CodeDeploy" || t.Provider == "CodeDeployToECS"):
		return CodeDeployTimeout, "a CodeDeploy deployment action"
	case aws && t.Category == pipeline.CategoryDeploy && t.Provider == "S3":
		return S3DeployTimeout, "an Amazon S3 deployment action"
	case aws && t.Category == pipeline.CategoryInvoke && t.Provider == "Lambda":
		return LambdaInvokeTimeout, "a Lambda invoke action"
	case aws && t.Category == pipeline.CategoryInvoke && t.Provider == "StepFunctions":
		return StepFunctionsTimeout, "a Step Functions invoke action"
	case aws && (t.Category == pipeline.CategoryBuild || t.Category == pipeline.CategoryTest) && t.Provider == "CodeBuild":
		return CodeBuildTimeout, "a CodeBuild action"
	}
	return OtherActionTimeout, "this action type"
}

func actionTimeout(run *ActionRun) (time.Duration, string) {
	if run.TimeoutInMinutes > 0 {
		return time.Duration(run.TimeoutInMinutes) * time.Minute, "the action's timeoutInMinutes"
	}
	d, what := DefaultTimeout(run.Type)
	return d, "the default timeout of " + what
}

// TimedOut is the result of a run that reached its timeout without a result:
// Failed with CodeTimedOut and a message saying how long it waited and
// where that limit comes from, e.g. `timed out after 7 days without a
// result (the default timeout of a manual approval; timeoutInMinutes sets
// another)`.
func TimedOut(run *ActionRun) Result {
	d, why := actionTimeout(run)
	msg := fmt.Sprintf("timed out after %s without a result (%s", Span(d), why)
	if run.TimeoutInMinutes <= 0 {
		msg += "; timeoutInMinutes sets another"
	}
	return Result{Status: Failed, ErrorCode: CodeTimedOut, ErrorMessage: msg + ")"}
}

// Span writes a duration as people say it: "7 days", "90 minutes", "1 hour";
// one that is no whole number of minutes as Go writes it.
func Span(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d <= 0 || d%time.Minute != 0:
		return d.String()
	case d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	}
	return unit(int64(d/time.Minute), "minute")
}
