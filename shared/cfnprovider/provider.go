package cfnprovider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// OwnerTag is the tag that marks a pipeline as a resource's: its value is
// the stack ID and the logical ID, "<StackId>/<LogicalResourceId>".
const OwnerTag = "stageflow:cloudformation"

// Principal is the provider's principal name in an account.
func Principal(account string) string {
	return "arn:aws:iam::" + account + ":role/stageflow-cfn-provider"
}

// PolicyOf is the provider's policy: spec names a built-in policy
// (auth.BuiltinNames) or is a JSON policy document; empty is full access
// (AWSCodePipeline_FullAccess).
func PolicyOf(spec string) (*auth.Policy, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		spec = auth.FullAccess
	}
	if !strings.HasPrefix(spec, "{") {
		p, ok := auth.Builtin(spec)
		if !ok {
			return nil, fmt.Errorf("the provider's policy %q is neither a built-in policy (%s) nor a JSON policy document", spec, strings.Join(auth.BuiltinNames(), ", "))
		}
		return p, nil
	}
	return auth.Parse([]byte(spec))
}

// Provider serves the requests of Custom::StageflowPipeline with the
// service, as its own principal under its policy.
type Provider struct {
	Service *service.Service
	// Principal is recorded as the changer (Principal(account)).
	Principal string
	Policy    *auth.Policy
	// hook, when set, runs before each request is handled (tests).
	hook func()
}

// caller is the context of the provider's calls.
func (p *Provider) caller(ctx context.Context) context.Context {
	c := service.Caller{Principal: p.Principal, Door: service.DoorCloudFormation, Verified: true}
	if p.Policy != nil {
		c.Policies = []*auth.Policy{p.Policy}
	}
	return service.WithCaller(ctx, c)
}

func owner(r *Request) string { return r.StackID + "/" + r.LogicalResourceID }

// Handle serves one request and returns the response to send (never an
// error: a failure is a FAILED response with its reason).
func (p *Provider) Handle(ctx context.Context, r *Request) *Response {
	if p.hook != nil {
		p.hook()
	}
	ctx = p.caller(ctx)
	res := &Response{Status: Success, StackID: r.StackID, RequestID: r.RequestID, LogicalResourceID: r.LogicalResourceID,
		PhysicalResourceID: r.PhysicalResourceID}
	var err error
	switch r.RequestType {
	case Create:
		res.PhysicalResourceID = FailedPrefix + r.RequestID
		err = p.create(ctx, r, res)
	case Update:
		err = p.update(ctx, r, res)
	case Delete:
		err = p.delete(ctx, r)
	default:
		err = fmt.Errorf("RequestType %q is not Create, Update or Delete", r.RequestType)
	}
	if err != nil {
		res.Status, res.Reason, res.Data = Failed, reason(err), nil
	}
	if res.PhysicalResourceID == "" {
		res.PhysicalResourceID = FailedPrefix + r.RequestID
	}
	return res
}

