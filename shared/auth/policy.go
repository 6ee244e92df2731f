// Package auth is Stageflow's access control: identity policies in IAM's own
// JSON language (Parse), their evaluation as IAM documents it (Evaluate),
// the built-in policies named after AWS's managed policies for CodePipeline
// (Builtin). It knows nothing of callers: the service's authorization hook
// (service.NewPolicyAuthorizer) evaluates a caller's attached policies with
// it. SigV4 request verification is in auth/sigv4.
//
// Stageflow evaluates Version, Id, Statement, Sid, Effect, Action,
// NotAction, Resource and Condition — the latter with IAM's string
// operators and Null on the tag condition keys CodePipeline documents
// (condition.go). A document using anything else (another element such as
// NotResource or Principal, another operator or condition key, a policy
// variable) is refused by Parse, naming it and its JSON path: a policy is
// never half-applied.
package auth

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// The policy language versions IAM knows. A document without a Version is
// of version 2008-10-17, as IAM reads it.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effect is what a statement does to the requests it matches.
type Effect string

// The effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed identity policy. Build one with Parse (or take a
// built-in); a Policy made otherwise has not been checked.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy. Exactly one of Actions and
// NotActions is set; Resources is never empty.
type Statement struct {
	Sid        string
	Effect     Effect
	Actions    []string // patterns: "*", or "service:Action" with * and ?
	NotActions []string
	Resources  []string // patterns: "*", or an ARN with * and ?
	Conditions []Condition
}

// The members a policy and a statement may have, and the ones IAM has that
// Stageflow does not evaluate.
var (
	policyMembers    = []string{"Version", "Id", "Statement"}
	statementMembers = []string{"Sid", "Effect", "Action", "NotAction", "Resource", "Condition"}
	notEvaluated     = map[string]string{
		"NotResource":  "Stageflow does not evaluate NotResource; list the resources in Resource instead",
		"Principal":    "an identity policy names no Principal: the policy applies to whoever it is attached to",
		"NotPrincipal": "an identity policy names no NotPrincipal: the policy applies to whoever it is attached to",
	}
)

