package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The placeholders of the definition that CloudFormation replaces with the
// functions' ARNs (DefinitionSubstitutions).
const (
	substAdvance  = "AdvanceFunctionArn"
	substDispatch = "DispatchFunctionArn"
)

// stateMachineName is the state machine's name. It is fixed, not chosen by
// CloudFormation, so that the functions' grants can name its ARN without
// referring to the state machine, which refers to them (a cycle).
func stateMachineName(cfg Config) string { return cfg.StackName + "-executions" }

// stateMachineARN and executionsARN are the ARNs of the state machine and of
// any of its executions, built from its name.
func stateMachineARN(stack awscdk.Stack, cfg Config) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("stateMachine"),
		ResourceName: jsii.String(stateMachineName(cfg)), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

func executionsARN(stack awscdk.Stack, cfg Config) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("execution"),
		ResourceName: jsii.String(stateMachineName(cfg) + ":*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// newStateMachine declares the Standard state machine of shared/sfn's
// definition, with the advance and dispatch functions substituted, a role
// that may invoke those two functions and nothing else, and its errors
// logged (without execution data) to a log group with the configured
// retention.
func newStateMachine(scope constructs.Construct, cfg Config, advance, dispatch function) (awsstepfunctions.StateMachine, error) {
	def, err := stateMachineDefinition("${"+substAdvance+"}", "${"+substDispatch+"}")
	if err != nil {
		return nil, fmt.Errorf("the state machine's definition: %w", err)
	}
	logs := awslogs.NewLogGroup(scope, jsii.String("ExecutionsLogs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[cfg.LogRetentionDays],
		RemovalPolicy: logRemoval(cfg),
	})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String("Executions"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String(stateMachineName(cfg)),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		Comment:          jsii.String("Stageflow: one pipeline execution per state machine execution (shared/sfn)"),
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromString(jsii.String(string(def))),
		DefinitionSubstitutions: &map[string]*string{
			substAdvance:  advance.Fn.FunctionArn(),
			substDispatch: dispatch.Fn.FunctionArn(),
		},
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ERROR,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	advance.Fn.GrantInvoke(sm)
	dispatch.Fn.GrantInvoke(sm)
	return sm, nil
}
