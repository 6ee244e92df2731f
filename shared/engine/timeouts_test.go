package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/pipeline"
)

// TestActionTimeout: the defaults of CodePipeline's quotas page ("Quotas in
// AWS CodePipeline", length of time before an action times out), and a
// declared timeoutInMinutes replacing any of them.
func TestActionTimeout(t *testing.T) {
	typ := func(category, owner, provider string) pipeline.ActionTypeID {
		return pipeline.ActionTypeID{Category: category, Owner: owner, Provider: provider, Version: "1"}
	}
	day := 24 * time.Hour
	cases := []struct {
		name    string
		typ     pipeline.ActionTypeID
		minutes int
		want    time.Duration
		why     string
	}{
		{"manual approval: 7 days", typ("Approval", "AWS", "Manual"), 0, 7 * day, "default timeout of a manual approval"},
		{"manual approval with timeoutInMinutes", typ("Approval", "AWS", "Manual"), 5, 5 * time.Minute, "the action's timeoutInMinutes"},
		{"approval at the 86400-minute maximum: 60 days", typ("Approval", "AWS", "Manual"), 86400, 60 * day, "timeoutInMinutes"},
		{"CloudFormation: 3 days", typ("Deploy", "AWS", "CloudFormation"), 0, 3 * day, "CloudFormation"},
		{"CodeDeploy: 5 days", typ("Deploy", "AWS", "CodeDeploy"), 0, 5 * day, "CodeDeploy"},
		{"CodeDeploy ECS blue/green: 5 days", typ("Deploy", "AWS", "CodeDeployToECS"), 0, 5 * day, "CodeDeploy"},
		{"Lambda invoke: 24 hours", typ("Invoke", "AWS", "Lambda"), 0, 24 * time.Hour, "Lambda"},
		{"S3 deploy: 90 minutes", typ("Deploy", "AWS", "S3"), 0, 90 * time.Minute, "S3"},
		{"Step Functions invoke: 7 days", typ("Invoke", "AWS", "StepFunctions"), 0, 7 * day, "Step Functions"},
		{"CodeBuild build: 8 hours", typ("Build", "AWS", "CodeBuild"), 0, 8 * time.Hour, "CodeBuild"},
		{"CodeBuild test: 8 hours", typ("Test", "AWS", "CodeBuild"), 0, 8 * time.Hour, "CodeBuild"},
		{"custom action: 24 hours", typ("Build", "Custom", "MyJenkins"), 0, 24 * time.Hour, "custom action"},
		{"custom action with timeoutInMinutes", typ("Test", "Custom", "MyJenkins"), 30, 30 * time.Minute, "timeoutInMinutes"},
		{"Commands: others, 1 hour", typ("Compute", "AWS", "Commands"), 0, time.Hour, "this action type"},
		{"ECS standard deploy: others, 1 hour", typ("Deploy", "AWS", "ECS"), 0, time.Hour, "this action type"},
		{"S3 source: others, 1 hour", typ("Source", "AWS", "S3"), 0, time.Hour, "this action type"},
		{"a third-party S3 deploy is not Amazon S3's", typ("Deploy", "ThirdParty", "S3"), 0, time.Hour, "this action type"},
		{"a declared timeout replaces a longer default", typ("Deploy", "AWS", "CloudFormation"), 10, 10 * time.Minute, "timeoutInMinutes"},
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := &ActionRun{Stage: "S", Action: "A", Type: c.typ, TimeoutInMinutes: c.minutes, StartTime: start}
			if got := ActionTimeout(run); got != c.want {
				t.Fatalf("ActionTimeout = %s, want %s", got, c.want)
			}
			if got := Deadline(run); !got.Equal(start.Add(c.want)) {
				t.Errorf("Deadline = %s, want %s", got, start.Add(c.want))
			}
			res := TimedOut(run)
			if res.Status != Failed || res.ErrorCode != CodeTimedOut {
				t.Errorf("TimedOut = %s %s", res.Status, res.ErrorCode)
			}
			if !strings.Contains(res.ErrorMessage, "timed out after "+Span(c.want)+" without a result") || !strings.Contains(res.ErrorMessage, c.why) {
				t.Errorf("message %q does not say %q and %q", res.ErrorMessage, Span(c.want), c.why)
			}
		})
	}
}

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour:      "7 days",
		24 * time.Hour:          "1 day",
		8 * time.Hour:           "8 hours",
		time.Hour:               "1 hour",
		90 * time.Minute:        "90 minutes",
		time.Minute:             "1 minute",
		1500 * time.Millisecond: "1.5s",
		0:                       "0s",
	} {
		if got := Span(d); got != want {
			t.Errorf("Span(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestTimedOutMessage: the whole message of the common cases.
func TestTimedOutMessage(t *testing.T) {
	approval := &ActionRun{Type: pipeline.ActionTypeID{Category: "Approval", Owner: "AWS", Provider: "Manual", Version: "1"}}
	if got, want := TimedOut(approval).ErrorMessage, "timed out after 7 days without a result (the default timeout of a manual approval; timeoutInMinutes sets another)"; got != want {
		t.Errorf("approval: %q, want %q", got, want)
	}
	approval.TimeoutInMinutes = 120
	if got, want := TimedOut(approval).ErrorMessage, "timed out after 2 hours without a result (the action's timeoutInMinutes)"; got != want {
		t.Errorf("declared: %q, want %q", got, want)
	}
}
