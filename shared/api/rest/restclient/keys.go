package restclient

import (
	"context"
	"net/url"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/service"
)

// CreateAccessKey makes an access key; its secret is in the answer only.
func (c *Client) CreateAccessKey(ctx context.Context, in rest.RESTCreateAccessKey) (*service.CreateAccessKeyOutput, error) {
	var out service.CreateAccessKeyOutput
	return &out, c.do(ctx, "POST", "/v1/keys", nil, in, &out)
}

// ListAccessKeys lists the server's keys (no secrets).
func (c *Client) ListAccessKeys(ctx context.Context) ([]service.AccessKey, error) {
	var out rest.RESTAccessKeys
	return out.AccessKeys, c.do(ctx, "GET", "/v1/keys", nil, nil, &out)
}

// DeleteAccessKey deletes a key.
func (c *Client) DeleteAccessKey(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/keys/"+rest.EscapeSegment(id), nil, nil, nil)
}

// WhoAmI answers who the caller is and whether each check is allowed
// (every operation on "*" without checks).
func (c *Client) WhoAmI(ctx context.Context, checks ...service.PermissionCheck) (*service.CallerIdentity, error) {
	q := url.Values{}
	for _, ch := range checks {
		q.Add("action", ch.Action)
	}
	for _, ch := range checks {
		r := ch.Resource
		if r == "" {
			r = service.AllResources
		}
		q.Add("resource", r)
	}
	var out service.CallerIdentity
	return &out, c.do(ctx, "GET", "/v1/whoami", q, nil, &out)
}

// PutPrincipalPolicies replaces the policies attached to a principal.
func (c *Client) PutPrincipalPolicies(ctx context.Context, in rest.RESTPrincipalPolicies) error {
	return c.do(ctx, "PUT", "/v1/principal-policies", nil, in, nil)
}
