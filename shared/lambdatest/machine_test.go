package lambdatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/lambdatest"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/sfn"
	"github.com/stageflow/stageflow/shared/store/dynamo"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
)

// machineSamples are the samples of the functions the state machine
// invokes, with the shared/sfn type each must decode as (strictly).
var machineSamples = map[string]any{
	"advance.start.json":          &sfn.AdvanceInput{},
	"advance.after-wave.json":     &sfn.AdvanceOutput{}, // the state Advance reads back: {executionId, next, wave, ended}
	"dispatch.custom-action.json": &sfn.DispatchInput{},
}

// readMachineSample reads a sample, checks it decodes strictly as its type
// and returns it with the sample's IDs replaced by ids (old → new).
func readMachineSample(t *testing.T, name string, ids map[string]string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		sfn.AdvanceOutput
		Ended []sfn.Ended `json:"ended"`
	}
	target := machineSamples[name]
	if _, ok := target.(*sfn.AdvanceOutput); ok {
		target = &state
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(target); err != nil {
		t.Fatalf("events/%s does not decode as %T: %v", name, machineSamples[name], err)
	}
	s := string(data)
	for old, id := range ids {
		s = strings.ReplaceAll(s, old, id)
	}
	return []byte(s)
}

// sampleIDs are the IDs the samples carry.
const (
	sampleExecution = "8f14e45f-ceea-4e67-a3f1-b5c2d6e7f801"
	sampleRun       = "c9f0f895-fb98-4b9b-99c1-b5d2e3f4a502"
)

// recordingAPI is Step Functions for the test's own driver: it records
// the executions started and the task tokens sent.
type recordingAPI struct {
	mu      sync.Mutex
	started []string
	sent    map[string]string // token → output
}

func (a *recordingAPI) StartExecution(_ context.Context, in *awssfn.StartExecutionInput, _ ...func(*awssfn.Options)) (*awssfn.StartExecutionOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.started = append(a.started, aws.ToString(in.Input))
	return &awssfn.StartExecutionOutput{ExecutionArn: aws.String("arn:x"), StartDate: aws.Time(time.Now())}, nil
}

func (a *recordingAPI) StopExecution(context.Context, *awssfn.StopExecutionInput, ...func(*awssfn.Options)) (*awssfn.StopExecutionOutput, error) {
	return &awssfn.StopExecutionOutput{StopDate: aws.Time(time.Now())}, nil
}

func (a *recordingAPI) SendTaskSuccess(_ context.Context, in *awssfn.SendTaskSuccessInput, _ ...func(*awssfn.Options)) (*awssfn.SendTaskSuccessOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent[aws.ToString(in.TaskToken)] = aws.ToString(in.Output)
	return &awssfn.SendTaskSuccessOutput{}, nil
}

// TestStateMachineSamples plays one execution of a one-action pipeline
// through the advance and dispatch bootstraps under the emulator, with the
// samples as the state machine's payloads (their IDs replaced by the
// execution's): advance.start answers a wave of the one run, dispatch
// queues its custom job with the sample's task token, the worker's result
// sends that token, and advance.after-wave ends the execution.
func TestStateMachineSamples(t *testing.T) {
	rie(t)
	c := dynamotest.Client(t)
	table := dynamotest.NewTable(t, c)
	refuse, err := lambdatest.RefusingEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	env := lambdatest.Env(table, dynamotest.Endpoint(t), refuse)
	advance, dispatch := emulator(t, "advance", env), emulator(t, "dispatch", env)

	// The api function's part, in this process on the same table.
	now := func() time.Time { return time.Now().UTC() }
	st, err := dynamo.New(c, dynamo.Options{Table: table, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	api := &recordingAPI{sent: map[string]string{}}
	drv, err := sfn.New(sfn.Config{Store: st, API: api, StateMachineARN: lambdatest.LocalStateMachineARN,
		Providers: sfn.Providers(st, now), Env: engine.Env{Now: now, NewID: uuid.NewString, ArtifactBucket: lambdatest.LocalBucket}})
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: st, Driver: drv, Now: now, NoFirstExecution: true, Region: lambdatest.LocalRegion, Account: lambdatest.LocalAccount})
	ctx := service.LocalCaller(t.Context(), "test")
	typ := pipeline.ActionTypeID{Category: "Build", Owner: "Custom", Provider: "SampleWorker", Version: "1"}
	if _, err := svc.CreateCustomActionType(ctx, service.CustomActionTypeInput{Category: typ.Category, Provider: typ.Provider, Version: typ.Version}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreatePipeline(ctx, pipeline.Pipeline{Name: "sample", Stages: []pipeline.Stage{
		{Name: "Build", Actions: []pipeline.Action{{Name: "Compile", ActionTypeID: typ}}},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	started, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "sample"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{sampleExecution: started.ID}

	// advance.start: the state machine's input.
	out, err := advance.Invoke(t.Context(), readMachineSample(t, "advance.start.json", ids))
	if err != nil {
		t.Fatal(err)
	}
	var step sfn.AdvanceOutput
	if err := json.Unmarshal(out, &step); err != nil {
		t.Fatal(err)
	}
	if step.ExecutionID != started.ID || step.Next != sfn.NextWave || len(step.Wave) != 1 {
		t.Fatalf("advance.start answered %s; want the wave of one run", out)
	}
	ids[sampleRun] = step.Wave[0].RunID

	// dispatch: the Dispatch task of that run.
	in := readMachineSample(t, "dispatch.custom-action.json", ids)
	var dispatched sfn.DispatchInput
	_ = json.Unmarshal(in, &dispatched)
	if out, err := dispatch.Invoke(t.Context(), in); err != nil || string(out) != "null" {
		t.Fatalf("dispatch answered %s, %v", out, err)
	}
	jobs, err := svc.PollForJobs(ctx, typ, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Data.PipelineContext.Action.Name != "Compile" {
		t.Fatalf("jobs after dispatch: %+v, %v; want the job of Compile", jobs, err)
	}
	if err := svc.PutJobSuccessResult(ctx, jobs[0].ID, service.JobSuccess{Summary: "compiled"}); err != nil {
		t.Fatal(err)
	}
	api.mu.Lock()
	sent, ok := api.sent[dispatched.TaskToken]
	api.mu.Unlock()
	if !ok || !strings.Contains(sent, step.Wave[0].RunID) {
		t.Fatalf("the job's result sent %v; want the sample's task token with the run", api.sent)
	}

	// advance.after-wave: the Wave state's result.
	out, err = advance.Invoke(t.Context(), readMachineSample(t, "advance.after-wave.json", ids))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &step); err != nil || step.Next != sfn.NextDone {
		t.Fatalf("advance.after-wave answered %s, %v; want done", out, err)
	}
	e, err := st.GetExecution(ctx, started.ID)
	if err != nil || e.Status != engine.Succeeded {
		t.Fatalf("execution %+v, %v; want Succeeded", e, err)
	}
}
