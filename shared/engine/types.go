// Package engine holds Stageflow's scheduling semantics, once, for both
// drivers (the local runner and Step Functions). It knows nothing of SQL, AWS
// or goroutines: Advance is a pure function from the current state of an
// execution to the next state and a Decision; the clock and ID source are
// injected. Step (step.go) loads, applies an event, advances and saves through
// the narrow ExecutionStore interface declared here, with a version check and
// retry on conflict.
package engine

import (
	"time"

	"github.com/stageflow/stageflow/shared/pipeline"
)

// Status is the status of an execution, a stage or an action, named as
// CodePipeline names them.
type Status string

// Statuses.
const (
	InProgress Status = "InProgress"
	Succeeded  Status = "Succeeded"
	Failed     Status = "Failed"
	Stopped    Status = "Stopped"
	Stopping   Status = "Stopping"
	Superseded Status = "Superseded"
	Cancelled  Status = "Cancelled"
	Abandoned  Status = "Abandoned"  // actions only
	Skipped    Status = "Skipped"    // stages only: a beforeEntry condition with result SKIP failed
	Overridden Status = "Overridden" // conditions only: OverrideStageCondition
)

// Terminal reports whether the status is final.
func (s Status) Terminal() bool {
	switch s {
	case Succeeded, Failed, Stopped, Superseded, Cancelled, Abandoned, Skipped, Overridden:
		return true
	}
	return false
}

// Execution is the durable record of one pipeline execution: the pipeline
// version it runs (a snapshot of the declaration), its variables, the state of
// every stage and every action run. It is the unit of optimistic
// concurrency: every save checks and bumps Version.
//
// Two parts of a record never change once written, and copies of a record
// (a store's cache and what it hands out) may share them: the pipeline
// snapshot, and the action runs that have ended. Nobody modifies them in
// place: not the snapshot's slices, maps and pointers, nor the maps and
// slices of an ended run (assigning a new one to a field of one's own copy is
// fine). Advance and the events here never do.
type Execution struct {
	ID              string            `json:"id"`
	PipelineName    string            `json:"pipelineName"`
	PipelineVersion int               `json:"pipelineVersion"`
	Pipeline        pipeline.Pipeline `json:"pipeline"`
	Status          Status            `json:"status"`
	StatusSummary   string            `json:"statusSummary,omitempty"`
	Trigger         Trigger           `json:"trigger"`
	// Variables are the pipeline-level variables in force: declared defaults
	// overridden by the values given at start.
	Variables          map[string]string `json:"variables,omitempty"`
	ClientRequestToken string            `json:"clientRequestToken,omitempty"`
	// SourceRevisions are the revisions the execution was asked to run
	// its source actions on (StartPipelineExecution's sourceRevisions);
	// each source action's run is handed its own (ActionRun.SourceRevisions).
	SourceRevisions []SourceRevision `json:"sourceRevisions,omitempty"`
	Stages          []StageState     `json:"stages"`
	Actions         []ActionRun      `json:"actions"`
	Stop            *StopRequest     `json:"stop,omitempty"`
	StartTime       time.Time        `json:"startTime"`
	EndTime         time.Time        `json:"endTime,omitzero"`
	LastUpdateTime  time.Time        `json:"lastUpdateTime"`
	// Version is the optimistic-concurrency counter kept by the store.
	Version int64 `json:"version"`
	// Lane is the execution's lane (LaneOf at start; "" when the pipeline
	// declares no StageflowLane variable): its stage locks are the lane's.
	Lane string `json:"lane,omitempty"`
	// Wait is set while the execution is parked in front of a stage (its
	// lock is held, or its inbound transition is disabled).
	Wait *Wait `json:"wait,omitempty"`
	// Rollback is set on an execution that RollbackStage started: it runs
	// only that stage, with what the target execution produced before it.
	Rollback *Rollback `json:"rollback,omitempty"`
	// AutoRollback names the stage whose failure asks for an automated
	// rollback (its onFailure result is ROLLBACK, or an onSuccess
	// condition with result ROLLBACK failed): the service starts it once
	// the failure is saved (service.RollBackAutomatically).
	AutoRollback string `json:"autoRollback,omitempty"`
	// Inherited are the succeeded action runs of the stages before a
	// rolled-back stage, copied from the rollback's target: the artifacts
	// and variables the stage's actions resolve against. They are not
	// this execution's runs and are never shown as such.
	Inherited []ActionRun `json:"inherited,omitempty"`
	// Conditions are the evaluations of stages' beforeEntry and onSuccess
	// conditions, and RuleRuns the action runs of their Commands rules
	// (kept apart from Actions: they are no action of the pipeline).
	Conditions []ConditionRun `json:"conditions,omitempty"`
	RuleRuns   []ActionRun    `json:"ruleRuns,omitempty"`
	// Restarts counts the times an execution that had ended was driven
	// again (RetryStageExecution): the Step Functions driver names each
	// drive's state machine execution after it.
	Restarts int `json:"restarts,omitempty"`
	// ParkToken is the driver's token of an execution that waits on
	// something other than its own actions (the Step Functions driver keeps
	// its Park task's token here and sends it on Continue). The engine
	// never reads it; a record without it is not parked.
	ParkToken string `json:"parkToken,omitempty"`
}

