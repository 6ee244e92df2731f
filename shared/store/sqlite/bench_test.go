package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/store/storetest"
)

// benchExecution is the engine's typical record: a 3-stage pipeline with 10
// action runs.
func benchExecution(id string) *engine.Execution {
	return storetest.RichExecution(id, "bench", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 10)
}

func benchStore(b *testing.B, o options) *Store {
	return openTest(b, tempPath(b), o)
}

// benchModes are the set-ups the store benchmarks compare.
var benchModes = []struct {
	name string
	o    options
}{{"owned", options{}}, {"shared", options{shared: true}}}

// benchStep is the engine's hot path on execution id: Step's load, a change
// of run i's summary and the versioned save.
func benchStep(ctx context.Context, s *Store, id string, i int) error {
	e, err := s.GetExecution(ctx, id)
	if err != nil {
		return err
	}
	e.Actions[i%len(e.Actions)].Summary = fmt.Sprint("step ", i)
	e.LastUpdateTime = e.LastUpdateTime.Add(time.Millisecond)
	return s.UpdateExecution(ctx, e)
}

// BenchmarkUpdateExecution runs the hot path on one execution.
func BenchmarkUpdateExecution(b *testing.B) {
	for _, c := range benchModes {
		b.Run(c.name, func(b *testing.B) {
			s := benchStore(b, c.o)
			ctx := context.Background()
			if _, _, err := s.CreateExecution(ctx, benchExecution("exec-1")); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := benchStep(ctx, s, "exec-1", i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdateExecutionParallel runs the hot path from several goroutines,
// each on its own execution (drivers advance many executions at once).
func BenchmarkUpdateExecutionParallel(b *testing.B) {
	for _, c := range benchModes {
		b.Run(c.name, func(b *testing.B) {
			s := benchStore(b, c.o)
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("exec-", next.Add(1))
				if _, _, err := s.CreateExecution(ctx, benchExecution(id)); err != nil {
					b.Error(err)
					return
				}
				for i := 0; pb.Next(); i++ {
					if err := benchStep(ctx, s, id, i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkGetExecution reads an execution whose stored version is cached
// (the engine's case: it wrote the last version) and one that is not (read
// and decode the body).
func BenchmarkGetExecution(b *testing.B) {
	for _, cached := range []bool{true, false} {
		b.Run(map[bool]string{true: "cached", false: "uncached"}[cached], func(b *testing.B) {
			s := benchStore(b, options{})
			ctx := context.Background()
			e := benchExecution("exec-1")
			if _, _, err := s.CreateExecution(ctx, e); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			// No timer stops around the cache's bookkeeping (each stops
			// the world): it is measured with the read, and costs well
			// under a microsecond.
			for b.Loop() {
				if !cached {
					s.cache.take(e.ID)
				}
				got, err := s.GetExecution(ctx, "exec-1")
				if err != nil {
					b.Fatal(err)
				}
				if cached {
					s.cache.put(got, nil) // back, as UpdateExecution leaves it
				}
			}
		})
	}
}

func BenchmarkCreateExecution(b *testing.B) {
	s := benchStore(b, options{})
	ctx := context.Background()
	e := benchExecution("")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := *e
		c.ID = fmt.Sprint("exec-", i)
		if _, _, err := s.CreateExecution(ctx, &c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecutionJSON is the encoding share of the hot path: one decode
// and one encode of the benchmark record, no database.
func BenchmarkExecutionJSON(b *testing.B) {
	e := benchExecution("exec-1")
	body, err := json.Marshal(e)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var d engine.Execution
		if err := json.Unmarshal(body, &d); err != nil {
			b.Fatal(err)
		}
		x, err := encodeExecution(&d, 2, nil)
		if err != nil {
			b.Fatal(err)
		}
		x.release()
	}
	b.ReportMetric(float64(len(body)), "body-bytes")
}
