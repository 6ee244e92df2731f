package sfn_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/lambdatest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/sfn"
	"github.com/stageflow/stageflow/shared/sfn/sfntest"
	"github.com/stageflow/stageflow/shared/store/dynamo"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// builds holds the bootstraps this test binary builds (once each).
var builds lambdatest.Builds

func TestMain(m *testing.M) {
	code := dynamotest.Run(m)
	builds.Remove()
	os.Exit(code)
}

// Emulator pool sizes: an emulator serves one invocation at a time; the
// Map of a wave runs its Dispatch tasks at once (two here), and Advance
// runs once at a time per execution.
const (
	advancePool  = 2
	dispatchPool = 4
)

// sfnEmulatedSystem is the Step Functions path as deployed: the generated
// definition run by the interpreter behind the bridge, its Task states
// calling the advance and dispatch bootstraps under the Lambda Runtime
// Interface Emulator (built for this machine), their Step Functions client
// pointed at the bridge, and the store on DynamoDB Local, shared with this
// process's service and driver (the api function's part).
func sfnEmulatedSystem(t *testing.T) *system { return sfnEmulatedSystemWith(t, nil) }

// sfnEmulatedSystemWith is sfnEmulatedSystem with the environment of each
// function (advanceFunction, dispatchFunc) adjusted by change.
func sfnEmulatedSystemWith(t *testing.T, change func(fn string, env map[string]string)) *system {
	if testing.Short() {
		t.Skip("-short: no node, no emulator")
	}
	js := sfntest.JSDir(t)
	root, err := lambdatest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	rie, err := lambdatest.FindRIE(root)
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{"advance": builds.Bootstrap(t, "advance"), "dispatch": builds.Bootstrap(t, "dispatch")}
	c := dynamotest.Client(t)
	table := dynamotest.NewTable(t, c)
	env := testEnv()
	st, err := dynamo.New(c, dynamo.Options{Table: table, Now: env.Now})
	if err != nil {
		t.Fatal(err)
	}
	def := definition(t, sfn.Functions{Advance: advanceFunction, Dispatch: dispatchFunc})
	pools := map[string]*lambdatest.Pool{}
	br := sfntest.Start(t, sfntest.Config{Definition: def, StateMachineARN: bridgeMachine, JSDir: js, Invoke: lambdatest.Functions(pools)})
	fnEnv := lambdatest.Env(table, dynamotest.Endpoint(t), br.URL)
	fnEnv["STAGEFLOW_ARTIFACT_BUCKET"] = env.ArtifactBucket
	for _, f := range []struct {
		name, bin string
		size      int
	}{{advanceFunction, "advance", advancePool}, {dispatchFunc, "dispatch", dispatchPool}} {
		e := maps.Clone(fnEnv)
		if change != nil {
			change(f.name, e)
		}
		pools[f.name] = lambdatest.NewPool(lambdatest.Config{RIE: rie, Bootstrap: bins[f.bin], Env: e}, f.size)
	}
	t.Cleanup(func() {
		for name, p := range pools {
			if t.Failed() {
				t.Logf("the %s emulators' logs:\n%s", name, p.Logs())
			}
			p.Close()
		}
	})
	drv, err := sfn.New(sfn.Config{Store: st, API: br.Client(), StateMachineARN: bridgeMachine, Providers: sfn.Providers(st, env.Now), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return &system{name: "sfn-emulated", svc: newService(t, st, drv), store: st, bridge: br, drv: drv, settle: func(t *testing.T, id string) sfntest.Result {
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
		t.Logf("emulators started: advance %d, dispatch %d", pools[advanceFunction].Started(), pools[dispatchFunc].Started())
		return res
	}}
}

// TestEmulatedHandlerFailureIsVisible: when the advance bootstrap's
// handler fails (its table does not exist), the error Lambda reports
// reaches the state machine, which ends FAILED in HandlerFailed with the
// handler's error type and message: never retried as Lambda's own errors are, never
// swallowed.
func TestEmulatedHandlerFailureIsVisible(t *testing.T) {
	sys := sfnEmulatedSystemWith(t, func(fn string, env map[string]string) {
		if fn == advanceFunction {
			env["STAGEFLOW_TABLE"] = "stageflow-no-such-table"
		}
	})
	ctx := service.LocalCaller(t.Context(), "test")
	if _, err := sys.svc.CreatePipeline(ctx, pipeline.Pipeline{Name: "broken", Stages: []pipeline.Stage{stage("S", action("A", customType, 0))}}, nil); err != nil {
		t.Fatal(err)
	}
	started, err := sys.svc.StartExecution(ctx, service.StartInput{PipelineName: "broken"})
	if err != nil {
		t.Fatal(err)
	}
	res := sys.settle(t, started.ID)
	if res.Status != "FAILED" || !slices.Contains(res.States, sfn.StateHandlerFailed) || !strings.Contains(res.Cause, "non-existent table") {
		t.Fatalf("state machine %s, error %q, cause %q, states %v; want FAILED in %s with the store's error", res.Status, res.Error, res.Cause, res.States, sfn.StateHandlerFailed)
	}
	// The error is named as Lambda names it: the errorType the function
	// reported, not a type of the harness.
	var cause struct{ ErrorType string }
	if err := json.Unmarshal([]byte(res.Cause), &cause); err != nil || cause.ErrorType == "" || res.Error != cause.ErrorType || res.Error == "FunctionError" {
		t.Fatalf("error %q, cause %s: want the function's errorType as the error", res.Error, res.Cause)
	}
	if n := strings.Count(strings.Join(res.States, " "), sfn.StateAdvance); n != 1 {
		t.Fatalf("Advance entered %d times; our handler's errors are not retried", n)
	}
	t.Logf("error %q, cause %s", res.Error, res.Cause)
}
