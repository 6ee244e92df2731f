package service

import (
	"context"

	"github.com/stageflow/stageflow/shared/apispec"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// Lanes in the readings of state and history (Stageflow's own: AWS's API
// knows no lanes, so the CodePipeline door reads every lane and shows none).

// ListExecutionsQuery asks ListExecutionsIn for a page of a pipeline's
// executions.
type ListExecutionsQuery struct {
	PipelineName string
	// Status keeps the executions of that status ("": all).
	Status engine.Status
	// Lane keeps the executions of that lane (nil: every lane; "": the
	// executions in no lane, every one of a pipeline without lanes).
	Lane *string
	// MaxResults is the page size (0: 100); NextToken the previous page's.
	MaxResults int
	NextToken  string
}

// LanedExecutionSummary is a row of ListExecutionsIn: a
// ListPipelineExecutions summary and the execution's lane ("": none).
type LanedExecutionSummary struct {
	PipelineExecutionSummary
	Lane string `json:"lane,omitempty"`
}

// ListExecutionsInOutput is a page of ListExecutionsIn, newest first.
type ListExecutionsInOutput struct {
	PipelineExecutionSummaries []LanedExecutionSummary `json:"pipelineExecutionSummaries"`
	NextToken                  string                  `json:"nextToken,omitempty"`
}

const (
	// defaultListPage is the page size of a lane's listing without
	// MaxResults, the stores' default.
	defaultListPage = 100
	// laneListReads bounds the store pages one listing of a lane reads:
	// past it the page comes back short, with a NextToken.
	laneListReads = 10
)

// checkLane checks a lane filter: "" (no lane) or a value a pipeline
// variable may have, as StageflowLane is one.
func checkLane(lane *string) error {
	if lane == nil || *lane == "" {
		return nil
	}
	if msg := apispec.MustLookup("PipelineVariableValue").CheckString(*lane); msg != "" {
		return errs.Invalid("invalid lane", []errs.Problem{{Path: "lane", Message: msg}})
	}
	return nil
}

// laneReader finds the lane of list rows whose listing says lane "", which
// is true of every execution of a pipeline version that declares no
// StageflowLane, and may be untrue of a row written before listings kept
// the lane: for those rows it reads the record.
type laneReader struct {
	s        *Service
	pipeline string
	laned    map[int]bool // by pipeline version: declares StageflowLane
}

func (s *Service) newLaneReader(pipeline string) *laneReader {
	return &laneReader{s: s, pipeline: pipeline, laned: map[int]bool{}}
}

// laneOf is the lane of a row whose listing names none.
func (lr *laneReader) laneOf(ctx context.Context, r store.ExecutionSummary) (string, error) {
	laned, known := lr.laned[r.PipelineVersion]
	if !known {
		p, err := lr.s.store.GetPipeline(ctx, lr.pipeline, r.PipelineVersion)
		switch {
		case err == nil:
			laned = declaresLane(p)
		case errs.Is(err, errs.NotFound):
			laned = true // the version is gone: ask the record
		default:
			return "", err
		}
		lr.laned[r.PipelineVersion] = laned
	}
	if !laned {
		return "", nil
	}
	e, err := lr.s.store.GetExecution(ctx, r.ID)
	switch {
	case err == nil:
		return e.Lane, nil
	case errs.Is(err, errs.NotFound): // deleted meanwhile: the row as listed
		return "", nil
	}
	return "", err
}

// declaresLane reports whether a pipeline version declares StageflowLane.
func declaresLane(p *store.Pipeline) bool {
	for _, v := range p.Declaration.Variables {
		if v.Name == engine.LaneVariable {
			return true
		}
	}
	return false
}
