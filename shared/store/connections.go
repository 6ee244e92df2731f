package store

import (
	"context"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
)

// ConnectionKind tells a connection (CodeConnections' resource, named by
// an ID in its ARN) from a CodeCommit repository name and from an S3
// bucket of another S3-compatible endpoint: each maps to a remote and its
// credentials, and they are kept alike.
type ConnectionKind string

// The kinds of connection records.
const (
	KindConnection ConnectionKind = "connection"
	KindRepository ConnectionKind = "repository"
	// KindBucket is an S3 bucket at another endpoint: ID is the bucket's
	// name, Remote the endpoint's URL (its query may carry the region and
	// path-style addressing), Username the access key ID and Token the
	// secret access key.
	KindBucket ConnectionKind = "bucket"
)

// Connection is a git remote and its credentials under an ID: a
// connection's ID (the last part of its ARN) or a repository's name. The
// secrets are sealed by the service (bound to the kind and ID), never
// stored in the clear; empty when the connection has none.
type Connection struct {
	Kind     ConnectionKind `json:"kind"`
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Remote   string         `json:"remote"`
	Username string         `json:"username,omitempty"`
	// Token, SSHKey and TriggerSecret are sealed.
	Token         []byte    `json:"token,omitempty"`
	SSHKey        []byte    `json:"sshKey,omitempty"`
	TriggerSecret []byte    `json:"triggerSecret,omitempty"`
	Created       time.Time `json:"created"`
	// Updated is the last change (creation, a rotated trigger secret).
	Updated time.Time `json:"updated"`
}

// ConnectionStore keeps connections, repositories and buckets. CreateConnection
// stores a new record (Conflict if the kind and ID exist; Validation
// without a kind, an ID or a remote; Created and Updated default to now,
// set in c too); GetConnection, DeleteConnection and
// SetConnectionTriggerSecret answer NotFound for an unknown ID;
// ListConnections returns every record of a kind, oldest first (then by
// ID). SetConnectionTriggerSecret replaces the sealed trigger secret and
// sets Updated to at. Errors name KindResource (KindNone for a Conflict).
type ConnectionStore interface {
	CreateConnection(ctx context.Context, c *Connection) error
	GetConnection(ctx context.Context, kind ConnectionKind, id string) (*Connection, error)
	ListConnections(ctx context.Context, kind ConnectionKind) ([]Connection, error)
	DeleteConnection(ctx context.Context, kind ConnectionKind, id string) error
	SetConnectionTriggerSecret(ctx context.Context, kind ConnectionKind, id string, sealed []byte, at time.Time) error
}

// ConnectionCreated checks a record CreateConnection is to store and
// returns its creation time: c.Created, else now.
func ConnectionCreated(c *Connection, now time.Time) (time.Time, error) {
	if c.Kind != KindConnection && c.Kind != KindRepository && c.Kind != KindBucket {
		return time.Time{}, errs.Of(errs.Validation, errs.KindResource, "a connection record needs the kind %q, %q or %q, not %q",
			KindConnection, KindRepository, KindBucket, c.Kind)
	}
	if c.ID == "" {
		return time.Time{}, errs.Of(errs.Validation, errs.KindResource, "a %s needs an ID", c.Kind)
	}
	if c.Remote == "" {
		return time.Time{}, errs.Of(errs.Validation, errs.KindResource, "%s %s needs a remote", c.Kind, c.ID)
	}
	if c.Created.IsZero() {
		return now, nil
	}
	return c.Created, nil
}

// ConnectionNotFound is the error of an unknown connection or repository.
func ConnectionNotFound(kind ConnectionKind, id string) error {
	return errs.Of(errs.NotFound, errs.KindResource, "%s %s not found", kind, id)
}
