// Package actions is the Provider contract: every action, whatever its
// provider, is a job with a completion token. A provider either runs the job
// to its end here (Commands, CodeBuild run locally) and returns the result,
// or leaves it waiting for its token (approvals, custom actions served by job
// workers), in which case the result arrives later through the API.
//
// One package per provider sits beside this one; Registry maps action types
// to them.
package actions

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// Job is one action run handed to a provider. The runner makes a new Job for
// every call of Provider.Run; the provider may keep it while Run runs, and
// must not use WorkDir or Log once Run has returned.
type Job struct {
	PipelineName string
	ExecutionID  string
	// Run holds the resolved inputs: configuration, commands, environment
	// variables, input and output artifact locations, timeout, token. It is
	// a copy: changing it changes nothing in the execution.
	Run engine.ActionRun
	// Action is the declaration as written (output variable names, output
	// artifact files, environment variable types).
	Action pipeline.Action
	// WorkDir is a directory of this run's own (<data-dir>/work/<execution>/
	// <run>), created before Run is called and empty unless a provider wrote
	// there. The provider may write anything inside it; nothing else uses
	// it. The runner removes it once Run has returned, except after a
	// failure, when it is kept for a while for the user to look at.
	WorkDir string
	// Log is the run's log file (<data-dir>/logs/<execution>/<run>.log),
	// which the API serves and `stageflow logs` shows. The provider writes
	// the action's output to it while Run runs; the runner closes it when
	// Run returns, so a provider must not hand it to anything that outlives
	// the call.
	Log io.Writer
	// Artifacts reads and writes artifacts. A provider downloads the run's
	// inputs from the locations in Run.InputArtifacts and uploads its
	// outputs to those in Run.OutputArtifacts, and touches no other key.
	Artifacts Artifacts
}

// Artifacts is the artifact store as providers see it: zip files at a
// bucket and object key.
type Artifacts interface {
	// Download unpacks the artifact into dir.
	Download(ctx context.Context, bucket, key, dir string) error
	// Upload stores the zip read from r.
	Upload(ctx context.Context, bucket, key string, r io.Reader) error
}

// Provider runs jobs of one action type.
//
// Who calls Run, and when: the local runner (shared/runner), once per action
// run that the engine starts, each call in a goroutine of its own. Before the
// call the runner creates the run's log file (Job.Log) and work directory
// (Job.WorkDir); an existing log file is how a later Resume knows that the run
// was handed to its provider. A run of a MachineBound provider may first wait
// for a slot (the runner caps how many run at once): it is not handed over,
// and no log file exists, until it has one. When Run returns a result, the runner records it
// with engine.Complete, which advances the execution.
//
// Concurrency: one Provider value serves every run of its action types, and
// Run is called concurrently — for the actions of one wave and for any number
// of executions at once. A provider must be safe for concurrent use and keep
// the state of a run in its Job, its WorkDir or its store, never in fields of
// its own that another run could see.
//
// The context: ctx is canceled when the run is abandoned (a stop with
// abandon), when the runner shuts down and its Close deadline passes, and
// once Run has returned. A provider stops its work promptly on cancellation
// (kills its processes) and returns a failed result; the runner records any
// result that is not Succeeded from a canceled run as CodeInterrupted, and
// ignores a result for a run the engine has already ended (abandoned). The
// runner enforces the engine's timeout of the run (engine.ActionTimeout,
// counted from when Run is called, or from the run's start after a restart):
// at its deadline it fails a run still in progress with engine.CodeTimedOut
// and cancels ctx. A provider may enforce a timeout of its own as well, no
// longer than the engine's (a build's timeout, failing with
// engine.CodeTimedOut), or hand the deadline to its store (a custom job's
// deadline is engine.Deadline).
//
// The result: a non-nil *engine.Result means the job ran to its end inside
// Run (Commands, CodeBuild). The runner fills in what the provider left
// empty: the log location, and an error message for a failure. A nil result
// means the result arrives later through the run's completion token
// (Job.Run.Token), reported with Runner.Complete — by PutApprovalResult for
// an approval, by a job worker's PutJobSuccessResult or PutJobFailureResult
// for a custom job. Such a provider records what the token needs (in the
// store, where a restart finds it) and returns nil at once: the runner's
// Close waits for every Run call to return.
//
// Failures: a failure of the action — bad configuration, a failing command,
// a missing artifact, a timeout — is a Result with status Failed, an
// ErrorCode (engine.CodeConfigurationError, engine.CodeJobFailed,
// engine.CodeTimedOut, …) and an ErrorMessage, with the details in Job.Log.
// Run never panics; the runner turns a panic into a failed result only as a
// last resort.
//
// After a restart, Runner.Resume looks at every run the store still has
// InProgress: a run never handed to its provider (no log file) is started
// now, with a new call of Run; a handed-over run whose provider is Resumable
// is left waiting for its token — Run is not called again, so a resumable
// provider must need nothing of the process that started the run (an
// approval's token, a queued job, are in the store); a handed-over run of a
// provider that is not Resumable is failed with engine.CodeInterrupted.
type Provider interface {
	// Run performs the job. It returns the result when the job ran to its
	// end here, or nil when the result will arrive through the job's
	// completion token. A failure of the action is a result with status
	// Failed, never a panic.
	Run(ctx context.Context, job *Job) *engine.Result
	// Resumable reports whether a run handed to this provider and left
	// InProgress when the process stopped goes on after a restart (it waits
	// on a token that is still valid, and Run is not called again) rather
	// than being failed as interrupted. It is a property of the provider,
	// not of one run, and must not change.
	Resumable() bool
}

