package dynamo

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// storedBody is the body: the execution without its pipeline, with the runs
// as given (null for those stored apart). The outer fields shadow the
// embedded ones of the same JSON name.
type storedBody struct {
	*engine.Execution
	Pipeline *struct{}         `json:"pipeline,omitempty"`
	Actions  []json.RawMessage `json:"actions"`
}

type storedRun struct {
	Seq int             `json:"seq"`
	Run json.RawMessage `json:"run"`
}

var null = json.RawMessage("null")

// write is an execution encoded for a write.
type write struct {
	head   item
	moved  []byte
	chunk  []byte // gzipped ended runs moving out, if any
	tokens []item
}

// encodeExecution encodes e for storing as version, after the stored version
// described by prev (zero for a new execution).
func encodeExecution(e *engine.Execution, version int64, prev meta) (*write, error) {
	fail := func(err error) (*write, error) {
		return nil, fmt.Errorf("dynamo store: encoding execution %s: %w", e.ID, err)
	}
	c := *e
	c.Version = version
	moved := bytes.Clone(prev.moved)
	raws := make([]json.RawMessage, len(e.Actions))
	for i := range e.Actions {
		if bit(moved, i) {
			raws[i] = null
			continue
		}
		b, err := json.Marshal(&e.Actions[i])
		if err != nil {
			return fail(err)
		}
		raws[i] = b
	}
	body, err := json.Marshal(storedBody{Execution: &c, Actions: raws})
	if err != nil {
		return fail(err)
	}
	gz := compress(body)
	w := &write{}
	if len(gz) > inlineBudget {
		var runs []storedRun
		for i := range e.Actions {
			if !bit(moved, i) && e.Actions[i].Status.Terminal() {
				runs = append(runs, storedRun{Seq: i, Run: raws[i]})
				raws[i] = null
				moved = setBit(moved, i)
			}
		}
		if len(runs) > 0 {
			chunk, err := json.Marshal(runs)
			if err != nil {
				return fail(err)
			}
			w.chunk = compress(chunk)
			if body, err = json.Marshal(storedBody{Execution: &c, Actions: raws}); err != nil {
				return fail(err)
			}
			gz = compress(body)
		}
	}
	if len(gz) > maxHead {
		return nil, errs.Of(errs.Validation, errs.KindPipelineExecution,
			"execution %s: its action runs in progress take %d bytes compressed, more than the %d one DynamoDB item of the store holds",
			e.ID, len(gz), maxHead)
	}
	w.moved = moved
	pk := execPK(e.ID)
	h := item{
		attrPK: sv(pk), attrSK: sv(skHead),
		attrG1PK: sv(executionsOf(e.PipelineName)), attrG1SK: sv(execOrder(e)),
		aExecID: sv(e.ID), aPipelineName: sv(e.PipelineName), aPipelineVersion: nv(int64(e.PipelineVersion)),
		aStatus: sv(string(e.Status)), aStatusSummary: sv(e.StatusSummary),
		aTriggerType: sv(e.Trigger.Type), aTriggerDetail: sv(e.Trigger.Detail),
		aClientToken: sv(e.ClientRequestToken),
		aStart:       nv(store.Nanos(e.StartTime)), aLastUpdate: nv(store.Nanos(e.LastUpdateTime)),
		aVersion: nv(version), aBody: bv(gz), aRuns: nv(int64(len(e.Actions))),
	}
	if len(moved) > 0 {
		h[aMoved] = bv(moved)
	}
	if e.Status == engine.InProgress || e.Status == engine.Stopping {
		h[attrG3PK], h[attrG3SK] = sv(listActive), sv(execOrder(e))
	}
	w.head = h
	for i := prev.nruns; i < len(e.Actions); i++ {
		if tok := e.Actions[i].Token; tok != "" {
			w.tokens = append(w.tokens, item{
				attrPK: sv(pk), attrSK: sv(skToken + key(tok)),
				attrG1PK: sv(runTokenKey(tok)), attrG1SK: sv("t"), aExecID: sv(e.ID),
			})
		}
	}
	return w, nil
}

func (w *write) meta(e *engine.Execution, version int64) meta {
	return meta{version: version, nruns: len(e.Actions), moved: w.moved, crt: e.ClientRequestToken, pname: e.PipelineName}
}

func metaOf(head item) meta {
	return meta{version: getN(head, aVersion), nruns: int(getN(head, aRuns)), moved: getB(head, aMoved),
		crt: getS(head, aClientToken), pname: getS(head, aPipelineName)}
}

func decodeExecution(head item, snapshot []item, order []string, runs map[string][]item) (*engine.Execution, error) {
	body, err := inflate(getB(head, aBody))
	if err != nil {
		return nil, fmt.Errorf("inflating the body: %w", err)
	}
	e := new(engine.Execution)
	if err := json.Unmarshal(body, e); err != nil {
		return nil, fmt.Errorf("decoding the body: %w", err)
	}
	decl, err := joinBlob(snapshot)
	if err != nil {
		return nil, fmt.Errorf("reading the pipeline snapshot: %w", err)
	}
	if err := json.Unmarshal(decl, &e.Pipeline); err != nil {
		return nil, fmt.Errorf("decoding the pipeline snapshot: %w", err)
	}
	for _, p := range order {
		b, err := joinBlob(runs[p])
		if err != nil {
			return nil, fmt.Errorf("reading the ended action runs %s: %w", p, err)
		}
		var chunk []struct {
			Seq int              `json:"seq"`
			Run engine.ActionRun `json:"run"`
		}
		if err := json.Unmarshal(b, &chunk); err != nil {
			return nil, fmt.Errorf("decoding the ended action runs %s: %w", p, err)
		}
		for _, r := range chunk {
			if r.Seq < 0 || r.Seq >= len(e.Actions) || r.Run.ID == "" {
				return nil, fmt.Errorf("ended action run %q is stored for place %d, which the execution does not have", r.Run.ID, r.Seq)
			}
			switch e.Actions[r.Seq].ID {
			case "":
				e.Actions[r.Seq] = r.Run
			case r.Run.ID: // inline too (read while a later write moved it)
			default:
				return nil, fmt.Errorf("ended action run %q is stored for place %d, which holds run %q", r.Run.ID, r.Seq, e.Actions[r.Seq].ID)
			}
		}
	}
	for i := range e.Actions {
		if e.Actions[i].ID == "" {
			return nil, fmt.Errorf("the ended action run at place %d is missing: %w", i, errTorn)
		}
	}
	e.Version = getN(head, aVersion)
	return e, nil
}
