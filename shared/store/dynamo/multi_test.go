package dynamo_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/dynamo"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
	"github.com/stageflow/stageflow/shared/store/storetest"
)

// twoStores returns two stores on one table, as two processes (two Lambda
// instances) have: neither knows what the other wrote.
func twoStores(t *testing.T) (*dynamo.Store, *dynamo.Store, *dynamodb.Client, string) {
	t.Helper()
	c := dynamotest.Client(t)
	table := dynamotest.NewTable(t, c)
	s1, err := dynamo.New(c, dynamo.Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := dynamo.New(c, dynamo.Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	return s1, s2, c, table
}

// A store that did not write the version it updates reads what it must know
// of it (which runs are stored apart) and writes it right; the other store's
// stale write is a Conflict.
func TestTwoStoresOneTable(t *testing.T) {
	s1, s2, _, _ := twoStores(t)
	ctx := t.Context()
	start := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	e := storetest.RichExecution("exec-1", "alpha", start, 40) // ended runs past the inline budget
	if _, _, err := s1.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	stale, err := s1.GetExecution(ctx, "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	e2, err := s2.GetExecution(ctx, "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	e2.Actions = append(e2.Actions, e2.Actions[0])
	e2.Actions[len(e2.Actions)-1].ID, e2.Actions[len(e2.Actions)-1].Token = "exec-1-run-new", "token-new"
	e2.StatusSummary = "written by the second store"
	if err := s2.UpdateExecution(ctx, e2); err != nil {
		t.Fatal(err)
	}
	stale.StatusSummary = "stale"
	if err := s1.UpdateExecution(ctx, stale); !errs.Is(err, errs.Conflict) {
		t.Fatalf("stale update from the first store: %v, want Conflict", err)
	}
	got, err := s1.GetExecution(ctx, "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != e2.Version || got.StatusSummary != e2.StatusSummary || len(got.Actions) != 41 {
		t.Fatalf("read version %d %q with %d runs, want version %d %q with 41", got.Version, got.StatusSummary, len(got.Actions), e2.Version, e2.StatusSummary)
	}
	// The first store, now current, updates again without a read of its own.
	got.Status = engine.Succeeded
	if err := s1.UpdateExecution(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, err := s2.GetExecution(ctx, "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != engine.Succeeded || len(again.Actions) != 41 || again.Actions[40].ID != "exec-1-run-new" {
		t.Fatalf("read %s with %d runs", again.Status, len(again.Actions))
	}
	if x, err := s1.ExecutionByRunToken(ctx, "token-new"); err != nil || x.ID != "exec-1" {
		t.Fatalf("ExecutionByRunToken of the run the second store added: %v", err)
	}
}

// Concurrent starts with one client request token, from two stores: the
// transaction lets one through, and every caller gets its execution.
func TestConcurrentClientRequestToken(t *testing.T) {
	s1, s2, _, _ := twoStores(t)
	ctx := t.Context()
	const n = 8
	ids := make([]string, n)
	created := make([]bool, n)
	errors := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := s1
			if i%2 == 1 {
				s = s2
			}
			e := storetest.RichExecution(fmt.Sprint("exec-", i), "alpha", time.Unix(int64(i), 0), 2)
			e.ClientRequestToken = "same-token"
			got, c, err := s.CreateExecution(ctx, e)
			if err == nil {
				ids[i], created[i] = got.ID, c
			}
			errors[i] = err
		})
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if errors[i] != nil {
			t.Fatalf("start %d: %v", i, errors[i])
		}
		if created[i] {
			winners++
		}
		if ids[i] != ids[0] {
			t.Fatalf("start %d got execution %s, start 0 got %s", i, ids[i], ids[0])
		}
	}
	if winners != 1 {
		t.Fatalf("%d executions created, want 1", winners)
	}
}

// DeletePipeline leaves nothing of the pipeline: versions, executions with
// their ended runs, snapshots, token pointers, client request tokens, jobs.
func TestDeletePipelineLeavesNoItems(t *testing.T) {
	s, _, c, table := twoStores(t)
	ctx := t.Context()
	p := &store.Pipeline{Name: "alpha", Declaration: pipeline.Pipeline{Name: "alpha"}}
	if err := s.CreatePipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e := storetest.RichExecution(fmt.Sprint("exec-", i), "alpha", time.Unix(int64(i), 0), 30)
		e.ClientRequestToken = fmt.Sprint("tok-", i)
		if _, _, err := s.CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		e.Actions = append(e.Actions, e.Actions[0])
		e.Actions[30].ID, e.Actions[30].Token = fmt.Sprint("exec-", i, "-more"), fmt.Sprint("token-more-", i)
		if err := s.UpdateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		j := &store.Job{ID: fmt.Sprint("job-", i), ExecutionID: e.ID, PipelineName: "alpha",
			ActionTypeID: pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "X", Version: "1"}}
		if err := s.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	locks := &engine.PipelineLocks{Pipeline: "alpha", Transitions: map[string]*engine.DisabledTransition{"Build": {Reason: "freeze"}}}
	if err := s.UpdateLocks(ctx, locks, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePipeline(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	out, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		t.Errorf("left behind: %v %v", it["pk"], it["sk"])
	}
	// A new pipeline of the name starts with an empty history and may use
	// the tokens again.
	if err := s.CreatePipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	e := storetest.RichExecution("exec-new", "alpha", time.Unix(10, 0), 1)
	e.ClientRequestToken = "tok-0"
	if _, created, err := s.CreateExecution(ctx, e); err != nil || !created {
		t.Fatalf("start with a token of the deleted pipeline: created=%v, %v", created, err)
	}
}

// An execution created with more runs than a transaction holds items gets
// every run's token pointer (those that do not fit are written before it).
func TestCreateWithManyRuns(t *testing.T) {
	s := newStore(t, dynamo.Options{})
	ctx := t.Context()
	e := storetest.RichExecution("exec-many", "alpha", time.Unix(100, 0), 150)
	for i := range e.Actions {
		e.Actions[i].Token = fmt.Sprint("token-many-", i)
	}
	if _, _, err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetExecution(ctx, "exec-many")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(storetest.Normalized(got), storetest.Normalized(e)) {
		t.Fatal("read back a different execution")
	}
	for _, i := range []int{0, 97, 98, 149} {
		x, err := s.ExecutionByRunToken(ctx, fmt.Sprint("token-many-", i))
		if err != nil || x.ID != "exec-many" {
			t.Fatalf("ExecutionByRunToken of run %d: %v", i, err)
		}
	}
}

// UpdateLocks takes the locks item and 99 executions of one head each in
// one transaction; one more execution, or a record past an item's size, is
// refused with LimitExceeded and nothing written.
func TestUpdateLocksItemLimit(t *testing.T) {
	s := newStore(t, dynamo.Options{})
	ctx := t.Context()
	var execs []*engine.Execution
	for i := range 100 {
		e := storetest.RichExecution(fmt.Sprint("exec-", i), "alpha", time.Unix(int64(i), 0), 1)
		if _, _, err := s.CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		e.StatusSummary = "written with the locks"
		execs = append(execs, e)
	}
	locks := &engine.PipelineLocks{Pipeline: "alpha"}
	err := s.UpdateLocks(ctx, locks, execs)
	if e, ok := errs.As(err); !ok || e.Code != errs.LimitExceeded {
		t.Fatalf("100 executions with the locks: %v, want LimitExceeded", err)
	}
	if locks.Version != 0 || execs[0].Version != 1 {
		t.Fatalf("versions changed by a refused write: locks %d, execution %d", locks.Version, execs[0].Version)
	}
	if got, err := s.GetPipelineLocks(ctx, "alpha"); err != nil || got.Version != 0 {
		t.Fatalf("locks after a refused write: %+v, %v", got, err)
	}
	if err := s.UpdateLocks(ctx, locks, execs[:99]); err != nil {
		t.Fatalf("99 executions with the locks: %v", err)
	}
	for _, e := range []*engine.Execution{execs[0], execs[98]} {
		got, err := s.GetExecution(ctx, e.ID)
		if err != nil || got.Version != 2 || got.StatusSummary != "written with the locks" {
			t.Fatalf("%s after the write: %v", e.ID, err)
		}
	}
	if got, err := s.GetExecution(ctx, execs[99].ID); err != nil || got.Version != 1 {
		t.Fatalf("the execution left out: %v", err)
	}

	// A record too large for an item is refused too, nothing written.
	since := time.Unix(0, 0)
	st := &engine.StageLock{Holder: &engine.Holder{ExecutionID: "held", Mode: pipeline.ModeQueued, Started: since, Since: since}}
	for i := range 4000 {
		st.Waiting = append(st.Waiting, engine.Waiter{ExecutionID: fmt.Sprintf("waiter-%05d", i), Mode: pipeline.ModeQueued,
			Started: since.Add(time.Duration(i) * time.Second), Since: since})
	}
	big := &engine.PipelineLocks{Pipeline: "alpha", Version: 1, Lanes: map[string]*engine.LaneLocks{"": {Stages: map[string]*engine.StageLock{"Build": st}}}}
	err = s.UpdateLocks(ctx, big, nil)
	if e, ok := errs.As(err); !ok || e.Code != errs.LimitExceeded {
		t.Fatalf("a record of 4000 waiters: %v, want LimitExceeded", err)
	}
	if got, err := s.GetPipelineLocks(ctx, "alpha"); err != nil || got.Version != 1 || got.Lanes != nil {
		t.Fatalf("locks after a refused write: %+v, %v", got, err)
	}
}
