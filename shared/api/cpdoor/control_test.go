package cpdoor_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/store"
)

// The execution-control operations through the AWS SDK: their inputs are
// checked as the API definition says, they ask for their own IAM action,
// and a valid call reaches the service. What the service then does
// (shared/service/control.go) is tested there; here a call "reaches the
// service" when it succeeds or fails with an error of the operation itself.

// controlCall is one execution-control call of the SDK.
type controlCall struct {
	name string
	call func(ctx context.Context, cp *codepipeline.Client) error
}

// controlCalls are valid calls of the five operations on stage of pipeline
// name and its execution id.
func controlCalls(name, stage, id string) []controlCall {
	return []controlCall{
		{"DisableStageTransition", func(ctx context.Context, cp *codepipeline.Client) error {
			_, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: aws.String(name), StageName: aws.String(stage),
				TransitionType: types.StageTransitionTypeInbound, Reason: aws.String("Frozen (release 1.2) - ask @ops!")})
			return err
		}},
		{"EnableStageTransition", func(ctx context.Context, cp *codepipeline.Client) error {
			_, err := cp.EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: aws.String(name), StageName: aws.String(stage),
				TransitionType: types.StageTransitionTypeInbound})
			return err
		}},
		{"RetryStageExecution", func(ctx context.Context, cp *codepipeline.Client) error {
			out, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String(name), StageName: aws.String(stage),
				PipelineExecutionId: aws.String(id), RetryMode: types.StageRetryModeFailedActions})
			if err == nil && aws.ToString(out.PipelineExecutionId) != id {
				return errorf("RetryStageExecution answered execution %q, want %q", aws.ToString(out.PipelineExecutionId), id)
			}
			return err
		}},
		{"RollbackStage", func(ctx context.Context, cp *codepipeline.Client) error {
			out, err := cp.RollbackStage(ctx, &codepipeline.RollbackStageInput{PipelineName: aws.String(name), StageName: aws.String(stage),
				TargetPipelineExecutionId: aws.String(id)})
			if err == nil && aws.ToString(out.PipelineExecutionId) == "" {
				return errorf("RollbackStage answered no pipelineExecutionId")
			}
			return err
		}},
		{"OverrideStageCondition", func(ctx context.Context, cp *codepipeline.Client) error {
			_, err := cp.OverrideStageCondition(ctx, &codepipeline.OverrideStageConditionInput{PipelineName: aws.String(name), StageName: aws.String(stage),
				PipelineExecutionId: aws.String(id), ConditionType: types.ConditionTypeBeforeEntry})
			return err
		}},
	}
}

type testError string

func (e testError) Error() string { return string(e) }

func errorf(format string, args ...any) error { return testError(fmt.Sprintf(format, args...)) }

// wantReachedService fails the test unless err is nil or an error of the
// operation itself: not a problem of the input or of the protocol, not a
// denial, and not the door's own UnsupportedOperationException for an
// operation it does not implement.
func wantReachedService(t *testing.T, op string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if _, ok := err.(testError); ok {
		t.Errorf("%s: %v", op, err)
		return
	}
	switch code := apiErrorCode(err); {
	case code == "":
		t.Errorf("%s: not an answer of the server: %v", op, err)
	case code == "ValidationException", code == "SerializationException", code == "AccessDeniedException",
		code == "UnknownOperationException", code == "UnrecognizedClientException":
		t.Errorf("%s: the call did not reach the service: %v", op, err)
	case strings.Contains(err.Error(), "does not implement the CodePipeline operation"):
		t.Errorf("%s: the door does not implement it: %v", op, err)
	default:
		t.Logf("%s reached the service: %v", op, err)
	}
}

// controlFixture makes a two-stage pipeline with one succeeded execution.
func controlFixture(t *testing.T, ctx context.Context, cp *codepipeline.Client, name string) string {
	t.Helper()
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &types.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String(testRoleArn), PipelineType: types.PipelineTypeV2,
		Stages: []types.StageDeclaration{
			{Name: aws.String("Build"), Actions: []types.ActionDeclaration{{Name: aws.String("Make"), ActionTypeId: commandsType(), Commands: []string{"true"}}}},
			{Name: aws.String("Deploy"), Actions: []types.ActionDeclaration{{Name: aws.String("Ship"), ActionTypeId: commandsType(), Commands: []string{"true"}}}},
		},
	}}); err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	id := aws.ToString(started.PipelineExecutionId)
	waitExecution(t, ctx, cp, name, id, types.PipelineExecutionStatusSucceeded)
	return id
}

// TestSDKControlOperationsReachTheService: a valid call of each operation,
// by the admin, gets past decoding and authorization.
func TestSDKControlOperationsReachTheService(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	id := controlFixture(t, ctx, cp, "sdk-control")
	for _, c := range controlCalls("sdk-control", "Deploy", id) {
		wantReachedService(t, c.name, c.call(ctx, cp))
	}
}

