package service

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// The types of this file are CodePipeline's API shapes (API version
// 2015-07-09) with their JSON names. Both doors speak them: the CodePipeline
// door as the operations' input and output, the REST door as resource bodies.

// Timestamp is a time on the wire: seconds since the epoch as a JSON number,
// as the JSON 1.1 protocol encodes timestamps.
type Timestamp time.Time

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	return []byte(strconv.FormatFloat(float64(tt.UnixMilli())/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds (a number) or an RFC 3339 string. A
// number is read to the nearest microsecond: a float64 of epoch seconds
// holds no finer time, and truncating it would turn 1700000000.004 into
// 1700000000.003999, so that what MarshalJSON wrote would not read back.
// A number outside the years 1..9999 is refused: no time.Time of it could
// be written as JSON again.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		if !(f >= minEpochSeconds && f <= maxEpochSeconds) {
			return fmt.Errorf("timestamp %s is outside the years 1 to 9999", apispec.Truncate(string(b), 40))
		}
		*t = Timestamp(time.UnixMicro(int64(math.Round(f * 1e6))).UTC())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	tt, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = Timestamp(tt)
	return nil
}

// The epoch seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const (
	minEpochSeconds = -62135596800
	maxEpochSeconds = 253402300799
)

// ts converts a time, nil for the zero time (so that omitempty drops it).
func ts(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	v := Timestamp(t)
	return &v
}

// PipelineMetadata is get-pipeline's metadata.
type PipelineMetadata struct {
	PipelineArn string     `json:"pipelineArn,omitempty"`
	Created     *Timestamp `json:"created,omitempty"`
	Updated     *Timestamp `json:"updated,omitempty"`
}

// GetPipelineOutput is the answer of GetPipeline (and the REST pipeline resource).
type GetPipelineOutput struct {
	Pipeline pipeline.Pipeline `json:"pipeline"`
	Metadata *PipelineMetadata `json:"metadata,omitempty"`
}

// PipelineSummary is a row of ListPipelines.
type PipelineSummary struct {
	Name          string     `json:"name"`
	Version       int        `json:"version"`
	PipelineType  string     `json:"pipelineType,omitempty"`
	ExecutionMode string     `json:"executionMode,omitempty"`
	Created       *Timestamp `json:"created,omitempty"`
	Updated       *Timestamp `json:"updated,omitempty"`
}

// ListPipelinesOutput is a page of pipelines.
type ListPipelinesOutput struct {
	Pipelines []PipelineSummary `json:"pipelines"`
	NextToken string            `json:"nextToken,omitempty"`
}

// ErrorDetails describes an action's error.
type ErrorDetails struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// ActionExecution is the latest execution of an action in GetPipelineState.
type ActionExecution struct {
	ActionExecutionID    string        `json:"actionExecutionId,omitempty"`
	Status               string        `json:"status,omitempty"`
	Summary              string        `json:"summary,omitempty"`
	LastStatusChange     *Timestamp    `json:"lastStatusChange,omitempty"`
	Token                string        `json:"token,omitempty"`
	LastUpdatedBy        string        `json:"lastUpdatedBy,omitempty"`
	ExternalExecutionID  string        `json:"externalExecutionId,omitempty"`
	ExternalExecutionURL string        `json:"externalExecutionUrl,omitempty"`
	ErrorDetails         *ErrorDetails `json:"errorDetails,omitempty"`
}

// ActionRevision is the revision an action last worked on, in GetPipelineState.
type ActionRevision struct {
	RevisionID       string     `json:"revisionId"`
	RevisionChangeID string     `json:"revisionChangeId"`
	Created          *Timestamp `json:"created"`
}

// ActionState is an action's state in GetPipelineState.
type ActionState struct {
	ActionName      string           `json:"actionName"`
	CurrentRevision *ActionRevision  `json:"currentRevision,omitempty"`
	LatestExecution *ActionExecution `json:"latestExecution,omitempty"`
}

// StageExecution names the execution a stage last ran.
type StageExecution struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Status              string `json:"status"`
	Type                string `json:"type,omitempty"`
}

// TransitionState is a stage's inbound transition.
type TransitionState struct {
	Enabled        bool       `json:"enabled"`
	LastChangedBy  string     `json:"lastChangedBy,omitempty"`
	LastChangedAt  *Timestamp `json:"lastChangedAt,omitempty"`
	DisabledReason string     `json:"disabledReason,omitempty"`
}

