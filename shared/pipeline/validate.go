package pipeline

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/errs"
)

// Validate applies CodePipeline's rules and quotas to a pipeline and returns
// every problem found, each with its JSON path (relative to the pipeline,
// e.g. "stages[1].actions[0].runOrder") and a plain sentence. Lengths,
// patterns and enumerations are those of the CodePipeline API definition
// (shared/apispec); counts are CodePipeline's quotas.
//
// Stageflow deliberately differs from AWS CodePipeline in these ways:
//
//   - A pipeline need not start with a Source stage, and source actions are
//     not confined to the first stage: any stage may hold any action.
//   - A pipeline may have a single stage (CodePipeline requires at least two).
//   - A Commands action (owner AWS, provider Commands) needs no input
//     artifact.
//   - timeoutInMinutes (5..86400) is accepted on every action, not only on
//     the action types CodePipeline allows it for.
//   - roleArn is neither required nor checked, and an artifact store's
//     location is kept as given but not checked: Stageflow runs no AWS
//     roles and keeps artifacts in its own data directory, and published
//     examples use placeholder accounts.
//   - No artifact store at all is fine (artifactStore and artifactStores
//     remain mutually exclusive).
//   - A trigger's gitConfiguration.sourceActionName must name an action of
//     the pipeline; it is not checked to be a source action.
//   - When pipelineType is absent the type is V2 if any V2-only field is
//     present, else V1; V2-only fields (variables, triggers, executionMode
//     QUEUED or PARALLEL, stage beforeEntry/onSuccess/onFailure) are only
//     rejected when pipelineType is explicitly "V1".
//   - Variable references are checked before the pipeline runs: #{ns.var}
//     must name a namespace declared by an action that runs earlier,
//     #{variables.x} a declared pipeline variable, and #{codepipeline.x}
//     can only be PipelineExecutionId. Action namespaces "codepipeline" and
//     "variables" are reserved.
//   - A reference in a command where its value cannot stand as data (a
//     heredoc body, a comment, …) is refused by the checks registered with
//     RegisterCommandCheck (shared/actions/shellref): Stageflow never pastes
//     a value into shell text, where CodePipeline substitutes it.
func Validate(p *Pipeline) []errs.Problem {
	v := newValidator(p)
	v.pipeline(p)
	return v.problems
}

// validateEnvelope checks what the get-pipeline envelope adds to the
// pipeline: its tags.
func validateEnvelope(d *Document) []errs.Problem {
	v := &validator{}
	for i, t := range d.Tags {
		path := "tags[" + itoa(i) + "]"
		v.required(path+".key", t.Key, shTagKey)
		v.str(path+".value", t.Value, shTagValue)
	}
	return v.problems
}

func stagePath(i int) string { return "stages[" + itoa(i) + "]" }

func itoa(i int) string { return strconv.Itoa(i) }

// Quotas of CodePipeline that are not part of the API definition.
const (
	MaxStages            = 50
	MaxActionsPerStage   = 50
	MaxActionsInPipeline = 500
)

// ---------------------------------------------------------------------------
// Shapes of the API definition (shared/apispec)

// usedShapes are the names of the shapes the validator applies; the
// fidelity test maps each to the fields it applies to.
var usedShapes = map[string]bool{}

func shape(name string) *apispec.Shape {
	usedShapes[name] = true
	return apispec.MustLookup(name)
}

