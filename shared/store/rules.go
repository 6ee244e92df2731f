package store

import (
	"context"
	"time"

	"github.com/stageflow/stageflow/shared/engine"

	"github.com/stageflow/stageflow/shared/errs"
)

// The rules of the contract that every implementation applies the same way,
// whatever it stores in: written once here.

// PipelineName checks the name of p: Name, or the declaration's name when
// Name is empty; both must agree when both are given.
func PipelineName(p *Pipeline) (string, error) {
	name := p.Name
	if name == "" {
		name = p.Declaration.Name
	}
	switch {
	case name == "":
		return "", errs.Of(errs.Validation, errs.KindPipeline, "pipeline name is required")
	case p.Declaration.Name != "" && p.Declaration.Name != name:
		return "", errs.Of(errs.Validation, errs.KindPipeline, "pipeline name %q does not match the declaration's name %q", name, p.Declaration.Name)
	}
	return name, nil
}

// Stamp fills the fields of p a store owns: the name and the version
// (mirrored in the declaration's own version field).
func Stamp(p *Pipeline, name string, version int) {
	p.Name = name
	p.Declaration.Name = name
	p.Version = version
	v := version
	p.Declaration.Version = &v
}

// NewPipeline is the version 1 CreatePipeline stores for p: its name
// checked and stamped with version 1; Created and Updated default to now
// (each to the other when only one is given).
func NewPipeline(p *Pipeline, now time.Time) (Pipeline, error) {
	name, err := PipelineName(p)
	if err != nil {
		return Pipeline{}, err
	}
	c := *p
	Stamp(&c, name, 1)
	switch {
	case c.Created.IsZero() && c.Updated.IsZero():
		c.Created = now
		c.Updated = c.Created
	case c.Created.IsZero():
		c.Created = c.Updated
	case c.Updated.IsZero():
		c.Updated = c.Created
	}
	return c, nil
}

// ExecutionHolding is, of the executions with the given IDs (the
// candidates a store's token lookup found), the first that get finds and
// that holds an action run with the token; found is false when none does.
// Candidates deleted meanwhile are skipped.
func ExecutionHolding(ctx context.Context, ids []string, token string, get func(context.Context, string) (*engine.Execution, error)) (e *engine.Execution, found bool, err error) {
	for _, id := range ids {
		e, err := get(ctx, id)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if _, ok := e.RunByToken(token); ok {
			return e, true, nil
		}
	}
	return nil, false, nil
}

// NewJob is the job CreateJob stores for j: its ID is required, an empty
// Status means Queued, Created defaults to now and Updated to Created.
func NewJob(j *Job, now time.Time) (Job, error) {
	if j.ID == "" {
		return Job{}, errs.Of(errs.Validation, errs.KindJob, "job ID is required")
	}
	c := *j
	if c.Status == "" {
		c.Status = JobQueued
	}
	if c.Created.IsZero() {
		c.Created = now
	}
	if c.Updated.IsZero() {
		c.Updated = c.Created
	}
	return c, nil
}

// ActionTypeCreated checks a custom action type CreateActionType is to
// store (a category, a provider and a version) and returns its creation
// time: t.Created, else now.
func ActionTypeCreated(t *CustomActionType, now time.Time) (time.Time, error) {
	id := t.ID
	if id.Category == "" || id.Provider == "" || id.Version == "" {
		return time.Time{}, errs.Of(errs.Validation, errs.KindActionType, "action type %s needs a category, a provider and a version", id)
	}
	if t.Created.IsZero() {
		return now, nil
	}
	return t.Created, nil
}

// Nanos and FromNanos convert times to and from the nanoseconds since the
// epoch that stores keep (zero for the zero time, UTC when read).
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromNanos is the inverse of Nanos.
func FromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// AccessKeyCreated checks an access key CreateAccessKey is to store (an ID
// and a user) and returns its creation time: k.Created, else now.
func AccessKeyCreated(k *AccessKey, now time.Time) (time.Time, error) {
	if k.ID == "" {
		return time.Time{}, errs.Of(errs.Validation, errs.KindAccessKey, "an access key needs an ID")
	}
	if k.User == "" {
		return time.Time{}, errs.Of(errs.Validation, errs.KindAccessKey, "access key %s needs a user", k.ID)
	}
	if k.Created.IsZero() {
		return now, nil
	}
	return k.Created, nil
}

// PrincipalPoliciesUpdated checks the policies PutPrincipalPolicies is to
// store (a principal) and returns their update time: p.Updated, else now.
func PrincipalPoliciesUpdated(p *PrincipalPolicies, now time.Time) (time.Time, error) {
	if p.Principal == "" {
		return time.Time{}, errs.Of(errs.Validation, errs.KindPolicy, "policies are attached to a principal: none given")
	}
	if p.Updated.IsZero() {
		return now, nil
	}
	return p.Updated, nil
}
