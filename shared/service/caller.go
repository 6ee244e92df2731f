package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/auth"
)

// Caller is who is calling, as the door that took the request established
// it. The service reads it from the context: it is recorded as the trigger
// detail of the executions it starts, the approver of an approval, and it is
// what Authorize decides on.
type Caller struct {
	// Principal names the caller on what it changes (an access key ID, a
	// user name, "stageflow run"). Never empty: Anonymous when the door
	// knows nothing of the caller.
	Principal string
	// AccessKeyID is the access key the request named, if any.
	AccessKeyID string
	// Door is where the request came in: DoorREST, DoorCodePipeline,
	// DoorS3 or DoorLocal (a process on this machine calling the service
	// directly: `stageflow run`, `serve --start`).
	Door string
	// Verified reports whether the caller's identity was checked: a
	// signature verified against the server's keys, or a gateway's own
	// authorization (GatewayAuthorized). An unverified principal is only a
	// claim (a server run with --auth none).
	Verified bool
	// Policies are the policies attached to the verified caller (its
	// key's, its principal's), which NewPolicyAuthorizer evaluates.
	Policies []*auth.Policy
	// GatewayAuthorized reports that the gateway in front of the server
	// (API Gateway's IAM authorization, deployed) has allowed the request:
	// a caller with no Policies then keeps what the gateway allowed, and
	// attached policies narrow it.
	GatewayAuthorized bool
	// console is the console session the request came in with (nil for a
	// signed request): its CSRF token guards the session's changes.
	console *consoleSession
}

// The doors a caller comes through.
const (
	DoorREST         = "rest"
	DoorCodePipeline = "codepipeline"
	DoorS3           = "s3"
	DoorLocal        = "local"
	// DoorCloudFormation is the CloudFormation custom resource provider
	// (shared/cfnprovider), a principal of its own under its policy.
	DoorCloudFormation = "cloudformation"
)

// Anonymous names a caller the door knows nothing of.
const Anonymous = "anonymous"

type callerKey struct{}

// WithCaller returns a context that carries the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	if c.Principal == "" {
		c.Principal = Anonymous
	}
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller of ctx: an anonymous caller when no door put
// one there.
func CallerFrom(ctx context.Context) Caller {
	if c, ok := ctx.Value(callerKey{}).(Caller); ok {
		return c
	}
	return Caller{Principal: Anonymous}
}

// LocalCaller is a process on this machine calling the service directly.
func LocalCaller(ctx context.Context, principal string) context.Context {
	return WithCaller(ctx, Caller{Principal: principal, Door: DoorLocal})
}
