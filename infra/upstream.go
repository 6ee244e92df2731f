package main

// The two designs infra must declare exactly as the packages that use them
// define them: the store's table (shared/store/dynamo) and the state
// machine (shared/sfn). Each is taken behind one small function, so that the
// stack never depends on how the package spells it.

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stageflow/stageflow/shared/sfn"
	"github.com/stageflow/stageflow/shared/store/dynamo"
)

// storeTableSchema is the CreateTable input of the store's table: the key
// schema, the attribute types and the global secondary indexes.
func storeTableSchema(name string) *dynamodb.CreateTableInput { return dynamo.TableSchema(name) }

// storeTableActions are the DynamoDB actions the store's calls need
// (GetItem, PutItem, DeleteItem, UpdateItem — an access key's last use —,
// Query, and TransactWriteItems of puts and deletes, which IAM authorizes as
// PutItem and DeleteItem on each item).
// TestStoreActionsCoverTheStore checks them against the calls in
// shared/store/dynamo.
var storeTableActions = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:Query"}

// storeActionsNotDeployed are the store's calls that no deployed function
// makes, so no role is granted them, each with the reason.
var storeActionsNotDeployed = map[string]string{
	"dynamodb:Scan": "retention pruning (Store.PruneExecutions) scans the execution heads; no deployed function prunes yet",
}

// storeTTLAttribute is the table's time-to-live attribute.
const storeTTLAttribute = dynamo.TTLAttribute

// stateMachineDefinition is the state machine in Amazon States Language with
// the two functions' ARNs (or placeholders for them).
func stateMachineDefinition(advance, dispatch string) ([]byte, error) {
	return sfn.Definition(sfn.Functions{Advance: advance, Dispatch: dispatch})
}
