package auth

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/strictjson"
)

// Condition is one condition of a statement: an operator applied to one
// condition key and the values the policy gives it. A statement's
// conditions all hold for it to match (AND across operators and keys); a
// condition holds when the request's value matches one of its values (OR),
// or, for a negated operator, none of them.
type Condition struct {
	Operator string   // as written: "StringEquals", "ForAllValues:StringLikeIfExists", "Null"
	Key      string   // as written: "aws:ResourceTag/team", "aws:TagKeys"
	Values   []string // for Null, "true" or "false"

	op       string // the base operator: StringEquals … StringNotLike, or Null
	set      string // "", forAllValues or forAnyValue
	ifExists bool
	kind     keyKind
	tagKey   string // the tag key of aws:ResourceTag/… and aws:RequestTag/…
}

type keyKind int

const (
	resourceTagKey keyKind = iota + 1
	requestTagKey
	tagKeysKey
)

// The condition keys CodePipeline documents (the Service Authorization
// Reference): aws:ResourceTag/<key> on pipelines, aws:RequestTag/<key> and
// aws:TagKeys on the requests that carry tags. Condition key names are
// case-insensitive, as in IAM.
const (
	resourceTagPrefix = "aws:resourcetag/"
	requestTagPrefix  = "aws:requesttag/"
	tagKeysName       = "aws:tagkeys"
)

const (
	forAllValues = "ForAllValues:"
	forAnyValue  = "ForAnyValue:"
	nullOp       = "Null"
)

// The string operators IAM documents, and whether each is negated.
var stringOperators = map[string]bool{
	"StringEquals":              false,
	"StringNotEquals":           true,
	"StringEqualsIgnoreCase":    false,
	"StringNotEqualsIgnoreCase": true,
	"StringLike":                false,
	"StringNotLike":             true,
}

// maxTagKey is CodePipeline's limit on a tag key's length.
const maxTagKey = 128

// conditions reads a statement's Condition block:
// {"Operator": {"key": "value" or ["values"]}, …}.
func (p *parser) conditions(v any, path string) []Condition {
	block, ok := v.(map[string]any)
	if !ok {
		p.add(path, "the Condition is an object of condition operators, such as {\"StringEquals\": {\"aws:ResourceTag/team\": \"blue\"}}")
		return nil
	}
	var out []Condition
	for _, opName := range sortedKeys(block) {
		opPath := strictjson.Join(path, opName)
		c, ok := p.operator(opName, opPath)
		if !ok {
			continue
		}
		keys, ok := block[opName].(map[string]any)
		if !ok {
			p.add(opPath, "a condition operator's value is an object of condition keys and their values")
			continue
		}
		if len(keys) == 0 {
			p.add(opPath, "the condition operator %s names no condition key", opName)
		}
		seen := map[string]string{}
		for _, keyName := range sortedKeys(keys) {
			kPath := strictjson.Join(opPath, keyName)
			kc := c
			if !p.conditionKey(&kc, keyName, kPath) {
				continue
			}
			folded := strings.ToLower(keyName)
			if first, dup := seen[folded]; dup {
				p.add(kPath, "the condition key %q is given twice under %s (as %q too); condition key names are case-insensitive", keyName, opName, first)
				continue
			}
			seen[folded] = keyName
			kc.Values = p.conditionValues(&kc, keys[keyName], kPath)
			out = append(out, kc)
		}
	}
	return out
}

// operator reads an operator name with its ForAllValues:/ForAnyValue:
// prefix and IfExists suffix.
func (p *parser) operator(name, path string) (Condition, bool) {
	c := Condition{Operator: name}
	base := name
	for _, set := range []string{forAllValues, forAnyValue} {
		if strings.HasPrefix(base, set) {
			c.set, base = set, base[len(set):]
			break
		}
	}
	if b, ok := strings.CutSuffix(base, "IfExists"); ok {
		c.ifExists, base = true, b
	}
	c.op = base
	if base == nullOp {
		switch {
		case c.ifExists:
			p.add(path, "the Null operator takes no IfExists: it tests whether the key exists")
			return c, false
		case c.set != "":
			p.add(path, "the Null operator takes no %s prefix", strings.TrimSuffix(c.set, ":"))
			return c, false
		}
		return c, true
	}
	if _, ok := stringOperators[base]; ok {
		return c, true
	}
	for known := range stringOperators {
		if strings.EqualFold(base, known) || strings.EqualFold(base, nullOp) {
			p.add(path, "unknown condition operator %q; operator names are case-sensitive (StringEquals, Null, …)", name)
			return c, false
		}
	}
	p.add(path, "the condition operator %q is not supported: Stageflow evaluates %s and Null, with IfExists and (for aws:TagKeys) ForAllValues:/ForAnyValue:",
		name, strings.Join(slices.Sorted(maps.Keys(stringOperators)), ", "))
	return c, false
}