var (
	shPipelineName    = shape("PipelineName")
	shStageName       = shape("StageName")
	shActionName      = shape("ActionName")
	shRuleName        = shape("RuleName")
	shArtifactName    = shape("ArtifactName")
	shNamespace       = shape("ActionNamespace")
	shVarName         = shape("PipelineVariableName")
	shVarValue        = shape("PipelineVariableValue")
	shVarDesc         = shape("PipelineVariableDescription")
	shEnvName         = shape("EnvironmentVariableName")
	shEnvValue        = shape("EnvironmentVariableValue")
	shProvider        = shape("ActionProvider")
	shRuleProvider    = shape("RuleProvider")
	shVersion         = shape("Version")
	shRegion          = shape("AWSRegionName")
	shCommand         = shape("Command")
	shOutputVar       = shape("OutputVariable")
	shFilePath        = shape("FilePath")
	shConfigKey       = shape("ActionConfigurationKey")
	shConfigValue     = shape("ActionConfigurationValue")
	shRuleCfgKey      = shape("RuleConfigurationKey")
	shRuleCfgValue    = shape("RuleConfigurationValue")
	shTagPattern      = shape("GitTagNamePattern")
	shBranchPat       = shape("GitBranchNamePattern")
	shFilePathPat     = shape("GitFilePathPattern")
	shTagKey          = shape("TagKey")
	shTagValue        = shape("TagValue")
	shKeyID           = shape("EncryptionKeyId")
	shBlockerName     = shape("BlockerName")
	shCommands        = shape("CommandList")
	shOutputVars      = shape("OutputVariableList")
	shFiles           = shape("FilePathList")
	shEnvVars         = shape("EnvironmentVariableList")
	shConditions      = shape("ConditionList")
	shRules           = shape("RuleDeclarationList")
	shVariables       = shape("PipelineVariableDeclarationList")
	shTriggers        = shape("PipelineTriggerDeclarationList")
	shPushFilters     = shape("GitPushFilterList")
	shPRFilters       = shape("GitPullRequestFilterList")
	shTagPatterns     = shape("GitTagPatternList")
	shBranchPatterns  = shape("GitBranchPatternList")
	shFilePathPattern = shape("GitFilePathPatternList")
	shPREvents        = shape("GitPullRequestEventTypeList")
	shRuleConfig      = shape("RuleConfigurationMap")
	shRunOrder        = shape("ActionRunOrder")
	shTimeout         = shape("ActionTimeout")
	shRuleTimeout     = shape("RuleTimeout")
	shPipelineVers    = shape("PipelineVersion")
	shCategory        = shape("ActionCategory")
	shOwner           = shape("ActionOwner")
	shExecutionMode   = shape("ExecutionMode")
	shPipelineType    = shape("PipelineType")
	shResult          = shape("Result")
	shRetryMode       = shape("StageRetryMode")
	shPREvent         = shape("GitPullRequestEventType")
	shProviderType    = shape("PipelineTriggerProviderType")
	shStoreType       = shape("ArtifactStoreType")
	shKeyType         = shape("EncryptionKeyType")
	shEnvType         = shape("EnvironmentVariableType")
	shRuleCategory    = shape("RuleCategory")
	shRuleOwner       = shape("RuleOwner")
	shBlockerType     = shape("BlockerType")
)

// ---------------------------------------------------------------------------
// The validator

// position orders actions: stage index, then runOrder. A rule of a stage's
// beforeEntry condition sits before every action of its stage; a rule of
// onSuccess or onFailure after every action of its stage.
type position struct{ stage, order int }

func (a position) before(b position) bool {
	return a.stage < b.stage || a.stage == b.stage && a.order < b.order
}

// origin is where an artifact or namespace is declared.
type origin struct {
	action string // JSON path of the declaring action
	decl   string // JSON path of the declaration itself
	at     position
}

// declared records the declarations of one artifact or namespace name: the
// first in document order (for duplicate reports) and the earliest in run
// order (to decide whether it exists before a given position).
type declared struct {
	first    origin
	earliest position
}

// declare records an origin of a name.
func declare(m map[string]*declared, name string, o origin) {
	d, ok := m[name]
	if !ok {
		m[name] = &declared{first: o, earliest: o.at}
		return
	}
	if o.at.before(d.earliest) {
		d.earliest = o.at
	}
}

type validator struct {
	problems []errs.Problem

	artifacts  map[string]*declared // output artifact name → producing actions
	namespaces map[string]*declared // namespace → declaring actions
	variables  map[string]bool      // declared pipeline variables
	actions    map[string]bool      // every action name
	mode       string               // the pipeline's effective execution mode
}

func newValidator(p *Pipeline) *validator {
	v := &validator{
		artifacts:  map[string]*declared{},
		namespaces: map[string]*declared{},
		variables:  map[string]bool{},
		actions:    map[string]bool{},
		mode:       p.EffectiveExecutionMode(),
	}
	for i, s := range p.Stages {
		for j := range s.Actions {
			a := &s.Actions[j]
			path := actionPath(i, j)
			at := position{i, a.EffectiveRunOrder()}
			v.actions[a.Name] = true
			for k, out := range a.OutputArtifacts {
				declare(v.artifacts, out.Name, origin{action: path, decl: index(path+".outputArtifacts", k) + ".name", at: at})
			}
			if a.Namespace != "" {
				declare(v.namespaces, a.Namespace, origin{action: path, decl: path + ".namespace", at: at})
			}
		}
	}
	for _, d := range p.Variables {
		v.variables[d.Name] = true
	}
	return v
}

