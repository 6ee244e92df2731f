package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// bufPool recycles the buffers executions are encoded into.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// storedHeader is what the body holds besides the action runs: every field of
// the execution but its pipeline snapshot (stored once, apart) and
// its action runs (appended after it, see encodeExecution). The outer fields
// shadow the embedded ones of the same JSON name and, nil, are omitted.
type storedHeader struct {
	*engine.Execution
	Pipeline *struct{} `json:"pipeline,omitempty"`
	Actions  *struct{} `json:"actions,omitempty"`
}

// runChunk is a row of execution_runs: the runs that move out of the body in
// the write of one version, as {"seq":i,"run":{...}} objects separated by
// commas, where i is the run's place in the execution. A writer that did not
// know a run was stored already may store it again: reading skips repeats
// (an ended run never changes, so they are equal).
type runChunk struct {
	json string
}

// encoded is an execution encoded for a write.
type encoded struct {
	body  *bytes.Buffer // from bufPool: put back with release
	chunk *runChunk     // ended runs to store beside the row, if any
	ended endedRuns     // what is known of the ended runs once written
	// listing is the JSON of store.ListingOf(e), kept beside the body for
	// ListExecutions.
	listing string
}

func (x *encoded) release() { bufPool.Put(x.body) }

// endedRuns is what a store knows of the ended runs of one version of an
// execution, by place in its Actions. A slice, once built, is never changed:
// it may be shared without a lock.
type endedRuns []endedRun

// endedRun is a run that has ended: its JSON when inline in the body, nil
// when stored in execution_runs (a placeholder in the body). An entry
// without ID knows nothing.
type endedRun struct {
	id   string
	json []byte
}

// at returns what k knows of the run with the given ID at place i.
func (k endedRuns) at(i int, id string) (json []byte, ok bool) {
	if i < len(k) && id != "" && k[i].id == id {
		return k[i].json, true
	}
	return nil, false
}

// with returns a copy of k for an execution of n runs.
func (k endedRuns) with(n int) endedRuns {
	c := make(endedRuns, max(n, len(k)))
	copy(c, k)
	return c
}

// bodyBudget is the size up to which a body keeps the runs that have ended
// inline: a row that fits in one 4 KiB page (with its other columns) is
// written as one page. Past it, the ended runs the body holds move out to
// execution_runs together, by the update's trigger.
const bodyBudget = 3500

