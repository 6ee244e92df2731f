package stageflowpipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// ResourceType is the CloudFormation type of the custom resource that the
// provider of the Stageflow stack serves.
const ResourceType = "Custom::StageflowPipeline"

// StageTransition is one entry of CloudFormation's
// DisableInboundStageTransitions: the stage whose inbound transition is
// disabled, and why.
type StageTransition struct {
	StageName string
	Reason    string
}

// Properties validates props without synthesizing anything and returns the
// custom resource's properties, ServiceToken left out: the pipeline in
// AWS::CodePipeline::Pipeline's PascalCase (Name, RoleArn, ArtifactStore or
// ArtifactStores, Stages, PipelineType, ExecutionMode, Variables, Triggers),
// Tags, DisableInboundStageTransitions and RestartExecutionOnUpdate. The
// error, when not nil, is an *errs.Error of code Validation listing every
// problem with its JSON path, the paths and sentences of `stageflow
// validate`.
func Properties(props *PipelineProps) (map[string]any, error) {
	out, problems := properties(props)
	if len(problems) > 0 {
		return nil, errs.Invalid("invalid Stageflow pipeline", problems)
	}
	return out, nil
}

// properties is Properties with the problems as a list. The properties are
// nil when there are problems.
func properties(props *PipelineProps) (map[string]any, []errs.Problem) {
	if props == nil {
		return nil, []errs.Problem{{Message: "the pipeline's properties are required"}}
	}
	var problems []errs.Problem
	add := func(path, format string, args ...any) {
		problems = append(problems, errs.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if props.ServiceToken == nil || *props.ServiceToken == "" {
		add("", "ServiceToken is required: the provider's ServiceToken, e.g. awscdk.Fn_ImportValue(jsii.String(%q))", ProviderExport)
	}
	var data []byte
	switch {
	case props.Pipeline != nil && props.Document != nil:
		add("", "give the pipeline either as Pipeline or as Document, not both")
	case props.Pipeline != nil:
		b, err := json.Marshal(props.Pipeline)
		if err != nil {
			add("", "the pipeline does not marshal to JSON: %v", err)
		}
		data = b
	case props.Document != nil:
		data = props.Document
	default:
		add("", "a pipeline is required: Pipeline (shared/pipeline's types) or Document (a pipeline's JSON)")
	}
	if data == nil {
		return nil, problems
	}
	// The same loader as `stageflow validate`: strict JSON, then the rules.
	doc, err := pipeline.Load(data)
	if err != nil {
		var e *errs.Error
		if !errors.As(err, &e) || len(e.Problems) == 0 {
			add("", "%v", err)
		} else {
			problems = append(problems, e.Problems...)
		}
	}
	if doc == nil {
		return nil, problems
	}
	p := &doc.Pipeline
	problems = append(problems, cloudFormationOnly(p)...)

	tags := doc.Tags
	if len(props.Tags) > 0 {
		if len(doc.Tags) > 0 {
			add("tags", "tags are given both in the document and in PipelineProps.Tags: give them in one place")
		}
		tags = props.Tags
		for i, t := range props.Tags {
			path := fmt.Sprintf("tags[%d]", i)
			if t.Key == "" {
				add(path+".key", "is required")
			} else if msg := apispec.MustLookup("TagKey").CheckString(t.Key); msg != "" {
				add(path+".key", "%s", msg)
			}
			if msg := apispec.MustLookup("TagValue").CheckString(t.Value); msg != "" {
				add(path+".value", "%s", msg)
			}
		}
	}
	if problems = append(problems, transitions(p, props.DisableInboundStageTransitions)...); len(problems) > 0 {
		return nil, problems
	}

	out, err := convert(p)
	if err != nil {
		return nil, append(problems, errs.Problem{Message: err.Error()})
	}
	if len(tags) > 0 {
		list := make([]any, len(tags))
		for i, t := range tags {
			list[i] = map[string]any{"Key": t.Key, "Value": t.Value}
		}
		out["Tags"] = list
	}
	if len(props.DisableInboundStageTransitions) > 0 {
		list := make([]any, len(props.DisableInboundStageTransitions))
		for i, t := range props.DisableInboundStageTransitions {
			list[i] = map[string]any{"StageName": t.StageName, "Reason": t.Reason}
		}
		out["DisableInboundStageTransitions"] = list
	}
	if props.RestartExecutionOnUpdate != nil {
		out["RestartExecutionOnUpdate"] = *props.RestartExecutionOnUpdate
	}
	return out, nil
}

// cloudFormationOnly reports what CodePipeline's API takes but
// AWS::CodePipeline::Pipeline cannot express: a rule's timeoutInMinutes.
func cloudFormationOnly(p *pipeline.Pipeline) []errs.Problem {
	var problems []errs.Problem
	rules := func(path string, conds []pipeline.Condition) {
		for c, cond := range conds {
			for r, rule := range cond.Rules {
				if rule.TimeoutInMinutes != nil {
					problems = append(problems, errs.Problem{
						Path:    fmt.Sprintf("%s.conditions[%d].rules[%d].timeoutInMinutes", path, c, r),
						Message: "AWS::CodePipeline::Pipeline's RuleDeclaration has no TimeoutInMinutes: leave it out in a CloudFormation pipeline",
					})
				}
			}
		}
	}
	for i, s := range p.Stages {
		path := fmt.Sprintf("stages[%d]", i)
		if s.BeforeEntry != nil {
			rules(path+".beforeEntry", s.BeforeEntry.Conditions)
		}
		if s.OnSuccess != nil {
			rules(path+".onSuccess", s.OnSuccess.Conditions)
		}
		if s.OnFailure != nil {
			rules(path+".onFailure", s.OnFailure.Conditions)
		}
	}
	return problems
}

// transitions checks DisableInboundStageTransitions as DisableStageTransition
// would: a stage of the pipeline, once, and a reason of DisabledReason's shape.
func transitions(p *pipeline.Pipeline, ts []StageTransition) []errs.Problem {
	var problems []errs.Problem
	add := func(path, format string, args ...any) {
		problems = append(problems, errs.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	names := make([]string, len(p.Stages))
	for i, s := range p.Stages {
		names[i] = s.Name
	}
	seen := map[string]int{}
	for i, t := range ts {
		path := fmt.Sprintf("disableInboundStageTransitions[%d]", i)
		switch j, dup := seen[t.StageName]; {
		case t.StageName == "":
			add(path+".stageName", "is required")
		case !slices.Contains(names, t.StageName):
			add(path+".stageName", "no stage %q in the pipeline (stages: %s)", t.StageName, strings.Join(names, ", "))
		case dup:
			add(path+".stageName", "stage %q is already disabled by disableInboundStageTransitions[%d]", t.StageName, j)
		default:
			seen[t.StageName] = i
		}
		if t.Reason == "" {
			add(path+".reason", "is required")
		} else if msg := apispec.MustLookup("DisabledReason").CheckString(t.Reason); msg != "" {
			add(path+".reason", "%s", msg)
		}
	}
	return problems
}

// convert turns a valid pipeline into AWS::CodePipeline::Pipeline's
// properties. CloudFormation names every member as CodePipeline's JSON does
// with its first letter upper-cased (actionTypeId → ActionTypeId,
// inputArtifacts → InputArtifacts, encryptionKey.id → Id), except that
// configuration maps keep their keys (they are the action's own), the map of
// artifactStores becomes a list of {Region, ArtifactStore}, and version,
// which CloudFormation does not declare, is left out.
func convert(p *pipeline.Pipeline) (map[string]any, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	delete(tree, "version")
	stores, hasStores := tree["artifactStores"].(map[string]any)
	delete(tree, "artifactStores")
	out := pascal(tree).(map[string]any)
	if hasStores {
		regions := make([]string, 0, len(stores))
		for r := range stores {
			regions = append(regions, r)
		}
		slices.Sort(regions)
		list := make([]any, len(regions))
		for i, r := range regions {
			list[i] = map[string]any{"Region": r, "ArtifactStore": pascal(stores[r])}
		}
		out["ArtifactStores"] = list
	}
	return out, nil
}

// pascal upper-cases the first letter of every object member's name, leaving
// the members of configuration maps as they are.
func pascal(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if k == "configuration" {
				out["Configuration"] = val
				continue
			}
			out[upperFirst(k)] = pascal(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = pascal(val)
		}
		return out
	}
	return v
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
