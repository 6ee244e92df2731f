// Package pipeline is Stageflow's model of a pipeline: Go types in the exact JSON
// shape of AWS CodePipeline's pipeline structure (API version 2015-07-09), the
// loader that accepts CodePipeline documents unchanged, validation with
// CodePipeline's rules and quotas, and #{namespace.variable} references.
//
// Round-trip rule: loading a document and marshalling it again gives the same
// JSON value. Optional lists and maps use `omitzero`, so a list that was absent
// stays absent (nil) and a list that was given empty stays `[]`; optional
// numbers are pointers, so an absent number stays absent.
package pipeline

import "encoding/json"

// Document is what a pipeline file holds: either a bare pipeline declaration
// or the envelope that `get-pipeline` prints and `create-pipeline
// --cli-input-json` takes.
type Document struct {
	Pipeline Pipeline  `json:"pipeline"`
	Metadata *Metadata `json:"metadata,omitempty"`
	Tags     []Tag     `json:"tags,omitzero"`

	// Enveloped records whether the source document used the envelope form,
	// so that MarshalJSON writes back the shape it read.
	Enveloped bool `json:"-"`
}

// Metadata is the pipeline metadata that get-pipeline prints. Times are kept
// as the JSON numbers (or strings) they were given in.
type Metadata struct {
	PipelineArn       string          `json:"pipelineArn,omitempty"`
	Created           json.RawMessage `json:"created,omitempty"`
	Updated           json.RawMessage `json:"updated,omitempty"`
	PollingDisabledAt json.RawMessage `json:"pollingDisabledAt,omitempty"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Pipeline types.
const (
	TypeV1 = "V1"
	TypeV2 = "V2"
)

// Execution modes.
const (
	ModeQueued     = "QUEUED"
	ModeSuperseded = "SUPERSEDED"
	ModeParallel   = "PARALLEL"
)

// Pipeline is CodePipeline's PipelineDeclaration.
type Pipeline struct {
	Name           string                   `json:"name"`
	RoleArn        string                   `json:"roleArn,omitempty"`
	ArtifactStore  *ArtifactStore           `json:"artifactStore,omitempty"`
	ArtifactStores map[string]ArtifactStore `json:"artifactStores,omitzero"`
	Stages         []Stage                  `json:"stages"`
	Version        *int                     `json:"version,omitempty"`
	ExecutionMode  string                   `json:"executionMode,omitempty"`
	PipelineType   string                   `json:"pipelineType,omitempty"`
	Variables      []VariableDeclaration    `json:"variables,omitzero"`
	Triggers       []Trigger                `json:"triggers,omitzero"`
}

// ArtifactStore is where a pipeline keeps its artifacts. Stageflow keeps the
// location as given; locally artifacts live in the data directory.
type ArtifactStore struct {
	Type          string         `json:"type"`
	Location      string         `json:"location"`
	EncryptionKey *EncryptionKey `json:"encryptionKey,omitempty"`
}

// EncryptionKey names the KMS key of an artifact store.
type EncryptionKey struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// VariableDeclaration is a pipeline-level variable (V2).
type VariableDeclaration struct {
	Name         string  `json:"name"`
	DefaultValue *string `json:"defaultValue,omitempty"`
	Description  *string `json:"description,omitempty"`
}

// Trigger is a PipelineTriggerDeclaration (V2).
type Trigger struct {
	ProviderType     string           `json:"providerType"`
	GitConfiguration GitConfiguration `json:"gitConfiguration"`
}

// GitConfiguration holds the push and pull-request filters of a trigger.
type GitConfiguration struct {
	SourceActionName string                 `json:"sourceActionName"`
	Push             []GitPushFilter        `json:"push,omitzero"`
	PullRequest      []GitPullRequestFilter `json:"pullRequest,omitzero"`
}

// GitPushFilter selects pushes by tag, branch and file path.
type GitPushFilter struct {
	Tags      *FilterCriteria `json:"tags,omitempty"`
	Branches  *FilterCriteria `json:"branches,omitempty"`
	FilePaths *FilterCriteria `json:"filePaths,omitempty"`
}

// GitPullRequestFilter selects pull-request events by branch and file path.
type GitPullRequestFilter struct {
	Events    []string        `json:"events,omitzero"`
	Branches  *FilterCriteria `json:"branches,omitempty"`
	FilePaths *FilterCriteria `json:"filePaths,omitempty"`
}

// FilterCriteria is an include/exclude list of glob patterns.
type FilterCriteria struct {
	Includes []string `json:"includes,omitzero"`
	Excludes []string `json:"excludes,omitzero"`
}

// Stage is CodePipeline's StageDeclaration.
type Stage struct {
	Name        string                 `json:"name"`
	Blockers    []Blocker              `json:"blockers,omitzero"`
	Actions     []Action               `json:"actions"`
	OnFailure   *FailureConditions     `json:"onFailure,omitempty"`
	OnSuccess   *SuccessConditions     `json:"onSuccess,omitempty"`
	BeforeEntry *BeforeEntryConditions `json:"beforeEntry,omitempty"`
}

// Blocker is reserved by CodePipeline for future use; it is kept as given.
type Blocker struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Stage condition results.
const (
	ResultRollback = "ROLLBACK"
	ResultFail     = "FAIL"
	ResultRetry    = "RETRY"
	ResultSkip     = "SKIP"
)

// FailureConditions says what happens when a stage fails.
type FailureConditions struct {
	Result             string              `json:"result,omitempty"`
	RetryConfiguration *RetryConfiguration `json:"retryConfiguration,omitempty"`
	Conditions         []Condition         `json:"conditions,omitzero"`
}

// RetryConfiguration says which actions a stage retry reruns.
type RetryConfiguration struct {
	RetryMode string `json:"retryMode,omitempty"`
}

// SuccessConditions are checked when a stage succeeds.
type SuccessConditions struct {
	Conditions []Condition `json:"conditions"`
}

// BeforeEntryConditions are checked before a stage is entered.
type BeforeEntryConditions struct {
	Conditions []Condition `json:"conditions"`
}

// Condition is a set of rules with the result to apply when they are not met.
type Condition struct {
	Result string `json:"result,omitempty"`
	Rules  []Rule `json:"rules,omitzero"`
}

// Rule is a RuleDeclaration.
type Rule struct {
	Name             string            `json:"name"`
	RuleTypeID       RuleTypeID        `json:"ruleTypeId"`
	Configuration    map[string]string `json:"configuration,omitzero"`
	Commands         []string          `json:"commands,omitzero"`
	InputArtifacts   []InputArtifact   `json:"inputArtifacts,omitzero"`
	RoleArn          string            `json:"roleArn,omitempty"`
	Region           string            `json:"region,omitempty"`
	TimeoutInMinutes *int              `json:"timeoutInMinutes,omitempty"`
}

// RuleTypeID identifies a rule type.
type RuleTypeID struct {
	Category string `json:"category"`
	Owner    string `json:"owner,omitempty"`
	Provider string `json:"provider"`
	Version  string `json:"version,omitempty"`
}

// Action categories.
const (
	CategorySource   = "Source"
	CategoryBuild    = "Build"
	CategoryDeploy   = "Deploy"
	CategoryTest     = "Test"
	CategoryInvoke   = "Invoke"
	CategoryApproval = "Approval"
	CategoryCompute  = "Compute"
)

// Action owners.
const (
	OwnerAWS        = "AWS"
	OwnerThirdParty = "ThirdParty"
	OwnerCustom     = "Custom"
)

// Action is CodePipeline's ActionDeclaration.
type Action struct {
	Name                 string                `json:"name"`
	ActionTypeID         ActionTypeID          `json:"actionTypeId"`
	RunOrder             *int                  `json:"runOrder,omitempty"`
	Configuration        map[string]string     `json:"configuration,omitzero"`
	Commands             []string              `json:"commands,omitzero"`
	OutputArtifacts      []OutputArtifact      `json:"outputArtifacts,omitzero"`
	InputArtifacts       []InputArtifact       `json:"inputArtifacts,omitzero"`
	OutputVariables      []string              `json:"outputVariables,omitzero"`
	RoleArn              string                `json:"roleArn,omitempty"`
	Region               string                `json:"region,omitempty"`
	Namespace            string                `json:"namespace,omitempty"`
	TimeoutInMinutes     *int                  `json:"timeoutInMinutes,omitempty"`
	EnvironmentVariables []EnvironmentVariable `json:"environmentVariables,omitzero"`
}

// ActionTypeID identifies an action type.
type ActionTypeID struct {
	Category string `json:"category"`
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Version  string `json:"version"`
}

// String renders the type as category/owner/provider/version.
func (t ActionTypeID) String() string {
	return t.Category + "/" + t.Owner + "/" + t.Provider + "/" + t.Version
}

// InputArtifact names an artifact an action consumes.
type InputArtifact struct {
	Name string `json:"name"`
}

// OutputArtifact names an artifact an action produces; Files (Commands
// action) lists the paths it is made of.
type OutputArtifact struct {
	Name  string   `json:"name"`
	Files []string `json:"files,omitzero"`
}

// EnvironmentVariable is an environment variable of a Commands action.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

// EffectiveRunOrder is the action's runOrder, 1 when absent.
func (a *Action) EffectiveRunOrder() int {
	if a.RunOrder == nil {
		return 1
	}
	return *a.RunOrder
}

// EffectiveType is the pipeline's type: as declared, or, when absent, V2 if
// any V2-only field is present (as the API reference says), else V1.
func (p *Pipeline) EffectiveType() string {
	if p.PipelineType != "" {
		return p.PipelineType
	}
	if len(p.v2OnlyFields()) > 0 {
		return TypeV2
	}
	return TypeV1
}

// EffectiveExecutionMode is the declared execution mode, SUPERSEDED when absent.
func (p *Pipeline) EffectiveExecutionMode() string {
	if p.ExecutionMode == "" {
		return ModeSuperseded
	}
	return p.ExecutionMode
}

// v2OnlyFields lists the JSON paths of fields that only V2 pipelines may use.
func (p *Pipeline) v2OnlyFields() []string {
	var out []string
	if p.Variables != nil {
		out = append(out, "variables")
	}
	if p.Triggers != nil {
		out = append(out, "triggers")
	}
	if p.ExecutionMode == ModeParallel || p.ExecutionMode == ModeQueued {
		out = append(out, "executionMode")
	}
	for i, s := range p.Stages {
		if s.BeforeEntry != nil {
			out = append(out, stagePath(i)+".beforeEntry")
		}
		if s.OnSuccess != nil {
			out = append(out, stagePath(i)+".onSuccess")
		}
		if s.OnFailure != nil {
			out = append(out, stagePath(i)+".onFailure")
		}
	}
	return out
}