// TestSDKControlInvalidInput: values the API definition does not allow are
// a ValidationException naming the member (the SDK sends them: it checks
// required members, not enumerations or patterns).
func TestSDKControlInvalidInput(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	cp := newClient(t, srv)
	ctx := testContext(t)
	const id = "0b4a9c8e-1f1e-4c43-9d55-3f1c2b7a6e01"
	p, s := aws.String("p"), aws.String("Deploy")
	cases := []struct {
		name, wantInMessage string
		call                func() error
	}{
		{"transition type", `transitionType: must be one of Inbound, Outbound, got "Sideways"`, func() error {
			_, err := cp.EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: p, StageName: s, TransitionType: "Sideways"})
			return err
		}},
		{"reason with a comma", `reason: "frozen, for now" may only contain letters, digits, spaces and ! @ ( ) . * ? -`, func() error {
			_, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: p, StageName: s, TransitionType: types.StageTransitionTypeInbound, Reason: aws.String("frozen, for now")})
			return err
		}},
		{"reason too long", "reason: must be 1..300 characters long, got 301", func() error {
			_, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: p, StageName: s, TransitionType: types.StageTransitionTypeInbound, Reason: aws.String(strings.Repeat("a", 301))})
			return err
		}},
		{"empty reason", "reason: must be 1..300 characters long, got 0", func() error {
			_, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: p, StageName: s, TransitionType: types.StageTransitionTypeInbound, Reason: aws.String("")})
			return err
		}},
		{"stage name", `stageName: "De ploy" may only contain letters, digits and . @ _ -`, func() error {
			_, err := cp.EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: p, StageName: aws.String("De ploy"), TransitionType: types.StageTransitionTypeInbound})
			return err
		}},
		{"retry mode", `retryMode: must be one of FAILED_ACTIONS, ALL_ACTIONS, got "SOME_ACTIONS"`, func() error {
			_, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: p, StageName: s, PipelineExecutionId: aws.String(id), RetryMode: "SOME_ACTIONS"})
			return err
		}},
		{"retry: execution ID", `pipelineExecutionId: "latest" must be an ID of the form`, func() error {
			_, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: p, StageName: s, PipelineExecutionId: aws.String("latest"), RetryMode: types.StageRetryModeAllActions})
			return err
		}},
		{"rollback: target execution ID", `targetPipelineExecutionId: "../x" must be an ID of the form`, func() error {
			_, err := cp.RollbackStage(ctx, &codepipeline.RollbackStageInput{PipelineName: p, StageName: s, TargetPipelineExecutionId: aws.String("../x")})
			return err
		}},
		{"rollback: pipeline name", "pipelineName: must be 1..100 characters long, got 101", func() error {
			_, err := cp.RollbackStage(ctx, &codepipeline.RollbackStageInput{PipelineName: aws.String(strings.Repeat("p", 101)), StageName: s, TargetPipelineExecutionId: aws.String(id)})
			return err
		}},
		{"condition type", `conditionType: must be one of BEFORE_ENTRY, ON_SUCCESS, got "ON_FAILURE"`, func() error {
			_, err := cp.OverrideStageCondition(ctx, &codepipeline.OverrideStageConditionInput{PipelineName: p, StageName: s, PipelineExecutionId: aws.String(id), ConditionType: "ON_FAILURE"})
			return err
		}},
		{"two problems at once", "2 validation errors detected", func() error {
			_, err := cp.OverrideStageCondition(ctx, &codepipeline.OverrideStageConditionInput{PipelineName: p, StageName: s, PipelineExecutionId: aws.String("x"), ConditionType: "NEVER"})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantAPIError(t, err, "ValidationException")
			if !strings.Contains(err.Error(), tc.wantInMessage) {
				t.Errorf("the error %q does not say %q", err, tc.wantInMessage)
			}
		})
	}
}