// encodeExecution encodes e as it will be stored, with the given Version,
// knowing what known says of its ended runs (nil: nothing). Ended runs stored
// in execution_runs are placeholders in the body; the other ended runs stay
// inline while the body fits in bodyBudget (or the execution has ended), and
// otherwise become placeholders too and are returned in one chunk for writing
// beside it. An ended run never changes, so its JSON in known is reused.
func encodeExecution(e *engine.Execution, version int64, known endedRuns) (*encoded, error) {
	c := *e
	c.Version = version
	x := &encoded{body: bufPool.Get().(*bytes.Buffer)}
	buf := x.body
	buf.Reset()
	fail := func(err error) (*encoded, error) {
		x.release()
		return nil, fmt.Errorf("sqlite store: encoding execution %s: %w", e.ID, err)
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	listing, err := json.Marshal(store.ListingOf(e))
	if err != nil {
		return fail(err)
	}
	x.listing = string(listing)
	if err := enc.Encode(storedHeader{Execution: &c}); err != nil {
		return fail(err)
	}
	// Encode wrote {...}\n: reopen the object for the runs.
	buf.Truncate(bytes.LastIndexByte(buf.Bytes(), '}'))
	buf.WriteString(`,"actions":[`)
	// The runs, in order: run i's JSON is at buf[ends[i]-len:ends[i]]; the
	// ended ones inline are listed in inline, the newly encoded ones in
	// encoded.
	size := buf.Len()
	var inline, encoded []int
	ends := make([]int, len(e.Actions))
	for i := range e.Actions {
		r := &e.Actions[i]
		if i > 0 {
			buf.WriteByte(',')
		}
		j, ok := known.at(i, r.ID)
		switch {
		case ok && j == nil:
			buf.WriteString("null")
		case ok && r.Status.Terminal():
			buf.Write(j)
			inline = append(inline, i)
		default:
			if err := enc.Encode(r); err != nil {
				return fail(err)
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
			if r.Status.Terminal() {
				inline = append(inline, i)
				encoded = append(encoded, i)
			}
		}
		ends[i] = buf.Len()
	}
	runJSON := func(b []byte, i int) []byte {
		start := size
		if i > 0 {
			start = ends[i-1] + 1
		}
		return b[start-size : ends[i]-size]
	}
	// An execution that has ended is not written again: one body over a
	// page costs less than moving its runs out.
	if buf.Len()+2 <= bodyBudget || len(inline) == 0 || e.Status.Terminal() {
		x.ended = known
		if len(encoded) > 0 {
			x.ended = known.with(len(e.Actions))
			for _, i := range encoded {
				x.ended[i] = endedRun{id: e.Actions[i].ID, json: bytes.Clone(runJSON(buf.Bytes()[size:], i))}
			}
		}
		buf.WriteString(`]}`)
		return x, nil
	}
	// Over budget: the ended runs inline move out. Rebuild the runs part
	// with placeholders for them.
	all := bytes.Clone(buf.Bytes()[size:])
	buf.Truncate(size)
	x.ended = known.with(len(e.Actions))
	var chunk []byte
	next := 0
	for i := range e.Actions {
		if i > 0 {
			buf.WriteByte(',')
		}
		j := runJSON(all, i)
		if next == len(inline) || inline[next] != i {
			buf.Write(j)
			continue
		}
		next++
		buf.WriteString("null")
		if len(chunk) > 0 {
			chunk = append(chunk, ',')
		}
		chunk = append(strconv.AppendInt(append(chunk, `{"seq":`...), int64(i), 10), `,"run":`...)
		chunk = append(append(chunk, j...), '}')
		x.ended[i] = endedRun{id: e.Actions[i].ID}
	}
	buf.WriteString(`]}`)
	x.chunk = &runChunk{json: string(chunk)}
	return x, nil
}

// decodeExecution decodes a stored execution: its body, its ended runs (the
// runChunk rows joined by commas) and, when not NULL, its pipeline snapshot.
// It returns the runs found in execution_runs too.
func decodeExecution(body, decl, ended []byte, version int64) (*engine.Execution, endedRuns, error) {
	e := new(engine.Execution)
	if err := json.Unmarshal(body, e); err != nil {
		return nil, nil, fmt.Errorf("decoding body: %w", err)
	}
	if decl != nil {
		e.Pipeline = pipeline.Pipeline{}
		if err := json.Unmarshal(decl, &e.Pipeline); err != nil {
			return nil, nil, fmt.Errorf("decoding the pipeline snapshot: %w", err)
		}
	}
	var runs []struct {
		Seq int              `json:"seq"`
		Run engine.ActionRun `json:"run"`
	}
	if ended != nil {
		b := make([]byte, 0, len(ended)+2)
		b = append(append(append(b, '['), ended...), ']')
		if err := json.Unmarshal(b, &runs); err != nil {
			return nil, nil, fmt.Errorf("decoding the ended action runs: %w", err)
		}
	}
	set := make(endedRuns, len(e.Actions))
	for _, r := range runs {
		if r.Seq < 0 || r.Seq >= len(e.Actions) || r.Run.ID == "" {
			return nil, nil, fmt.Errorf("ended action run %q is stored for place %d, which the execution does not have", r.Run.ID, r.Seq)
		}
		switch e.Actions[r.Seq].ID {
		case "":
			e.Actions[r.Seq] = r.Run
			set[r.Seq] = endedRun{id: r.Run.ID}
		case r.Run.ID: // stored again, or inline too
		default:
			return nil, nil, fmt.Errorf("ended action run %q is stored for place %d, which holds run %q", r.Run.ID, r.Seq, e.Actions[r.Seq].ID)
		}
	}
	for i := range e.Actions {
		if e.Actions[i].ID == "" {
			return nil, nil, fmt.Errorf("the ended action run at place %d is missing", i)
		}
	}
	e.Version = version
	return e, set, nil
}