var (
	// IAM's Sid for identity policies: ASCII letters and digits.
	sidRE = regexp.MustCompile(`^[A-Za-z0-9]*$`)
	// A service prefix, a colon and an action name, with wildcards.
	actionRE = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$`)
)

// maxPolicySize bounds a document, as IAM bounds a managed policy (6,144
// characters without white space); Stageflow counts bytes of the whole
// document and allows more, since its policies are attached to keys.
const maxPolicySize = 64 << 10

// Parse reads a policy document. Every problem is reported, each with its
// JSON path, as a Validation error; a document with any problem is refused
// whole.
func Parse(data []byte) (*Policy, error) {
	if len(data) > maxPolicySize {
		return nil, errs.Invalid("the policy document is not valid", []errs.Problem{{Message: fmt.Sprintf("the document is %d bytes; the limit is %d", len(data), maxPolicySize)}})
	}
	tree, problems := strictjson.Parse(data)
	if tree == nil || len(problems) > 0 {
		return nil, errs.Invalid("the policy document is not valid", problems.Errs())
	}
	p := &parser{}
	pol := p.policy(tree.Root())
	if len(p.problems) > 0 {
		return nil, errs.Invalid("the policy document is not valid", p.problems)
	}
	return pol, nil
}

// MustParse parses a document known to be valid (the built-ins); it panics
// on a problem.
func MustParse(doc string) *Policy {
	p, err := Parse([]byte(doc))
	if err != nil {
		panic("auth: " + err.Error())
	}
	return p
}

type parser struct {
	problems []errs.Problem
	version  string
}

func (p *parser) add(path, format string, args ...any) {
	p.problems = append(p.problems, errs.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// members checks obj's member names against the allowed ones.
func (p *parser) members(obj map[string]any, path string, allowed []string) {
	for _, name := range sortedKeys(obj) {
		if why, ok := notEvaluated[name]; ok {
			p.add(strictjson.Join(path, name), "the %s element is not supported: %s", name, why)
			continue
		}
		known := false
		for _, a := range allowed {
			if name == a {
				known = true
			} else if strings.EqualFold(name, a) {
				p.add(strictjson.Join(path, name), "unknown element %q; element names are case-sensitive: did you mean %q?", name, a)
				known = true
			}
		}
		if !known {
			p.add(strictjson.Join(path, name), "unknown element %q; a %s has %s", name, kindOf(allowed), strings.Join(allowed, ", "))
		}
	}
}

func kindOf(allowed []string) string {
	if allowed[0] == policyMembers[0] {
		return "policy"
	}
	return "statement"
}

func (p *parser) policy(root any) *Policy {
	obj, ok := root.(map[string]any)
	if !ok {
		p.add("", "a policy document is a JSON object")
		return nil
	}
	p.members(obj, "", policyMembers)
	pol := &Policy{Version: Version2008}
	if v, ok := obj["Version"]; ok {
		s, ok := v.(string)
		switch {
		case !ok:
			p.add("Version", "the Version is a string")
		case s != Version2012 && s != Version2008:
			p.add("Version", "the Version %q is not one IAM knows: use %q", s, Version2012)
		default:
			pol.Version = s
		}
	}
	p.version = pol.Version
	if v, ok := obj["Id"]; ok {
		if s, ok := v.(string); ok {
			pol.ID = s
		} else {
			p.add("Id", "the Id is a string")
		}
	}
	st, ok := obj["Statement"]
	if !ok {
		p.add("Statement", "a policy needs a Statement")
		return pol
	}
	var list []any
	path := "Statement"
	switch v := st.(type) {
	case map[string]any:
		list = []any{v}
	case []any:
		list = v
		if len(list) == 0 {
			p.add(path, "the Statement list is empty")
		}
	default:
		p.add(path, "the Statement is a statement object or a list of them")
		return pol
	}
	sids := map[string]string{}
	for i, s := range list {
		spath := path
		if _, isList := st.([]any); isList {
			spath = path + "[" + strconv.Itoa(i) + "]"
		}
		stmt, ok := p.statement(s, spath)
		if !ok {
			continue
		}
		if stmt.Sid != "" {
			if first, dup := sids[stmt.Sid]; dup {
				p.add(strictjson.Join(spath, "Sid"), "the Sid %q is already used by %s; Sids are unique within a policy", stmt.Sid, first)
			}
			sids[stmt.Sid] = spath
		}
		pol.Statements = append(pol.Statements, stmt)
	}
	return pol
}

func (p *parser) statement(v any, path string) (Statement, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		p.add(path, "a statement is a JSON object")
		return Statement{}, false
	}
	before := len(p.problems)
	p.members(obj, path, statementMembers)
	var st Statement
	if sid, ok := obj["Sid"]; ok {
		s, ok := sid.(string)
		if !ok || !sidRE.MatchString(s) {
			p.add(strictjson.Join(path, "Sid"), "the Sid is a string of ASCII letters and digits")
		}
		st.Sid = s
	}
	switch e := obj["Effect"].(type) {
	case nil:
		p.add(strictjson.Join(path, "Effect"), "a statement needs an Effect: %q or %q", Allow, Deny)
	case string:
		if Effect(e) != Allow && Effect(e) != Deny {
			p.add(strictjson.Join(path, "Effect"), "the Effect %q is neither %q nor %q (they are case-sensitive)", e, Allow, Deny)
		}
		st.Effect = Effect(e)
	default:
		p.add(strictjson.Join(path, "Effect"), "the Effect is a string: %q or %q", Allow, Deny)
	}
	_, hasAction := obj["Action"]
	_, hasNotAction := obj["NotAction"]
	switch {
	case hasAction && hasNotAction:
		p.add(strictjson.Join(path, "NotAction"), "a statement has an Action or a NotAction, not both")
	case hasAction:
		st.Actions = p.strings(obj["Action"], strictjson.Join(path, "Action"), p.action)
	case hasNotAction:
		st.NotActions = p.strings(obj["NotAction"], strictjson.Join(path, "NotAction"), p.action)
	default:
		p.add(strictjson.Join(path, "Action"), "a statement needs an Action (or a NotAction)")
	}
	if r, ok := obj["Resource"]; ok {
		st.Resources = p.strings(r, strictjson.Join(path, "Resource"), p.resource)
	} else if _, has := obj["NotResource"]; !has {
		p.add(strictjson.Join(path, "Resource"), "a statement needs a Resource (\"*\" for every resource)")
	}
	if c, ok := obj["Condition"]; ok {
		st.Conditions = p.conditions(c, strictjson.Join(path, "Condition"))
	}
	return st, len(p.problems) == before
}

// strings reads a string or a non-empty list of strings, checking each.
func (p *parser) strings(v any, path string, check func(s, path string)) []string {
	var out []string
	switch v := v.(type) {
	case string:
		check(v, path)
		out = append(out, v)
	case []any:
		if len(v) == 0 {
			p.add(path, "the list is empty")
		}
		for i, e := range v {
			epath := path + "[" + strconv.Itoa(i) + "]"
			s, ok := e.(string)
			if !ok {
				p.add(epath, "an element of the list is a string")
				continue
			}
			check(s, epath)
			out = append(out, s)
		}
	default:
		p.add(path, "a string or a list of strings")
	}
	return out
}

func (p *parser) action(s, path string) {
	p.variables(s, path)
	if s != "*" && !actionRE.MatchString(s) {
		p.add(path, "the action %q is not \"*\" nor service:Action (such as codepipeline:GetPipeline or codepipeline:Get*)", s)
	}
}

func (p *parser) resource(s, path string) {
	p.variables(s, path)
	if s == "*" {
		return
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" {
		p.add(path, "the resource %q is not \"*\" nor an ARN (arn:partition:service:region:account:resource)", s)
		return
	}
	if strings.ContainsAny(parts[2], "*?") {
		p.add(path, "the resource %q has a wildcard in its service segment, which IAM does not allow", s)
	}
}

// variables refuses policy variables (${aws:username} and the like): in a
// 2012-10-17 document they stand for request context that Stageflow does
// not evaluate; in a 2008-10-17 one they are literal text, as in IAM.
func (p *parser) variables(s, path string) {
	if p.version == Version2012 && strings.Contains(s, "${") {
		p.add(path, "policy variables (%q) are not supported", s)
	}
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m)) // deterministic problem order
}

// MarshalJSON writes the policy back in IAM's grammar.
func (p *Policy) MarshalJSON() ([]byte, error) {
	type stmt struct {
		Sid       string                         `json:"Sid,omitempty"`
		Effect    Effect                         `json:"Effect"`
		Action    []string                       `json:"Action,omitempty"`
		NotAction []string                       `json:"NotAction,omitempty"`
		Resource  []string                       `json:"Resource"`
		Condition map[string]map[string][]string `json:"Condition,omitempty"`
	}
	doc := struct {
		Version   string `json:"Version"`
		ID        string `json:"Id,omitempty"`
		Statement []stmt `json:"Statement"`
	}{Version: p.Version, ID: p.ID}
	for _, s := range p.Statements {
		var cond map[string]map[string][]string
		for _, c := range s.Conditions {
			if cond == nil {
				cond = map[string]map[string][]string{}
			}
			if cond[c.Operator] == nil {
				cond[c.Operator] = map[string][]string{}
			}
			cond[c.Operator][c.Key] = c.Values
		}
		doc.Statement = append(doc.Statement, stmt{s.Sid, s.Effect, s.Actions, s.NotActions, s.Resources, cond})
	}
	return json.Marshal(doc)
}
