package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newTable declares the store's table as shared/store/dynamo defines it
// (storeTableSchema): on-demand, point-in-time recovery, time to live on the
// store's TTL attribute, deletion protection as configured. CloudFormation
// names it; the functions get the name in their environment.
func newTable(scope constructs.Construct, cfg Config) (awsdynamodb.Table, error) {
	schema := storeTableSchema("")
	if schema.BillingMode != types.BillingModePayPerRequest {
		return nil, fmt.Errorf("the store's table schema asks for billing mode %q; the stack deploys on-demand tables only", schema.BillingMode)
	}
	pk, sk, err := tableKeys(schema, schema.KeySchema)
	if err != nil {
		return nil, fmt.Errorf("the store's table: %w", err)
	}
	removal := awscdk.RemovalPolicy_DESTROY
	if cfg.DeletionProtection {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	t := awsdynamodb.NewTable(scope, jsii.String("Store"), &awsdynamodb.TableProps{
		PartitionKey: pk,
		SortKey:      sk,
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveAttribute: jsii.String(storeTTLAttribute),
		DeletionProtection:  jsii.Bool(cfg.DeletionProtection),
		RemovalPolicy:       removal,
		// AWS owned keys: encryption at rest at no charge.
		Encryption: awsdynamodb.TableEncryption_DEFAULT,
	})
	for _, gsi := range schema.GlobalSecondaryIndexes {
		name := aws.ToString(gsi.IndexName)
		pk, sk, err := tableKeys(schema, gsi.KeySchema)
		if err != nil {
			return nil, fmt.Errorf("the store's index %s: %w", name, err)
		}
		props := &awsdynamodb.GlobalSecondaryIndexProps{IndexName: jsii.String(name), PartitionKey: pk, SortKey: sk}
		if gsi.Projection == nil {
			return nil, fmt.Errorf("the store's index %s has no projection", name)
		}
		switch gsi.Projection.ProjectionType {
		case types.ProjectionTypeKeysOnly:
			props.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
		case types.ProjectionTypeAll:
			props.ProjectionType = awsdynamodb.ProjectionType_ALL
		case types.ProjectionTypeInclude:
			props.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
			props.NonKeyAttributes = jsii.Strings(gsi.Projection.NonKeyAttributes...)
		default:
			return nil, fmt.Errorf("the store's index %s: unknown projection %q", name, gsi.Projection.ProjectionType)
		}
		t.AddGlobalSecondaryIndex(props)
	}
	return t, nil
}

// tableKeys turns a key schema (a HASH key and at most one RANGE key) into
// CDK attributes, typed by the schema's attribute definitions.
func tableKeys(schema *dynamodb.CreateTableInput, keys []types.KeySchemaElement) (pk, sk *awsdynamodb.Attribute, err error) {
	for _, k := range keys {
		name := aws.ToString(k.AttributeName)
		typ, err := attributeType(schema, name)
		if err != nil {
			return nil, nil, err
		}
		a := &awsdynamodb.Attribute{Name: jsii.String(name), Type: typ}
		switch {
		case k.KeyType == types.KeyTypeHash && pk == nil:
			pk = a
		case k.KeyType == types.KeyTypeRange && sk == nil:
			sk = a
		default:
			return nil, nil, fmt.Errorf("key %s: a key schema has one HASH and at most one RANGE key", name)
		}
	}
	if pk == nil {
		return nil, nil, fmt.Errorf("the key schema has no HASH key")
	}
	return pk, sk, nil
}

func attributeType(schema *dynamodb.CreateTableInput, name string) (awsdynamodb.AttributeType, error) {
	for _, d := range schema.AttributeDefinitions {
		if aws.ToString(d.AttributeName) != name {
			continue
		}
		switch d.AttributeType {
		case types.ScalarAttributeTypeS:
			return awsdynamodb.AttributeType_STRING, nil
		case types.ScalarAttributeTypeN:
			return awsdynamodb.AttributeType_NUMBER, nil
		case types.ScalarAttributeTypeB:
			return awsdynamodb.AttributeType_BINARY, nil
		}
		return "", fmt.Errorf("attribute %s: unknown type %q", name, d.AttributeType)
	}
	return "", fmt.Errorf("key attribute %s has no attribute definition", name)
}
