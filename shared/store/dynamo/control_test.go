package dynamo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/dynamo"
)

// TestControlCancelsInBatches: updating a QUEUED pipeline with more waiting
// executions than one DynamoDB transaction takes cancels them all, in
// batches of atomic writes, and leaves the holder to end after its action.
func TestControlCancelsInBatches(t *testing.T) {
	s := newStore(t, dynamo.Options{})
	ctx := t.Context()
	one := 1
	p := pipeline.Pipeline{Name: "q", PipelineType: pipeline.TypeV2, ExecutionMode: pipeline.ModeQueued, Stages: []pipeline.Stage{{
		Name: "S", Actions: []pipeline.Action{{Name: "A", RunOrder: &one,
			ActionTypeID: pipeline.ActionTypeID{Category: pipeline.CategoryApproval, Owner: pipeline.OwnerAWS, Provider: "Manual", Version: "1"}}},
	}}}
	if err := s.CreatePipeline(ctx, &store.Pipeline{Name: "q", Declaration: p}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	env := engine.Env{Now: func() time.Time { return time.Now().UTC() }, NewID: uuid.NewString}
	const waiters = 120
	var ids []string
	for i := range waiters + 1 {
		e, err := engine.New(fmt.Sprintf("exec-%03d", i), "q", 1, p, nil, engine.Trigger{Type: "StartPipelineExecution"}, base.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		if _, _, err := engine.Step(ctx, s, e.ID, nil, env); err != nil {
			t.Fatalf("first step of %s: %v", e.ID, err)
		}
		ids = append(ids, e.ID)
	}
	l, err := s.GetPipelineLocks(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if st := l.Lanes[""].Stages["S"]; st.Holder == nil || st.Holder.ExecutionID != ids[0] || len(st.Waiting) != waiters {
		t.Fatalf("before the update: holder %+v, %d waiting", st.Holder, len(st.Waiting))
	}
	changed, err := engine.Control(ctx, s, "q", env, engine.Updated())
	if err != nil {
		t.Fatalf("Control: %v", err)
	}
	if len(changed) != waiters+1 {
		t.Errorf("%d executions changed, want %d", len(changed), waiters+1)
	}
	for _, id := range ids[1:] {
		e, err := s.GetExecution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != engine.Cancelled || e.Wait != nil {
			t.Fatalf("waiter %s: %s, wait %+v", id, e.Status, e.Wait)
		}
	}
	holder, err := s.GetExecution(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if holder.Status != engine.Stopping || holder.Stop == nil || !holder.Stop.Cancel {
		t.Fatalf("holder: %s, stop %+v", holder.Status, holder.Stop)
	}
	l, err = s.GetPipelineLocks(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if st := l.Lanes[""].Stages["S"]; st.Holder == nil || len(st.Waiting) != 0 {
		t.Fatalf("after the update: holder %+v, %d waiting", st.Holder, len(st.Waiting))
	}
}
