package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/api/cpdoor"
	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

const (
	arnPrefix = "arn:aws:codepipeline:" + apitest.Region + ":" + apitest.Account + ":"
	someUUID  = "3137f7cb-8d8a-4c5a-bd39-93bcae9dd5d9"
	roleArn   = "arn:aws:iam::000000000000:role/stageflow-test"
)

// denyProd is FullAccess's statement with a Deny on one pipeline, its
// stages and actions.
const denyProd = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "codepipeline:*", "Resource": "*"},
    {"Sid": "NotProd", "Effect": "Deny", "Action": "codepipeline:*",
     "Resource": ["` + arnPrefix + `prod", "` + arnPrefix + `prod/*"]}
  ]
}`

// The access key of each policy under test.
const (
	keyAdmin    = "AKIDADMIN"
	keyFull     = "AKIDFULL"
	keyRead     = "AKIDREAD"
	keyApprover = "AKIDAPPROVER"
	keyWorker   = "AKIDWORKER"
	keyDenyProd = "AKIDDENYPROD"
	keyNone     = "AKIDNOPOLICY"
)

// policiesOf is the policies attached to each user's key.
var policiesOf = map[string][]store.AttachedPolicy{
	keyFull:     {{Name: auth.FullAccess}},
	keyRead:     {{Name: auth.ReadOnlyAccess}},
	keyApprover: {{Name: auth.ApproverAccess}},
	keyWorker:   {{Name: auth.CustomActionAccess}},
	keyDenyProd: {{Name: "DenyProd", Document: denyProd}},
	keyNone:     nil,
}

// keysOf makes a key for each user of policiesOf on srv.
func keysOf(srv *apitest.Server) map[string]aws.Credentials {
	keys := map[string]aws.Credentials{keyAdmin: srv.Admin}
	for user, ps := range policiesOf {
		keys[user] = srv.NewKey(user, ps...)
	}
	return keys
}

func client(url string, key aws.Credentials) *codepipeline.Client {
	return codepipeline.New(codepipeline.Options{
		BaseEndpoint:     aws.String(url),
		Region:           apitest.Region,
		Credentials:      credentials.StaticCredentialsProvider{Value: key},
		RetryMaxAttempts: 1,
	})
}

func pipelineDecl(name string) *types.PipelineDeclaration {
	return &types.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String(roleArn),
		ArtifactStore: &types.ArtifactStore{Type: types.ArtifactStoreTypeS3, Location: aws.String("stageflow-artifacts")},
		Stages: []types.StageDeclaration{
			{Name: aws.String("S"), Actions: []types.ActionDeclaration{{
				Name:         aws.String("A"),
				ActionTypeId: &types.ActionTypeId{Category: types.ActionCategoryApproval, Owner: types.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")},
			}}},
		},
	}
}

var customType = &types.ActionTypeId{Category: types.ActionCategoryBuild, Owner: types.ActionOwnerCustom, Provider: aws.String("Tool"), Version: aws.String("1")}

// call makes one operation of the CodePipeline door on pipeline name, with
// otherwise valid arguments.
type call func(ctx context.Context, c *codepipeline.Client, name string) error

var calls = map[string]call{
	"CreatePipeline": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: pipelineDecl(n)})
		return err
	},
	"GetPipeline": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(n)})
		return err
	},
	"UpdatePipeline": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: pipelineDecl(n)})
		return err
	},
	"DeletePipeline": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.DeletePipeline(ctx, &codepipeline.DeletePipelineInput{Name: aws.String(n)})
		return err
	},
	"ListPipelines": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.ListPipelines(ctx, &codepipeline.ListPipelinesInput{})
		return err
	},
	"GetPipelineState": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(n)})
		return err
	},
	"StartPipelineExecution": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String(n)})
		return err
	},
	"StopPipelineExecution": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String(n), PipelineExecutionId: aws.String(someUUID)})
		return err
	},
	"GetPipelineExecution": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String(n), PipelineExecutionId: aws.String(someUUID)})
		return err
	},
	"ListPipelineExecutions": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(n)})
		return err
	},
	"ListActionExecutions": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(n)})
		return err
	},
	"PutApprovalResult": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String(n), StageName: aws.String("S"), ActionName: aws.String("A"),
			Token: aws.String(someUUID), Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("ok")}})
		return err
	},
	"CreateCustomActionType": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{Category: types.ActionCategoryBuild, Provider: aws.String("Tool"), Version: aws.String("1"),
			InputArtifactDetails: &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 1}, OutputArtifactDetails: &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 1}})
		return err
	},
	"DeleteCustomActionType": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.DeleteCustomActionType(ctx, &codepipeline.DeleteCustomActionTypeInput{Category: types.ActionCategoryBuild, Provider: aws.String("Tool"), Version: aws.String("1")})
		return err
	},
	"ListActionTypes": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.ListActionTypes(ctx, &codepipeline.ListActionTypesInput{})
		return err
	},
	"ListRuleTypes": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.ListRuleTypes(ctx, &codepipeline.ListRuleTypesInput{})
		return err
	},
	"ListRuleExecutions": func(ctx context.Context, c *codepipeline.Client, name string) error {
		_, err := c.ListRuleExecutions(ctx, &codepipeline.ListRuleExecutionsInput{PipelineName: aws.String(name)})
		return err
	},
	"PollForJobs": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: customType})
		return err
	},
	"AcknowledgeJob": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: aws.String(someUUID), Nonce: aws.String("n")})
		return err
	},
	"GetJobDetails": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: aws.String(someUUID)})
		return err
	},
	"PutJobSuccessResult": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: aws.String(someUUID)})
		return err
	},
	"PutJobFailureResult": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{JobId: aws.String(someUUID),
			FailureDetails: &types.FailureDetails{Type: types.FailureTypeJobFailed, Message: aws.String("m")}})
		return err
	},
	"TagResource": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.TagResource(ctx, &codepipeline.TagResourceInput{ResourceArn: aws.String(arnPrefix + n), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		return err
	},
	"UntagResource": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.UntagResource(ctx, &codepipeline.UntagResourceInput{ResourceArn: aws.String(arnPrefix + n), TagKeys: []string{"k"}})
		return err
	},
	"ListTagsForResource": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: aws.String(arnPrefix + n)})
		return err
	},
	"DisableStageTransition": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: aws.String(n), StageName: aws.String("S"),
			TransitionType: types.StageTransitionTypeInbound, Reason: aws.String("frozen")})
		return err
	},
	"EnableStageTransition": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: aws.String(n), StageName: aws.String("S"),
			TransitionType: types.StageTransitionTypeInbound})
		return err
	},
	"RetryStageExecution": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String(n), StageName: aws.String("S"),
			PipelineExecutionId: aws.String(someUUID), RetryMode: types.StageRetryModeFailedActions})
		return err
	},
	"RollbackStage": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.RollbackStage(ctx, &codepipeline.RollbackStageInput{PipelineName: aws.String(n), StageName: aws.String("S"),
			TargetPipelineExecutionId: aws.String(someUUID)})
		return err
	},
	"OverrideStageCondition": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.OverrideStageCondition(ctx, &codepipeline.OverrideStageConditionInput{PipelineName: aws.String(n), StageName: aws.String("S"),
			PipelineExecutionId: aws.String(someUUID), ConditionType: types.ConditionTypeBeforeEntry})
		return err
	},
	"PutWebhook": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.PutWebhook(ctx, &codepipeline.PutWebhookInput{Webhook: &types.WebhookDefinition{
			Name: aws.String(n + "-hook"), TargetPipeline: aws.String(n), TargetAction: aws.String("A"),
			Filters:                     []types.WebhookFilterRule{{JsonPath: aws.String("$.ref")}},
			Authentication:              types.WebhookAuthenticationTypeUnauthenticated,
			AuthenticationConfiguration: &types.WebhookAuthConfiguration{}}})
		return err
	},
	"ListWebhooks": func(ctx context.Context, c *codepipeline.Client, _ string) error {
		_, err := c.ListWebhooks(ctx, &codepipeline.ListWebhooksInput{})
		return err
	},
	"DeleteWebhook": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.DeleteWebhook(ctx, &codepipeline.DeleteWebhookInput{Name: aws.String(n + "-hook")})
		return err
	},
	"RegisterWebhookWithThirdParty": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.RegisterWebhookWithThirdParty(ctx, &codepipeline.RegisterWebhookWithThirdPartyInput{WebhookName: aws.String(n + "-hook")})
		return err
	},
	"DeregisterWebhookWithThirdParty": func(ctx context.Context, c *codepipeline.Client, n string) error {
		_, err := c.DeregisterWebhookWithThirdParty(ctx, &codepipeline.DeregisterWebhookWithThirdPartyInput{WebhookName: aws.String(n + "-hook")})
		return err
	},
}

// allowed is, per operation, the keys whose policy allows it, from the
// policies' documents: FullAccess and the DenyProd policy allow every
// codepipeline: action; ReadOnly the Get/List reads AWS's policy lists;
// Approver its reads and PutApprovalResult; CustomAction the five job
// calls; no policy nothing. DenyProd's Deny then refuses every operation
// whose resource is the pipeline prod or under it (perPipeline).
var allowed = map[string]struct {
	keys        []string
	perPipeline bool // the resource is the pipeline's ARN (or its stage's or action's)
}{
	"CreatePipeline":         {[]string{keyFull, keyDenyProd}, true},
	"GetPipeline":            {[]string{keyFull, keyDenyProd, keyRead, keyApprover}, true},
	"UpdatePipeline":         {[]string{keyFull, keyDenyProd}, true},
	"DeletePipeline":         {[]string{keyFull, keyDenyProd}, true},
	"ListPipelines":          {[]string{keyFull, keyDenyProd, keyRead, keyApprover}, false},
	"GetPipelineState":       {[]string{keyFull, keyDenyProd, keyRead, keyApprover}, true},
	"StartPipelineExecution": {[]string{keyFull, keyDenyProd}, true},
	"StopPipelineExecution":  {[]string{keyFull, keyDenyProd}, true},
	"GetPipelineExecution":   {[]string{keyFull, keyDenyProd, keyRead, keyApprover}, true},
	"ListPipelineExecutions": {[]string{keyFull, keyDenyProd, keyRead, keyApprover}, true},
	"ListActionExecutions":   {[]string{keyFull, keyDenyProd, keyRead}, true},
	"PutApprovalResult":      {[]string{keyFull, keyDenyProd, keyApprover}, true},
	"CreateCustomActionType": {[]string{keyFull, keyDenyProd}, false},
	"DeleteCustomActionType": {[]string{keyFull, keyDenyProd}, false},
	"ListActionTypes":        {[]string{keyFull, keyDenyProd, keyRead}, false},
	"ListRuleTypes":          {[]string{keyFull, keyDenyProd}, false},
	"ListRuleExecutions":     {[]string{keyFull, keyDenyProd}, true},
	"PollForJobs":            {[]string{keyFull, keyDenyProd, keyWorker}, false},
	"AcknowledgeJob":         {[]string{keyFull, keyDenyProd, keyWorker}, false},
	"GetJobDetails":          {[]string{keyFull, keyDenyProd, keyWorker}, false},
	"PutJobSuccessResult":    {[]string{keyFull, keyDenyProd, keyWorker}, false},
	"PutJobFailureResult":    {[]string{keyFull, keyDenyProd, keyWorker}, false},
	"TagResource":            {[]string{keyFull, keyDenyProd}, true},
	"UntagResource":          {[]string{keyFull, keyDenyProd}, true},
	"ListTagsForResource":    {[]string{keyFull, keyDenyProd, keyRead}, true},
	"DisableStageTransition": {[]string{keyFull, keyDenyProd}, true},
	"EnableStageTransition":  {[]string{keyFull, keyDenyProd}, true},
	"RetryStageExecution":    {[]string{keyFull, keyDenyProd}, true},
	"RollbackStage":          {[]string{keyFull, keyDenyProd}, true},
	"OverrideStageCondition": {[]string{keyFull, keyDenyProd}, true},
	// A webhook's ARN (…:webhook:NAME) is not under its pipeline's.
	"PutWebhook":                      {[]string{keyFull, keyDenyProd}, false},
	"ListWebhooks":                    {[]string{keyFull, keyDenyProd}, false},
	"DeleteWebhook":                   {[]string{keyFull, keyDenyProd}, false},
	"RegisterWebhookWithThirdParty":   {[]string{keyFull, keyDenyProd}, false},
	"DeregisterWebhookWithThirdParty": {[]string{keyFull, keyDenyProd}, false},
}

// TestPoliciesOverTheCodePipelineDoor runs every operation of the JSON door
// with the AWS SDK under each built-in policy, a custom policy denying one
// pipeline and no policy, on two pipelines, and checks each is allowed or
// refused with AccessDeniedException as the evaluation rules say.
func TestPoliciesOverTheCodePipelineDoor(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	creds := keysOf(srv)
	admin := client(srv.URL, creds[keyAdmin])
	for _, op := range cpdoor.Operations() {
		if _, ok := calls[op]; !ok {
			t.Fatalf("the door has %s: add it to calls and allowed", op)
		}
	}
	keys := []string{keyFull, keyRead, keyApprover, keyWorker, keyDenyProd, keyNone}
	for _, key := range keys {
		for _, pipeline := range []string{"p", "prod"} {
			for _, op := range cpdoor.Operations() {
				// Every call finds both pipelines there (the operations
				// allowed may delete them): the evaluation comes first,
				// whatever the operation then finds.
				for _, n := range []string{"p", "prod"} {
					if _, err := admin.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: pipelineDecl(n)}); err != nil && !isCode(err, "PipelineNameInUseException") {
						t.Fatalf("seeding %s: %v", n, err)
					}
				}
				want := allowed[op]
				ok := contains(want.keys, key) && !(key == keyDenyProd && want.perPipeline && pipeline == "prod")
				err := calls[op](ctx, client(srv.URL, creds[key]), pipeline)
				denied := isCode(err, "AccessDeniedException")
				if denied == ok {
					t.Errorf("%s as %s on %s: %v; want allowed=%v", op, key, pipeline, err, ok)
					continue
				}
				if denied {
					var ae smithy.APIError
					errors.As(err, &ae)
					msg := ae.ErrorMessage()
					if !strings.Contains(msg, "User: arn:aws:iam::"+apitest.Account+":user/"+key+" is not authorized to perform: codepipeline:"+op+" on resource: ") {
						t.Errorf("%s as %s: denial %q does not name the caller and action in IAM's words", op, key, msg)
					}
					if explicit := strings.Contains(msg, "explicit deny"); explicit != (key == keyDenyProd) {
						t.Errorf("%s as %s: denial %q, explicit=%v", op, key, msg, key == keyDenyProd)
					}
				}
			}
		}
	}
}

// TestAuthorizerDenialNamesActionAndResource checks the error the hook
// returns, and that a lookup failure is returned as it is.
func TestAuthorizerDenialNamesActionAndResource(t *testing.T) {
	read, _ := auth.Builtin(auth.ReadOnlyAccess)
	authz := service.NewPolicyAuthorizer(nil)
	ctx := service.WithCaller(context.Background(), service.Caller{Principal: keyRead, Door: service.DoorCodePipeline,
		Verified: true, Policies: []*auth.Policy{read}})
	err := authz(ctx, service.OpStartPipelineExecution, arnPrefix+"p")
	e, ok := errs.As(err)
	if !ok || e.Code != errs.Forbidden || e.Kind != errs.KindAccess {
		t.Fatalf("err %v, want Forbidden/Access", err)
	}
	want := "User: AKIDREAD is not authorized to perform: codepipeline:StartPipelineExecution on resource: " + arnPrefix + "p because no identity-based policy allows the codepipeline:StartPipelineExecution action"
	if e.Message != want {
		t.Fatalf("message %q\nwant    %q", e.Message, want)
	}
	if err := authz(ctx, service.OpGetActionLogs, arnPrefix+"p"); err != nil {
		t.Fatalf("read-only may read logs: %v", err)
	}
	boom := errors.New("store down")
	failing := service.NewPolicyAuthorizer(func(context.Context, service.Caller) ([]*auth.Policy, error) { return nil, boom })
	if err := failing(ctx, service.OpGetPipeline, arnPrefix+"p"); !errors.Is(err, boom) {
		t.Fatalf("err %v, want the lookup's", err)
	}
	unverified := service.WithCaller(context.Background(), service.Caller{Principal: "claimed", Policies: []*auth.Policy{read}})
	if err := authz(unverified, service.OpGetPipeline, arnPrefix+"p"); errs.CodeOf(err) != errs.Forbidden {
		t.Fatalf("an unverified caller: %v, want a denial whatever its policies", err)
	}
	gateway := service.WithCaller(context.Background(), service.Caller{Principal: "arn:aws:iam::1:role/r", Verified: true, GatewayAuthorized: true})
	if err := authz(gateway, service.OpStartPipelineExecution, arnPrefix+"p"); err != nil {
		t.Fatalf("a gateway-authorized caller without policies keeps what the gateway allowed: %v", err)
	}
	narrowed := service.WithCaller(context.Background(), service.Caller{Principal: "arn:aws:iam::1:role/r", Verified: true, GatewayAuthorized: true,
		Policies: []*auth.Policy{read}})
	if err := authz(narrowed, service.OpStartPipelineExecution, arnPrefix+"p"); errs.CodeOf(err) != errs.Forbidden {
		t.Fatalf("attached policies narrow what the gateway allowed: %v", err)
	}
}

// TestStageflowOperationsPerBuiltin pins the README's table of the
// stageflow: operations each built-in allows.
func TestStageflowOperationsPerBuiltin(t *testing.T) {
	ops := []service.Operation{service.OpGetExecutionRecord, service.OpWatchExecution, service.OpGetActionLogs, service.OpExpireJobs,
		service.OpGetArtifactObject, service.OpListArtifactObjects, service.OpPutArtifactObject, service.OpDeleteArtifactObject}
	resource := func(op service.Operation) string {
		switch op {
		case service.OpGetArtifactObject, service.OpPutArtifactObject, service.OpDeleteArtifactObject:
			return service.ArtifactArn("stageflow-artifacts", "p/e/A.zip")
		case service.OpListArtifactObjects:
			return service.ArtifactArn("stageflow-artifacts", "")
		}
		return arnPrefix + "p"
	}
	want := map[string][]bool{
		auth.FullAccess:          {true, true, true, false, true, true, false, false},
		auth.ReadOnlyAccess:      {true, true, true, false, true, true, false, false},
		auth.ApproverAccess:      {true, true, true, false, false, false, false, false},
		auth.CustomActionAccess:  {false, false, false, false, false, false, false, false},
		auth.StageflowFullAccess: {true, true, true, true, true, true, true, true},
	}
	for name, w := range want {
		p, _ := auth.Builtin(name)
		for i, op := range ops {
			d, _ := auth.Evaluate([]*auth.Policy{p}, string(op), resource(op), nil)
			if (d == auth.Allowed) != w[i] {
				t.Errorf("%s: %s %v, want allowed=%v", name, op, d, w[i])
			}
		}
	}
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
