package service

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// historyPage is how many executions a walk over a pipeline's history reads
// from the store at a time.
const historyPage = 25

// eachExecution calls fn with the pipeline's executions that f selects,
// newest first, across every store page, until fn returns false.
func (s *Service) eachExecution(ctx context.Context, f store.ExecutionFilter, fn func(*engine.Execution) bool) error {
	return s.walkExecutions(ctx, f, "", "", func(_ string, e *engine.Execution) bool { return fn(e) })
}

// walkExecutions is eachExecution from a place: the store page token of the
// page holding the execution `from` (both "" for the newest). fn learns the
// page token of each execution it is given.
func (s *Service) walkExecutions(ctx context.Context, f store.ExecutionFilter, page, from string, fn func(page string, e *engine.Execution) bool) error {
	for {
		rows, next, err := s.store.ListExecutions(ctx, f, store.Page{Token: page, Limit: historyPage})
		if err != nil {
			return tokenError(err)
		}
		for _, r := range rows {
			if from != "" && r.ID != from {
				continue
			}
			from = ""
			e, err := s.store.GetExecution(ctx, r.ID)
			if errs.Is(err, errs.NotFound) {
				continue // deleted meanwhile
			} else if err != nil {
				return err
			}
			if !fn(page, e) {
				return nil
			}
		}
		if from != "" {
			return errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken")
		}
		if next == "" {
			return nil
		}
		page = next
	}
}

// ActionExecutionFilter narrows ListActionExecutions.
type ActionExecutionFilter struct {
	PipelineExecutionID string
	Stage, Action       string // REST filters
	Status              engine.Status
}

func (f ActionExecutionFilter) match(r *engine.ActionRun) bool {
	return (f.Stage == "" || r.Stage == f.Stage) && (f.Action == "" || r.Action == f.Action) && (f.Status == "" || r.Status == f.Status)
}

// actionPlace is what ListActionExecutions' nextToken holds: where the next
// row is. Runs of an execution are only ever appended, so a place counted
// from the first run stays valid while the execution goes on.
type actionPlace struct {
	Page      string `json:"p,omitempty"` // the store page token of the page holding Execution
	Execution string `json:"e"`
	Run       int    `json:"r"` // the next row is the run before this index, going back
}

func (p actionPlace) token() string {
	b, _ := json.Marshal(p) // strings and an int: never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseActionPlace(token string) (actionPlace, error) {
	var p actionPlace
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil || p.Execution == "" || p.Run < 0 {
		return actionPlace{}, errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken")
	}
	return p, nil
}

// ListActionExecutions lists action executions, newest first: those of one
// execution, or of the pipeline's whole history, a page at a time.
func (s *Service) ListActionExecutions(ctx context.Context, name string, f ActionExecutionFilter, maxResults int, nextToken string) (*ListActionExecutionsOutput, error) {
	if err := s.authorize(ctx, OpListActionExecutions, s.PipelineArn(name)); err != nil {
		return nil, err
	}
	out := &ListActionExecutionsOutput{ActionExecutionDetails: []ActionExecutionDetail{}}
	// The secret properties are read once, at the first execution that
	// uses a custom action type.
	var sp secretProps
	spRead := false
	next, err := s.pageHistory(ctx, name, f.PipelineExecutionID, maxResults, nextToken, func(e *engine.Execution) (int, error) {
		if !spRead && hasCustom(&e.Pipeline) {
			var err error
			if sp, err = s.allSecrets(ctx); err != nil {
				return 0, err
			}
			spRead = true
		}
		return len(e.Actions), nil
	}, func(e *engine.Execution, i int) bool { return f.match(&e.Actions[i]) }, func(e *engine.Execution, i int) {
		out.ActionExecutionDetails = append(out.ActionExecutionDetails, actionDetail(e, &e.Actions[i], sp))
	})
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	return out, nil
}

// pageHistory walks a page of rows of a pipeline's history, newest first:
// the rows of one execution (executionID), or of every execution, from the
// place nextToken names. count tells how many rows an execution has (and
// may fail the walk); match says whether row i of an execution, offered from
// the last down, is listed, and emit lists it. It returns the token of the
// next page ("" when the history is over) once maxResults rows (1..100,
// else 100) were listed: the place of the next row that matches.
func (s *Service) pageHistory(ctx context.Context, name, executionID string, maxResults int, nextToken string,
	count func(e *engine.Execution) (int, error), match func(e *engine.Execution, i int) bool, emit func(e *engine.Execution, i int)) (string, error) {
	var at actionPlace
	if nextToken != "" {
		var err error
		if at, err = parseActionPlace(nextToken); err != nil {
			return "", err
		}
	}
	if maxResults <= 0 || maxResults > 100 {
		maxResults = 100
	}
	taken, next := 0, ""
	var bad bool
	var failed error
	// rows adds the rows of e from its place and says whether to go on.
	rows := func(page string, e *engine.Execution) bool {
		from, err := count(e)
		if err != nil {
			failed = err
			return false
		}
		if at.Execution != "" {
			if at.Execution != e.ID || at.Run > from {
				bad = true
				return false
			}
			from, at = at.Run, actionPlace{}
		}
		for i := from - 1; i >= 0; i-- {
			if !match(e, i) {
				continue
			}
			if taken == maxResults {
				next = actionPlace{Page: page, Execution: e.ID, Run: i + 1}.token()
				return false
			}
			emit(e, i)
			taken++
		}
		return true
	}
	if executionID != "" {
		e, err := s.execution(ctx, name, executionID)
		if err != nil {
			return "", err
		}
		rows("", e)
	} else {
		if _, err := s.store.GetPipeline(ctx, name, 0); err != nil {
			return "", pipelineNotFound(err, name)
		}
		if err := s.walkExecutions(ctx, store.ExecutionFilter{PipelineName: name}, at.Page, at.Execution, rows); err != nil {
			return "", err
		}
	}
	if failed != nil {
		return "", failed
	}
	if bad {
		return "", errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken")
	}
	return next, nil
}