// RetryStageMetadata counts a stage's retries in its latest execution.
type RetryStageMetadata struct {
	AutoStageRetryAttempt   int    `json:"autoStageRetryAttempt,omitempty"`
	ManualStageRetryAttempt int    `json:"manualStageRetryAttempt,omitempty"`
	LatestRetryTrigger      string `json:"latestRetryTrigger,omitempty"` // AutomatedStageRetry, ManualStageRetry
}

// RollbackMetadata names the execution a rollback execution rolled back to.
type RollbackMetadata struct {
	RollbackTargetPipelineExecutionID string `json:"rollbackTargetPipelineExecutionId,omitempty"`
}

// StageState is a stage's state in GetPipelineState.
type StageState struct {
	StageName              string           `json:"stageName"`
	InboundTransitionState *TransitionState `json:"inboundTransitionState,omitempty"`
	ActionStates           []ActionState    `json:"actionStates"`
	LatestExecution        *StageExecution  `json:"latestExecution,omitempty"`
	// InboundExecutions are the executions waiting to enter the stage
	// (held by its lock or a disabled transition), oldest first;
	// InboundExecution is the first of them.
	InboundExecution   *StageExecution     `json:"inboundExecution,omitempty"`
	InboundExecutions  []StageExecution    `json:"inboundExecutions,omitempty"`
	RetryStageMetadata *RetryStageMetadata `json:"retryStageMetadata,omitempty"`
}

// GetPipelineStateOutput is the answer of GetPipelineState.
type GetPipelineStateOutput struct {
	PipelineName    string       `json:"pipelineName"`
	PipelineVersion int          `json:"pipelineVersion"`
	StageStates     []StageState `json:"stageStates"`
	Created         *Timestamp   `json:"created,omitempty"`
	Updated         *Timestamp   `json:"updated,omitempty"`
}

// ExecutionTrigger says what started an execution.
type ExecutionTrigger struct {
	TriggerType   string `json:"triggerType,omitempty"`
	TriggerDetail string `json:"triggerDetail,omitempty"`
}

// ResolvedPipelineVariable is a pipeline variable's value in an execution.
type ResolvedPipelineVariable struct {
	Name          string `json:"name"`
	ResolvedValue string `json:"resolvedValue"`
}

// ArtifactRevision is the revision of an execution's source artifact.
type ArtifactRevision struct {
	Name                     string     `json:"name,omitempty"`
	RevisionID               string     `json:"revisionId,omitempty"`
	RevisionChangeIdentifier string     `json:"revisionChangeIdentifier,omitempty"`
	RevisionSummary          string     `json:"revisionSummary,omitempty"`
	Created                  *Timestamp `json:"created,omitempty"`
	RevisionURL              string     `json:"revisionUrl,omitempty"`
}

// SourceRevision is the revision a source action of an execution runs on.
type SourceRevision struct {
	ActionName      string `json:"actionName"`
	RevisionID      string `json:"revisionId,omitempty"`
	RevisionSummary string `json:"revisionSummary,omitempty"`
	RevisionURL     string `json:"revisionUrl,omitempty"`
}

// PipelineExecution is GetPipelineExecution's answer.
type PipelineExecution struct {
	PipelineName        string                     `json:"pipelineName"`
	PipelineVersion     int                        `json:"pipelineVersion"`
	PipelineExecutionID string                     `json:"pipelineExecutionId"`
	Status              string                     `json:"status"`
	StatusSummary       string                     `json:"statusSummary,omitempty"`
	ArtifactRevisions   []ArtifactRevision         `json:"artifactRevisions"`
	Variables           []ResolvedPipelineVariable `json:"variables,omitempty"`
	Trigger             *ExecutionTrigger          `json:"trigger,omitempty"`
	ExecutionMode       string                     `json:"executionMode,omitempty"`
	ExecutionType       string                     `json:"executionType,omitempty"`
	RollbackMetadata    *RollbackMetadata          `json:"rollbackMetadata,omitempty"`
}

// StopExecutionTrigger records why an execution was stopped.
type StopExecutionTrigger struct {
	Reason string `json:"reason,omitempty"`
}

