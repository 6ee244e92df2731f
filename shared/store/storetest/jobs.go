package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

var builder = pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "Builder", Version: "1"}

func job(id string, typ pipeline.ActionTypeID, created time.Time) *store.Job {
	return &store.Job{
		ID:           id,
		Nonce:        "nonce-" + id,
		ActionTypeID: typ,
		ExecutionID:  "exec-1",
		ActionRunID:  "run-" + id,
		PipelineName: "alpha",
		Status:       store.JobQueued,
		Data:         json.RawMessage(`{"actionConfiguration":{"configuration":{"Project":"app"}}}`),
		Created:      created,
		Updated:      created,
		Deadline:     created.Add(time.Hour),
	}
}

func createJob(t *testing.T, s store.Store, j *store.Job) *store.Job {
	t.Helper()
	must(t, s.CreateJob(t.Context(), j))
	return j
}

func sameJob(t *testing.T, got, want *store.Job) {
	t.Helper()
	sameTime(t, "Created", got.Created, want.Created)
	sameTime(t, "Updated", got.Updated, want.Updated)
	sameTime(t, "Deadline", got.Deadline, want.Deadline)
	g, w := *got, *want
	g.Created, g.Updated, g.Deadline = time.Time{}, time.Time{}, time.Time{}
	w.Created, w.Updated, w.Deadline = time.Time{}, time.Time{}, time.Time{}
	deepEqual(t, "job "+want.ID, g, w)
}

