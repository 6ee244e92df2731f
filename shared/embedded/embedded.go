// Package embedded assembles the embedded Stageflow of one machine: the
// SQLite store, the artifact folder, the providers and the local runner. The
// one-shot `stageflow run`, `stageflow serve` and the integration tests all
// build it here, so they run the same system.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/actions/codebuild"
	"github.com/stageflow/stageflow/shared/actions/commands"
	"github.com/stageflow/stageflow/shared/actions/custom"
	"github.com/stageflow/stageflow/shared/actions/gitsource"
	"github.com/stageflow/stageflow/shared/actions/hostbuild"
	"github.com/stageflow/stageflow/shared/actions/s3source"
	"github.com/stageflow/stageflow/shared/actions/worksource"
	"github.com/stageflow/stageflow/shared/artifacts"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/runner"
	"github.com/stageflow/stageflow/shared/seal"
	"github.com/stageflow/stageflow/shared/secrets"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

// LocalBucket names the artifact store of pipelines that declare none.
const LocalBucket = "stageflow-artifacts"

// DefaultDataDir is STAGEFLOW_DATA_DIR, or .stageflow.
func DefaultDataDir() string {
	if d := os.Getenv("STAGEFLOW_DATA_DIR"); d != "" {
		return d
	}
	return ".stageflow"
}

// Options configures the embedded system.
type Options struct {
	DataDir string
	// Decide decides approvals at once (stageflow run); nil leaves them
	// waiting for the API.
	Decide approval.Decider
	// OneShot is set by `stageflow run`: there is no server, so custom
	// actions, which need job workers, fail at once.
	OneShot bool
	// LocalSources (with OneShot) maps source action names to the
	// directories that feed them (`stageflow run --source ACTION=DIR`);
	// WorkTree is the directory whose git work tree feeds the other
	// CodeStarSourceConnection and CodeCommit actions (see package
	// worksource).
	LocalSources map[string]string
	WorkTree     string
	Logger       *slog.Logger
	// Region and Account are named in ARNs (defaults: DefaultRegion,
	// DefaultAccount).
	Region, Account string
	// Authorize is the service's authorization hook (nil: the policies of
	// the callers' access keys, service.NewPolicyAuthorizer; with AuthNone,
	// allow all).
	Authorize service.Authorizer
	// AuthNone: the server takes callers at their word and allows
	// everything (`stageflow serve --auth none`).
	AuthNone bool
	// Now is the clock (nil: the wall clock, in UTC).
	Now func() time.Time
	// PassEnv names variables of this process's environment that Commands
	// and CodeBuild actions get on top of their base environment.
	PassEnv []string
	// NoFirstExecution: creating a pipeline starts no first execution
	// (service.Config.NoFirstExecution; for tests).
	NoFirstExecution bool
	// MaxParallelActions caps the Commands and CodeBuild actions running at
	// once; the others wait in a queue (0: DefaultMaxParallelActions,
	// negative: no cap).
	MaxParallelActions int
	// KeepFailedWork is how long the work directory of an action that did
	// not succeed is kept (0: DefaultKeepFailedWork, negative: removed at
	// once, as after a success).
	KeepFailedWork time.Duration
	// Retention is how long an ended execution is kept after it started,
	// with its logs and artifacts (0: DefaultRetention, negative: forever).
	Retention time.Duration
	// JanitorInterval is how often the janitor prunes the data directory
	// after its first round at Open (0: DefaultJanitorInterval).
	JanitorInterval time.Duration
	// Sources resolves the repositories of git source actions
	// (CodeStarSourceConnection, CodeCommit) to remotes; nil: the
	// system's own connections and repositories (stageflow connection,
	// stageflow repository).
	Sources gitsource.Resolver
	// Buckets names the buckets S3 source actions read at other
	// S3-compatible endpoints; nil: the system's own (stageflow bucket).
	Buckets s3source.Buckets
}

// The region and account named in ARNs unless configured.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "000000000000"
)

// System is the embedded Stageflow.
type System struct {
	Store     *sqlite.Store
	Runner    *runner.Runner
	Artifacts *artifacts.Store
	// Service is the service over the store and the runner; Events is the
	// hub the runner publishes every change to.
	Service *service.Service
	Events  *service.Events

	retention   time.Duration
	now         func() time.Time
	log         *slog.Logger
	stopJanitor func()
	dataDir     string
	sources     gitsource.Resolver
	buckets     s3source.Buckets
}

