package service

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// SecretMask is what every output shows instead of the value of a
// configuration property that its custom action type declares secret
// (ActionConfigurationProperty.secret): GetPipeline, CreatePipeline's and
// UpdatePipeline's outputs, ListActionExecutions and the REST door's
// execution records. Only the job worker's calls (PollForJobs,
// GetJobDetails) carry the value. CodePipeline documents that such values
// are hidden from every other call.
const SecretMask = "****"

// isMask reports whether a configuration value sent in is a mask rather than
// a value: SecretMask as outputs show it, or the five asterisks of
// CodePipeline's API reference ("passing * * * * * ... preserves the
// previous value of the secret").
func isMask(v string) bool { return v == SecretMask || v == "*****" }

// secretProps names, per custom action type, its configuration properties
// declared secret.
type secretProps map[pipeline.ActionTypeID]map[string]bool

// hasCustom reports whether a declaration uses any custom action type: only
// then is there anything to mask, and the action types need reading.
func hasCustom(p *pipeline.Pipeline) bool {
	for _, st := range p.Stages {
		for _, a := range st.Actions {
			if a.ActionTypeID.Owner == pipeline.OwnerCustom {
				return true
			}
		}
	}
	return false
}

// secretsOf reads which configuration properties of the custom action types
// used by p are secret (nil when there are none).
func (s *Service) secretsOf(ctx context.Context, p *pipeline.Pipeline) (secretProps, error) {
	if !hasCustom(p) {
		return nil, nil
	}
	return s.allSecrets(ctx)
}

// allSecrets reads the secret configuration properties of every custom
// action type.
func (s *Service) allSecrets(ctx context.Context) (secretProps, error) {
	types, err := s.store.ListActionTypes(ctx)
	if err != nil {
		return nil, err
	}
	var out secretProps
	for _, t := range types {
		var at ActionType
		if err := json.Unmarshal(t.Definition, &at); err != nil {
			continue // a definition CreateCustomActionType never wrote
		}
		for _, prop := range at.ActionConfigurationProperties {
			if !prop.Secret {
				continue
			}
			if out == nil {
				out = secretProps{}
			}
			if out[t.ID] == nil {
				out[t.ID] = map[string]bool{}
			}
			out[t.ID][prop.Name] = true
		}
	}
	return out, nil
}

// maskConfig returns c with the secret keys of type id masked, and whether
// it masked any: c itself when it holds none, else a copy (c may be shared
// with a stored record).
func (sp secretProps) maskConfig(id pipeline.ActionTypeID, c map[string]string) (map[string]string, bool) {
	keys := sp[id]
	if len(keys) == 0 || len(c) == 0 {
		return c, false
	}
	var out map[string]string
	for k := range c {
		if !keys[k] {
			continue
		}
		if out == nil {
			out = maps.Clone(c)
		}
		out[k] = SecretMask
	}
	if out == nil {
		return c, false
	}
	return out, true
}

// maskPipeline returns p with every secret configuration value masked. The
// stages, actions and configuration maps that change are copies: p's own
// are never modified (they may be a stored record's or an execution's
// snapshot, which the engine runs with).
func (sp secretProps) maskPipeline(p pipeline.Pipeline) pipeline.Pipeline {
	if len(sp) == 0 {
		return p
	}
	stagesCopied := false
	for si, st := range p.Stages {
		actionsCopied := false
		for ai, a := range st.Actions {
			c, masked := sp.maskConfig(a.ActionTypeID, a.Configuration)
			if !masked {
				continue
			}
			if !stagesCopied {
				p.Stages = append([]pipeline.Stage(nil), p.Stages...)
				stagesCopied = true
			}
			if !actionsCopied {
				p.Stages[si].Actions = append([]pipeline.Action(nil), st.Actions...)
				actionsCopied = true
			}
			p.Stages[si].Actions[ai].Configuration = c
		}
	}
	return p
}

// maskExecution returns e with the pipeline snapshot's secret values and
// those of its action runs' resolved configuration masked: e itself when
// there is nothing to mask, else a copy; e is never modified.
func (sp secretProps) maskExecution(e *engine.Execution) *engine.Execution {
	if len(sp) == 0 || e == nil {
		return e
	}
	c := *e
	c.Pipeline = sp.maskPipeline(e.Pipeline)
	c.Actions = make([]engine.ActionRun, len(e.Actions))
	for i, r := range e.Actions {
		r.Configuration, _ = sp.maskConfig(r.Type, r.Configuration)
		c.Actions[i] = r
	}
	return &c
}

// maskedExecution masks e's secrets (see maskExecution).
func (s *Service) maskedExecution(ctx context.Context, e *engine.Execution) (*engine.Execution, error) {
	sp, err := s.secretsOf(ctx, &e.Pipeline)
	if err != nil {
		return nil, err
	}
	return sp.maskExecution(e), nil
}

// keepSecrets replaces, in a declaration sent in, each mask given as the
// value of a secret property by the value stored for the same action
// (same stage name, action name and action type) in old, as CodePipeline
// keeps the previous value when the mask is sent back. A mask with no
// previous value to keep (a new action, a new pipeline: old nil) is
// refused: storing the mask itself as the secret would silently break the
// action. p's configuration maps are replaced, not modified.
func (sp secretProps) keepSecrets(p *pipeline.Pipeline, old *pipeline.Pipeline) error {
	var problems []errs.Problem
	for si := range p.Stages {
		st := &p.Stages[si]
		for ai := range st.Actions {
			a := &st.Actions[ai]
			keys := sp[a.ActionTypeID]
			var prev map[string]string
			found := false
			for k, v := range a.Configuration {
				if !keys[k] || !isMask(v) {
					continue
				}
				if !found {
					prev, found = previousConfig(old, st.Name, a.Name, a.ActionTypeID), true
					a.Configuration = maps.Clone(a.Configuration)
				}
				pv, ok := prev[k]
				if !ok {
					problems = append(problems, errs.Problem{
						Path:    fmt.Sprintf("stages[%d].actions[%d].configuration.%s", si, ai, k),
						Message: fmt.Sprintf("%q is the mask of a secret property, and this action has no previous value to keep: give the value", v),
					})
					continue
				}
				a.Configuration[k] = pv
			}
		}
	}
	if len(problems) > 0 {
		e := errs.Invalid("the pipeline structure is invalid", problems)
		e.Kind = errs.KindStructure
		return e
	}
	return nil
}

// previousConfig is the configuration of the named action of old, if it
// has one of that type.
func previousConfig(old *pipeline.Pipeline, stage, action string, id pipeline.ActionTypeID) map[string]string {
	if old == nil {
		return nil
	}
	for _, st := range old.Stages {
		if st.Name != stage {
			continue
		}
		for _, a := range st.Actions {
			if a.Name == action && a.ActionTypeID == id {
				return a.Configuration
			}
		}
	}
	return nil
}