// PipelineExecutionSummary is a row of ListPipelineExecutions.
type PipelineExecutionSummary struct {
	PipelineExecutionID string                `json:"pipelineExecutionId"`
	Status              string                `json:"status"`
	StatusSummary       string                `json:"statusSummary,omitempty"`
	StartTime           *Timestamp            `json:"startTime,omitempty"`
	LastUpdateTime      *Timestamp            `json:"lastUpdateTime,omitempty"`
	SourceRevisions     []SourceRevision      `json:"sourceRevisions"`
	Trigger             *ExecutionTrigger     `json:"trigger,omitempty"`
	StopTrigger         *StopExecutionTrigger `json:"stopTrigger,omitempty"`
	ExecutionMode       string                `json:"executionMode,omitempty"`
	ExecutionType       string                `json:"executionType,omitempty"`
	RollbackMetadata    *RollbackMetadata     `json:"rollbackMetadata,omitempty"`
}

// ListPipelineExecutionsOutput is a page of executions, newest first.
type ListPipelineExecutionsOutput struct {
	PipelineExecutionSummaries []PipelineExecutionSummary `json:"pipelineExecutionSummaries"`
	NextToken                  string                     `json:"nextToken,omitempty"`
}

// S3Location names an object.
type S3Location struct {
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
}

// ArtifactDetail is an artifact in action execution details.
type ArtifactDetail struct {
	Name       string      `json:"name"`
	S3Location *S3Location `json:"s3location,omitempty"`
}

// ActionExecutionInput is what an action execution ran with.
type ActionExecutionInput struct {
	ActionTypeID          pipeline.ActionTypeID `json:"actionTypeId"`
	Configuration         map[string]string     `json:"configuration,omitempty"`
	ResolvedConfiguration map[string]string     `json:"resolvedConfiguration,omitempty"`
	RoleArn               string                `json:"roleArn,omitempty"`
	Region                string                `json:"region,omitempty"`
	InputArtifacts        []ArtifactDetail      `json:"inputArtifacts"`
	Namespace             string                `json:"namespace,omitempty"`
}

// ActionExecutionResult is how an action execution ended.
type ActionExecutionResult struct {
	ExternalExecutionID      string        `json:"externalExecutionId,omitempty"`
	ExternalExecutionSummary string        `json:"externalExecutionSummary,omitempty"`
	ExternalExecutionURL     string        `json:"externalExecutionUrl,omitempty"`
	ErrorDetails             *ErrorDetails `json:"errorDetails,omitempty"`
	LogStreamARN             string        `json:"logStreamARN,omitempty"`
}

// ActionExecutionOutput is what an action execution produced.
type ActionExecutionOutput struct {
	OutputArtifacts []ArtifactDetail       `json:"outputArtifacts"`
	ExecutionResult *ActionExecutionResult `json:"executionResult,omitempty"`
	OutputVariables map[string]string      `json:"outputVariables,omitempty"`
}

// ActionExecutionDetail is a row of ListActionExecutions.
type ActionExecutionDetail struct {
	PipelineExecutionID string                 `json:"pipelineExecutionId"`
	ActionExecutionID   string                 `json:"actionExecutionId"`
	PipelineVersion     int                    `json:"pipelineVersion"`
	StageName           string                 `json:"stageName"`
	ActionName          string                 `json:"actionName"`
	StartTime           *Timestamp             `json:"startTime,omitempty"`
	LastUpdateTime      *Timestamp             `json:"lastUpdateTime,omitempty"`
	UpdatedBy           string                 `json:"updatedBy,omitempty"`
	Status              string                 `json:"status"`
	Input               *ActionExecutionInput  `json:"input,omitempty"`
	Output              *ActionExecutionOutput `json:"output,omitempty"`
}

// ListActionExecutionsOutput is a page of action executions, newest first.
type ListActionExecutionsOutput struct {
	ActionExecutionDetails []ActionExecutionDetail `json:"actionExecutionDetails"`
	NextToken              string                  `json:"nextToken,omitempty"`
}

// ArtifactLocation is where a job's artifact is.
type ArtifactLocation struct {
	Type       string        `json:"type"`
	S3Location JobS3Location `json:"s3Location"`
}

// JobS3Location is an S3 location in a job.
type JobS3Location struct {
	BucketName string `json:"bucketName"`
	ObjectKey  string `json:"objectKey"`
}

