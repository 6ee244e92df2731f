package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The key design, in one place (the README's "DynamoDB store" section
// describes it; infra/ must declare the same table). Every key attribute is
// a string.
const (
	attrPK = "pk" // partition key of the table
	attrSK = "sk" // sort key of the table

	// IndexList lists pipelines by name, executions of a pipeline by start
	// time, and finds the execution of a run's completion token.
	IndexList = "list"
	attrG1PK  = "g1pk"
	attrG1SK  = "g1sk"
	// IndexQueue holds the Queued jobs of each action type, oldest first
	// (sparse: only queued jobs have its keys).
	IndexQueue = "queue"
	attrG2PK   = "g2pk"
	attrG2SK   = "g2sk"
	// IndexDue holds the executions in progress or stopping by start time,
	// and the unfinished jobs with a deadline by deadline (sparse).
	IndexDue = "due"
	attrG3PK = "g3pk"
	attrG3SK = "g3sk"

	// attrTTL is the table's TTL attribute (unix seconds): finished jobs.
	attrTTL = "ttl"
)

// listProjection are the attributes IndexList carries besides the keys:
// what ListPipelines and ListExecutions return.
var listProjection = []string{
	aName, aVersion, aPipelineType, aMode, aCreated, aUpdated,
	aExecID, aPipelineName, aPipelineVersion, aStatus, aStatusSummary, aTriggerType, aTriggerDetail, aStart, aLastUpdate,
}

// TableOptions describe the table CreateTable makes.
type TableOptions struct {
	Name string
	// NoTTL leaves time to live disabled (DynamoDB then never deletes
	// finished jobs; the store still hides those past their expiry).
	NoTTL bool
}

// TableSchema returns the CreateTable input of the store's table: on-demand
// billing, the key schema and the three global secondary indexes.
func TableSchema(name string) *dynamodb.CreateTableInput {
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(pk, sk string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			str(attrPK), str(attrSK), str(attrG1PK), str(attrG1SK), str(attrG2PK), str(attrG2SK), str(attrG3PK), str(attrG3SK),
		},
		KeySchema: keys(attrPK, attrSK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{
				IndexName: aws.String(IndexList), KeySchema: keys(attrG1PK, attrG1SK),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: listProjection},
			},
			{
				IndexName: aws.String(IndexQueue), KeySchema: keys(attrG2PK, attrG2SK),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
			},
			{
				IndexName: aws.String(IndexDue), KeySchema: keys(attrG3PK, attrG3SK),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
			},
		},
	}
}

// CreateTable creates the store's table, waits until it is active and
// enables time to live on attrTTL.
func CreateTable(ctx context.Context, c *dynamodb.Client, o TableOptions) error {
	if o.Name == "" {
		return errors.New("dynamo store: a table name is required")
	}
	if _, err := c.CreateTable(ctx, TableSchema(o.Name)); err != nil {
		return fmt.Errorf("dynamo store: creating table %s: %w", o.Name, err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(o.Name)}, 5*time.Minute); err != nil {
		return fmt.Errorf("dynamo store: waiting for table %s: %w", o.Name, err)
	}
	if o.NoTTL {
		return nil
	}
	_, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(o.Name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("dynamo store: enabling time to live on table %s: %w", o.Name, err)
	}
	return nil
}

// TTLAttribute is the name of the table's time-to-live attribute.
const TTLAttribute = attrTTL
