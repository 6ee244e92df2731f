// Package store documents the whole persistence contract of Stageflow. Each
// consumer declares the narrow interface it needs (the engine declares
// engine.ExecutionStore); every implementation (sqlite, dynamo) satisfies
// Store, and storetest is the conformance suite all of them pass.
//
// Errors are *errs.Error: NotFound when a record is missing, Conflict when a
// record exists already or an update's Version does not match the stored one.
// Every update is optimistic: the caller passes the record it read; the store
// writes only if the stored Version equals it, and bumps Version on success.
//
// Records a store returns belong to the caller (changing one changes nothing
// stored), and so does a record after the call that stored it. Times come
// back as the same instants, not necessarily in the same location (sqlite
// returns UTC). A malformed Page.Token is a Validation error.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Pipeline is one version of a pipeline declaration. Every version is kept.
type Pipeline struct {
	Name        string            `json:"name"`
	Version     int               `json:"version"` // 1, 2, 3, … (the declaration's own version field mirrors it)
	Declaration pipeline.Pipeline `json:"declaration"`
	Tags        []pipeline.Tag    `json:"tags,omitempty"`
	Created     time.Time         `json:"created"` // when version 1 was created
	Updated     time.Time         `json:"updated"` // when this version was created
}

// PipelineSummary is a row of ListPipelines: the latest version of each.
// PipelineType and ExecutionMode are the effective ones (V1 and SUPERSEDED
// when the declaration leaves them out).
type PipelineSummary struct {
	Name          string    `json:"name"`
	Version       int       `json:"version"`
	PipelineType  string    `json:"pipelineType,omitempty"`
	ExecutionMode string    `json:"executionMode,omitempty"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
}

// Page asks for one page of a listing. Token is the opaque NextToken of the
// previous page ("" for the first); Limit ≤ 0 means the store's default (100).
type Page struct {
	Token string
	Limit int
}

// ExecutionFilter narrows ListExecutions.
type ExecutionFilter struct {
	PipelineName string // required
	Status       engine.Status
}

// ExecutionSummary is a row of ListExecutions, newest first.
type ExecutionSummary struct {
	ID              string         `json:"id"`
	PipelineName    string         `json:"pipelineName"`
	PipelineVersion int            `json:"pipelineVersion"`
	Status          engine.Status  `json:"status"`
	StatusSummary   string         `json:"statusSummary,omitempty"`
	Trigger         engine.Trigger `json:"trigger"`
	StartTime       time.Time      `json:"startTime"`
	LastUpdateTime  time.Time      `json:"lastUpdateTime"`
	// Listing is what ListPipelineExecutions shows of the record besides
	// the above, as of its last write; nil for a row a store wrote before
	// it kept it (read the record for it).
	Listing *Listing `json:"listing,omitempty"`
}

// Listing is the part of an execution summary that stores keep beside the
// record at every write (ListingOf), so that listing needs no record read.
type Listing struct {
	ExecutionMode   string                  `json:"executionMode,omitempty"`
	Stop            *engine.StopRequest     `json:"stop,omitempty"`
	SourceRevisions []engine.ListedRevision `json:"sourceRevisions,omitempty"`
	Rollback        *engine.Rollback        `json:"rollback,omitempty"`
	// Lane is the execution's lane (engine.Execution.Lane). Listings
	// written before it was kept read as lane ""; for an execution of a
	// pipeline version that declares lanes that may be untrue, so readers
	// take the record's lane then (the service does).
	Lane string `json:"lane,omitempty"`
}

// ListingOf is the Listing of an execution.
func ListingOf(e *engine.Execution) *Listing {
	return &Listing{ExecutionMode: e.Pipeline.EffectiveExecutionMode(), Stop: e.Stop, SourceRevisions: e.ListedSourceRevisions(),
		Rollback: e.Rollback, Lane: e.Lane}
}

// PrunedExecution names an execution PruneExecutions deleted, for the caller
// to remove what it keeps beside the store (logs, artifacts).
type PrunedExecution struct {
	ID           string    `json:"id"`
	PipelineName string    `json:"pipelineName"`
	StartTime    time.Time `json:"startTime"`
}

// JobStatus is the status of a custom-action job, as CodePipeline names them.
type JobStatus string

// Job statuses.
const (
	JobCreated    JobStatus = "Created"
	JobQueued     JobStatus = "Queued"
	JobDispatched JobStatus = "Dispatched"
	JobInProgress JobStatus = "InProgress"
	JobTimedOut   JobStatus = "TimedOut"
	JobSucceeded  JobStatus = "Succeeded"
	JobFailed     JobStatus = "Failed"
)

// Job is a unit of work for a job worker: one action run of a custom (or
// other worker-served) action type. Its ID is the action run's completion token.
type Job struct {
	ID           string                `json:"id"`
	Nonce        string                `json:"nonce"`
	ActionTypeID pipeline.ActionTypeID `json:"actionTypeId"`
	ExecutionID  string                `json:"executionId"`
	ActionRunID  string                `json:"actionRunId"`
	PipelineName string                `json:"pipelineName"`
	Status       JobStatus             `json:"status"`
	// Data is the job's payload as the API returns it (configuration,
	// artifacts, credentials); the store keeps it opaque.
	Data json.RawMessage `json:"data,omitempty"`
	// ContinuationToken is set by PutJobSuccessResult with a continuation
	// token: the job goes back to the queue for the same action run.
	ContinuationToken string    `json:"continuationToken,omitempty"`
	Created           time.Time `json:"created"`
	Updated           time.Time `json:"updated"`
	// Deadline is when the job times out if it has not completed.
	Deadline time.Time `json:"deadline,omitzero"`
	Version  int64     `json:"version"`
}

// CustomActionType is a registered custom action type (CreateCustomActionType).
type CustomActionType struct {
	ID pipeline.ActionTypeID `json:"id"`
	// Definition is the rest of the declaration as given (settings,
	// configuration properties, artifact details), kept opaque.
	Definition json.RawMessage `json:"definition,omitempty"`
	Created    time.Time       `json:"created"`
}

// Store is the whole contract.
type Store interface {
	// Pipelines. CreatePipeline stores version 1 (Conflict if the name is
	// taken); UpdatePipeline stores the next version and returns it
	// (NotFound if the pipeline does not exist); GetPipeline with version 0
	// returns the latest; DeletePipeline removes every version and every
	// execution of the pipeline, with their runs, client request
	// tokens and jobs, and its stage locks record, so that a pipeline
	// created later under the name starts with an empty history and free
	// stages (the caller stops the executions still going first). The store sets Version and mirrors it in the
	// declaration; Created/Updated default to now; UpdatePipeline keeps
	// version 1's Created and, when p.Tags is nil, the previous Tags.
	CreatePipeline(ctx context.Context, p *Pipeline) error
	UpdatePipeline(ctx context.Context, p *Pipeline) (*Pipeline, error)
	GetPipeline(ctx context.Context, name string, version int) (*Pipeline, error)
	ListPipelines(ctx context.Context, page Page) ([]PipelineSummary, string, error)
	DeletePipeline(ctx context.Context, name string) error

	// Executions. CreateExecution stores a new execution with Version 1;
	// when ClientRequestToken is set and an execution of the same pipeline
	// already used it, it returns that execution and Conflict is not raised
	// (idempotency: created=false). UpdateExecution writes e only if the
	// stored Version equals e.Version (Conflict otherwise) and then sets
	// e.Version to the new value. The pipeline snapshot (e.Pipeline) is
	// written by CreateExecution only: an execution runs one pipeline
	// version, so updates leave the stored snapshot as it is. Likewise an
	// action run that has ended never changes (engine.ActionRun): a store
	// may write it once. A record handed in or out is the caller's own,
	// except for those parts, which copies may share and nobody modifies
	// in place (engine.Execution).
	CreateExecution(ctx context.Context, e *engine.Execution) (stored *engine.Execution, created bool, err error)
	GetExecution(ctx context.Context, id string) (*engine.Execution, error)
	UpdateExecution(ctx context.Context, e *engine.Execution) error
	ListExecutions(ctx context.Context, f ExecutionFilter, page Page) ([]ExecutionSummary, string, error)
	// ExecutionByRunToken returns the execution holding the action run
	// whose completion token (engine.ActionRun.Token) is token, however old
	// the execution (NotFound when no stored run has it). It serves
	// approvals, at human pace: a store may read every execution for it
	// rather than make every write index tokens (SQLite does).
	ExecutionByRunToken(ctx context.Context, token string) (*engine.Execution, error)
	// ListActiveExecutions returns the IDs of every execution whose status
	// is InProgress or Stopping (for a driver that resumes after restart).
	ListActiveExecutions(ctx context.Context) ([]string, error)
	// PruneExecutions enforces the retention of execution history: it
	// deletes up to max executions that have ended (any status but
	// InProgress and Stopping) and started before `before`, oldest first,
	// each with everything kept of it (ended runs, client request token,
	// jobs), and returns them; fewer than max returned means none is left.
	// max ≤ 0 means 100. An execution in progress or stopping is never
	// deleted, however old. A store that expires ended executions on its
	// own (SelfPruning) may delete nothing and return none.
	PruneExecutions(ctx context.Context, before time.Time, max int) ([]PrunedExecution, error)

	// Stage locks (engine.PipelineLocks): one record per pipeline, shared
	// by its executions, which the engine decides on and the store only
	// stores. GetPipelineLocks returns the pipeline's record; a pipeline
	// without one (none written yet, or deleted with its pipeline) has an
	// empty record of Version 0 (Pipeline set, no lanes, no transitions),
	// not NotFound, whether or not the pipeline exists. UpdateLocks writes
	// locks and the given executions in one atomic write, all or nothing:
	// locks only if the stored record's Version equals locks.Version
	// (0: there must be none; Conflict otherwise, KindPipeline), each
	// execution as UpdateExecution does (NotFound when missing, Conflict,
	// KindPipelineExecution, when its Version is stale: it is updated,
	// never created). On success it bumps locks.Version and every
	// execution's Version; on any error nothing is written and no Version
	// changes. Validation (CheckLocksUpdate) when locks names no pipeline
	// or breaks engine.PipelineLocks.Validate, or an execution is of
	// another pipeline or given twice; LimitExceeded when the write does
	// not fit in one atomic write of the store (DynamoDB: 100 items in
	// all, see its package). DeletePipeline removes the record.
	GetPipelineLocks(ctx context.Context, pipeline string) (*engine.PipelineLocks, error)
	UpdateLocks(ctx context.Context, locks *engine.PipelineLocks, executions []*engine.Execution) error

	// Jobs. CreateJob stores a job (Conflict on a duplicate ID). PollJobs
	// atomically hands out up to max Queued jobs of the action type,
	// oldest first, marking them Dispatched (max ≤ 0 means 1). UpdateJob is
	// optimistic like UpdateExecution. CreateJob sets Version 1; an empty
	// Status means Queued.
	CreateJob(ctx context.Context, j *Job) error
	GetJob(ctx context.Context, id string) (*Job, error)
	PollJobs(ctx context.Context, typ pipeline.ActionTypeID, max int, now time.Time) ([]*Job, error)
	UpdateJob(ctx context.Context, j *Job) error
	// ListExpiredJobs returns jobs not yet finished (neither Succeeded,
	// Failed nor TimedOut) whose Deadline is set and before now.
	ListExpiredJobs(ctx context.Context, now time.Time) ([]*Job, error)

	// Custom action types.
	CreateActionType(ctx context.Context, t *CustomActionType) error
	DeleteActionType(ctx context.Context, id pipeline.ActionTypeID) error
	ListActionTypes(ctx context.Context) ([]CustomActionType, error)

	// Tags of any resource (by ARN).
	TagResource(ctx context.Context, arn string, tags []pipeline.Tag) error
	UntagResource(ctx context.Context, arn string, keys []string) error
	ListTags(ctx context.Context, arn string) ([]pipeline.Tag, error)

	// Access keys and the policies of principals.
	AccessKeyStore

	// Connections and CodeCommit repository names (connections.go).
	ConnectionStore
	// V1 webhooks (PutWebhook).
	WebhookStore

	Close() error
}

// AccessKey is an access key of the server: who signs with it (User, named
// in the principal ARN), the policies attached to it, and its secret,
// sealed (never stored in the clear; the service seals and opens it).
type AccessKey struct {
	ID          string `json:"id"`
	User        string `json:"user"`
	Description string `json:"description,omitempty"`
	// Policies are the policies attached to the key, in attachment order.
	Policies []AttachedPolicy `json:"policies"`
	// Secret is the secret access key sealed with the key ID as additional
	// data (service.Sealer).
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
	// LastUsed is the last time a request verified with the key (zero:
	// never), recorded at most about once a minute.
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// AttachedPolicy is a policy attached to a key or a principal: a built-in
// policy (Name only) or a document of the caller's (Name, as the caller
// named it, and Document, IAM's JSON policy language).
type AttachedPolicy struct {
	Name     string `json:"name"`
	Document string `json:"document,omitempty"`
}

// PrincipalPolicies are the policies attached to a principal the server does
// not hold keys for (an IAM principal ARN deployed, a console group).
type PrincipalPolicies struct {
	Principal string           `json:"principal"`
	Policies  []AttachedPolicy `json:"policies"`
	Updated   time.Time        `json:"updated"`
}

// AccessKeyStore keeps the server's access keys and the policies attached
// to principals. CreateAccessKey stores a new key (Conflict if the ID
// exists; Validation without an ID or a user; Created defaults to now, set
// in k too); GetAccessKey and DeleteAccessKey answer NotFound for an unknown
// ID; ListAccessKeys returns every key, oldest first (then by ID);
// TouchAccessKey sets LastUsed to at when at is later than the stored value
// and changes nothing otherwise (NotFound for an unknown ID).
// PutPrincipalPolicies replaces a principal's policies (Validation without
// a principal; Updated defaults to now, set in p too; an empty list removes
// the record, and removing none is no error); GetPrincipalPolicies answers
// NotFound for a principal with none. Errors name KindAccessKey for keys,
// KindPolicy for principals' policies.
type AccessKeyStore interface {
	CreateAccessKey(ctx context.Context, k *AccessKey) error
	GetAccessKey(ctx context.Context, id string) (*AccessKey, error)
	ListAccessKeys(ctx context.Context) ([]AccessKey, error)
	DeleteAccessKey(ctx context.Context, id string) error
	TouchAccessKey(ctx context.Context, id string, at time.Time) error
	PutPrincipalPolicies(ctx context.Context, p *PrincipalPolicies) error
	GetPrincipalPolicies(ctx context.Context, principal string) (*PrincipalPolicies, error)
}

// Webhook is a V1 webhook (PutWebhook): its definition as CodePipeline
// documents it, with the SecretToken of GITHUB_HMAC taken out of it and
// kept sealed in Secret (service.Sealer, the webhook's name as additional
// data), and the random ID its URL ends with.
type Webhook struct {
	Name string `json:"name"`
	// URLID is the last segment of the webhook's URL
	// (/webhooks/v1/<URLID>): random, unique among webhooks.
	URLID string `json:"urlId"`
	// Definition is the WebhookDefinition as given, without SecretToken.
	Definition json.RawMessage `json:"definition"`
	Secret     []byte          `json:"secret,omitempty"`
	// Registered: RegisterWebhookWithThirdParty was called (and not
	// DeregisterWebhookWithThirdParty since).
	Registered    bool      `json:"registered,omitempty"`
	LastTriggered time.Time `json:"lastTriggered,omitzero"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
}

