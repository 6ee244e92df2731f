package service_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

// TestJobsTimeOut: a job nobody completes before the action's
// timeoutInMinutes is timed out by ExpireJobs and fails its action and the
// execution; a worker's late result is then refused.
func TestJobsTimeOut(t *testing.T) {
	var skew atomic.Int64 // how far the server's clock is ahead
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution(), apitest.WithClock(func() time.Time { return time.Now().UTC().Add(time.Duration(skew.Load())) }))
	svc := srv.Service
	ctx := service.LocalCaller(t.Context(), "test")
	typ := pipeline.ActionTypeID{Category: "Deploy", Owner: "Custom", Provider: "Slow", Version: "1"}
	if _, err := svc.CreateCustomActionType(ctx, apiCustomType(typ)); err != nil {
		t.Fatal(err)
	}
	timeout := 5
	p := pipeline.Pipeline{Name: "slow", Stages: []pipeline.Stage{{Name: "S", Actions: []pipeline.Action{
		{Name: "Wait", ActionTypeID: typ, TimeoutInMinutes: &timeout},
	}}}}
	createPipeline(t, svc, p)
	started, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	id := started.ID
	// The job is queued; a worker takes it.
	var jobs []store.Job
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := svc.PollForJobs(ctx, typ, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			jobs = append(jobs, store.Job{ID: got[0].ID, Nonce: got[0].Nonce})
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no job was queued")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tests := []struct {
		name    string
		after   time.Duration
		expired int
	}{
		{"before the timeout nothing expires", 4 * time.Minute, 0},
		{"after the timeout the job expires", 6 * time.Minute, 1},
		{"an expired job is not expired twice", 7 * time.Minute, 0},
	}
	for _, tt := range tests {
		skew.Store(int64(tt.after))
		n, err := svc.ExpireJobs(ctx)
		if err != nil || n != tt.expired {
			t.Fatalf("%s: expired %d, %v; want %d", tt.name, n, err, tt.expired)
		}
	}
	skew.Store(0)
	e, err := srv.System.Runner.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := e.LatestRun("S", "Wait")
	if e.Status != engine.Failed || r.ErrorCode != engine.CodeTimedOut || !strings.Contains(r.ErrorMessage, "timeout") {
		t.Fatalf("execution %s, run %s %s %q", e.Status, r.Status, r.ErrorCode, r.ErrorMessage)
	}
	err = svc.PutJobSuccessResult(ctx, jobs[0].ID, apiJobSuccess())
	if err == nil || !strings.Contains(err.Error(), "TimedOut") {
		t.Fatalf("late success: %v, want a refusal naming the TimedOut state", err)
	}
}

func apiCustomType(id pipeline.ActionTypeID) service.CustomActionTypeInput {
	return service.CustomActionTypeInput{Category: id.Category, Provider: id.Provider, Version: id.Version,
		InputArtifactDetails: service.ArtifactDetails{MaximumCount: 1}, OutputArtifactDetails: service.ArtifactDetails{MaximumCount: 1}}
}

func apiJobSuccess() service.JobSuccess { return service.JobSuccess{Summary: "too late"} }
