package auth

// Decision is the result of evaluating a request against policies.
type Decision int

// The decisions, as IAM names them.
const (
	// ImplicitDeny: no statement allows the request (the default).
	ImplicitDeny Decision = iota
	// Allowed: a statement allows it and none denies it.
	Allowed
	// ExplicitDeny: a statement denies it, whatever else allows it.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allow"
	case ExplicitDeny:
		return "explicit deny"
	}
	return "implicit deny"
}

// Evaluate decides a request for action on resource under the identity
// policies attached to a caller, as IAM evaluates identity-based policies
// within one account: every statement is considered; an explicit Deny in
// any of them wins over every Allow; without a matching Allow the request
// is denied by default. A statement with conditions matches only when they
// all hold for the request context rc (nil: a request without tags). It
// returns the statement that decided (the first matching Deny, else the
// first matching Allow), nil for an implicit deny.
func Evaluate(policies []*Policy, action, resource string, rc *RequestContext) (Decision, *Statement) {
	var allow *Statement
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.Statements {
			st := &p.Statements[i]
			if !st.matches(action, resource, rc) {
				continue
			}
			if st.Effect == Deny {
				return ExplicitDeny, st
			}
			if st.Effect == Allow && allow == nil {
				allow = st
			}
		}
	}
	if allow != nil {
		return Allowed, allow
	}
	return ImplicitDeny, nil
}

// matches reports whether the statement applies to the request: its Action
// matches the action (or its NotAction does not), and its Resource matches
// the resource, and its conditions all hold.
func (st *Statement) matches(action, resource string, rc *RequestContext) bool {
	if st.NotActions != nil {
		if anyMatch(st.NotActions, action, actionMatches) {
			return false
		}
	} else if !anyMatch(st.Actions, action, actionMatches) {
		return false
	}
	if !anyMatch(st.Resources, resource, resourceMatches) {
		return false
	}
	for i := range st.Conditions {
		if !st.Conditions[i].holds(rc) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []string, s string, match func(pattern, s string) bool) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}
