package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// functionSpec is one Lambda function of the stack: functions/<Name>,
// built by make build-lambdas into <LambdaDir>/<Name>/bootstrap.
type functionSpec struct {
	Name        string
	ID          string // the construct ID
	Description string
	MemoryMB    float64
	// TimeoutSeconds: the api function answers within API Gateway's 30 s;
	// advance and dispatch return at once (dispatch leaves its task waiting
	// for the token, it does not wait itself).
	TimeoutSeconds float64
}

var (
	apiSpec = functionSpec{Name: "api", ID: "Api", MemoryMB: 512, TimeoutSeconds: 29,
		Description: "Stageflow: the HTTP API (the REST and CodePipeline doors of shared/api) behind API Gateway"}
	advanceSpec = functionSpec{Name: "advance", ID: "Advance", MemoryMB: 256, TimeoutSeconds: 60,
		Description: "Stageflow: the engine's step of the state machine (Advance and Park of shared/sfn)"}
	dispatchSpec = functionSpec{Name: "dispatch", ID: "Dispatch", MemoryMB: 256, TimeoutSeconds: 60,
		Description: "Stageflow: starts one action run and keeps its task token (Dispatch of shared/sfn)"}
	// providerSpec: CloudFormation waits for the PUT, not for the
	// function; the provider answers FAILED 5 s before its timeout.
	providerSpec = functionSpec{Name: "provider", ID: "Provider", MemoryMB: 256, TimeoutSeconds: 300,
		Description: "Stageflow: the CloudFormation custom resource provider of Custom::StageflowPipeline (shared/cfnprovider)"}
	// webhookSpec: behind API Gateway too, so within its 30 s.
	webhookSpec = functionSpec{Name: "webhook", ID: "Webhook", MemoryMB: 256, TimeoutSeconds: 29,
		Description: "Stageflow: the open webhook routes (V1 webhook URLs, the connections' event endpoints) behind API Gateway, each verifying its own signature"}
)

// maxBootstrapBytes is the project's limit on one function's bootstrap.
const maxBootstrapBytes = 20 << 20

// bootstrapDir is the folder of a function's code asset, checked to hold a
// bootstrap of at most maxBootstrapBytes.
func bootstrapDir(cfg Config, fn functionSpec) (string, error) {
	dir := filepath.Join(cfg.LambdaDir, fn.Name)
	st, err := os.Stat(filepath.Join(dir, "bootstrap"))
	switch {
	case err != nil:
		return "", fmt.Errorf("function %s: no bootstrap in %s (make build-lambdas builds them): %w", fn.Name, dir, err)
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("function %s: %s is not a file", fn.Name, filepath.Join(dir, "bootstrap"))
	case st.Size() > maxBootstrapBytes:
		return "", fmt.Errorf("function %s: its bootstrap is %d bytes, over the %d MiB limit", fn.Name, st.Size(), maxBootstrapBytes>>20)
	}
	return dir, nil
}

// function is a declared function with the role it runs as.
type function struct {
	Fn   awslambda.Function
	Role awsiam.Role
}

// newFunction declares one function: arm64, provided.al2023 running the
// bootstrap, a role of its own that may write its log group and nothing
// else until the stack grants more, a log group with the configured
// retention, and envFor(role) as its environment.
func newFunction(scope constructs.Construct, cfg Config, spec functionSpec, envFor func(awsiam.Role) map[string]*string) (function, error) {
	dir, err := bootstrapDir(cfg, spec)
	if err != nil {
		return function{}, err
	}
	role := awsiam.NewRole(scope, jsii.String(spec.ID+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Stageflow: the " + spec.Name + " function"),
	})
	env := map[string]*string{}
	for k, v := range envFor(role) {
		env[k] = v
	}
	logs := awslogs.NewLogGroup(scope, jsii.String(spec.ID+"Logs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[cfg.LogRetentionDays],
		RemovalPolicy: logRemoval(cfg),
	})
	// CreateLogStream and PutLogEvents on this log group only (instead of
	// AWSLambdaBasicExecutionRole's on every log group).
	logs.GrantWrite(role)
	fn := awslambda.NewFunction(scope, jsii.String(spec.ID), &awslambda.FunctionProps{
		Description:  jsii.String(spec.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(dir), nil),
		MemorySize:   jsii.Number(spec.MemoryMB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(spec.TimeoutSeconds)),
		Role:         role,
		LogGroup:     logs,
		Environment:  &env,
	})
	return function{Fn: fn, Role: role}, nil
}

// logRemoval keeps log groups with the stack's data when deletion
// protection is on.
func logRemoval(cfg Config) awscdk.RemovalPolicy {
	if cfg.DeletionProtection {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}