// reason words an error for CloudFormation: its message and each problem
// with its property path.
func reason(err error) string {
	e, ok := errs.As(err)
	if !ok || len(e.Problems) == 0 {
		return err.Error()
	}
	parts := make([]string, len(e.Problems))
	for i, pr := range e.Problems {
		parts[i] = pr.String()
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// create creates the pipeline of r's properties, owned by r's resource.
func (p *Provider) create(ctx context.Context, r *Request, res *Response) error {
	props, err := Convert(r.ResourceProperties)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(props.Tags, func(t pipeline.Tag) bool { return t.Key == OwnerTag }) {
		return errs.Invalid("invalid resource properties", []errs.Problem{{Path: "Tags", Message: "the tag " + OwnerTag + " is the provider's own"}})
	}
	tags := append(slices.Clip(props.Tags), pipeline.Tag{Key: OwnerTag, Value: owner(r)})
	out, err := p.Service.CreatePipeline(ctx, props.Pipeline, tags)
	if err != nil {
		if errs.Is(err, errs.Conflict) {
			return fmt.Errorf("a pipeline named %q already exists and is not this resource's; choose another Name", props.Pipeline.Name)
		}
		return err
	}
	// From here on the pipeline exists: a failure answers its name, so the
	// rollback's Delete removes it.
	res.PhysicalResourceID = props.Pipeline.Name
	for _, t := range props.DisableInboundStageTransitions {
		if err := p.Service.DisableStageTransition(ctx, props.Pipeline.Name, t.StageName, service.TransitionInbound, t.Reason); err != nil {
			return err
		}
	}
	res.Data = p.data(props.Pipeline.Name, out.Pipeline.Version)
	return nil
}

func (p *Provider) data(name string, version *int) map[string]string {
	d := map[string]string{AttrName: name, AttrArn: p.Service.PipelineArn(name)}
	if version != nil {
		d[AttrVersion] = strconv.Itoa(*version)
	}
	return d
}

// owned reports whether the pipeline exists (false, nil: it does not) and
// fails when it is not r's resource's.
func (p *Provider) owned(ctx context.Context, r *Request, name string) (bool, error) {
	if _, err := p.Service.GetPipeline(ctx, name, 0); err != nil {
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return false, err
	}
	tags, err := p.Service.ListTags(ctx, p.Service.PipelineArn(name))
	if err != nil {
		return false, err
	}
	for _, t := range tags {
		if t.Key == OwnerTag && t.Value == owner(r) {
			return true, nil
		}
	}
	return true, errNotOwned
}

var errNotOwned = errors.New("not owned")

// update updates the pipeline in place when its name is unchanged, and
// creates the new one otherwise (a replacement: CloudFormation deletes
// the old one with a Delete request afterwards).
func (p *Provider) update(ctx context.Context, r *Request, res *Response) error {
	props, err := Convert(r.ResourceProperties)
	if err != nil {
		return err
	}
	name := props.Pipeline.Name
	exists, err := p.owned(ctx, r, name)
	if errors.Is(err, errNotOwned) {
		return fmt.Errorf("pipeline %q is not this resource's (its %s tag names another stack or logical ID); choose another Name", name, OwnerTag)
	}
	if err != nil {
		return err
	}
	if !exists {
		if name == r.PhysicalResourceID {
			return fmt.Errorf("pipeline %q no longer exists; it was deleted outside CloudFormation", name)
		}
		// A replacement. Until the new pipeline exists a failure answers
		// the old physical ID, so the rollback updates the old in place.
		return p.create(ctx, r, res)
	}
	// The name is this resource's pipeline: the physical ID, or the old
	// pipeline of a replacement being rolled back (CloudFormation deletes
	// the replacement afterwards); either is updated in place.
	out, err := p.Service.UpdatePipeline(ctx, props.Pipeline)
	if err != nil {
		return err
	}
	res.PhysicalResourceID = name
	if err := p.retag(ctx, name, props.Tags); err != nil {
		return err
	}
	if err := p.transitions(ctx, name, props.DisableInboundStageTransitions); err != nil {
		return err
	}
	if props.RestartExecutionOnUpdate {
		if _, err := p.Service.StartExecution(ctx, service.StartInput{PipelineName: name, TriggerType: "CloudFormationStackUpdate"}); err != nil {
			return err
		}
	}
	res.Data = p.data(name, out.Pipeline.Version)
	return nil
}

// retag makes the pipeline's tags the declared ones (the owner tag kept).
func (p *Provider) retag(ctx context.Context, name string, want []pipeline.Tag) error {
	if slices.ContainsFunc(want, func(t pipeline.Tag) bool { return t.Key == OwnerTag }) {
		return errs.Invalid("invalid resource properties", []errs.Problem{{Path: "Tags", Message: "the tag " + OwnerTag + " is the provider's own"}})
	}
	arn := p.Service.PipelineArn(name)
	have, err := p.Service.ListTags(ctx, arn)
	if err != nil {
		return err
	}
	var gone []string
	for _, t := range have {
		if t.Key != OwnerTag && !slices.ContainsFunc(want, func(w pipeline.Tag) bool { return w.Key == t.Key }) {
			gone = append(gone, t.Key)
		}
	}
	if len(gone) > 0 {
		if err := p.Service.UntagResource(ctx, arn, gone); err != nil {
			return err
		}
	}
	if len(want) > 0 {
		return p.Service.TagResource(ctx, arn, want)
	}
	return nil
}

// transitions makes the disabled inbound transitions the declared ones:
// each listed one is disabled (with its reason), every other disabled one
// enabled.
func (p *Provider) transitions(ctx context.Context, name string, want []Transition) error {
	st, err := p.Service.GetPipelineState(ctx, name)
	if err != nil {
		return err
	}
	for _, s := range st.StageStates {
		if s.InboundTransitionState == nil || s.InboundTransitionState.Enabled {
			continue
		}
		if !slices.ContainsFunc(want, func(t Transition) bool { return t.StageName == s.StageName }) {
			if err := p.Service.EnableStageTransition(ctx, name, s.StageName, service.TransitionInbound); err != nil {
				return err
			}
		}
	}
	for _, t := range want {
		if err := p.Service.DisableStageTransition(ctx, name, t.StageName, service.TransitionInbound, t.Reason); err != nil {
			return err
		}
	}
	return nil
}

// delete deletes the pipeline of the physical ID when r's resource owns
// it; a failed Create's ID, a pipeline already gone and someone else's
// pipeline (a rollback after a Create on a taken name) succeed untouched.
func (p *Provider) delete(ctx context.Context, r *Request) error {
	name := r.PhysicalResourceID
	if name == "" || strings.HasPrefix(name, FailedPrefix) {
		return nil
	}
	exists, err := p.owned(ctx, r, name)
	if errors.Is(err, errNotOwned) {
		return nil
	}
	if err != nil || !exists {
		return err
	}
	_, err = p.Service.DeletePipeline(ctx, name)
	return err
}
