package cfnprovider

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// The properties Custom::StageflowPipeline accepts are those of
// AWS::CodePipeline::Pipeline, in CloudFormation's PascalCase:
//
//	ServiceToken                   (CloudFormation's own; ignored)
//	Name                           String, required (the physical ID)
//	RoleArn                        String
//	PipelineType                   String (V1, V2)
//	ExecutionMode                  String (QUEUED, SUPERSEDED, PARALLEL)
//	ArtifactStore                  {Type, Location, EncryptionKey {Id, Type}}
//	ArtifactStores                 [{Region, ArtifactStore {…}}]
//	Stages                         [StageDeclaration]
//	  Name, Blockers [{Name, Type}], Actions [ActionDeclaration],
//	  BeforeEntry {Conditions}, OnSuccess {Conditions},
//	  OnFailure {Result, RetryConfiguration {RetryMode}, Conditions}
//	  Conditions [{Result, Rules [{Name, RuleTypeId {Category, Owner,
//	    Provider, Version}, Configuration, Commands, InputArtifacts [{Name}],
//	    Region, RoleArn}]}] (no TimeoutInMinutes, unlike the API's)
//	ActionDeclaration:
//	  Name, ActionTypeId {Category, Owner, Provider, Version}, RunOrder,
//	  Configuration (object of scalars), Commands [String],
//	  InputArtifacts [{Name}], OutputArtifacts [{Name, Files [String]}],
//	  OutputVariables [String], EnvironmentVariables [{Name, Value, Type}],
//	  Namespace, Region, RoleArn, TimeoutInMinutes
//	Variables                      [{Name, DefaultValue, Description}]
//	Triggers                       [{ProviderType, GitConfiguration
//	  {SourceActionName, Push [{Tags, Branches, FilePaths}],
//	   PullRequest [{Events, Branches, FilePaths}]}}]
//	  (Tags, Branches, FilePaths: {Includes [String], Excludes [String]})
//	Tags                           [{Key, Value}]
//	DisableInboundStageTransitions [{StageName, Reason}]
//	RestartExecutionOnUpdate       Boolean
//
// Integers (RunOrder, TimeoutInMinutes) and booleans
// (RestartExecutionOnUpdate) may be given as strings, as CloudFormation
// passes every scalar of a custom resource's properties ("RunOrder": "2");
// Configuration values are scalars and become strings. Any other member is
// an error naming its path.

// Transition is one entry of DisableInboundStageTransitions.
type Transition struct {
	StageName string
	Reason    string
}

// Properties are a resource's properties converted: the pipeline in
// shared/pipeline's model, its tags, and the CloudFormation-only ones.
type Properties struct {
	Pipeline                       pipeline.Pipeline
	Tags                           []pipeline.Tag
	DisableInboundStageTransitions []Transition
	RestartExecutionOnUpdate       bool
}

// kind is the shape of a property value.
type kind int

const (
	kString kind = iota
	kInt
	kBool
	kObject
	kList
	kScalarMap // Configuration: an object of scalars, as strings
)

// node describes a property value; member names a member of an object.
type node struct {
	kind    kind
	elem    *node    // kList
	members []member // kObject
}

type member struct {
	cfn, json string
	node      *node
}

var (
	str     = &node{kind: kString}
	integer = &node{kind: kInt}
	strList = &node{kind: kList, elem: str}
)

func obj(ms ...member) *node { return &node{kind: kObject, members: ms} }
func list(n *node) *node     { return &node{kind: kList, elem: n} }
func m(cfn string, n *node) member {
	return member{cfn: cfn, json: strings.ToLower(cfn[:1]) + cfn[1:], node: n}
}

var (
	named         = obj(m("Name", str))
	artifactStore = obj(m("Type", str), m("Location", str), m("EncryptionKey", obj(m("Id", str), m("Type", str))))
	criteria      = obj(m("Includes", strList), m("Excludes", strList))
	typeID        = obj(m("Category", str), m("Owner", str), m("Provider", str), m("Version", str))
	rule          = obj(m("Name", str), member{"RuleTypeId", "ruleTypeId", typeID}, m("Configuration", &node{kind: kScalarMap}),
		m("Commands", strList), m("InputArtifacts", list(named)), m("Region", str), m("RoleArn", str))
	conditions = m("Conditions", list(obj(m("Result", str), m("Rules", list(rule)))))
	action     = obj(m("Name", str), member{"ActionTypeId", "actionTypeId", typeID}, m("RunOrder", integer),
		m("Configuration", &node{kind: kScalarMap}), m("Commands", strList), m("InputArtifacts", list(named)),
		m("OutputArtifacts", list(obj(m("Name", str), m("Files", strList)))), m("OutputVariables", strList),
		m("EnvironmentVariables", list(obj(m("Name", str), m("Value", str), m("Type", str)))),
		m("Namespace", str), m("Region", str), m("RoleArn", str), m("TimeoutInMinutes", integer))
	stage = obj(m("Name", str), m("Blockers", list(obj(m("Name", str), m("Type", str)))), m("Actions", list(action)),
		m("BeforeEntry", obj(conditions)), m("OnSuccess", obj(conditions)),
		m("OnFailure", obj(m("Result", str), m("RetryConfiguration", obj(m("RetryMode", str))), conditions)))
	trigger = obj(m("ProviderType", str), m("GitConfiguration", obj(m("SourceActionName", str),
		m("Push", list(obj(m("Tags", criteria), m("Branches", criteria), m("FilePaths", criteria)))),
		m("PullRequest", list(obj(m("Events", strList), m("Branches", criteria), m("FilePaths", criteria)))))))
	// pipelineMembers are the members that map one to one onto the
	// pipeline declaration's.
	pipelineMembers = obj(m("Name", str), m("RoleArn", str), m("PipelineType", str), m("ExecutionMode", str),
		m("ArtifactStore", artifactStore), m("Stages", list(stage)),
		m("Variables", list(obj(m("Name", str), m("DefaultValue", str), m("Description", str)))),
		m("Triggers", list(trigger)))
)

