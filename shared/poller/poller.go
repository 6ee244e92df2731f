// Package poller starts pipelines when their sources change, for users
// without webhooks: at an interval it asks each polled source action of each
// pipeline for the head revision of what it follows (a branch of a
// repository) and starts one execution on each new revision.
//
// Which actions are polled, as CodePipeline decides: a CodeCommit or S3
// source whose PollForSourceChanges is not "false", and a
// CodeStarSourceConnection source whose DetectChanges is not "false" (which
// CodePipeline serves with the connection's events; here, without a hosted
// app to send them, by polling).
//
// One execution per revision, never two: the revision an action was last
// seen at is seeded from the pipeline's latest execution that ran it (or,
// for a pipeline never run on one, the head at the first look, which starts
// nothing); each start carries a ClientRequestToken derived from the
// pipeline, the action and the revision, so that two pollers, a restart in
// between or a retry after an error never start the same revision twice.
package poller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TriggerType is what the executions the poller starts record, CodePipeline's
// trigger type for polled sources.
const TriggerType = "PollForSourceChanges"

// DefaultInterval is how often sources are polled unless configured.
const DefaultInterval = time.Minute

// Heads reads the head revision an action follows.
type Heads interface {
	// Head returns the commit ID (or object version) the source action
	// would fetch now.
	Head(ctx context.Context, a pipeline.Action) (string, error)
}

// Poller polls the pipelines of a service.
type Poller struct {
	Service *service.Service
	Heads   Heads
	Log     *slog.Logger

	mu   sync.Mutex
	seen map[string]string // pipeline "\x00" action → revision
}

// Polled reports whether a source action is polled.
func Polled(a pipeline.Action) bool {
	if a.ActionTypeID.Category != pipeline.CategorySource || a.ActionTypeID.Owner != pipeline.OwnerAWS {
		return false
	}
	switch a.ActionTypeID.Provider {
	case "CodeCommit", "S3":
		return !strings.EqualFold(a.Configuration["PollForSourceChanges"], "false")
	case "CodeStarSourceConnection":
		return !strings.EqualFold(a.Configuration["DetectChanges"], "false")
	}
	return false
}

// Started is one execution a round started.
type Started struct {
	Pipeline, Action, Revision, ExecutionID string
}

// Run polls every interval until ctx ends.
func (p *Poller) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := p.Round(ctx); err != nil && ctx.Err() == nil {
			p.log().Warn("polling sources", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Poller) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// Round looks at every pipeline once and returns the executions it started.
// A source that cannot be read is logged and skipped; the error is only for
// a service that cannot list or read its pipelines.
func (p *Poller) Round(ctx context.Context) ([]Started, error) {
	ctx = service.LocalCaller(ctx, "stageflow-poller")
	var started []Started
	err := p.Service.EachPipeline(ctx, func(pl *pipeline.Pipeline) error {
		s, err := p.pollPipeline(ctx, pl)
		started = append(started, s...)
		if err != nil {
			p.log().Warn("polling a pipeline's sources", "pipeline", pl.Name, "err", err)
		}
		return nil
	})
	return started, err
}

func (p *Poller) pollPipeline(ctx context.Context, pl *pipeline.Pipeline) ([]Started, error) {
	var started []Started
	var errList []error
	for _, st := range pl.Stages {
		for _, a := range st.Actions {
			if !Polled(a) {
				continue
			}
			s, err := p.pollAction(ctx, pl.Name, a)
			if err != nil {
				errList = append(errList, err)
				continue
			}
			if s != nil {
				started = append(started, *s)
			}
		}
	}
	return started, errors.Join(errList...)
}

func (p *Poller) pollAction(ctx context.Context, name string, a pipeline.Action) (*Started, error) {
	head, err := p.Heads.Head(ctx, a)
	if err != nil {
		return nil, err
	}
	key := name + "\x00" + a.Name
	p.mu.Lock()
	last, ok := p.seen[key]
	p.mu.Unlock()
	if !ok {
		last, err = p.lastRun(ctx, name, a.Name)
		if err != nil {
			return nil, err
		}
		if last == "" {
			// Never run on a revision: the head now is where polling
			// starts from (the pipeline's first execution covers it).
			last = head
		}
	}
	if head == last {
		p.remember(key, head)
		return nil, nil
	}
	sum := sha256.Sum256([]byte(name + "\x00" + a.Name + "\x00" + head))
	e, err := p.Service.StartExecution(ctx, service.StartInput{
		PipelineName:       name,
		ClientRequestToken: "poll-" + hex.EncodeToString(sum[:16]),
		SourceRevisions:    []engine.SourceRevision{{Action: a.Name, Type: revisionType(a), Value: head}},
		TriggerType:        TriggerType,
		TriggerDetail:      a.Name,
	})
	if err != nil {
		return nil, err
	}
	p.remember(key, head)
	p.log().Info("a source changed: started the pipeline", "pipeline", name, "action", a.Name, "revision", head, "execution", e.ID)
	return &Started{Pipeline: name, Action: a.Name, Revision: head, ExecutionID: e.ID}, nil
}

func revisionType(a pipeline.Action) string {
	if a.ActionTypeID.Provider == "S3" {
		return "S3_OBJECT_VERSION_ID"
	}
	return "COMMIT_ID"
}

func (p *Poller) remember(key, rev string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	p.seen[key] = rev
}

// lastRun is the revision the action ran on in the pipeline's latest
// execution that reported one ("" when none did).
func (p *Poller) lastRun(ctx context.Context, name, action string) (string, error) {
	next := ""
	for range 10 { // the latest 1,000 executions at most
		page, err := p.Service.ListExecutions(ctx, name, "", 100, next)
		if err != nil {
			return "", err
		}
		for _, e := range page.PipelineExecutionSummaries {
			for _, r := range e.SourceRevisions {
				if r.ActionName == action && r.RevisionID != "" {
					return r.RevisionID, nil
				}
			}
		}
		if page.NextToken == "" {
			break
		}
		next = page.NextToken
	}
	return "", nil
}