func actionPath(stage, action int) string {
	return stagePath(stage) + ".actions[" + itoa(action) + "]"
}

func index(path string, i int) string { return path + "[" + itoa(i) + "]" }

// add records a problem.
func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, errs.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// str checks a string against its shape: length and pattern, or enumeration.
func (v *validator) str(path, s string, sh *apispec.Shape) {
	v.problem(path, sh.CheckString(s))
}

// problem records a problem when msg is not "".
func (v *validator) problem(path, msg string) {
	if msg != "" {
		v.problems = append(v.problems, errs.Problem{Path: path, Message: msg})
	}
}

// required checks a string that must be present and not empty.
func (v *validator) required(path, s string, sh *apispec.Shape) {
	if s == "" {
		v.add(path, "is required")
		return
	}
	v.str(path, s, sh)
}

// optional checks a string when it is given (not empty).
func (v *validator) optional(path, s string, sh *apispec.Shape) {
	if s != "" {
		v.str(path, s, sh)
	}
}

// requiredOneOf checks an enumerated value that must be present.
func (v *validator) requiredOneOf(path, s string, sh *apispec.Shape) {
	if s == "" {
		v.add(path, "is required (one of %s)", strings.Join(sh.Enum, ", "))
		return
	}
	v.str(path, s, sh)
}

// count checks the number of entries of a list or map that is given.
func (v *validator) count(path string, n int, sh *apispec.Shape) {
	v.problem(path, sh.CheckCount(n))
}

// number checks an optional integer.
func (v *validator) number(path string, n *int, sh *apispec.Shape) {
	if n != nil {
		v.problem(path, sh.CheckInt(int64(*n)))
	}
}

// ---------------------------------------------------------------------------
// The pipeline

func (v *validator) pipeline(p *Pipeline) {
	v.required("name", p.Name, shPipelineName)
	v.number("version", p.Version, shPipelineVers)
	v.optional("executionMode", p.ExecutionMode, shExecutionMode)
	v.optional("pipelineType", p.PipelineType, shPipelineType)

	if p.ArtifactStore != nil && p.ArtifactStores != nil {
		v.add("artifactStores", "cannot be given together with artifactStore; use one or the other")
	}
	if p.ArtifactStore != nil {
		v.artifactStore("artifactStore", p.ArtifactStore)
	}
	for _, region := range slices.Sorted(maps.Keys(p.ArtifactStores)) {
		path := "artifactStores." + region
		v.str(path, region, shRegion)
		store := p.ArtifactStores[region]
		v.artifactStore(path, &store)
	}

	v.pipelineVariables(p.Variables)
	v.stages(p.Stages)
	v.triggers(p.Triggers)

	if p.PipelineType == TypeV1 {
		for _, path := range p.v2OnlyFields() {
			what := "is"
			if path == "executionMode" {
				what = fmt.Sprintf("%s is", p.ExecutionMode)
			}
			v.add(path, "%s only allowed in V2 pipelines, but pipelineType is V1", what)
		}
	}
}

func (v *validator) artifactStore(path string, s *ArtifactStore) {
	v.requiredOneOf(path+".type", s.Type, shStoreType)
	// The location is kept as given: artifacts live in Stageflow's data directory.
	if k := s.EncryptionKey; k != nil {
		v.required(path+".encryptionKey.id", k.ID, shKeyID)
		v.requiredOneOf(path+".encryptionKey.type", k.Type, shKeyType)
	}
}

func (v *validator) pipelineVariables(vars []VariableDeclaration) {
	if vars == nil {
		return
	}
	v.count("variables", len(vars), shVariables)
	seen := map[string]int{}
	for i, d := range vars {
		path := index("variables", i)
		v.required(path+".name", d.Name, shVarName)
		if first, dup := seen[d.Name]; dup && d.Name != "" {
			v.add(path+".name", "variable %q is already declared at variables[%d]", d.Name, first)
		} else {
			seen[d.Name] = i
		}
		if d.DefaultValue != nil {
			v.str(path+".defaultValue", *d.DefaultValue, shVarValue)
		}
		if d.Description != nil {
			v.str(path+".description", *d.Description, shVarDesc)
		}
	}
}

// ---------------------------------------------------------------------------
// Stages and actions

