package main

// The two designs infra must declare exactly as the packages that use them
// define them: the store's table (shared/store/dynamo) and the state
// machine (shared/sfn). Each is taken behind one small function, so that the
// stack never depends on how the package spells it.

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// storeTableSchema is the CreateTable input of the store's table: the key
// schema, the attribute types and the global secondary indexes. TODO(merge
// of branch dynamo): `return dynamo.TableSchema(name)`; until then this
// mirrors shared/store/dynamo/table.go of that branch (its README's
// "DynamoDB store" section), and table_test.go pins it.
func storeTableSchema(name string) *dynamodb.CreateTableInput {
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(pk, sk string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
		}
	}
	// What the "list" index projects besides the keys: the attributes of
	// pipeline and execution summaries.
	listed := []string{"name", "ver", "ptype", "mode", "created", "updated",
		"eid", "pname", "pver", "status", "summary", "ttype", "tdetail", "start", "lupd"}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			str("pk"), str("sk"), str("g1pk"), str("g1sk"), str("g2pk"), str("g2sk"), str("g3pk"), str("g3sk"),
		},
		KeySchema: keys("pk", "sk"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String("list"), KeySchema: keys("g1pk", "g1sk"),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: listed}},
			{IndexName: aws.String("queue"), KeySchema: keys("g2pk", "g2sk"),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}},
			{IndexName: aws.String("due"), KeySchema: keys("g3pk", "g3sk"),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}},
		},
	}
}

// storeTableActions are the DynamoDB actions the store's calls need
// (GetItem, PutItem, DeleteItem, Query, and TransactWriteItems of puts and
// deletes, which IAM authorizes as PutItem and DeleteItem on each item).
// TestStoreActionsCoverTheStore checks them against the calls in
// shared/store/dynamo once that package is in the tree.
var storeTableActions = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"}

// storeTTLAttribute is the table's time-to-live attribute. TODO(merge of
// branch dynamo): dynamo.TTLAttribute.
const storeTTLAttribute = "ttl"

// stateMachineDefinition is the state machine in Amazon States Language with
// the two functions' ARNs (or placeholders for them). TODO(merge of branch
// sfn): `return sfn.Definition(sfn.Functions{Advance: advance, Dispatch:
// dispatch})`; until then this mirrors shared/sfn/definition.go of that
// branch (Advance → Route → Wave of Dispatch tasks → Advance, Park, Done,
// HandlerFailed), and statemachine_test.go pins its shape.
func stateMachineDefinition(advance, dispatch string) ([]byte, error) {
	type obj = map[string]any
	lambdaErrors := []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
		"Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException"}
	retry := []obj{{"ErrorEquals": lambdaErrors, "IntervalSeconds": 1, "MaxAttempts": 6, "BackoffRate": 2}}
	catchAll := []obj{{"ErrorEquals": []string{"States.ALL"}, "ResultPath": "$.error", "Next": "HandlerFailed"}}
	const invoke, invokeToken = "arn:aws:states:::lambda:invoke", "arn:aws:states:::lambda:invoke.waitForTaskToken"
	def := obj{
		"Comment": "Stageflow: one pipeline execution (shared/sfn). Advance runs the engine's step; each wave's actions run in parallel, each until its completion sends its task token.",
		"StartAt": "Advance",
		"States": obj{
			"Advance": obj{
				"Type": "Task", "Resource": invoke,
				"Parameters":     obj{"FunctionName": advance, "Payload.$": "$"},
				"ResultSelector": obj{"executionId.$": "$.Payload.executionId", "next.$": "$.Payload.next", "wave.$": "$.Payload.wave"},
				"Retry":          retry, "Catch": catchAll, "Next": "Route",
			},
			"Route": obj{
				"Type": "Choice",
				"Choices": []obj{
					{"Variable": "$.next", "StringEquals": "done", "Next": "Done"},
					{"Variable": "$.next", "StringEquals": "park", "Next": "Park"},
				},
				"Default": "Wave",
			},
			"Wave": obj{
				"Type": "Map", "ItemsPath": "$.wave", "MaxConcurrency": 0,
				"ItemProcessor": obj{
					"ProcessorConfig": obj{"Mode": "INLINE"},
					"StartAt":         "Dispatch",
					"States": obj{
						"Dispatch": obj{
							"Type": "Task", "Resource": invokeToken,
							"Parameters": obj{"FunctionName": dispatch, "Payload": obj{
								"executionId.$": "$.executionId", "runId.$": "$.runId", "taskToken.$": "$$.Task.Token"}},
							"TimeoutSecondsPath": "$.timeoutSeconds",
							"Retry":              retry,
							"Catch":              []obj{{"ErrorEquals": []string{"States.Timeout"}, "ResultPath": "$.error", "Next": "TimedOut"}},
							"End":                true,
						},
						"TimedOut": obj{"Type": "Pass", "Parameters": obj{"runId.$": "$.runId", "timedOut": true}, "End": true},
					},
				},
				"ResultPath": "$.ended", "Catch": catchAll, "Next": "Advance",
			},
			"Park": obj{
				"Type": "Task", "Resource": invokeToken,
				"Parameters": obj{"FunctionName": advance, "Payload": obj{"executionId.$": "$.executionId", "parkToken.$": "$$.Task.Token"}},
				"ResultPath": "$.ended", "Retry": retry, "Catch": catchAll, "Next": "Advance",
			},
			"Done":          obj{"Type": "Succeed"},
			"HandlerFailed": obj{"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
		},
	}
	return json.MarshalIndent(def, "", "  ")
}