// TestControlMissingMembers: the members the API definition requires, left
// out or null, and members it does not have, are a ValidationException
// naming them (sent raw: the SDK refuses to send an input without its
// required members).
func TestControlMissingMembers(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	const id = "0b4a9c8e-1f1e-4c43-9d55-3f1c2b7a6e01"
	cases := []struct {
		op, body, wantInMessage string
	}{
		{"DisableStageTransition", `{"pipelineName": "p", "stageName": "S", "transitionType": "Inbound"}`, "1 validation error detected: reason: is required"},
		{"DisableStageTransition", `{"pipelineName": "p", "stageName": "S", "transitionType": null, "reason": "r"}`, "transitionType: is required"},
		{"DisableStageTransition", `{}`, "4 validation errors detected"},
		{"EnableStageTransition", `{"pipelineName": "p", "transitionType": "Inbound"}`, "stageName: is required"},
		{"EnableStageTransition", `{"pipelineName": "p", "stageName": "S", "transitionType": "Inbound", "reason": "r"}`, `reason: unknown field "reason"`},
		{"RetryStageExecution", `{"pipelineName": "p", "stageName": "S", "pipelineExecutionId": "` + id + `"}`, "retryMode: is required"},
		{"RetryStageExecution", `{"pipelineName": "p", "stageName": "S", "retryMode": "ALL_ACTIONS"}`, "pipelineExecutionId: is required"},
		{"RollbackStage", `{"pipelineName": "p", "stageName": "S"}`, "targetPipelineExecutionId: is required"},
		{"RollbackStage", `{"pipelineName": "p", "stageName": "S", "targetPipelineExecutionID": "` + id + `"}`, `unknown field "targetPipelineExecutionID" (did you mean "targetPipelineExecutionId"?)`},
		{"OverrideStageCondition", `{"pipelineName": "p", "stageName": "S", "pipelineExecutionId": "` + id + `"}`, "conditionType: is required"},
		{"OverrideStageCondition", `{"stageName": "S", "pipelineExecutionId": "` + id + `", "conditionType": "ON_SUCCESS"}`, "pipelineName: is required"},
	}
	for _, tc := range cases {
		r := rawCall(t, srv.Client(), srv.URL+"/", http.MethodPost, target+tc.op, cpdoor.ContentType, []byte(tc.body))
		if r.status != http.StatusBadRequest || r.errorType != "ValidationException" || !strings.Contains(r.message, tc.wantInMessage) {
			t.Errorf("%s %s: %d %s %q, want 400 ValidationException saying %q", tc.op, tc.body, r.status, r.errorType, r.message, tc.wantInMessage)
		}
	}
	// A value of the wrong JSON type is a SerializationException.
	r := rawCall(t, srv.Client(), srv.URL+"/", http.MethodPost, target+"RetryStageExecution", cpdoor.ContentType,
		[]byte(`{"pipelineName": "p", "stageName": "S", "pipelineExecutionId": "`+id+`", "retryMode": 1}`))
	if r.status != http.StatusBadRequest || r.errorType != "SerializationException" || !strings.Contains(r.message, "retryMode") {
		t.Errorf("retryMode 1: %d %s %q, want 400 SerializationException naming retryMode", r.status, r.errorType, r.message)
	}
}

// denyDeployTransitions allows everything of CodePipeline but changing the
// transitions of the stage Deploy of the pipeline sdk-control-keys.
const denyDeployTransitions = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "codepipeline:*", "Resource": "*"},
    {"Effect": "Deny", "Action": ["codepipeline:DisableStageTransition", "codepipeline:EnableStageTransition"],
     "Resource": "arn:aws:codepipeline:` + apitest.Region + `:` + apitest.Account + `:sdk-control-keys/Deploy"}
  ]
}`

// TestSDKControlAuthorization: a key whose policies do not allow an
// operation's action is refused with AccessDeniedException naming the
// action and the resource (the stage's ARN for the transitions, the
// pipeline's for the others); a key that may gets to the service.
func TestSDKControlAuthorization(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx := testContext(t)
	const name = "sdk-control-keys"
	id := controlFixture(t, ctx, newClient(t, srv), name)
	clientOf := func(creds aws.Credentials) *codepipeline.Client {
		return codepipeline.New(codepipeline.Options{BaseEndpoint: aws.String(srv.URL), Region: apitest.Region,
			Credentials: credentials.StaticCredentialsProvider{Value: creds}, RetryMaxAttempts: 1})
	}
	arn := "arn:aws:codepipeline:" + apitest.Region + ":" + apitest.Account + ":" + name
	resources := map[string]string{
		"DisableStageTransition": arn + "/Deploy", "EnableStageTransition": arn + "/Deploy",
		"RetryStageExecution": arn, "RollbackStage": arn, "OverrideStageCondition": arn,
	}
	for _, policy := range []string{auth.ReadOnlyAccess, auth.ApproverAccess, auth.CustomActionAccess} {
		cp := clientOf(srv.NewKey("user-"+strings.ToLower(policy[:8]), apitest.Builtin(policy)))
		for _, c := range controlCalls(name, "Deploy", id) {
			err := c.call(ctx, cp)
			if apiErrorCode(err) != "AccessDeniedException" {
				t.Errorf("%s under %s: %v, want AccessDeniedException", c.name, policy, err)
				continue
			}
			if want := "codepipeline:" + c.name + " on resource: " + resources[c.name]; !strings.Contains(err.Error(), want) {
				t.Errorf("%s under %s: the denial %q does not say %q", c.name, policy, err, want)
			}
		}
	}
	full := clientOf(srv.NewKey("full", apitest.Builtin(auth.FullAccess)))
	for _, c := range controlCalls(name, "Deploy", id) {
		wantReachedService(t, c.name+" under "+auth.FullAccess, c.call(ctx, full))
	}
	// A Deny on the stage Deploy's ARN holds its transitions alone.
	scoped := clientOf(srv.NewKey("scoped", store.AttachedPolicy{Name: "DenyDeployTransitions", Document: denyDeployTransitions}))
	for _, c := range controlCalls(name, "Deploy", id) {
		err := c.call(ctx, scoped)
		if strings.HasSuffix(c.name, "StageTransition") {
			if apiErrorCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "explicit deny") {
				t.Errorf("%s of Deploy under the Deny: %v, want AccessDeniedException (explicit deny)", c.name, err)
			}
			continue
		}
		wantReachedService(t, c.name+" of Deploy under the Deny", err)
	}
	for _, c := range controlCalls(name, "Build", id)[:2] {
		wantReachedService(t, c.name+" of Build under the Deny", c.call(ctx, scoped))
	}
}