// WebhookStore keeps V1 webhooks. PutWebhook creates or replaces the webhook
// of w.Name (Validation without a name or a URL ID; Conflict when another
// webhook has the URL ID; Created kept from the replaced one, Updated
// defaults to now, both set in w too); GetWebhook and DeleteWebhook answer
// NotFound for an unknown name, WebhookByURLID for an unknown URL ID;
// ListWebhooks pages by name. Errors name KindWebhook.
type WebhookStore interface {
	PutWebhook(ctx context.Context, w *Webhook) error
	GetWebhook(ctx context.Context, name string) (*Webhook, error)
	WebhookByURLID(ctx context.Context, urlID string) (*Webhook, error)
	ListWebhooks(ctx context.Context, page Page) ([]Webhook, string, error)
	DeleteWebhook(ctx context.Context, name string) error
}

// SelfPruning is implemented by a store that expires ended executions on its
// own (a DynamoDB TTL set when an execution ends, from its start time and
// the retention), whose PruneExecutions may then delete nothing. Files kept
// beside such a store are pruned by their own means (S3 lifecycle rules).
// The conformance suite checks only that its PruneExecutions fails nothing
// and never deletes an execution in progress.
type SelfPruning interface {
	PrunesItself() bool
}

// ExecutionStore is satisfied by every Store.
var _ engine.ExecutionStore = Store(nil)