// Trigger says what started an execution.
type Trigger struct {
	Type   string `json:"triggerType"`             // StartPipelineExecution, CreatePipeline, Webhook, ...
	Detail string `json:"triggerDetail,omitempty"` // e.g. the caller's identity
}

// SourceRevision asks for the source action named Action to run on a given
// revision: Type says what Value is (COMMIT_ID, IMAGE_DIGEST,
// S3_OBJECT_VERSION_ID, S3_OBJECT_KEY, as CodePipeline names them).
type SourceRevision struct {
	Action string `json:"actionName"`
	Type   string `json:"revisionType"`
	Value  string `json:"revisionValue"`
}

// Revision is the version of what an action run worked on, as its provider
// or job worker reported it (PutJobSuccessResult's currentRevision): a
// commit ID, an object version, an image digest.
type Revision struct {
	ID string `json:"revisionId"`
	// ChangeIdentifier further identifies the revision (a commit date, an
	// ETag, a deployment ID).
	ChangeIdentifier string `json:"changeIdentifier,omitempty"`
	Summary          string `json:"summary,omitempty"` // e.g. the commit message
	// Created is when the revision was made; zero when not reported.
	Created time.Time `json:"created,omitzero"`
}

// StopRequest records a StopPipelineExecution call, or a cancellation by
// the engine (Cancel: the pipeline was updated; it ends Cancelled, not
// Stopped).
type StopRequest struct {
	Abandon bool      `json:"abandon"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
	Cancel  bool      `json:"cancel,omitempty"`
	// By is who asked for the stop (the caller's principal); empty when
	// not recorded (records written before it was, the engine's own
	// cancellations, stops without a caller).
	By string `json:"by,omitempty"`
}

// Wait says where and why a parked execution waits.
type Wait struct {
	Stage  string    `json:"stage"`
	Reason string    `json:"reason"` // WaitStage or WaitTransition
	Since  time.Time `json:"since"`
}

// Rollback says what a rollback execution rolls back.
type Rollback struct {
	Stage  string `json:"stage"`
	Target string `json:"targetPipelineExecutionId"`
}

// StageState is the state of one stage of an execution.
type StageState struct {
	Name      string    `json:"name"`
	Status    Status    `json:"status,omitempty"` // empty: not reached yet
	RunOrder  int       `json:"runOrder,omitempty"`
	StartTime time.Time `json:"startTime,omitzero"`
	EndTime   time.Time `json:"endTime,omitzero"`
	// Retry is the mode of a retry asked for and not yet begun
	// (RetryFailedActions, RetryAllActions): the stage runs again when it
	// is entered next.
	Retry string `json:"retry,omitempty"`
	// ManualRetries and AutoRetries count the stage's retries;
	// LatestRetryTrigger names the latest kind (ManualStageRetry,
	// AutomatedStageRetry).
	ManualRetries      int    `json:"manualRetries,omitempty"`
	AutoRetries        int    `json:"autoRetries,omitempty"`
	LatestRetryTrigger string `json:"latestRetryTrigger,omitempty"`
	// EntryCondition and SuccessCondition are the IDs of the evaluations
	// (ConditionRun) of the stage's beforeEntry and onSuccess conditions
	// in its current entry ("" until they begin; a retry clears them).
	EntryCondition   string `json:"entryCondition,omitempty"`
	SuccessCondition string `json:"successCondition,omitempty"`
}

// ConditionRun is one evaluation of a stage's beforeEntry or onSuccess
// conditions: its rules' runs and how it ended.
type ConditionRun struct {
	ID         string `json:"id"`
	Stage      string `json:"stage"`
	StageIndex int    `json:"stageIndex"`
	Kind       string `json:"kind"` // BEFORE_ENTRY, ON_SUCCESS (the API's ConditionType)
	// Status is InProgress, Succeeded (every rule succeeded), Failed (one
	// failed: Result applied) or Overridden.
	Status  Status    `json:"status"`
	Summary string    `json:"summary,omitempty"`
	Result  string    `json:"result,omitempty"` // the result applied when it failed (FAIL, SKIP, ROLLBACK)
	Rules   []RuleRun `json:"rules"`
	// OverriddenBy is who overrode it (OverrideStageCondition).
	OverriddenBy   string    `json:"overriddenBy,omitempty"`
	StartTime      time.Time `json:"startTime"`
	LastUpdateTime time.Time `json:"lastUpdateTime"`
	EndTime        time.Time `json:"endTime,omitzero"`
}

// RuleRun is one rule of a condition run.
type RuleRun struct {
	ID        string              `json:"id"`
	Condition int                 `json:"condition"` // the condition's index in its stage's list
	Index     int                 `json:"index"`     // the rule's index in its condition
	Name      string              `json:"name"`
	Type      pipeline.RuleTypeID `json:"ruleTypeId"`
	Status    Status              `json:"status"` // InProgress, Succeeded, Failed, Abandoned
	Summary   string              `json:"summary,omitempty"`
	// ResolvedConfiguration is the configuration with its references
	// replaced, as it was evaluated.
	ResolvedConfiguration map[string]string `json:"resolvedConfiguration,omitempty"`
	// RecheckAt is when a rule in progress is evaluated again (a closed
	// deployment window); zero when it waits for a run.
	RecheckAt time.Time `json:"recheckAt,omitzero"`
	// RunID is the action run of a Commands rule (in RuleRuns).
	RunID          string    `json:"runId,omitempty"`
	StartTime      time.Time `json:"startTime"`
	LastUpdateTime time.Time `json:"lastUpdateTime"`
	EndTime        time.Time `json:"endTime,omitzero"`
}

// Condition types, as the API names them.
const (
	ConditionBeforeEntry = "BEFORE_ENTRY"
	ConditionOnSuccess   = "ON_SUCCESS"
)

// Stage retry modes and triggers, as the API names them.
const (
	RetryFailedActions = "FAILED_ACTIONS"
	RetryAllActions    = "ALL_ACTIONS"
	ManualStageRetry   = "ManualStageRetry"
	AutoStageRetry     = "AutomatedStageRetry"
)

// ArtifactRef names an artifact and where it is stored (the artifact store's
// bucket and object key, as CodePipeline names S3 locations).
type ArtifactRef struct {
	Name   string `json:"name"`
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
	// Revision is the revision ID the run that produced the artifact
	// reported (its CurrentRevision), if any.
	Revision string `json:"revision,omitempty"`
}

// ActionRun is one attempt of one action in one execution. Once it has
// ended (a terminal Status) it never changes: stores may write it once and
// share it between copies of the execution (see Execution).
type ActionRun struct {
	ID          string                `json:"id"`
	StageIndex  int                   `json:"stageIndex"`
	ActionIndex int                   `json:"actionIndex"`
	Stage       string                `json:"stage"`
	Action      string                `json:"action"`
	RunOrder    int                   `json:"runOrder"`
	Attempt     int                   `json:"attempt"`
	Type        pipeline.ActionTypeID `json:"actionTypeId"`
	Namespace   string                `json:"namespace,omitempty"`
	Status      Status                `json:"status"`
	// Token is the completion token of the action's job: the job ID for
	// custom actions, the approval token for approvals.
	Token string `json:"token"`
	// Resolved inputs: configuration with every variable reference
	// substituted, environment variables resolved. Commands are kept as
	// written, references included: the engine knows no shell, so it never
	// pastes a value into shell text. References holds the value of every
	// reference of the commands, configuration and environment variables,
	// by "namespace.name", as resolved when the run started; a provider
	// that runs commands gives them to the shell as data (see
	// shared/actions/shellref).
	Configuration        map[string]string `json:"configuration,omitempty"`
	Commands             []string          `json:"commands,omitempty"`
	References           map[string]string `json:"references,omitempty"`
	EnvironmentVariables map[string]string `json:"environmentVariables,omitempty"`
	InputArtifacts       []ArtifactRef     `json:"inputArtifacts,omitempty"`
	OutputArtifacts      []ArtifactRef     `json:"outputArtifacts,omitempty"`
	TimeoutInMinutes     int               `json:"timeoutInMinutes,omitempty"`
	// SourceRevisions are the execution's SourceRevisions for this action
	// (a source action): the revision its provider is asked to fetch.
	SourceRevisions []SourceRevision `json:"sourceRevisions,omitempty"`
	// Results.
	OutputVariables      map[string]string `json:"outputVariables,omitempty"`
	Summary              string            `json:"summary,omitempty"`
	ErrorCode            string            `json:"errorCode,omitempty"`
	ErrorMessage         string            `json:"errorMessage,omitempty"`
	ExternalExecutionID  string            `json:"externalExecutionId,omitempty"`
	ExternalExecutionURL string            `json:"externalExecutionUrl,omitempty"`
	LogLocation          string            `json:"logLocation,omitempty"`
	UpdatedBy            string            `json:"updatedBy,omitempty"`
	// CurrentRevision is the revision the run reported having worked on.
	CurrentRevision *Revision `json:"currentRevision,omitempty"`
	StartTime       time.Time `json:"startTime"`
	LastUpdateTime  time.Time `json:"lastUpdateTime"`
	EndTime         time.Time `json:"endTime,omitzero"`
	// Rule, set on a run of a Commands rule of a stage condition (in
	// Execution.RuleRuns), names the condition run and the rule.
	Rule *RuleRef `json:"rule,omitempty"`
	// CallbackToken is the driver's token for the run's completion, set
	// while the run is in progress (the Step Functions driver keeps its
	// Dispatch task's token here, and Complete sends it). The engine never
	// reads it.
	CallbackToken string `json:"callbackToken,omitempty"`
}

// RuleRef names the rule a run of Execution.RuleRuns runs.
type RuleRef struct {
	ConditionRun string `json:"conditionRun"`
	Condition    int    `json:"condition"`
	Index        int    `json:"index"`
}

// Result is how an action run ends: reported by its provider, a job worker
// (PutJobSuccessResult / PutJobFailureResult) or an approver.
type Result struct {
	Status               Status // Succeeded or Failed (Abandoned for interrupted runs)
	Summary              string
	ErrorCode            string // e.g. JobFailed, ConfigurationError, PermissionError, Interrupted
	ErrorMessage         string
	OutputVariables      map[string]string
	ExternalExecutionID  string
	ExternalExecutionURL string
	LogLocation          string
	UpdatedBy            string
	// CurrentRevision, if set, is the revision the run worked on; it is
	// recorded on the run and on each of its output artifacts.
	CurrentRevision *Revision
}

// Decision is what Advance tells its driver to do next.
type Decision struct {
	// Wave lists the action runs that Advance has just started: the driver
	// starts each with its provider and reports each end with Complete.
	Wave []ActionRun
	// Status is the execution's status after the step; Terminal tells
	// whether the driver's loop for this execution is over.
	Status   Status
	Terminal bool
	// Enter, set by Advance only when Env.Gated, names the stage the
	// execution asks to enter: Step decides with the stage locks and
	// advances again (drivers never see it set).
	Enter string
	// Wait is set when the execution is parked in front of a stage: the
	// driver runs nothing for it until it is resumed (Continue).
	Wait *Wait
	// RecheckAt, when set, is when a condition's rule waiting for a time
	// (a deployment window) is evaluated again: the driver continues the
	// execution then (a timer, not a poll).
	RecheckAt time.Time
	// Changed are the other executions the step changed and saved with it
	// (through the stage locks): the ones handed a stage, to resume with
	// Continue, and the ones it ended (superseded, cancelled), whose ends
	// the driver publishes.
	Changed []*Execution
}

// Env injects the clock and ID source.
type Env struct {
	Now   func() time.Time
	NewID func() string
	// LogLocation, if set, names where the log of an action run will be,
	// recorded on the run when it is created (so that starting an action
	// costs no extra write).
	LogLocation func(executionID, runID string) string
	// ArtifactBucket names the bucket artifact references point into when the
	// pipeline declares no artifact store (locally: the data folder).
	ArtifactBucket string
	// Gated makes Advance stop in front of every stage it has not entered
	// and ask for it (Decision.Enter); Admitted is the stage it may enter.
	// Step sets both for a store that keeps stage locks; without them
	// every stage is entered at once (as in PARALLEL mode).
	Gated    bool
	Admitted string
}
