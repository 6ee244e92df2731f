package pipeline

import "github.com/stageflow/stageflow/shared/apispec"

// The V2 parts of a pipeline: triggers and stage conditions.

// ---------------------------------------------------------------------------
// Triggers

func (v *validator) triggers(triggers []Trigger) {
	if triggers == nil {
		return
	}
	v.count("triggers", len(triggers), shTriggers)
	for i, t := range triggers {
		path := index("triggers", i)
		v.requiredOneOf(path+".providerType", t.ProviderType, shProviderType)
		g := t.GitConfiguration
		gpath := path + ".gitConfiguration"
		if g.SourceActionName == "" {
			v.add(gpath+".sourceActionName", "is required")
		} else if !v.actions[g.SourceActionName] {
			v.add(gpath+".sourceActionName", "no action of the pipeline is named %q", g.SourceActionName)
		}
		if g.Push != nil {
			v.count(gpath+".push", len(g.Push), shPushFilters)
		}
		for j, f := range g.Push {
			fpath := index(gpath+".push", j)
			v.filter(fpath+".tags", f.Tags, shTagPatterns, shTagPattern)
			v.filter(fpath+".branches", f.Branches, shBranchPatterns, shBranchPat)
			v.filter(fpath+".filePaths", f.FilePaths, shFilePathPattern, shFilePathPat)
		}
		if g.PullRequest != nil {
			v.count(gpath+".pullRequest", len(g.PullRequest), shPRFilters)
		}
		for j, f := range g.PullRequest {
			fpath := index(gpath+".pullRequest", j)
			if f.Events != nil {
				v.count(fpath+".events", len(f.Events), shPREvents)
			}
			for k, e := range f.Events {
				v.str(index(fpath+".events", k), e, shPREvent)
			}
			v.filter(fpath+".branches", f.Branches, shBranchPatterns, shBranchPat)
			v.filter(fpath+".filePaths", f.FilePaths, shFilePathPattern, shFilePathPat)
		}
	}
}

func (v *validator) filter(path string, f *FilterCriteria, listShape, itemShape *apispec.Shape) {
	if f == nil {
		return
	}
	for _, part := range []struct {
		name     string
		patterns []string
	}{{"includes", f.Includes}, {"excludes", f.Excludes}} {
		if part.patterns == nil {
			continue
		}
		ppath := path + "." + part.name
		v.count(ppath, len(part.patterns), listShape)
		for i, pat := range part.patterns {
			v.str(index(ppath, i), pat, itemShape)
		}
	}
}

// ---------------------------------------------------------------------------
// Stage conditions and rules (the results each kind of condition accepts
// are checked in validate_conditions.go)

func (v *validator) conditions(path string, conds []Condition, required bool, at position, kind ConditionKind) {
	if conds == nil {
		if required {
			v.add(path, "is required")
		}
		return
	}
	v.count(path, len(conds), shConditions)
	for i, c := range conds {
		cpath := index(path, i)
		v.optional(cpath+".result", c.Result, shResult)
		if c.Rules == nil {
			v.add(cpath+".rules", "is required: a condition needs at least one rule")
		} else {
			v.count(cpath+".rules", len(c.Rules), shRules)
		}
		defs := make([]*RuleTypeDef, len(c.Rules))
		for k := range c.Rules {
			defs[k] = v.rule(index(cpath+".rules", k), &c.Rules[k], at)
		}
		v.conditionResult(cpath, &c, defs, kind)
	}
}

// rule checks a rule declaration and returns its type (nil if unknown).
func (v *validator) rule(path string, r *Rule, at position) *RuleTypeDef {
	v.required(path+".name", r.Name, shRuleName)
	t := r.RuleTypeID
	tpath := path + ".ruleTypeId"
	v.requiredOneOf(tpath+".category", t.Category, shRuleCategory)
	v.optional(tpath+".owner", t.Owner, shRuleOwner)
	v.required(tpath+".provider", t.Provider, shRuleProvider)
	v.optional(tpath+".version", t.Version, shVersion)
	if r.Configuration != nil {
		v.count(path+".configuration", len(r.Configuration), shRuleConfig)
	}
	v.configuration(path+".configuration", r.Configuration, shRuleCfgKey, shRuleCfgValue, at, "rule")
	v.commands(path+".commands", r.Commands, at, "rule")
	for k, in := range r.InputArtifacts {
		v.input(index(path+".inputArtifacts", k), in.Name, at, "rule")
	}
	v.optional(path+".region", r.Region, shRegion)
	v.number(path+".timeoutInMinutes", r.TimeoutInMinutes, shRuleTimeout)
	def, _ := v.ruleType(path, r)
	return def
}