func (v *validator) stages(stages []Stage) {
	switch {
	case stages == nil:
		v.add("stages", "is required")
		return
	case len(stages) == 0:
		v.add("stages", "must have at least one stage")
	case len(stages) > MaxStages:
		v.add("stages", "must have at most %d stages, got %d", MaxStages, len(stages))
	}
	total := 0
	seen := map[string]int{}
	for i := range stages {
		s := &stages[i]
		path := stagePath(i)
		v.required(path+".name", s.Name, shStageName)
		if first, dup := seen[s.Name]; dup && s.Name != "" {
			v.add(path+".name", "stage name %q is already used by stages[%d]", s.Name, first)
		} else {
			seen[s.Name] = i
		}
		for j, b := range s.Blockers {
			bpath := index(path+".blockers", j)
			v.required(bpath+".name", b.Name, shBlockerName)
			v.requiredOneOf(bpath+".type", b.Type, shBlockerType)
		}
		if s.BeforeEntry != nil {
			v.conditions(path+".beforeEntry.conditions", s.BeforeEntry.Conditions, true, position{i, 0}, ConditionBeforeEntry)
		}
		if s.OnSuccess != nil {
			v.conditions(path+".onSuccess.conditions", s.OnSuccess.Conditions, true, position{i, math.MaxInt}, ConditionOnSuccess)
		}
		if f := s.OnFailure; f != nil {
			v.optional(path+".onFailure.result", f.Result, shResult)
			if f.RetryConfiguration != nil {
				v.optional(path+".onFailure.retryConfiguration.retryMode", f.RetryConfiguration.RetryMode, shRetryMode)
			}
			v.conditions(path+".onFailure.conditions", f.Conditions, false, position{i, math.MaxInt}, ConditionOnFailure)
			v.onFailure(path+".onFailure", f)
		}
		v.actionList(i, s.Actions)
		total += len(s.Actions)
	}
	if total > MaxActionsInPipeline {
		v.add("stages", "the pipeline must have at most %d actions, got %d", MaxActionsInPipeline, total)
	}
}

func (v *validator) actionList(stage int, actions []Action) {
	path := stagePath(stage) + ".actions"
	switch {
	case actions == nil:
		v.add(path, "is required")
		return
	case len(actions) == 0:
		v.add(path, "must have at least one action")
	case len(actions) > MaxActionsPerStage:
		v.add(path, "must have at most %d actions, got %d", MaxActionsPerStage, len(actions))
	}
	seen := map[string]int{}
	for j := range actions {
		a := &actions[j]
		if first, dup := seen[a.Name]; dup && a.Name != "" {
			v.add(actionPath(stage, j)+".name", "action name %q is already used by %s in this stage", a.Name, actionPath(stage, first))
		} else {
			seen[a.Name] = j
		}
		v.action(stage, j, a)
	}
}

func (v *validator) action(stage, j int, a *Action) {
	path := actionPath(stage, j)
	at := position{stage, a.EffectiveRunOrder()}

	v.required(path+".name", a.Name, shActionName)
	t := a.ActionTypeID
	tpath := path + ".actionTypeId"
	v.requiredOneOf(tpath+".category", t.Category, shCategory)
	v.requiredOneOf(tpath+".owner", t.Owner, shOwner)
	v.required(tpath+".provider", t.Provider, shProvider)
	v.required(tpath+".version", t.Version, shVersion)
	v.actionType(path, a)
	v.number(path+".runOrder", a.RunOrder, shRunOrder)
	v.number(path+".timeoutInMinutes", a.TimeoutInMinutes, shTimeout)
	v.optional(path+".region", a.Region, shRegion)

	if a.Namespace != "" {
		npath := path + ".namespace"
		v.str(npath, a.Namespace, shNamespace)
		switch {
		case a.Namespace == NamespaceCodePipeline || a.Namespace == NamespaceVariables:
			v.add(npath, "namespace %q is reserved", a.Namespace)
		case v.namespaces[a.Namespace].first.decl != npath:
			v.add(npath, "namespace %q is already declared by %s; namespaces must be unique in the pipeline", a.Namespace, v.namespaces[a.Namespace].first.action)
		}
		if v.artifacts[a.Namespace] != nil {
			v.add(npath, "namespace %q has the name of an artifact; namespaces and artifact names must differ", a.Namespace)
		}
	}

	v.configuration(path+".configuration", a.Configuration, shConfigKey, shConfigValue, at, "action")
	v.commands(path+".commands", a.Commands, at, "action")

	for k, in := range a.InputArtifacts {
		v.input(index(path+".inputArtifacts", k), in.Name, at, "action")
	}
	for k, out := range a.OutputArtifacts {
		opath := index(path+".outputArtifacts", k)
		v.required(opath+".name", out.Name, shArtifactName)
		if first := v.artifacts[out.Name].first; out.Name != "" && first.decl != opath+".name" {
			v.add(opath+".name", "artifact %q is already produced by %s; output artifact names must be unique in the pipeline", out.Name, first.action)
		}
		if out.Files != nil {
			v.count(opath+".files", len(out.Files), shFiles)
		}
		for f, file := range out.Files {
			v.str(index(opath+".files", f), file, shFilePath)
		}
	}
	if a.OutputVariables != nil {
		v.count(path+".outputVariables", len(a.OutputVariables), shOutputVars)
	}
	for k, name := range a.OutputVariables {
		v.str(index(path+".outputVariables", k), name, shOutputVar)
	}
	if a.EnvironmentVariables != nil {
		v.count(path+".environmentVariables", len(a.EnvironmentVariables), shEnvVars)
	}
	for k, e := range a.EnvironmentVariables {
		epath := index(path+".environmentVariables", k)
		v.required(epath+".name", e.Name, shEnvName)
		v.required(epath+".value", e.Value, shEnvValue)
		v.optional(epath+".type", e.Type, shEnvType)
		v.refs(epath+".value", e.Value, at, "action")
	}
}

