package restclient

import (
	"context"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/service"
)

// CreateBucket records a bucket at another S3-compatible endpoint.
func (c *Client) CreateBucket(ctx context.Context, in rest.RESTCreateBucket) (*service.Bucket, error) {
	var out service.Bucket
	return &out, c.do(ctx, "POST", "/v1/buckets", nil, in, &out)
}

// ListBuckets lists the buckets (no secrets).
func (c *Client) ListBuckets(ctx context.Context) ([]service.Bucket, error) {
	var out rest.RESTBuckets
	return out.Buckets, c.do(ctx, "GET", "/v1/buckets", nil, nil, &out)
}

// GetBucket describes a bucket (no secret).
func (c *Client) GetBucket(ctx context.Context, name string) (*service.Bucket, error) {
	var out service.Bucket
	return &out, c.do(ctx, "GET", "/v1/buckets/"+rest.EscapeSegment(name), nil, nil, &out)
}

// DeleteBucket forgets a bucket.
func (c *Client) DeleteBucket(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/v1/buckets/"+rest.EscapeSegment(name), nil, nil, nil)
}
