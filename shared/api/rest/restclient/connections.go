package restclient

import (
	"context"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/service"
)

// CreateConnection makes a connection; its trigger secret is in the answer
// only.
func (c *Client) CreateConnection(ctx context.Context, in rest.RESTCreateConnection) (*service.ConnectionSecret, error) {
	var out service.ConnectionSecret
	return &out, c.do(ctx, "POST", "/v1/connections", nil, in, &out)
}

// ListConnections lists the connections (no secrets).
func (c *Client) ListConnections(ctx context.Context) ([]service.Connection, error) {
	var out rest.RESTConnections
	return out.Connections, c.do(ctx, "GET", "/v1/connections", nil, nil, &out)
}

// GetConnection describes a connection (no secrets).
func (c *Client) GetConnection(ctx context.Context, id string) (*service.Connection, error) {
	var out service.Connection
	return &out, c.do(ctx, "GET", "/v1/connections/"+rest.EscapeSegment(id), nil, nil, &out)
}

// DeleteConnection deletes a connection.
func (c *Client) DeleteConnection(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/connections/"+rest.EscapeSegment(id), nil, nil, nil)
}

// RotateTriggerSecret gives a connection a new trigger secret, answered
// this once.
func (c *Client) RotateTriggerSecret(ctx context.Context, id string) (*service.ConnectionSecret, error) {
	var out service.ConnectionSecret
	return &out, c.do(ctx, "POST", "/v1/connections/"+rest.EscapeSegment(id)+"/trigger-secret", nil, nil, &out)
}

// CreateRepository makes a CodeCommit repository name.
func (c *Client) CreateRepository(ctx context.Context, in rest.RESTCreateRepository) (*service.Connection, error) {
	var out service.Connection
	return &out, c.do(ctx, "POST", "/v1/repositories", nil, in, &out)
}

// ListRepositories lists the repositories (no secrets).
func (c *Client) ListRepositories(ctx context.Context) ([]service.Connection, error) {
	var out rest.RESTRepositories
	return out.Repositories, c.do(ctx, "GET", "/v1/repositories", nil, nil, &out)
}

// DeleteRepository deletes a repository name.
func (c *Client) DeleteRepository(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/v1/repositories/"+rest.EscapeSegment(name), nil, nil, nil)
}
