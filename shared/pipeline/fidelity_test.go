package pipeline

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/apispec/apidef"
	"github.com/stageflow/stageflow/shared/strictjson"
)

// The fidelity tests check the validator's use of the shapes of
// shared/apispec (whose own test compares the table with the definition),
// and the model's json tags, against the CodePipeline API definition that
// the AWS CLI ships; they fail when it is missing or too old.

// TestShapesAreTheOnesUsed checks that the shapes the validator applies to a
// field are the shapes the API definition gives that field.
func TestShapesAreTheOnesUsed(t *testing.T) {
	api := apidef.ForTest(t).Shapes
	// "Structure.member" → shape, "List[]" → element shape, "Map{}"/"Map[]" → key/value shape.
	uses := map[string]*apispec.Shape{
		"PipelineDeclaration.name":                 shPipelineName,
		"PipelineDeclaration.version":              shPipelineVers,
		"PipelineDeclaration.executionMode":        shExecutionMode,
		"PipelineDeclaration.pipelineType":         shPipelineType,
		"PipelineDeclaration.variables":            shVariables,
		"PipelineDeclaration.triggers":             shTriggers,
		"ArtifactStore.type":                       shStoreType,
		"ArtifactStoreMap{}":                       shRegion,
		"EncryptionKey.id":                         shKeyID,
		"EncryptionKey.type":                       shKeyType,
		"PipelineVariableDeclaration.name":         shVarName,
		"PipelineVariableDeclaration.defaultValue": shVarValue,
		"PipelineVariableDeclaration.description":  shVarDesc,
		"PipelineTriggerDeclaration.providerType":  shProviderType,
		"GitConfiguration.sourceActionName":        shActionName,
		"GitConfiguration.push":                    shPushFilters,
		"GitConfiguration.pullRequest":             shPRFilters,
		"GitPullRequestFilter.events":              shPREvents,
		"GitPullRequestEventTypeList[]":            shPREvent,
		"GitTagFilterCriteria.includes":            shTagPatterns,
		"GitTagFilterCriteria.excludes":            shTagPatterns,
		"GitTagPatternList[]":                      shTagPattern,
		"GitBranchFilterCriteria.includes":         shBranchPatterns,
		"GitBranchFilterCriteria.excludes":         shBranchPatterns,
		"GitBranchPatternList[]":                   shBranchPat,
		"GitFilePathFilterCriteria.includes":       shFilePathPattern,
		"GitFilePathFilterCriteria.excludes":       shFilePathPattern,
		"GitFilePathPatternList[]":                 shFilePathPat,
		"StageDeclaration.name":                    shStageName,
		"BlockerDeclaration.name":                  shBlockerName,
		"BlockerDeclaration.type":                  shBlockerType,
		"FailureConditions.result":                 shResult,
		"FailureConditions.conditions":             shConditions,
		"RetryConfiguration.retryMode":             shRetryMode,
		"SuccessConditions.conditions":             shConditions,
		"BeforeEntryConditions.conditions":         shConditions,
		"Condition.result":                         shResult,
		"Condition.rules":                          shRules,
		"RuleDeclaration.name":                     shRuleName,
		"RuleDeclaration.configuration":            shRuleConfig,
		"RuleConfigurationMap{}":                   shRuleCfgKey,
		"RuleConfigurationMap[]":                   shRuleCfgValue,
		"RuleDeclaration.commands":                 shCommands,
		"RuleDeclaration.region":                   shRegion,
		"RuleDeclaration.timeoutInMinutes":         shRuleTimeout,
		"RuleTypeId.category":                      shRuleCategory,
		"RuleTypeId.owner":                         shRuleOwner,
		"RuleTypeId.provider":                      shRuleProvider,
		"RuleTypeId.version":                       shVersion,
		"ActionDeclaration.name":                   shActionName,
		"ActionDeclaration.runOrder":               shRunOrder,
		"ActionDeclaration.commands":               shCommands,
		"CommandList[]":                            shCommand,
		"ActionDeclaration.outputVariables":        shOutputVars,
		"OutputVariableList[]":                     shOutputVar,
		"ActionDeclaration.region":                 shRegion,
		"ActionDeclaration.namespace":              shNamespace,
		"ActionDeclaration.timeoutInMinutes":       shTimeout,
		"ActionDeclaration.environmentVariables":   shEnvVars,
		"ActionConfigurationMap{}":                 shConfigKey,
		"ActionConfigurationMap[]":                 shConfigValue,
		"ActionTypeId.category":                    shCategory,
		"ActionTypeId.owner":                       shOwner,
		"ActionTypeId.provider":                    shProvider,
		"ActionTypeId.version":                     shVersion,
		"OutputArtifact.name":                      shArtifactName,
		"OutputArtifact.files":                     shFiles,
		"FilePathList[]":                           shFilePath,
		"InputArtifact.name":                       shArtifactName,
		"EnvironmentVariable.name":                 shEnvName,
		"EnvironmentVariable.value":                shEnvValue,
		"EnvironmentVariable.type":                 shEnvType,
		"Tag.key":                                  shTagKey,
		"Tag.value":                                shTagValue,
	}
	used := map[string]bool{}
	for ref, sh := range uses {
		used[sh.Name] = true
		var got string
		switch {
		case strings.HasSuffix(ref, "{}"):
			if k := api[strings.TrimSuffix(ref, "{}")].Key; k != nil {
				got = k.Shape
			}
		case strings.HasSuffix(ref, "[]"):
			a := api[strings.TrimSuffix(ref, "[]")]
			if a.Member != nil {
				got = a.Member.Shape
			} else if a.Value != nil {
				got = a.Value.Shape
			}
		default:
			structure, member, _ := strings.Cut(ref, ".")
			got = api[structure].Members[member].Shape
		}
		if got != sh.Name {
			t.Errorf("%s: the validator applies %s, the API definition says %q", ref, sh.Name, got)
		}
	}
	for name := range usedShapes {
		if !used[name] {
			t.Errorf("shape %s is defined but not mapped to a field in this test", name)
		}
	}
}