func jobIDs(jobs []*store.Job) []string {
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

var jobTests = []test{
	{"CreateAndGet", func(t *testing.T, s store.Store) {
		j := createJob(t, s, job("job-1", builder, at(0)))
		if j.Version != 1 {
			t.Fatalf("Version after create = %d, want 1", j.Version)
		}
		got, err := s.GetJob(t.Context(), "job-1")
		must(t, err)
		want := job("job-1", builder, at(0))
		want.Version = 1
		sameJob(t, got, want)
	}},
	{"CreateDuplicate", func(t *testing.T, s store.Store) {
		createJob(t, s, job("job-1", builder, at(0)))
		wantCode(t, s.CreateJob(t.Context(), job("job-1", builder, at(time.Hour))), errs.Conflict, errs.KindJob)
	}},
	{"GetUnknown", func(t *testing.T, s store.Store) {
		_, err := s.GetJob(t.Context(), "ghost")
		wantCode(t, err, errs.NotFound, errs.KindJob)
	}},
	{"PollHandsOutQueuedJobsOfTheType", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// Created out of order: the poll hands them out oldest first.
		for _, i := range []int{3, 1, 5, 2, 4} {
			createJob(t, s, job(fmt.Sprint("job-", i), builder, at(time.Duration(i)*time.Minute)))
		}
		notQueued := job("job-0-created", builder, at(0))
		notQueued.Status = store.JobCreated
		createJob(t, s, notQueued)
		others := map[string]pipeline.ActionTypeID{}
		for i, mod := range []func(*pipeline.ActionTypeID){
			func(a *pipeline.ActionTypeID) { a.Category = "Test" },
			func(a *pipeline.ActionTypeID) { a.Owner = "ThirdParty" },
			func(a *pipeline.ActionTypeID) { a.Provider = "Other" },
			func(a *pipeline.ActionTypeID) { a.Version = "2" },
		} {
			typ := builder
			mod(&typ)
			id := fmt.Sprint("other-", i)
			others[id] = typ
			createJob(t, s, job(id, typ, at(0)))
		}

		now := at(time.Hour)
		first, err := s.PollJobs(ctx, builder, 2, now)
		must(t, err)
		deepEqual(t, "first poll", jobIDs(first), []string{"job-1", "job-2"})
		for _, j := range first {
			if j.Status != store.JobDispatched || j.Version != 2 {
				t.Fatalf("polled job %s: status %s version %d; want Dispatched, 2", j.ID, j.Status, j.Version)
			}
			sameTime(t, "Updated", j.Updated, now)
			stored, err := s.GetJob(ctx, j.ID)
			must(t, err)
			sameJob(t, stored, j)
		}
		rest, err := s.PollJobs(ctx, builder, 10, now)
		must(t, err)
		deepEqual(t, "second poll", jobIDs(rest), []string{"job-3", "job-4", "job-5"})
		empty, err := s.PollJobs(ctx, builder, 10, now)
		must(t, err)
		if len(empty) != 0 {
			t.Fatalf("third poll handed out %v", jobIDs(empty))
		}
		for id, typ := range others {
			j, err := s.GetJob(ctx, id)
			must(t, err)
			if j.Status != store.JobQueued {
				t.Fatalf("job %s of type %s was handed out for %s", id, typ, builder)
			}
			got, err := s.PollJobs(ctx, typ, 10, now)
			must(t, err)
			deepEqual(t, "poll of "+typ.String(), jobIDs(got), []string{id})
		}
		j, err := s.GetJob(ctx, "job-0-created")
		must(t, err)
		if j.Status != store.JobCreated {
			t.Fatalf("a Created job was handed out")
		}
	}},
	{"ConcurrentPollers", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const jobs, pollers = 60, 8
		for i := range jobs {
			createJob(t, s, job(fmt.Sprintf("job-%02d", i), builder, at(time.Duration(i)*time.Second)))
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen = map[string]int{}
		)
		for range pollers {
			wg.Go(func() {
				for {
					got, err := s.PollJobs(ctx, builder, 4, at(time.Hour))
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					if len(got) > 4 {
						t.Errorf("a poll with max 4 handed out %d jobs", len(got))
					}
					mu.Lock()
					for _, j := range got {
						seen[j.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != jobs {
			t.Fatalf("%d distinct jobs handed out, want %d", len(seen), jobs)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("job %s handed out %d times", id, n)
			}
		}
	}},
	{"UpdateOptimistic", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		createJob(t, s, job("job-1", builder, at(0)))
		a, err := s.GetJob(ctx, "job-1")
		must(t, err)
		b, err := s.GetJob(ctx, "job-1")
		must(t, err)
		a.Status = store.JobInProgress
		a.ContinuationToken = "cont-1"
		a.Data = json.RawMessage(`{"step":2}`)
		a.Updated = at(time.Minute)
		a.Deadline = at(2 * time.Hour)
		must(t, s.UpdateJob(ctx, a))
		if a.Version != 2 {
			t.Fatalf("Version after update = %d, want 2", a.Version)
		}
		got, err := s.GetJob(ctx, "job-1")
		must(t, err)
		sameJob(t, got, a)

		b.Status = store.JobFailed
		wantCode(t, s.UpdateJob(ctx, b), errs.Conflict, errs.KindJob)
		if b.Version != 1 {
			t.Fatalf("a failed update changed Version to %d", b.Version)
		}
		ghost := job("ghost", builder, at(0))
		ghost.Version = 1
		wantCode(t, s.UpdateJob(ctx, ghost), errs.NotFound, errs.KindJob)
	}},
	{"ListExpired", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		now := at(time.Hour)
		cases := []struct {
			id       string
			status   store.JobStatus
			deadline time.Time
			expired  bool
		}{
			{"queued-past", store.JobQueued, now.Add(-time.Minute), true},
			{"dispatched-past", store.JobDispatched, now.Add(-time.Nanosecond), true},
			{"inprogress-past", store.JobInProgress, now.Add(-time.Hour), true},
			{"inprogress-future", store.JobInProgress, now.Add(time.Minute), false},
			{"inprogress-now", store.JobInProgress, now, false},
			{"inprogress-none", store.JobInProgress, time.Time{}, false},
			{"succeeded-past", store.JobSucceeded, now.Add(-time.Minute), false},
			{"failed-past", store.JobFailed, now.Add(-time.Minute), false},
			{"timedout-past", store.JobTimedOut, now.Add(-time.Minute), false},
		}
		var want []string
		for _, c := range cases {
			j := job(c.id, builder, at(0))
			j.Status, j.Deadline = c.status, c.deadline
			createJob(t, s, j)
			if c.expired {
				want = append(want, c.id)
			}
		}
		got, err := s.ListExpiredJobs(ctx, now)
		must(t, err)
		deepEqual(t, "expired", sorted(jobIDs(got)), sorted(want))

		// Finishing a job takes it off the list.
		j, err := s.GetJob(ctx, "dispatched-past")
		must(t, err)
		j.Status = store.JobSucceeded
		must(t, s.UpdateJob(ctx, j))
		got, err = s.ListExpiredJobs(ctx, now)
		must(t, err)
		if len(got) != len(want)-1 {
			t.Fatalf("after success, expired = %v", jobIDs(got))
		}
	}},
}