// Open opens (creating if needed) the data directory and assembles the
// system. The service derives each job's artifact credentials from the data
// directory's artifact key (ArtifactKeyFile).
func Open(opt Options) (*System, error) {
	if err := os.MkdirAll(opt.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	st, err := sqlite.Open(filepath.Join(opt.DataDir, "stageflow.db"))
	if errors.Is(err, sqlite.ErrInUse) {
		return nil, fmt.Errorf("data directory %s is in use: %w. One Stageflow process owns a data directory: "+
			"stop the other one (a `stageflow serve`?), or give this one its own --data-dir", opt.DataDir, err)
	}
	if err != nil {
		return nil, err
	}
	artifactKey, err := LoadArtifactKey(opt.DataDir)
	if err != nil {
		st.Close()
		return nil, err
	}
	sealer, err := seal.FileKey(filepath.Join(opt.DataDir, AccessKeySealFile))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("access keys: %w", err)
	}
	authz := opt.Authorize
	if authz == nil {
		authz = service.NewPolicyAuthorizer(nil)
		if opt.AuthNone {
			authz = service.AllowAll
		}
	}
	now := opt.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	env := engine.Env{Now: now, NewID: uuid.NewString, ArtifactBucket: LocalBucket}
	arts := &artifacts.Store{Root: filepath.Join(opt.DataDir, "artifacts"), Bucket: LocalBucket}

	var svc *service.Service
	if opt.Sources == nil {
		opt.Sources = serviceSources{&svc}
	}
	if opt.Buckets == nil {
		opt.Buckets = serviceSources{&svc}
	}
	reg := Providers(st, now, opt)
	lg := opt.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	maxParallel, keepFailed, retention := opt.MaxParallelActions, opt.KeepFailedWork, opt.Retention
	if maxParallel == 0 {
		maxParallel = DefaultMaxParallelActions()
	}
	if keepFailed == 0 {
		keepFailed = DefaultKeepFailedWork
	}
	if retention == 0 {
		retention = DefaultRetention
	}
	r := runner.New(runner.Config{
		Store: st, Providers: reg, Artifacts: arts, Env: env, DataDir: opt.DataDir, Logger: lg,
		MaxParallelActions: max(maxParallel, 0), KeepFailedWork: max(keepFailed, 0),
	})
	events := service.NewEvents()
	r.OnChange = func(e *engine.Execution) {
		events.Publish(e)
		if e.AutoRollback != "" && e.Status == engine.Failed {
			// Off the runner's path: starting the rollback steps another
			// execution. svc is set before any execution runs.
			go func() {
				if err := svc.RollBackAutomatically(context.Background(), e); err != nil {
					lg.Error("starting an automated rollback", "execution", e.ID, "err", err)
				}
			}()
		}
	}
	if opt.Region == "" {
		opt.Region = DefaultRegion
	}
	if opt.Account == "" {
		opt.Account = DefaultAccount
	}
	svc = service.New(service.Config{
		Store: st, Driver: r, Now: now, NewID: uuid.NewString, Region: opt.Region, Account: opt.Account,
		ArtifactKey: artifactKey, Authorize: authz, Events: events,
		NoFirstExecution: opt.NoFirstExecution, Logger: lg, Keys: st, Sealer: sealer,
	})
	sys := &System{Store: st, Runner: r, Artifacts: arts, Service: svc, Events: events, retention: retention, now: now, log: lg,
		dataDir: opt.DataDir, sources: opt.Sources, buckets: opt.Buckets}
	interval := opt.JanitorInterval
	if interval <= 0 {
		interval = DefaultJanitorInterval
	}
	sys.startJanitor(interval)
	return sys, nil
}

// Providers is the action registry of the embedded system: Commands and
// CodeBuild on the host shell (secrets from the data directory's secret
// store, package secrets), manual approvals (decided by opt.Decide when
// set), custom actions as jobs in jobs' queue (failed at once with
// opt.OneShot, where no worker can poll), and every other type failing with
// a message that it needs AWS.
func Providers(jobs custom.JobStore, now func() time.Time, opt Options) *actions.Registry {
	reg := actions.NewRegistry(func(pipeline.ActionTypeID) actions.Provider { return actions.Unsupported{} })
	host := hostbuild.Host{PassEnv: opt.PassEnv, Secrets: secrets.Open(opt.DataDir)}
	reg.Register(pipeline.OwnerAWS, "Commands", &commands.Provider{Host: host})
	reg.Register(pipeline.OwnerAWS, "CodeBuild", &codebuild.Provider{Host: host})
	reg.Register(pipeline.OwnerAWS, "Manual", approval.Provider{Decide: opt.Decide})
	git := &gitsource.Provider{Sources: opt.Sources, CacheDir: filepath.Join(opt.DataDir, "git-cache")}
	reg.Register(pipeline.OwnerAWS, gitsource.ProviderConnection, git)
	reg.Register(pipeline.OwnerAWS, gitsource.ProviderCodeCommit, git)
	reg.Register(pipeline.OwnerAWS, "S3", &s3source.Provider{Buckets: opt.Buckets})
	if opt.OneShot {
		reg.RegisterOwner(pipeline.OwnerCustom, actions.Unsupported{Where: "with job workers polling a Stageflow server (`stageflow serve`), not in a one-shot `stageflow run`"})
	} else {
		reg.RegisterOwner(pipeline.OwnerCustom, &custom.Provider{Store: jobs, Now: now})
	}
	if opt.OneShot {
		registerLocalSources(reg, opt)
	}
	return reg
}

// registerLocalSources serves source actions from this machine's
// directories (package worksource), over whatever serves them otherwise:
// an S3 action that no --source names goes to that provider.
func registerLocalSources(reg *actions.Registry, opt Options) {
	for _, provider := range []string{worksource.CodeStarSourceConnection, worksource.CodeCommit, worksource.S3} {
		var next actions.Provider
		if provider == worksource.S3 {
			next, _ = reg.Lookup(pipeline.ActionTypeID{Category: pipeline.CategorySource, Owner: pipeline.OwnerAWS, Provider: provider, Version: "1"})
		}
		reg.Register(pipeline.OwnerAWS, provider, &worksource.Provider{Dirs: opt.LocalSources, WorkTree: opt.WorkTree, Exclude: []string{opt.DataDir}, Next: next})
	}
}

// Close lets running actions finish (up to ctx's deadline) and closes the store.
func (s *System) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s.stopJanitor()
	err := s.Runner.Close(ctx)
	if cerr := s.Store.Close(); err == nil {
		err = cerr
	}
	return err
}