// conditionKey reads a condition key name into c, refusing keys Stageflow
// does not evaluate and set operators on the wrong kind of key.
func (p *parser) conditionKey(c *Condition, name, path string) bool {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, resourceTagPrefix):
		c.kind, c.tagKey = resourceTagKey, name[len(resourceTagPrefix):]
	case strings.HasPrefix(lower, requestTagPrefix):
		c.kind, c.tagKey = requestTagKey, name[len(requestTagPrefix):]
	case lower == tagKeysName:
		c.kind = tagKeysKey
	default:
		p.add(path, "the condition key %q is not supported: Stageflow evaluates the tag keys CodePipeline documents, aws:ResourceTag/<key>, aws:RequestTag/<key> and aws:TagKeys", name)
		return false
	}
	c.Key = name
	if c.kind != tagKeysKey {
		switch {
		case c.tagKey == "":
			p.add(path, "the condition key %q names no tag key after the slash", name)
			return false
		case len(c.tagKey) > maxTagKey:
			p.add(path, "the tag key in %q is %d characters long; tag keys have at most %d", name, len(c.tagKey), maxTagKey)
			return false
		case p.version == Version2012 && strings.Contains(c.tagKey, "${"):
			p.add(path, "policy variables (%q) are not supported", name)
			return false
		}
	}
	if c.op == nullOp {
		return true
	}
	switch {
	case c.kind == tagKeysKey && c.set == "":
		p.add(path, "aws:TagKeys is a multivalued key: qualify the operator with ForAllValues: or ForAnyValue: (such as ForAllValues:%s)", c.Operator)
		return false
	case c.kind != tagKeysKey && c.set != "":
		p.add(path, "%q is a single-valued key: use %s without %s", name, strings.TrimPrefix(c.Operator, c.set), strings.TrimSuffix(c.set, ":"))
		return false
	}
	return true
}

// conditionValues reads a key's value: a string or a non-empty list of
// them; for Null, "true" or "false" (as a string or a JSON boolean).
func (p *parser) conditionValues(c *Condition, v any, path string) []string {
	if c.op == nullOp {
		var vals []any
		if list, ok := v.([]any); ok {
			vals = list
			if len(list) == 0 {
				p.add(path, "the list is empty")
			}
		} else {
			vals = []any{v}
		}
		var out []string
		for i, e := range vals {
			epath := path
			if _, isList := v.([]any); isList {
				epath = path + "[" + strconv.Itoa(i) + "]"
			}
			switch e := e.(type) {
			case bool:
				out = append(out, strconv.FormatBool(e))
			case string:
				if e != "true" && e != "false" {
					p.add(epath, "a Null condition's value is \"true\" (the key is absent) or \"false\" (the key is present), not %q", e)
				}
				out = append(out, e)
			default:
				p.add(epath, "a Null condition's value is \"true\" or \"false\"")
			}
		}
		return out
	}
	return p.strings(v, path, p.variables)
}

// RequestContext is what a request tells the conditions: the tags of the
// resource it is about and the tags it carries. A nil *RequestContext, or
// a nil field, is a request without them (the keys are absent).
type RequestContext struct {
	// ResourceTags are the tags of the resource (aws:ResourceTag/<key>).
	ResourceTags map[string]string
	// RequestTags are the tags the request carries, CreatePipeline's or
	// TagResource's (aws:RequestTag/<key>).
	RequestTags map[string]string
	// TagKeys are the tag keys the request carries (aws:TagKeys): those of
	// RequestTags, or the keys UntagResource removes.
	TagKeys []string
}

// UsesResourceTags reports whether any statement of the policies has an
// aws:ResourceTag condition, so that a caller reads a resource's tags only
// when a policy needs them.
func UsesResourceTags(policies []*Policy) bool {
	for _, p := range policies {
		if p == nil {
			continue
		}
		for _, st := range p.Statements {
			for _, c := range st.Conditions {
				if c.kind == resourceTagKey {
					return true
				}
			}
		}
	}
	return false
}

// values returns the request's values of the condition's key and whether
// the key is present.
func (c *Condition) values(rc *RequestContext) ([]string, bool) {
	if rc == nil {
		return nil, false
	}
	switch c.kind {
	case resourceTagKey:
		return tagValue(rc.ResourceTags, c.tagKey)
	case requestTagKey:
		return tagValue(rc.RequestTags, c.tagKey)
	case tagKeysKey:
		return rc.TagKeys, len(rc.TagKeys) > 0
	}
	return nil, false
}

// tagValue looks a tag up by key. The tag key in a condition key is
// case-insensitive, as the whole condition key name is in IAM; a tag whose
// key matches exactly wins over one that matches only ignoring case.
func tagValue(tags map[string]string, key string) ([]string, bool) {
	if v, ok := tags[key]; ok {
		return []string{v}, true
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if strings.EqualFold(k, key) {
			return []string{tags[k]}, true
		}
	}
	return nil, false
}

// holds evaluates the condition, as IAM documents: a key absent from the
// request fails a condition, except a negated operator's (which holds),
// an ...IfExists one's (which holds) and Null's (which tests exactly
// that). ForAllValues holds when every value of the request matches (and
// when there is none); ForAnyValue when at least one does (never when
// there is none).
func (c *Condition) holds(rc *RequestContext) bool {
	vals, present := c.values(rc)
	if c.op == nullOp {
		for _, v := range c.Values {
			if (v == "true") == !present {
				return true
			}
		}
		return false
	}
	negated := stringOperators[c.op]
	switch c.set {
	case forAllValues:
		if !present {
			return true
		}
		for _, v := range vals {
			if c.matchesAny(v) == negated {
				return false
			}
		}
		return true
	case forAnyValue:
		if !present {
			return c.ifExists
		}
		for _, v := range vals {
			if c.matchesAny(v) != negated {
				return true
			}
		}
		return false
	}
	if !present {
		return c.ifExists || negated
	}
	return c.matchesAny(vals[0]) != negated
}

// matchesAny reports whether v matches one of the condition's values under
// its (positive) operator.
func (c *Condition) matchesAny(v string) bool {
	for _, want := range c.Values {
		var m bool
		switch c.op {
		case "StringEquals", "StringNotEquals":
			m = v == want
		case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
			m = strings.EqualFold(v, want)
		case "StringLike", "StringNotLike":
			m = glob(want, v, false)
		}
		if m {
			return true
		}
	}
	return false
}