// apiStructures names the API structure of each struct type of the model.
var apiStructures = map[reflect.Type]string{
	reflect.TypeOf(Pipeline{}):              "PipelineDeclaration",
	reflect.TypeOf(Metadata{}):              "PipelineMetadata",
	reflect.TypeOf(Tag{}):                   "Tag",
	reflect.TypeOf(ArtifactStore{}):         "ArtifactStore",
	reflect.TypeOf(EncryptionKey{}):         "EncryptionKey",
	reflect.TypeOf(VariableDeclaration{}):   "PipelineVariableDeclaration",
	reflect.TypeOf(Trigger{}):               "PipelineTriggerDeclaration",
	reflect.TypeOf(GitConfiguration{}):      "GitConfiguration",
	reflect.TypeOf(GitPushFilter{}):         "GitPushFilter",
	reflect.TypeOf(GitPullRequestFilter{}):  "GitPullRequestFilter",
	reflect.TypeOf(FilterCriteria{}):        "GitBranchFilterCriteria",
	reflect.TypeOf(Stage{}):                 "StageDeclaration",
	reflect.TypeOf(Blocker{}):               "BlockerDeclaration",
	reflect.TypeOf(FailureConditions{}):     "FailureConditions",
	reflect.TypeOf(RetryConfiguration{}):    "RetryConfiguration",
	reflect.TypeOf(SuccessConditions{}):     "SuccessConditions",
	reflect.TypeOf(BeforeEntryConditions{}): "BeforeEntryConditions",
	reflect.TypeOf(Condition{}):             "Condition",
	reflect.TypeOf(Rule{}):                  "RuleDeclaration",
	reflect.TypeOf(RuleTypeID{}):            "RuleTypeId",
	reflect.TypeOf(Action{}):                "ActionDeclaration",
	reflect.TypeOf(ActionTypeID{}):          "ActionTypeId",
	reflect.TypeOf(InputArtifact{}):         "InputArtifact",
	reflect.TypeOf(OutputArtifact{}):        "OutputArtifact",
	reflect.TypeOf(EnvironmentVariable{}):   "EnvironmentVariable",
}

// TestOptionalityMatchesAPIDefinition checks the two rules the shape walk
// takes from the json tags: a member that is always marshalled (no
// omitempty or omitzero) is required by the API definition, so its absence
// is an error; and an optional string member cannot be "" in the API
// definition (a minimum length, an enumeration or a pattern excludes it),
// so "" is an error rather than a value that omitempty would drop.
func TestOptionalityMatchesAPIDefinition(t *testing.T) {
	api := apidef.ForTest(t).Shapes
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice && typ != reflect.TypeOf(json.RawMessage{}) || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		name, ok := apiStructures[typ]
		if !ok {
			t.Errorf("%s: no API structure named for it", typ)
			return
		}
		structure := api[name]
		for _, f := range strictjson.Members(typ) {
			member := f.Name
			m, ok := structure.Members[member]
			if !ok {
				t.Errorf("%s.%s: not a member of %s in the API definition", typ.Name(), member, name)
				continue
			}
			if !f.OmitEmpty && !slices.Contains(structure.Required, member) {
				t.Errorf("%s.%s: always marshalled, but %s does not require it", typ.Name(), member, name)
			}
			if f.OmitEmpty && f.Type.Kind() == reflect.String {
				sh := api[m.Shape]
				excluded := sh.Min != nil && *sh.Min >= 1 || len(sh.Enum) > 0 ||
					sh.Pattern != "" && !regexp.MustCompile(`^(?:`+sh.Pattern+`)$`).MatchString("")
				if !excluded {
					t.Errorf("%s.%s: optional string, but its API shape %s allows \"\"", typ.Name(), member, m.Shape)
				}
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Pipeline{}))
	walk(reflect.TypeOf(Metadata{}))
	walk(reflect.TypeOf(Tag{}))
	for typ := range apiStructures {
		if !seen[typ] {
			t.Errorf("%s: not reachable from the model", typ)
		}
	}
}

// TestConstantsAreTableValues checks the model's named values against the
// enumerations of the table.
func TestConstantsAreTableValues(t *testing.T) {
	for shape, values := range map[string][]string{
		"ActionCategory": {CategorySource, CategoryBuild, CategoryDeploy, CategoryTest, CategoryInvoke, CategoryApproval, CategoryCompute},
		"ActionOwner":    {OwnerAWS, OwnerThirdParty, OwnerCustom},
		"ExecutionMode":  {ModeQueued, ModeSuperseded, ModeParallel},
		"PipelineType":   {TypeV1, TypeV2},
		"Result":         {ResultRollback, ResultFail, ResultRetry, ResultSkip},
	} {
		if got := apispec.MustLookup(shape).Enum; !slices.Equal(got, values) {
			t.Errorf("%s: the table has %v, the model's constants are %v", shape, got, values)
		}
	}
}
