package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stageflow/stageflow/cdk/stageflowpipeline"
	"github.com/stageflow/stageflow/shared/lambdaenv"
)

// Names of the stack's outputs.
const (
	outAPIURL          = "ApiUrl"
	outTable           = "TableName"
	outBucket          = "ArtifactBucketName"
	outStateMachine    = "StateMachineArn"
	outArtifactRoleARN = "ArtifactRoleArn"
	outUserPool        = "ConsoleUserPoolId"
	outUserPoolClient  = "ConsoleUserPoolClientId"
	outConsoleURL      = "ConsoleUrl"
	outConsoleSignIn   = "ConsoleSignInDomain"
	outSecretsKey      = "SecretsKeyArn"
	// outProvider is the ServiceToken of Custom::StageflowPipeline,
	// exported as <StackName>PipelineProvider (StageflowPipelineProvider).
	outProvider = "PipelineProviderServiceToken"
)

// NewStack declares the whole deployment in one stack: the store's table,
// the artifact bucket and its access role, the functions, the state
// machine, the HTTP API, the KMS key of the access keys' secrets and the
// console's user pool, each function granted what it calls and no more.
func NewStack(scope constructs.Construct, cfg Config) (awscdk.Stack, error) {
	stack := awscdk.NewStack(scope, jsii.String(cfg.StackName), &awscdk.StackProps{
		Description: jsii.String("Stageflow: a self-hosted CodePipeline (DynamoDB store, Step Functions driver, Lambda functions behind an HTTP API)"),
	})
	table, err := newTable(stack, cfg)
	if err != nil {
		return nil, err
	}
	bucket := newArtifactBucket(stack, cfg)
	machineARN := stateMachineARN(stack, cfg)

	common := map[string]*string{
		lambdaenv.Table:          table.TableName(),
		lambdaenv.ArtifactBucket: bucket.BucketName(),
	}
	// The state machine names advance and dispatch, so they do not name it
	// back (shared/sfn's handlers need no state machine ARN).
	commonEnv := func(awsiam.Role) map[string]*string { return common }
	advance, err := newFunction(stack, cfg, advanceSpec, commonEnv)
	if err != nil {
		return nil, err
	}
	dispatch, err := newFunction(stack, cfg, dispatchSpec, commonEnv)
	if err != nil {
		return nil, err
	}
	// The api function's role exists before its artifact role (which trusts
	// it) and its environment (which names that role): the function is
	// declared after both.
	users := newConsoleUsers(stack, cfg)
	apiEnv := map[string]*string{lambdaenv.StateMachineARN: machineARN, lambdaenv.Account: awscdk.Aws_ACCOUNT_ID(),
		lambdaenv.UserPoolID: users.Pool.UserPoolId()}
	for k, v := range common {
		apiEnv[k] = v
	}
	var secretsKey awskms.Key
	api, err := newFunction(stack, cfg, apiSpec, func(role awsiam.Role) map[string]*string {
		apiEnv[lambdaenv.ArtifactRoleARN] = newArtifactRole(stack, bucket, role).RoleArn()
		secretsKey = newSecretsKey(stack, cfg, role)
		apiEnv[lambdaenv.KMSKeyARN] = secretsKey.KeyArn()
		return apiEnv
	})
	if err != nil {
		return nil, err
	}
	// The webhook function reads webhooks and connections, whose secrets
	// it opens with the secrets key (Decrypt only), and starts executions.
	webhookEnv := map[string]*string{lambdaenv.StateMachineARN: machineARN, lambdaenv.Account: awscdk.Aws_ACCOUNT_ID(),
		lambdaenv.KMSKeyARN: secretsKey.KeyArn()}
	for k, v := range common {
		webhookEnv[k] = v
	}
	webhook, err := newFunction(stack, cfg, webhookSpec, func(awsiam.Role) map[string]*string { return webhookEnv })
	if err != nil {
		return nil, err
	}
	allowOpening(secretsKey, webhook.Role)
	// The CloudFormation provider creates pipelines (their first execution
	// starts), updates and deletes them (stopping their executions).
	providerEnv := map[string]*string{lambdaenv.StateMachineARN: machineARN, lambdaenv.Account: awscdk.Aws_ACCOUNT_ID()}
	for k, v := range common {
		providerEnv[k] = v
	}
	provider, err := newFunction(stack, cfg, providerSpec, func(awsiam.Role) map[string]*string { return providerEnv })
	if err != nil {
		return nil, err
	}
	// Only CloudFormation, and only for stacks of this account, may invoke it.
	provider.Fn.AddPermission(jsii.String("CloudFormation"), &awslambda.Permission{
		Principal:     awsiam.NewServicePrincipal(jsii.String("cloudformation.amazonaws.com"), nil),
		Action:        jsii.String("lambda:InvokeFunction"),
		SourceAccount: awscdk.Aws_ACCOUNT_ID(),
	})
	sm, err := newStateMachine(stack, cfg, advance, dispatch)
	if err != nil {
		return nil, err
	}
	httpAPI, err := newHTTPAPI(stack, api, users)
	if err != nil {
		return nil, err
	}
	if err := addWebhookRoutes(httpAPI, webhook); err != nil {
		return nil, err
	}
	// PutWebhook answers URLs on the HTTP API (the webhook function's
	// routes), not on the host the api function sees a request for.
	api.Fn.AddEnvironment(jsii.String(lambdaenv.WebhookBaseURL), httpAPI.ApiEndpoint(), nil)
	// The console signs in with the user pool's hosted UI (GET
	// /console/config.json tells the page where).
	api.Fn.AddEnvironment(jsii.String(lambdaenv.ConsoleDomain), users.Domain.BaseUrl(nil), nil)
	api.Fn.AddEnvironment(jsii.String(lambdaenv.ConsoleClientID), users.Client.UserPoolClientId(), nil)

	// The store: every function reads and writes items, with the calls the
	// store makes and no others (ReadWriteData would add scans, batches and
	// streams). A transaction is authorized item by item with these same
	// actions.
	for _, f := range []function{api, advance, dispatch, provider, webhook} {
		table.Grants().Actions(f.Role, *jsii.Strings(storeTableActions...)...)
	}
	// Step Functions: the api function starts executions (Begin), stops them
	// (StopPipelineExecution with abandon) and sends task tokens (Complete,
	// Continue); advance sends the Park token, dispatch the token of a run
	// that ended at once. The ARN is built from the state machine's name (see
	// stateMachineName).
	grant := func(f function, resource *string, actions ...string) {
		awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
			Grantee: f.Role, Actions: jsii.Strings(actions...), ResourceArns: &[]*string{resource},
		})
	}
	grant(api, machineARN, "states:StartExecution", "states:SendTaskSuccess")
	grant(api, executionsARN(stack, cfg), "states:StopExecution")
	grant(advance, machineARN, "states:SendTaskSuccess")
	grant(dispatch, machineARN, "states:SendTaskSuccess")
	grant(provider, machineARN, "states:StartExecution", "states:SendTaskSuccess")
	grant(provider, executionsARN(stack, cfg), "states:StopExecution")
	// The webhook function starts executions (Begin), and a start may
	// send the Park token of an execution it lets go on; it stops none.
	grant(webhook, machineARN, "states:StartExecution", "states:SendTaskSuccess")

	output := func(id string, value *string, what string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(what)})
	}
	output(outAPIURL, httpAPI.Url(), "The HTTP API: REST under /v1 (IAM), the console's under /console/v1 (Cognito), the CodePipeline door at POST / (Stageflow's keys) and POST /codepipeline (IAM), webhooks under /webhooks (open, signatures verified by Stageflow)")
	output(outTable, table.TableName(), "The store's DynamoDB table")
	output(outBucket, bucket.BucketName(), "The artifact bucket")
	output(outStateMachine, sm.StateMachineArn(), "The state machine that drives pipeline executions")
	output(outArtifactRoleARN, apiEnv[lambdaenv.ArtifactRoleARN], "The role job workers' artifact credentials are sessions of")
	output(outUserPool, users.Pool.UserPoolId(), "The console's Cognito user pool (its groups carry Stageflow's built-in policies)")
	output(outUserPoolClient, users.Client.UserPoolClientId(), "The console's app client of the user pool")
	output(outConsoleURL, consoleURL(httpAPI), "The web console: open it in a browser and sign in with a user of the console's user pool")
	output(outConsoleSignIn, users.Domain.BaseUrl(nil), "The user pool's domain, where the console's users sign in (Cognito's hosted UI)")
	output(outSecretsKey, secretsKey.KeyArn(), "The KMS key that seals the access keys', webhooks' and connections' secrets (the api function seals and opens, the webhook function opens)")
	awscdk.NewCfnOutput(stack, jsii.String(outProvider), &awscdk.CfnOutputProps{Value: provider.Fn.FunctionArn(),
		Description: jsii.String("The ServiceToken of Custom::StageflowPipeline resources (README, Pipelines in CloudFormation)"),
		ExportName:  jsii.String(stageflowpipeline.ProviderExportName(cfg.StackName))})
	return stack, nil
}