// converter turns CloudFormation's properties into the CodePipeline JSON
// value, recording each JSON path's CloudFormation path.
type converter struct {
	problems []errs.Problem
	paths    map[string]string // JSON path → property path
}

func (c *converter) add(path, format string, args ...any) {
	c.problems = append(c.problems, errs.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// value converts v (at property path cp, JSON path jp) by n.
func (c *converter) value(v any, n *node, cp, jp string) (any, bool) {
	c.paths[jp] = cp
	switch n.kind {
	case kString:
		s, ok := scalar(v)
		if !ok {
			c.add(cp, "must be a string, not %s", strictjson.Kind(v))
		}
		return s, ok
	case kInt:
		i, ok := toInt(v)
		if !ok {
			c.add(cp, "must be an integer (a number or a string of digits), not %s", describe(v))
		}
		return i, ok
	case kBool:
		b, ok := toBool(v)
		if !ok {
			c.add(cp, `must be a boolean (true, false, "true" or "false"), not %s`, describe(v))
		}
		return b, ok
	case kList:
		items, ok := v.([]any)
		if !ok {
			c.add(cp, "must be a list, not %s", strictjson.Kind(v))
			return nil, false
		}
		out := make([]any, 0, len(items))
		for i, it := range items {
			if x, ok := c.value(it, n.elem, index(cp, i), index(jp, i)); ok {
				out = append(out, x)
			}
		}
		return out, true
	case kScalarMap:
		o, ok := v.(map[string]any)
		if !ok {
			c.add(cp, "must be an object, not %s", strictjson.Kind(v))
			return nil, false
		}
		out := make(map[string]any, len(o))
		for k, x := range o {
			s, ok := scalar(x)
			if !ok {
				c.add(strictjson.Join(cp, k), "must be a string, number or boolean, not %s", strictjson.Kind(x))
				continue
			}
			c.paths[strictjson.Join(jp, k)] = strictjson.Join(cp, k)
			out[k] = s
		}
		return out, true
	default:
		o, ok := v.(map[string]any)
		if !ok {
			c.add(cp, "must be an object, not %s", strictjson.Kind(v))
			return nil, false
		}
		return c.object(o, n, cp, jp, nil), true
	}
}

// object converts the members of o that n knows; the names in skip are
// left to the caller, any other member is a problem.
func (c *converter) object(o map[string]any, n *node, cp, jp string, skip map[string]bool) map[string]any {
	out := map[string]any{}
	known := map[string]bool{}
	for _, mb := range n.members {
		known[mb.cfn] = true
		if v, ok := o[mb.cfn]; ok {
			if x, ok := c.value(v, mb.node, strictjson.Join(cp, mb.cfn), strictjson.Join(jp, mb.json)); ok {
				out[mb.json] = x
			}
		}
	}
	for _, k := range sortedKeys(o) {
		if !known[k] && !skip[k] {
			names := make([]string, 0, len(n.members))
			for _, mb := range n.members {
				names = append(names, mb.cfn)
			}
			msg := "is not a property of " + ResourceType
			msg += strictjson.Suggest(k, names)
			c.add(strictjson.Join(cp, k), "%s", msg)
		}
	}
	return out
}

// The members of the resource beyond the pipeline declaration's.
var extraMembers = map[string]bool{"ServiceToken": true, "ArtifactStores": true, "Tags": true,
	"DisableInboundStageTransitions": true, "RestartExecutionOnUpdate": true}

// Convert turns a resource's properties into the pipeline and validates it
// with the validator `stageflow validate` uses (pipeline.Load). The error,
// when not nil, is an *errs.Error of code Validation whose problems name
// property paths (Stages[0].Actions[1].RunOrder).
func Convert(raw json.RawMessage) (*Properties, error) {
	var props map[string]any
	if err := json.Unmarshal(raw, &props); err != nil || props == nil {
		return nil, errs.Invalid("invalid resource properties", []errs.Problem{{Path: "ResourceProperties", Message: "must be a JSON object"}})
	}
	c := &converter{paths: map[string]string{"": ""}}
	decl := c.object(props, pipelineMembers, "", "", extraMembers)
	out := &Properties{}
	if v, ok := props["ArtifactStores"]; ok {
		decl["artifactStores"] = c.artifactStores(v)
	}
	if v, ok := props["Tags"]; ok {
		if x, ok := c.value(v, list(obj(m("Key", str), m("Value", str))), "Tags", "tags"); ok {
			for _, t := range x.([]any) {
				tm := t.(map[string]any)
				k, _ := tm["key"].(string)
				val, _ := tm["value"].(string)
				out.Tags = append(out.Tags, pipeline.Tag{Key: k, Value: val})
			}
		}
	}
	if v, ok := props["DisableInboundStageTransitions"]; ok {
		if x, ok := c.value(v, list(obj(m("StageName", str), m("Reason", str))), "DisableInboundStageTransitions", "disableInboundStageTransitions"); ok {
			for i, t := range x.([]any) {
				tm := t.(map[string]any)
				name, _ := tm["stageName"].(string)
				reason, _ := tm["reason"].(string)
				if name == "" || reason == "" {
					c.add(index("DisableInboundStageTransitions", i), "StageName and Reason are required")
				}
				out.DisableInboundStageTransitions = append(out.DisableInboundStageTransitions, Transition{StageName: name, Reason: reason})
			}
		}
	}
	if v, ok := props["RestartExecutionOnUpdate"]; ok {
		if b, ok := c.value(v, &node{kind: kBool}, "RestartExecutionOnUpdate", "restartExecutionOnUpdate"); ok {
			out.RestartExecutionOnUpdate = b.(bool)
		}
	}
	if len(c.problems) > 0 {
		return nil, errs.Invalid("invalid resource properties", c.problems)
	}
	doc, err := json.Marshal(decl)
	if err != nil {
		return nil, err
	}
	loaded, err := pipeline.Load(doc)
	if err != nil {
		if e, ok := errs.As(err); ok {
			for i := range e.Problems {
				e.Problems[i].Path = c.propertyPath(e.Problems[i].Path)
			}
		}
		return nil, err
	}
	out.Pipeline = loaded.Pipeline
	for i, t := range out.DisableInboundStageTransitions {
		found := false
		for _, s := range out.Pipeline.Stages {
			found = found || s.Name == t.StageName
		}
		if !found {
			c.add(strictjson.Join(index("DisableInboundStageTransitions", i), "StageName"), "the pipeline has no stage %q", t.StageName)
		}
	}
	if len(c.problems) > 0 {
		return nil, errs.Invalid("invalid resource properties", c.problems)
	}
	return out, nil
}

// artifactStores turns CloudFormation's list of {Region, ArtifactStore}
// into CodePipeline's map of region to store.
func (c *converter) artifactStores(v any) map[string]any {
	out := map[string]any{}
	items, ok := v.([]any)
	if !ok {
		c.add("ArtifactStores", "must be a list, not %s", strictjson.Kind(v))
		return out
	}
	for i, it := range items {
		cp := index("ArtifactStores", i)
		o, ok := it.(map[string]any)
		if !ok {
			c.add(cp, "must be an object, not %s", strictjson.Kind(it))
			continue
		}
		region, ok := scalar(o["Region"])
		if !ok || region == "" {
			c.add(strictjson.Join(cp, "Region"), "is required")
			continue
		}
		if _, dup := out[region]; dup {
			c.add(strictjson.Join(cp, "Region"), "region %q is given twice", region)
			continue
		}
		for _, k := range sortedKeys(o) {
			if k != "Region" && k != "ArtifactStore" {
				c.add(strictjson.Join(cp, k), "is not a member of an ArtifactStoreMap (Region, ArtifactStore)")
			}
		}
		st, ok := o["ArtifactStore"]
		if !ok {
			c.add(strictjson.Join(cp, "ArtifactStore"), "is required")
			continue
		}
		if x, ok := c.value(st, artifactStore, strictjson.Join(cp, "ArtifactStore"), strictjson.Join("artifactStores", region)); ok {
			out[region] = x
		}
	}
	return out
}

// propertyPath maps a JSON path of the declaration to the property path
// it came from: the longest converted prefix, the rest capitalized.
func (c *converter) propertyPath(jp string) string {
	for p := jp; ; {
		if cp, ok := c.paths[p]; ok {
			rest := jp[len(p):]
			return strings.TrimPrefix(cp+capitalize(rest), ".")
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return capitalize(jp)
		}
		p = p[:i]
	}
}

// capitalize upper-cases the first letter of each member of a path.
func capitalize(path string) string {
	b := []byte(path)
	for i := range b {
		if (i == 0 || b[i-1] == '.') && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<31 {
			return int(x), true
		}
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		if err == nil && i > -1<<31 && i < 1<<31 {
			return i, true
		}
	}
	return 0, false
}

func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func describe(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return strictjson.Kind(v)
}

func sortedKeys(o map[string]any) []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
