// Package service is Stageflow's service layer: every verb of the API,
// written once, in CodePipeline's API shapes (types.go), for every door (the
// REST and CodePipeline doors under shared/api, the local command line).
//
// The service declares what it needs and is handed it: a Store (store.go)
// and a Driver that runs executions (the local runner now, the Step
// Functions driver when deployed). It reads who is calling from the request
// context (caller.go) and asks one authorization hook before every
// operation (authorize.go). Errors are *errs.Error with domain codes and
// kinds; the doors turn them into statuses and exception names in one table
// (shared/api/apierr).
package service

import (
	"cmp"
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/seal"
	"github.com/stageflow/stageflow/shared/store"
)

// Driver runs executions: the service creates the record of an execution,
// and the driver takes it from there.
type Driver interface {
	// Begin drives a newly created execution from its first step. It must
	// not block until the execution ends.
	Begin(ctx context.Context, executionID string) error
	// Complete reports the end of an action run (a job worker's result, an
	// approval, a timeout) and advances its execution.
	Complete(ctx context.Context, executionID, runID string, res engine.Result) error
	// Stop asks an execution to stop: abandon ends its running actions at
	// once, otherwise they finish first. by is who asked (recorded in the
	// execution's StopRequest; "" when no caller is known).
	Stop(ctx context.Context, executionID string, abandon bool, reason, by string) error
	// Continue advances an execution that was waiting on something other
	// than its own actions (a stage lock, a disabled transition) and
	// dispatches what it decides; a no-op for one that is not waiting.
	Continue(ctx context.Context, executionID string) error
	// Apply applies an event to an execution that is going on (a stage
	// condition overridden) and dispatches what it decides.
	Apply(ctx context.Context, executionID string, ev engine.Event) error
	// Retry applies an event that drives an ended execution again (a
	// stage retry) and dispatches what it decides.
	Retry(ctx context.Context, executionID string, ev engine.Event) error
	// Control applies a change of a pipeline's stage locks (a transition
	// disabled or enabled, the pipeline updated) and resumes or ends the
	// executions it changes.
	Control(ctx context.Context, pipelineName string, op engine.LockOp) error
}

// Config assembles a Service.
type Config struct {
	Store  Store
	Driver Driver
	// Now and NewID default to the wall clock (UTC) and random UUIDs.
	Now   func() time.Time
	NewID func() string
	// Region and Account make ARNs (arn:aws:codepipeline:<region>:<account>:<name>).
	Region, Account string
	// ArtifactKey (ArtifactKeySize random bytes) derives each job's
	// artifactCredentials (artifactkeys.go); nil: jobs carry none.
	ArtifactKey []byte
	// JobCredentials, when set, issues each job's artifactCredentials
	// instead of ArtifactKey (deployed: an STS session limited to the job's
	// input and output objects, shared/artifacts/sts). read and write are
	// the job's input and output artifacts.
	JobCredentials func(ctx context.Context, job *store.Job, read, write []engine.ArtifactRef) (*AWSSessionCredentials, error)
	// Authorize is asked before every operation; nil allows everything.
	Authorize Authorizer
	// Events, when set, is where the stream operations (WatchExecution)
	// learn of changes; the driver publishes to it.
	Events *Events
	// NoFirstExecution: creating a pipeline starts nothing. CodePipeline,
	// and the service by default, start a first execution (trigger type
	// CreatePipeline); tests that count executions, or that want a pipeline
	// at rest, set this. WithoutFirstExecution does the same for one call.
	NoFirstExecution bool
	// MaxWaitingExecutions bounds the executions of one pipeline waiting
	// for a stage (0: DefaultMaxWaitingExecutions): a start past it is
	// refused with ConcurrentPipelineExecutionsLimitExceededException.
	MaxWaitingExecutions int
	// Keys keeps the server's access keys and the policies attached to
	// principals, whose secrets Sealer seals; without both, the server
	// keeps no keys (it runs without authentication).
	Keys   store.AccessKeyStore
	Sealer seal.Sealer
	// WebhookBaseURL, when set, starts every webhook URL (scheme and host,
	// such as https://ci.example.com); otherwise the URL is made from the
	// request that asks for it (WithBaseURL).
	WebhookBaseURL string
	// Logger receives what the service does on its own, outside any
	// request (the first execution of a new pipeline); nil discards it.
	Logger *slog.Logger
}

// Service implements every operation once for every door.
type Service struct {
	store       Store
	driver      Driver
	now         func() time.Time
	newID       func() string
	region      string
	account     string
	artifactKey []byte
	jobCreds    func(ctx context.Context, job *store.Job, read, write []engine.ArtifactRef) (*AWSSessionCredentials, error)
	authz       Authorizer
	events      *Events
	// noFirstExecution: CreatePipeline starts nothing (Config.NoFirstExecution).
	noFirstExecution bool
	maxWaiting       int
	log              *slog.Logger
	keys             store.AccessKeyStore
	sealer           seal.Sealer
	uses             keyUses
	console          consoleState // console sign-in links and sessions (console.go)
	webhookBase      string       // Config.WebhookBaseURL
}

// New makes a Service.
func New(cfg Config) *Service {
	s := &Service{
		store: cfg.Store, driver: cfg.Driver, now: cfg.Now, newID: cfg.NewID,
		region: cfg.Region, account: cfg.Account, artifactKey: cfg.ArtifactKey, jobCreds: cfg.JobCredentials, authz: cfg.Authorize, events: cfg.Events,
		noFirstExecution: cfg.NoFirstExecution, log: cfg.Logger, keys: cfg.Keys, sealer: cfg.Sealer,
		maxWaiting:  cmp.Or(cfg.MaxWaitingExecutions, DefaultMaxWaitingExecutions),
		webhookBase: strings.TrimSuffix(cfg.WebhookBaseURL, "/"),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	if s.authz == nil {
		s.authz = AllowAll
	}
	return s
}

// Region is the region named in ARNs.
func (s *Service) Region() string { return s.region }

// Events is the change hub the service was given (nil when none).
func (s *Service) Events() *Events { return s.events }
