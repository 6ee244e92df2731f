package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// The results each kind of stage condition accepts. The API's Result
// enumeration (ROLLBACK, FAIL, RETRY, SKIP) is shared by every condition,
// but CodePipeline's stage-conditions and stage-retry pages allow fewer in
// each place:
//
//   - beforeEntry conditions: FAIL or SKIP, and SKIP only when every rule of
//     the condition is a LambdaInvoke or VariableCheck rule;
//   - onSuccess conditions: ROLLBACK or FAIL;
//   - onFailure conditions: ROLLBACK;
//   - onFailure.result: ROLLBACK or RETRY; retryConfiguration only with
//     RETRY, and RETRY (automatic stage retry) not together with onFailure
//     conditions;
//   - no ROLLBACK at all in a PARALLEL pipeline, where CodePipeline does not
//     roll stages back.
//
// A condition without a result takes its kind's default (DefaultResult).

// ConditionKind says where a condition stands in its stage.
type ConditionKind int

// Kinds of condition.
const (
	ConditionBeforeEntry ConditionKind = iota
	ConditionOnSuccess
	ConditionOnFailure
)

func (k ConditionKind) String() string {
	switch k {
	case ConditionBeforeEntry:
		return "beforeEntry"
	case ConditionOnSuccess:
		return "onSuccess"
	default:
		return "onFailure"
	}
}

// article is the kind with its indefinite article ("an onSuccess").
func (k ConditionKind) article() string {
	if k == ConditionBeforeEntry {
		return "a " + k.String()
	}
	return "an " + k.String()
}

// Retry modes of automatic stage retry.
const (
	RetryFailedActions = "FAILED_ACTIONS"
	RetryAllActions    = "ALL_ACTIONS"
)

// AllowedResults are the results a condition of a kind may declare.
func AllowedResults(kind ConditionKind) []string {
	switch kind {
	case ConditionBeforeEntry:
		return []string{ResultFail, ResultSkip}
	case ConditionOnSuccess:
		return []string{ResultRollback, ResultFail}
	default:
		return []string{ResultRollback}
	}
}

// DefaultResult is the result of a condition of a kind that declares none:
// FAIL before entry and on success (a failed check stops the release),
// ROLLBACK on failure (its only result).
func DefaultResult(kind ConditionKind) string {
	if kind == ConditionOnFailure {
		return ResultRollback
	}
	return ResultFail
}

// EffectiveResult is a condition's result, its kind's default when absent.
func (c *Condition) EffectiveResult(kind ConditionKind) string {
	if c.Result == "" {
		return DefaultResult(kind)
	}
	return c.Result
}

// Overridable reports whether OverrideStageCondition may override the
// condition: CodePipeline refuses it for a condition whose result is SKIP.
func (c *Condition) Overridable(kind ConditionKind) bool {
	return c.EffectiveResult(kind) != ResultSkip
}

// AutomaticRetry reports whether a failed stage is retried automatically,
// and with which retry mode (FAILED_ACTIONS when retryConfiguration does
// not say).
func (f *FailureConditions) AutomaticRetry() (mode string, ok bool) {
	if f == nil || f.Result != ResultRetry {
		return "", false
	}
	if f.RetryConfiguration != nil && f.RetryConfiguration.RetryMode != "" {
		return f.RetryConfiguration.RetryMode, true
	}
	return RetryFailedActions, true
}

// conditionResult checks a condition's result against its kind and rules.
func (v *validator) conditionResult(path string, c *Condition, defs []*RuleTypeDef, kind ConditionKind) {
	result := c.EffectiveResult(kind)
	rpath := path + ".result"
	if c.Result != "" && shResult.CheckString(c.Result) != "" {
		return // already reported
	}
	allowed := AllowedResults(kind)
	if !slices.Contains(allowed, result) {
		v.add(rpath, "%s is not a result of %s condition (allowed: %s)", result, kind.article(), strings.Join(allowed, ", "))
		return
	}
	if result == ResultSkip {
		for k, def := range defs {
			if def != nil && !def.AllowsSkip {
				v.add(index(path+".rules", k)+".ruleTypeId.provider",
					"a %s rule cannot stand in a condition whose result is SKIP: only %s rules can", def.Provider, strings.Join(skipProviders(), " and "))
			}
		}
	}
	if result == ResultRollback {
		v.rollbackAllowed(rpath, fmt.Sprintf("%s condition with result ROLLBACK", kind.article()))
	}
}

// onFailure checks the stage's onFailure result and retry configuration.
func (v *validator) onFailure(path string, f *FailureConditions) {
	rpath := path + ".result"
	switch f.Result {
	case "", ResultRollback, ResultRetry:
	default:
		if shResult.CheckString(f.Result) == "" {
			v.add(rpath, "%s is not a result of onFailure (allowed: ROLLBACK, RETRY)", f.Result)
		}
	}
	if f.Result == ResultRollback {
		v.rollbackAllowed(rpath, "onFailure result ROLLBACK")
	}
	if f.RetryConfiguration != nil && f.Result != ResultRetry {
		v.add(path+".retryConfiguration", "applies only to automatic retry: set onFailure.result to RETRY, or remove retryConfiguration")
	}
	if f.Result == ResultRetry && f.Conditions != nil {
		v.add(path+".conditions", "automatic stage retry (result RETRY) cannot be combined with onFailure conditions")
	}
}

// rollbackAllowed refuses a rollback in a PARALLEL pipeline.
func (v *validator) rollbackAllowed(path, what string) {
	if v.mode == ModeParallel {
		v.add(path, "%s is not allowed: stages of a PARALLEL pipeline cannot be rolled back", what)
	}
}

func skipProviders() []string {
	var out []string
	for _, t := range RuleTypes {
		if t.AllowsSkip {
			out = append(out, t.Provider)
		}
	}
	return out
}