// configuration checks a configuration map and the references in its values.
func (v *validator) configuration(path string, cfg map[string]string, keyShape, valueShape *apispec.Shape, at position, consumer string) {
	for _, key := range slices.Sorted(maps.Keys(cfg)) {
		if msg := keyShape.CheckKey(key); msg != "" {
			v.add(path, "%s", msg)
			continue
		}
		kpath := path + "." + key
		v.str(kpath, cfg[key], valueShape)
		v.refs(kpath, cfg[key], at, consumer)
	}
}

func (v *validator) commands(path string, cmds []string, at position, consumer string) {
	if cmds == nil {
		return
	}
	v.count(path, len(cmds), shCommands)
	for k, c := range cmds {
		cpath := index(path, k)
		v.str(cpath, c, shCommand)
		if v.refs(cpath, c, at, consumer) {
			for _, err := range checkCommand(c) {
				v.add(cpath, "%s", err)
			}
		}
	}
}

// input checks that an input artifact is produced by an action that runs
// before the consumer.
func (v *validator) input(path, name string, at position, consumer string) {
	v.required(path+".name", name, shArtifactName)
	if name == "" {
		return
	}
	d := v.artifacts[name]
	if d != nil && d.earliest.before(at) {
		return
	}
	msg := fmt.Sprintf("artifact %q is not produced by any action that runs before this %s", name, consumer)
	if consumer == "action" {
		msg = fmt.Sprintf("artifact %q is not produced by any action that runs before this one", name)
	}
	if d != nil {
		msg += fmt.Sprintf(" (%s produces it, but does not run earlier)", d.first.action)
	}
	v.add(path, "%s", msg)
}

// refs checks the variable references in a string and reports whether it
// holds any.
func (v *validator) refs(path, s string, at position, consumer string) bool {
	refs, bad := scanRefs(s)
	for _, b := range bad {
		v.add(path, "%s", b)
	}
	for _, r := range refs {
		switch r.Namespace {
		case NamespaceCodePipeline:
			if r.Name != VarPipelineExecutionID {
				v.add(path, "%s: the codepipeline namespace only has %s", r, VarPipelineExecutionID)
			}
		case NamespaceVariables:
			if !v.variables[r.Name] {
				v.add(path, "%s: no pipeline variable %q is declared", r, r.Name)
			}
		default:
			d := v.namespaces[r.Namespace]
			if d != nil && d.earliest.before(at) {
				continue
			}
			thisOne := "this " + consumer
			if consumer == "action" {
				thisOne = "this one"
			}
			if d != nil {
				v.add(path, "%s: namespace %q is declared by %s, which does not run before %s", r, r.Namespace, d.first.action, thisOne)
			} else {
				v.add(path, "%s: namespace %q is not declared by any action that runs before %s", r, r.Namespace, thisOne)
			}
		}
	}
	return len(refs) > 0
}
