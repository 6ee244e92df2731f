package auth

import (
	"context"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/service"
)

// PolicyLookup returns the policies attached to a caller. A caller it does
// not know has no policies (nil, nil): every request is then denied by
// default. An error is returned as it is by the operation asked about (a
// store failure, say); it is not a denial. The lookup decides what an
// unverified caller (Caller.Verified false) gets.
type PolicyLookup func(ctx context.Context, caller service.Caller) ([]*Policy, error)

// NewAuthorizer returns the service's authorization hook evaluating the
// caller's attached policies (Evaluate) for each operation and resource.
// A denial is an errs.Forbidden error of kind Access (the doors answer
// AccessDeniedException, 403) in IAM's words, naming the principal, the
// action and the resource, and whether a statement denied it explicitly.
func NewAuthorizer(lookup PolicyLookup) service.Authorizer {
	return func(ctx context.Context, op service.Operation, resource string) error {
		caller := service.CallerFrom(ctx)
		policies, err := lookup(ctx, caller)
		if err != nil {
			return err
		}
		d, _ := Evaluate(policies, string(op), resource)
		if d == Allowed {
			return nil
		}
		return DeniedError(caller.Principal, op, resource, d)
	}
}

// DeniedError is the denial of op on resource for principal, worded as IAM
// words it ("User: … is not authorized to perform: … on resource: …
// because …").
func DeniedError(principal string, op service.Operation, resource string, d Decision) error {
	why := "because no identity-based policy allows the " + string(op) + " action"
	if d == ExplicitDeny {
		why = "with an explicit deny in an identity-based policy"
	}
	return errs.Of(errs.Forbidden, errs.KindAccess, "User: %s is not authorized to perform: %s on resource: %s %s",
		principal, op, resource, why)
}

// Static returns a lookup from a fixed table, for tests and simple setups:
// a caller gets the policies of its access key ID, or, without one, of its
// principal; anyone else gets none.
func Static(m map[string][]*Policy) PolicyLookup {
	return func(_ context.Context, c service.Caller) ([]*Policy, error) {
		if c.AccessKeyID != "" {
			return m[c.AccessKeyID], nil
		}
		return m[c.Principal], nil
	}
}