// Artifact is an artifact of a job.
type Artifact struct {
	Name     string           `json:"name"`
	Revision string           `json:"revision,omitempty"`
	Location ArtifactLocation `json:"location"`
}

// AWSSessionCredentials let a job worker reach the artifact store.
type AWSSessionCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
}

// StageContext names a job's stage.
type StageContext struct {
	Name string `json:"name"`
}

// ActionContext names a job's action.
type ActionContext struct {
	Name              string `json:"name"`
	ActionExecutionID string `json:"actionExecutionId"`
}

// PipelineContext places a job in its pipeline.
type PipelineContext struct {
	PipelineName        string        `json:"pipelineName"`
	Stage               StageContext  `json:"stage"`
	Action              ActionContext `json:"action"`
	PipelineArn         string        `json:"pipelineArn"`
	PipelineExecutionID string        `json:"pipelineExecutionId"`
}

// ActionConfiguration is a job's resolved configuration.
type ActionConfiguration struct {
	Configuration map[string]string `json:"configuration,omitempty"`
}

// JobData is what a worker needs to do a job.
type JobData struct {
	ActionTypeID        pipeline.ActionTypeID  `json:"actionTypeId"`
	ActionConfiguration ActionConfiguration    `json:"actionConfiguration"`
	PipelineContext     PipelineContext        `json:"pipelineContext"`
	InputArtifacts      []Artifact             `json:"inputArtifacts"`
	OutputArtifacts     []Artifact             `json:"outputArtifacts"`
	ArtifactCredentials *AWSSessionCredentials `json:"artifactCredentials,omitempty"`
	ContinuationToken   string                 `json:"continuationToken,omitempty"`
}

// Job is a job handed to a worker by PollForJobs.
type Job struct {
	ID        string  `json:"id"`
	Data      JobData `json:"data"`
	Nonce     string  `json:"nonce"`
	AccountID string  `json:"accountId"`
}

// JobDetails is GetJobDetails' answer.
type JobDetails struct {
	ID        string  `json:"id"`
	Data      JobData `json:"data"`
	AccountID string  `json:"accountId"`
}

// ArtifactDetails bounds the artifacts of a custom action type.
type ArtifactDetails struct {
	MinimumCount int `json:"minimumCount"`
	MaximumCount int `json:"maximumCount"`
}

// ActionTypeSettings are a custom action type's URL templates.
type ActionTypeSettings struct {
	ThirdPartyConfigurationURL string `json:"thirdPartyConfigurationUrl,omitempty"`
	EntityURLTemplate          string `json:"entityUrlTemplate,omitempty"`
	ExecutionURLTemplate       string `json:"executionUrlTemplate,omitempty"`
	RevisionURLTemplate        string `json:"revisionUrlTemplate,omitempty"`
}

// ActionConfigurationProperty declares a configuration key of a custom action type.
type ActionConfigurationProperty struct {
	Name        string `json:"name"`
	Required    bool   `json:"required"`
	Key         bool   `json:"key"`
	Secret      bool   `json:"secret"`
	Queryable   bool   `json:"queryable,omitempty"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type,omitempty"`
}

// ActionType is an action type as ListActionTypes shows it.
type ActionType struct {
	ID                            pipeline.ActionTypeID         `json:"id"`
	Settings                      *ActionTypeSettings           `json:"settings,omitempty"`
	ActionConfigurationProperties []ActionConfigurationProperty `json:"actionConfigurationProperties,omitempty"`
	InputArtifactDetails          ArtifactDetails               `json:"inputArtifactDetails"`
	OutputArtifactDetails         ArtifactDetails               `json:"outputArtifactDetails"`
}

// CustomActionTypeInput is CreateCustomActionType's input.
type CustomActionTypeInput struct {
	Category                string                        `json:"category"`
	Provider                string                        `json:"provider"`
	Version                 string                        `json:"version"`
	Settings                *ActionTypeSettings           `json:"settings,omitempty"`
	ConfigurationProperties []ActionConfigurationProperty `json:"configurationProperties,omitempty"`
	InputArtifactDetails    ArtifactDetails               `json:"inputArtifactDetails"`
	OutputArtifactDetails   ArtifactDetails               `json:"outputArtifactDetails"`
	Tags                    []pipeline.Tag                `json:"tags,omitempty"`
}

// TimestampOf converts a time for the wire: nil for the zero time.
func TimestampOf(t time.Time) *Timestamp { return ts(t) }