// MachineBound is implemented by a provider whose runs occupy this machine
// while Run runs: they start processes here (Commands, CodeBuild on the host
// shell). The local runner caps how many such runs go at once and queues the
// others; runs of other providers (approvals, custom jobs served by job
// workers, types that fail at once) never wait for a slot.
type MachineBound interface {
	OccupiesMachine() bool
}

// OccupiesMachine reports whether runs of p count against the local
// runner's cap of parallel actions.
func OccupiesMachine(p Provider) bool {
	m, ok := p.(MachineBound)
	return ok && m.OccupiesMachine()
}

// Registry maps action types to providers.
type Registry struct {
	mu       sync.RWMutex
	byType   map[string]Provider // owner/provider
	byOwner  map[string]Provider // a provider for every type of an owner (Custom)
	fallback func(pipeline.ActionTypeID) Provider
}

// NewRegistry makes an empty registry. fallback, if not nil, is asked for
// types nothing was registered for.
func NewRegistry(fallback func(pipeline.ActionTypeID) Provider) *Registry {
	return &Registry{byType: map[string]Provider{}, byOwner: map[string]Provider{}, fallback: fallback}
}

// Register serves owner/provider with p (any version).
func (r *Registry) Register(owner, provider string, p Provider) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byType[owner+"/"+provider] = p
}

// RegisterOwner serves every type of an owner with p.
func (r *Registry) RegisterOwner(owner string, p Provider) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byOwner[owner] = p
}

// Lookup returns the provider of an action type.
func (r *Registry) Lookup(t pipeline.ActionTypeID) (Provider, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p, ok := r.byType[t.Owner+"/"+t.Provider]; ok {
		return p, nil
	}
	if p, ok := r.byOwner[t.Owner]; ok {
		return p, nil
	}
	if r.fallback != nil {
		if p := r.fallback(t); p != nil {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no provider for action type %s", t)
}

// Failed makes a failed result.
func Failed(code, format string, args ...any) *engine.Result {
	return &engine.Result{Status: engine.Failed, ErrorCode: code, ErrorMessage: fmt.Sprintf(format, args...)}
}

// Unsupported is the provider of action types that need AWS: it fails every
// job at once with a message that says so, never silently.
type Unsupported struct {
	// Where says where the type does run, e.g. "when Stageflow is deployed to AWS".
	Where string
}

var _ Provider = Unsupported{}

// Run fails the job.
func (u Unsupported) Run(_ context.Context, job *Job) *engine.Result {
	where := u.Where
	if where == "" {
		where = "when Stageflow is deployed to AWS"
	}
	return Failed("ConfigurationError", "action type %s (provider %s) runs only %s; this local Stageflow cannot run it",
		job.Run.Type, job.Run.Type.Provider, where)
}

// Resumable is false: nothing was started.
func (Unsupported) Resumable() bool { return false }
