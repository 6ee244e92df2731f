package dynamo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// Access keys are the partition "AK", one item each, sort key the key's ID
// (escaped); the listing sorts the few keys by creation time. The policies
// of a principal are the item PP#<principal> / 0.
const (
	pkAccessKeys = "AK"
	aUser        = "user"
	aDescription = "desc"
	aPolicies    = "pol"
	aSecret      = "secret"
	aLastUsed    = "lused"
)

func principalPK(principal string) string { return key("PP", principal) }

// encodePolicies is the policies attribute: a JSON list, never null.
func encodePolicies(p []store.AttachedPolicy) (types.AttributeValue, error) {
	if p == nil {
		p = []store.AttachedPolicy{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return sv(string(b)), nil
}

func decodePolicies(it item) ([]store.AttachedPolicy, error) {
	var p []store.AttachedPolicy
	if err := json.Unmarshal([]byte(getS(it, aPolicies)), &p); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeAccessKey(it item) (*store.AccessKey, error) {
	id, _ := unkey(pkAccessKeys+"#"+getS(it, attrSK), pkAccessKeys)
	k := &store.AccessKey{ID: id, User: getS(it, aUser), Description: getS(it, aDescription),
		Created: store.FromNanos(getN(it, aCreated)), LastUsed: store.FromNanos(getN(it, aLastUsed))}
	if b := getB(it, aSecret); b != nil {
		k.Secret = b
	}
	p, err := decodePolicies(it)
	if err != nil {
		return nil, fmt.Errorf("decoding the policies of access key %s: %w", id, err)
	}
	k.Policies = p
	return k, nil
}

func accessKeyOf(id string) item { return keyOf(pkAccessKeys, key(id)) }

// CreateAccessKey stores a new key (and sets k.Created to now when it is
// zero): a put conditional on the item's absence.
func (s *Store) CreateAccessKey(ctx context.Context, k *store.AccessKey) error {
	created, err := store.AccessKeyCreated(k, time.Now())
	if err != nil {
		return err
	}
	pol, err := encodePolicies(k.Policies)
	if err != nil {
		return fmt.Errorf("dynamo store: encoding access key %s: %w", k.ID, err)
	}
	it := accessKeyOf(k.ID)
	it[aUser], it[aPolicies] = sv(k.User), pol
	it[aCreated], it[aLastUsed] = nv(store.Nanos(created)), nv(store.Nanos(k.LastUsed))
	if k.Description != "" {
		it[aDescription] = sv(k.Description)
	}
	if len(k.Secret) > 0 {
		it[aSecret] = bv(k.Secret) // the SDK sends it at once: k's bytes are not kept
	}
	cond := "attribute_not_exists(#pk)"
	_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: it,
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesOf(cond)})
	if conditionFailed(err) {
		return errs.Of(errs.Conflict, errs.KindAccessKey, "access key %s already exists", k.ID)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: creating access key %s: %w", k.ID, err)
	}
	k.Created = created
	return nil
}

// GetAccessKey reads a key (strongly consistent: a key just made signs at
// once).
func (s *Store) GetAccessKey(ctx context.Context, id string) (*store.AccessKey, error) {
	if id == "" {
		return nil, errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	out, err := s.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: accessKeyOf(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading access key %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	k, err := decodeAccessKey(out.Item)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: %w", err)
	}
	return k, nil
}

// ListAccessKeys lists every key, oldest first, then by ID: a query of the
// partition.
func (s *Store) ListAccessKeys(ctx context.Context) ([]store.AccessKey, error) {
	out := []store.AccessKey{}
	err := s.partition(ctx, pkAccessKeys, "", "", nil, func(it item) (bool, error) {
		k, err := decodeAccessKey(it)
		if err != nil {
			return false, err
		}
		out = append(out, *k)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: listing access keys: %w", err)
	}
	slices.SortFunc(out, func(a, b store.AccessKey) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteAccessKey removes a key.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	if id == "" {
		return errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	cond := "attribute_exists(#pk)"
	_, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: accessKeyOf(id),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesOf(cond)})
	if conditionFailed(err) {
		return errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: deleting access key %s: %w", id, err)
	}
	return nil
}

// TouchAccessKey records a use of a key at at, when at is later than the
// last one recorded: an UpdateItem conditional on the item existing with an
// earlier use. A failed condition returns the item as it is (when there is
// one), which tells an earlier use (nothing to do) from an unknown key.
func (s *Store) TouchAccessKey(ctx context.Context, id string, at time.Time) error {
	if id == "" {
		return errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	cond := "attribute_exists(#pk) AND #lu < :at"
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.table, Key: accessKeyOf(id),
		UpdateExpression:                    aws.String("SET #lu = :at"),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#lu": aLastUsed},
		ExpressionAttributeValues:           item{":at": nv(store.Nanos(at))},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &failed):
		return fmt.Errorf("dynamo store: recording a use of access key %s: %w", id, err)
	case failed.Item == nil:
		return errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s not found", id)
	}
	return nil // a use as late or later is recorded already
}

// PutPrincipalPolicies replaces the policies of a principal (and sets
// p.Updated to now when it is zero): a put, or a delete for an empty list.
func (s *Store) PutPrincipalPolicies(ctx context.Context, p *store.PrincipalPolicies) error {
	updated, err := store.PrincipalPoliciesUpdated(p, time.Now())
	if err != nil {
		return err
	}
	k := keyOf(principalPK(p.Principal), "0")
	if len(p.Policies) == 0 {
		_, err = s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: k})
	} else {
		pol, perr := encodePolicies(p.Policies)
		if perr != nil {
			return fmt.Errorf("dynamo store: encoding the policies of %s: %w", p.Principal, perr)
		}
		k[aName], k[aPolicies], k[aUpdated] = sv(p.Principal), pol, nv(store.Nanos(updated))
		_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: k})
	}
	if err != nil {
		return fmt.Errorf("dynamo store: writing the policies of %s: %w", p.Principal, err)
	}
	p.Updated = updated
	return nil
}

// GetPrincipalPolicies reads the policies of a principal.
func (s *Store) GetPrincipalPolicies(ctx context.Context, principal string) (*store.PrincipalPolicies, error) {
	none := errs.Of(errs.NotFound, errs.KindPolicy, "no policies are attached to %s", principal)
	if principal == "" {
		return nil, none
	}
	it, err := s.getItem(ctx, principalPK(principal), "0")
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading the policies of %s: %w", principal, err)
	}
	if it == nil {
		return nil, none
	}
	pol, err := decodePolicies(it)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: decoding the policies of %s: %w", principal, err)
	}
	return &store.PrincipalPolicies{Principal: principal, Policies: pol, Updated: store.FromNanos(getN(it, aUpdated))}, nil
}
