package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// Connections and repositories are the partition "CN#<kind>", one item
// each, sort key the ID (escaped), the ID again in attribute "cid"; the
// listing sorts the few records by creation time.
const (
	pkConnections  = "CN"
	aConnID        = "cid"
	aRemote        = "remote"
	aUsername      = "uname"
	aToken         = "token"
	aSSHKey        = "sshkey"
	aTriggerSecret = "tsecret"
)

func connectionPK(kind store.ConnectionKind) string { return key(pkConnections, string(kind)) }

func connectionOf(kind store.ConnectionKind, id string) item {
	return keyOf(connectionPK(kind), key(id))
}

func decodeConnection(kind store.ConnectionKind, it item) store.Connection {
	return store.Connection{Kind: kind, ID: getS(it, aConnID), Name: getS(it, aName), Remote: getS(it, aRemote),
		Username: getS(it, aUsername), Token: getB(it, aToken), SSHKey: getB(it, aSSHKey), TriggerSecret: getB(it, aTriggerSecret),
		Created: store.FromNanos(getN(it, aCreated)), Updated: store.FromNanos(getN(it, aUpdated))}
}

// CreateConnection stores a new connection or repository: a put
// conditional on the item's absence.
func (s *Store) CreateConnection(ctx context.Context, c *store.Connection) error {
	created, err := store.ConnectionCreated(c, time.Now())
	if err != nil {
		return err
	}
	updated := c.Updated
	if updated.IsZero() {
		updated = created
	}
	it := connectionOf(c.Kind, c.ID)
	it[aConnID], it[aRemote] = sv(c.ID), sv(c.Remote)
	it[aCreated], it[aUpdated] = nv(store.Nanos(created)), nv(store.Nanos(updated))
	for name, v := range map[string]string{aName: c.Name, aUsername: c.Username} {
		if v != "" {
			it[name] = sv(v)
		}
	}
	for name, v := range map[string][]byte{aToken: c.Token, aSSHKey: c.SSHKey, aTriggerSecret: c.TriggerSecret} {
		if len(v) > 0 {
			it[name] = bv(v)
		}
	}
	cond := "attribute_not_exists(#pk)"
	_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: it,
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesOf(cond)})
	if conditionFailed(err) {
		return errs.Of(errs.Conflict, errs.KindNone, "%s %s already exists", c.Kind, c.ID)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: creating %s %s: %w", c.Kind, c.ID, err)
	}
	c.Created, c.Updated = created, updated
	return nil
}

// GetConnection reads a connection or repository (strongly consistent).
func (s *Store) GetConnection(ctx context.Context, kind store.ConnectionKind, id string) (*store.Connection, error) {
	if id == "" {
		return nil, store.ConnectionNotFound(kind, id)
	}
	it, err := s.getItem(ctx, connectionPK(kind), key(id))
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading %s %s: %w", kind, id, err)
	}
	if it == nil {
		return nil, store.ConnectionNotFound(kind, id)
	}
	c := decodeConnection(kind, it)
	return &c, nil
}

// ListConnections lists the records of a kind, oldest first, then by ID:
// a query of the partition.
func (s *Store) ListConnections(ctx context.Context, kind store.ConnectionKind) ([]store.Connection, error) {
	out := []store.Connection{}
	err := s.partition(ctx, connectionPK(kind), "", "", nil, func(it item) (bool, error) {
		out = append(out, decodeConnection(kind, it))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: listing %ss: %w", kind, err)
	}
	slices.SortFunc(out, func(a, b store.Connection) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteConnection removes a connection or repository.
func (s *Store) DeleteConnection(ctx context.Context, kind store.ConnectionKind, id string) error {
	if id == "" {
		return store.ConnectionNotFound(kind, id)
	}
	cond := "attribute_exists(#pk)"
	_, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: connectionOf(kind, id),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesOf(cond)})
	if conditionFailed(err) {
		return store.ConnectionNotFound(kind, id)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: deleting %s %s: %w", kind, id, err)
	}
	return nil
}

// SetConnectionTriggerSecret replaces the sealed trigger secret: an
// UpdateItem conditional on the item existing.
func (s *Store) SetConnectionTriggerSecret(ctx context.Context, kind store.ConnectionKind, id string, sealed []byte, at time.Time) error {
	if id == "" {
		return store.ConnectionNotFound(kind, id)
	}
	in := &dynamodb.UpdateItemInput{TableName: s.table, Key: connectionOf(kind, id),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#ts": aTriggerSecret, "#up": aUpdated},
		ExpressionAttributeValues: item{":up": nv(store.Nanos(at))},
	}
	if len(sealed) > 0 {
		in.UpdateExpression = aws.String("SET #ts = :ts, #up = :up")
		in.ExpressionAttributeValues[":ts"] = bv(sealed)
	} else {
		in.UpdateExpression = aws.String("SET #up = :up REMOVE #ts")
	}
	_, err := s.c.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return store.ConnectionNotFound(kind, id)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: setting the trigger secret of %s %s: %w", kind, id, err)
	}
	return nil
}

var _ store.ConnectionStore = (*Store)(nil)
