package restclient

import (
	"context"

	"github.com/stageflow/stageflow/shared/api/rest"
)

// CreateConsoleLink asks for a one-time console sign-in link for the key
// the client signs with.
func (c *Client) CreateConsoleLink(ctx context.Context) (*rest.RESTConsoleLink, error) {
	var out rest.RESTConsoleLink
	return &out, c.do(ctx, "POST", "/v1/console-links", nil, rest.RESTConsoleLinkRequest{}, &out)
}
