package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// Custom action types are the partition "AT", one item each, sort key
// category#owner#provider#version. Tags are the partition TAG#<arn>, one
// item per key (sort key: the key, value in v).
const (
	pkActionTypes = "AT"
	aCategory     = "cat"
	aOwner        = "owner"
	aProvider     = "prov"
	aTypeVersion  = "tver"
)

func actionTypeSK(id pipeline.ActionTypeID) string {
	return key(id.Category, id.Owner, id.Provider, id.Version)
}

func tagsPK(arn string) string { return key("TAG", arn) }

// CreateActionType registers a custom action type (and sets t.Created to now
// when it is zero).
func (s *Store) CreateActionType(ctx context.Context, t *store.CustomActionType) error {
	id := t.ID
	created, err := store.ActionTypeCreated(t, time.Now())
	if err != nil {
		return err
	}
	it := item{
		attrPK: sv(pkActionTypes), attrSK: sv(actionTypeSK(id)),
		aCategory: sv(id.Category), aOwner: sv(id.Owner), aProvider: sv(id.Provider), aTypeVersion: sv(id.Version),
		aCreated: nv(store.Nanos(created)),
	}
	if t.Definition != nil {
		it[aDefinition] = bv(t.Definition)
	}
	cond := "attribute_not_exists(#pk)"
	_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: it,
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesOf(cond)})
	if conditionFailed(err) {
		return errs.Of(errs.Conflict, errs.KindActionType, "action type %s already exists", id)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: creating action type %s: %w", id, err)
	}
	t.Created = created
	return nil
}

// DeleteActionType removes a custom action type.
func (s *Store) DeleteActionType(ctx context.Context, id pipeline.ActionTypeID) error {
	cond := "attribute_exists(#pk)"
	_, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: keyOf(pkActionTypes, actionTypeSK(id)),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesOf(cond)})
	if conditionFailed(err) {
		return errs.Of(errs.NotFound, errs.KindActionType, "action type %s not found", id)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: deleting action type %s: %w", id, err)
	}
	return nil
}

// ListActionTypes lists the custom action types by category, owner,
// provider and version.
func (s *Store) ListActionTypes(ctx context.Context) ([]store.CustomActionType, error) {
	out := []store.CustomActionType{}
	err := s.partition(ctx, pkActionTypes, "", "", nil, func(it item) (bool, error) {
		t := store.CustomActionType{
			ID: pipeline.ActionTypeID{Category: getS(it, aCategory), Owner: getS(it, aOwner),
				Provider: getS(it, aProvider), Version: getS(it, aTypeVersion)},
			Created: store.FromNanos(getN(it, aCreated)),
		}
		if def := getB(it, aDefinition); def != nil {
			t.Definition = def
		}
		out = append(out, t)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: listing action types: %w", err)
	}
	slices.SortFunc(out, func(a, b store.CustomActionType) int {
		return cmp.Or(cmp.Compare(a.ID.Category, b.ID.Category), cmp.Compare(a.ID.Owner, b.ID.Owner),
			cmp.Compare(a.ID.Provider, b.ID.Provider), cmp.Compare(a.ID.Version, b.ID.Version))
	})
	return out, nil
}

// TagResource sets tags on a resource, replacing the values of keys it has,
// in one transaction (when there are at most 100: CodePipeline allows 50).
func (s *Store) TagResource(ctx context.Context, arn string, tags []pipeline.Tag) error {
	if arn == "" {
		return errs.Of(errs.Validation, errs.KindResource, "resource ARN is required")
	}
	last := map[string]string{}
	var order []string
	for _, t := range tags {
		if t.Key == "" {
			return errs.Of(errs.Validation, errs.KindTags, "tag keys must not be empty")
		}
		if _, ok := last[t.Key]; !ok {
			order = append(order, t.Key)
		}
		last[t.Key] = t.Value
	}
	pk := tagsPK(arn)
	var writes []types.TransactWriteItem
	for _, k := range order {
		writes = append(writes, s.put(item{attrPK: sv(pk), attrSK: sv(k), aValue: sv(last[k])}))
	}
	if err := s.writeLoose(ctx, writes); err != nil {
		return fmt.Errorf("dynamo store: tagging %s: %w", arn, err)
	}
	return nil
}

// UntagResource removes tags from a resource; keys it does not have are
// ignored.
func (s *Store) UntagResource(ctx context.Context, arn string, keys []string) error {
	pk := tagsPK(arn)
	seen := map[string]bool{}
	var writes []types.TransactWriteItem
	for _, k := range keys {
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		writes = append(writes, s.del(pk, k))
	}
	if err := s.writeLoose(ctx, writes); err != nil {
		return fmt.Errorf("dynamo store: untagging %s: %w", arn, err)
	}
	return nil
}

// ListTags lists the tags of a resource by key; empty for an unknown ARN.
func (s *Store) ListTags(ctx context.Context, arn string) ([]pipeline.Tag, error) {
	out := []pipeline.Tag{}
	if arn == "" {
		return out, nil
	}
	err := s.partition(ctx, tagsPK(arn), "", "", nil, func(it item) (bool, error) {
		out = append(out, pipeline.Tag{Key: getS(it, attrSK), Value: getS(it, aValue)})
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: listing tags of %s: %w", arn, err)
	}
	return out, nil
}
