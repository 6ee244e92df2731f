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

// Job is one action run handed to a provider.
type Job struct {
	PipelineName string
	ExecutionID  string
	// Run holds the resolved inputs: configuration, commands, environment
	// variables, input and output artifact locations, timeout, token.
	Run engine.ActionRun
	// Action is the declaration as written (output variable names, output
	// artifact files, environment variable types).
	Action pipeline.Action
	// WorkDir is a fresh, empty directory for this run.
	WorkDir string
	// Log receives the action's output.
	Log io.Writer
	// Artifacts reads and writes artifacts at the run's locations.
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
type Provider interface {
	// Run performs the job. It returns the result when the job ran to its
	// end here, or nil when the result will arrive through the job's
	// completion token. A failure of the action is a result with status
	// Failed, never a panic.
	Run(ctx context.Context, job *Job) *engine.Result
	// Resumable reports whether a run left InProgress when the process
	// stopped can go on after a restart (it waits on a token that is still
	// valid) rather than being failed as interrupted.
	Resumable() bool
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
