// Package lambdaenv names the environment of the deployed functions: infra
// sets these variables on each function, and functions/*/main.go reads them
// with Load. One list, so the two cannot drift apart.
package lambdaenv

import (
	"fmt"
	"strings"
)

// The variables. Which function gets which is infra's choice (the README's
// "Deploy to AWS" section lists them).
const (
	// Table is the name of the store's DynamoDB table.
	Table = "STAGEFLOW_TABLE"
	// StateMachineARN is the state machine that drives executions (the api
	// function starts and stops its executions).
	StateMachineARN = "STAGEFLOW_STATE_MACHINE_ARN"
	// ArtifactBucket is the S3 bucket of the pipelines' artifacts.
	ArtifactBucket = "STAGEFLOW_ARTIFACT_BUCKET"
	// ArtifactRoleARN is the role whose session, limited to one job's
	// objects, becomes that job's artifactCredentials.
	ArtifactRoleARN = "STAGEFLOW_ARTIFACT_ROLE_ARN"
	// Account is the AWS account ID, for the service's ARNs (Lambda gives
	// the region, AWS_REGION, but not the account).
	Account = "STAGEFLOW_ACCOUNT"
	// KMSKeyARN is the KMS key that seals the server's access keys'
	// secrets in the table (the api function's; only it may use the key).
	KMSKeyARN = "STAGEFLOW_KMS_KEY_ARN"
	// UserPoolID is the Cognito user pool whose users the console's routes
	// take (the api function checks each token's issuer against it).
	UserPoolID = "STAGEFLOW_USER_POOL_ID"
	// DynamoDBEndpoint, when set, points the store at another DynamoDB
	// (DynamoDB Local under the Lambda Runtime Interface Emulator); infra
	// never sets it.
	DynamoDBEndpoint = "STAGEFLOW_DYNAMODB_ENDPOINT"
	// ProviderPolicy, optional, is the CloudFormation provider's Stageflow
	// policy: a built-in policy's name or a JSON policy document (unset:
	// AWSCodePipeline_FullAccess; shared/cfnprovider.PolicyOf).
	ProviderPolicy = "STAGEFLOW_PROVIDER_POLICY"
	// WebhookBaseURL, optional, starts the URL of every V1 webhook
	// (PutWebhook's answer): the HTTP API's URL, whose open webhook routes
	// the webhook function serves (service.Config.WebhookBaseURL). Unset,
	// the URL is made from the request that asks for it.
	WebhookBaseURL = "STAGEFLOW_WEBHOOK_BASE_URL"
	// ConsoleDomain and ConsoleClientID, optional, are the api function's
	// console sign-in: the user pool domain's origin (Cognito's hosted UI,
	// https://PREFIX.auth.REGION.amazoncognito.com) and the console's app
	// client. Unset, the console served deployed has no way to sign in.
	ConsoleDomain   = "STAGEFLOW_CONSOLE_DOMAIN"
	ConsoleClientID = "STAGEFLOW_CONSOLE_CLIENT_ID"
)

// Load reads the named variables with lookup (os.LookupEnv) and fails
// naming every one that is unset or empty.
func Load(lookup func(string) (string, bool), names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	var missing []string
	for _, n := range names {
		v, ok := lookup(n)
		if !ok || strings.TrimSpace(v) == "" {
			missing = append(missing, n)
			continue
		}
		out[n] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the function's environment lacks %s (infra sets it; see the README's Deploy to AWS section)", strings.Join(missing, ", "))
	}
	return out, nil
}
