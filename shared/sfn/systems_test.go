package sfn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/approval"
	"github.com/stageflow/stageflow/shared/actions/custom"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/runner"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/sfn"
	"github.com/stageflow/stageflow/shared/sfn/sfntest"
	"github.com/stageflow/stageflow/shared/store/sqlite"
)

// system is a whole Stageflow on SQLite behind its service, driven either
// by the local runner or by the Step Functions driver through the bridge.
type system struct {
	name  string
	svc   *service.Service
	store engine.ExecutionStore // SQLite, or DynamoDB Local under the emulator
	// settle waits until the driver's loop for the execution has ended
	// and returns how the state machine ended ("" for the runner).
	settle func(t *testing.T, id string) sfntest.Result
	bridge *sfntest.Bridge
	drv    *sfn.Driver // the Step Functions system's
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stageflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testEnv() engine.Env {
	return engine.Env{Now: func() time.Time { return time.Now().UTC() }, NewID: uuid.NewString, ArtifactBucket: "artifacts"}
}

func newService(t *testing.T, st service.Store, drv service.Driver) *service.Service {
	t.Helper()
	svc := service.New(service.Config{Store: st, Driver: drv, NoFirstExecution: true, Region: "us-east-1", Account: "000000000000"})
	if _, err := svc.CreateCustomActionType(t.Context(), service.CustomActionTypeInput{Category: customType.Category, Provider: customType.Provider, Version: customType.Version,
		InputArtifactDetails: service.ArtifactDetails{MaximumCount: 1}, OutputArtifactDetails: service.ArtifactDetails{MaximumCount: 1}}); err != nil {
		t.Fatal(err)
	}
	return svc
}

// runnerSystem is the local driver with the providers both drivers run:
// approvals and custom actions served by job workers.
func runnerSystem(t *testing.T) *system {
	st := openStore(t)
	env := testEnv()
	reg := actions.NewRegistry(func(pipeline.ActionTypeID) actions.Provider { return actions.Unsupported{} })
	reg.Register(pipeline.OwnerAWS, "Manual", approval.Provider{})
	reg.RegisterOwner(pipeline.OwnerCustom, &custom.Provider{Store: st, Now: env.Now})
	r := runner.New(runner.Config{Store: st, Providers: reg, Env: env, DataDir: t.TempDir()})
	t.Cleanup(func() { r.Close(context.Background()) })
	return &system{name: "runner", svc: newService(t, st, r), store: st, settle: func(t *testing.T, id string) sfntest.Result {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if _, err := r.Wait(ctx, id); err != nil {
			t.Fatalf("runner: waiting for %s: %v", id, err)
		}
		return sfntest.Result{}
	}}
}

const (
	bridgeMachine   = "arn:aws:states:us-east-1:000000000000:stateMachine:stageflow-bridge"
	advanceFunction = "stageflow-advance"
	dispatchFunc    = "stageflow-dispatch"
)

// sfnSystemWith is the Step Functions driver on SQLite: the generated
// definition run by the interpreter behind the bridge, its Task states
// calling the handlers in this process, through wrap (a test's way to make
// a handler fail or answer otherwise). sfnEmulatedSystem is the same with
// the bootstraps under the emulator.
func sfnSystemWith(t *testing.T, wrap func(sfntest.Invoke) sfntest.Invoke) *system {
	if testing.Short() {
		t.Skip("-short: no node")
	}
	js := sfntest.JSDir(t)
	st := openStore(t)
	env := testEnv()
	def := definition(t, sfn.Functions{Advance: advanceFunction, Dispatch: dispatchFunc})
	var drv *sfn.Driver
	invoke := func(ctx context.Context, fn string, payload json.RawMessage) (json.RawMessage, error) {
		return sfntest.InProcess(drv, advanceFunction, dispatchFunc)(ctx, fn, payload)
	}
	if wrap != nil {
		invoke = wrap(invoke)
	}
	br := sfntest.Start(t, sfntest.Config{Definition: def, StateMachineARN: bridgeMachine, JSDir: js, Invoke: invoke})
	drv, err := sfn.New(sfn.Config{Store: st, API: br.Client(), StateMachineARN: bridgeMachine, Providers: sfn.Providers(st, env.Now), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return &system{name: "sfn", svc: newService(t, st, drv), store: st, bridge: br, drv: drv, settle: func(t *testing.T, id string) sfntest.Result {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		arn := drv.ExecutionARN(id)
		if e, err := st.GetExecution(ctx, id); err == nil {
			arn = drv.MachineARN(e) // the latest drive's, after a stage retry
		}
		res, err := br.Wait(ctx, arn)
		if err != nil {
			t.Fatalf("sfn: waiting for the state machine of %s: %v; node said: %s", id, err, res.Stderr)
		}
		return res
	}}
}

// scenario is a pipeline and how its actions end: custom actions by a job
// worker, approvals by an approver.
type scenario struct {
	name   string
	stages []pipeline.Stage
	// fail names the custom actions whose worker reports a failure, and
	// the approvals that are rejected.
	fail map[string]bool
	// outputs are the output variables each custom action's worker reports.
	outputs map[string]map[string]string
	// abandon names the custom action at whose job the execution is
	// stopped with abandon instead.
	abandon string
	// mode is the pipeline's execution mode (V2 when set); starts is how
	// many executions start, one after the other (default 1).
	mode   string
	starts int
	// disabled names a stage whose inbound transition is disabled before
	// the executions start, and enabled once every one not ended waits.
	disabled string
	// retry, when set, retries the failed stage of an execution that
	// failed with this mode, once; the failing actions of fail fail only
	// their first attempt then.
	retry string
}

// play runs the scenario on sys until the execution has ended and its
// driver has let go of it, and returns the execution.
func play(t *testing.T, sys *system, sc scenario) (*engine.Execution, sfntest.Result) {
	t.Helper()
	es, res := playAll(t, sys, sc)
	return es[0], res[0]
}

// playAll is play for every execution of the scenario, in start order.
func playAll(t *testing.T, sys *system, sc scenario) ([]*engine.Execution, []sfntest.Result) {
	t.Helper()
	ctx := service.LocalCaller(t.Context(), "test")
	p := pipeline.Pipeline{Name: sc.name, Stages: sc.stages}
	if sc.mode != "" {
		p.PipelineType, p.ExecutionMode = pipeline.TypeV2, sc.mode
	}
	if _, err := sys.svc.CreatePipeline(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if sc.disabled != "" {
		if err := sys.svc.DisableStageTransition(ctx, sc.name, sc.disabled, service.TransitionInbound, "held by the test"); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for range max(sc.starts, 1) {
		started, err := sys.svc.StartExecution(ctx, service.StartInput{PipelineName: sc.name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, started.ID)
	}
	deadline := time.Now().Add(time.Minute)
	approved := map[string]bool{}
	failed := map[string]bool{}
	retried := map[string]bool{}
	enabled := sc.disabled == ""
	for {
		ended, waiting := 0, 0
		var execs []*engine.Execution
		for _, id := range ids {
			e, err := sys.store.GetExecution(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			execs = append(execs, e)
			switch {
			case e.Status == engine.Failed && sc.retry != "" && !retried[id]:
				failedStage := ""
				for _, st := range e.Stages {
					if st.Status == engine.Failed {
						failedStage = st.Name
					}
				}
				if _, err := sys.svc.RetryStageExecution(ctx, sc.name, failedStage, id, sc.retry); err != nil {
					t.Fatalf("%s: retrying %s of %s: %v", sys.name, failedStage, id, err)
				}
				retried[id] = true
			case e.Status.Terminal():
				ended++
			case e.Wait != nil:
				waiting++
			}
		}
		if ended == len(ids) {
			break
		}
		if !enabled && waiting == len(ids)-ended {
			if err := sys.svc.EnableStageTransition(ctx, sc.name, sc.disabled, service.TransitionInbound); err != nil {
				t.Fatal(err)
			}
			enabled = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: executions still running after a minute: %+v", sys.name, execs)
		}
		jobs, err := sys.svc.PollForJobs(ctx, customType, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			name := j.Data.PipelineContext.Action.Name
			id := j.Data.PipelineContext.PipelineExecutionID
			switch {
			case name == sc.abandon:
				if err := sys.svc.StopExecution(ctx, sc.name, id, true, "abandoned by the test"); err != nil {
					t.Fatal(err)
				}
			case sc.fail[name] && (sc.retry == "" || !failed[id+"/"+name]):
				failed[id+"/"+name] = true
				if err := sys.svc.PutJobFailureResult(ctx, j.ID, "JobFailed", name+" failed on purpose", ""); err != nil {
					t.Fatal(err)
				}
			default:
				if err := sys.svc.PutJobSuccessResult(ctx, j.ID, service.JobSuccess{Summary: name + " done", OutputVariables: sc.outputs[name]}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, e := range execs {
			for _, run := range e.Actions {
				if run.Status != engine.InProgress || run.Type != approvalType || approved[run.ID] {
					continue
				}
				status := approval.Approved
				if sc.fail[run.Action] {
					status = approval.Rejected
				}
				if _, err := sys.svc.PutApprovalResult(ctx, service.ApprovalInput{PipelineName: sc.name, Stage: run.Stage, Action: run.Action,
					Token: run.Token, Status: status, Summary: "decided by the test"}); err != nil {
					t.Fatal(err)
				}
				approved[run.ID] = true
			}
		}
		if len(jobs) == 0 {
			time.Sleep(5 * time.Millisecond) // a poll with a deadline: nothing to wait on but the store
		}
	}
	var out []*engine.Execution
	var results []sfntest.Result
	for _, id := range ids {
		results = append(results, sys.settle(t, id))
		e, err := sys.store.GetExecution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out, results
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// outcome is what the equivalence compares: the execution's status, its
// stages' and each run in order with its status, error code and outputs.
func outcome(e *engine.Execution) []string {
	// Execution IDs differ from system to system: a summary naming one
	// (a superseding execution) is compared without it.
	out := []string{"execution " + string(e.Status) + ": " + uuidPattern.ReplaceAllString(e.StatusSummary, "<id>")}
	for _, s := range e.Stages {
		out = append(out, fmt.Sprintf("stage %s %s", s.Name, s.Status))
	}
	for _, c := range e.Conditions {
		out = append(out, fmt.Sprintf("condition %s/%s %s %q", c.Stage, c.Kind, c.Status, uuidPattern.ReplaceAllString(c.Summary, "<id>")))
	}
	for _, r := range e.Actions {
		out = append(out, fmt.Sprintf("run %s/%s #%d %s %s %q %v", r.Stage, r.Action, r.Attempt, r.Status, r.ErrorCode, r.ErrorMessage, r.OutputVariables))
	}
	return out
}
