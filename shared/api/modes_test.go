package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/stageflow/stageflow/shared/api/apitest"
)

// TestFiftyExecutionsPerMode starts 50 executions of one pipeline in each
// execution mode (and with lanes) against a running server, through the
// AWS SDK, with a job worker of our own serving both stages' custom
// actions after a random short delay, and checks the modes' invariants:
// QUEUED ends them in start order; SUPERSEDED never has two executions in
// one stage and ends the replaced ones Superseded; PARALLEL ends them all
// Succeeded; with StageflowLane the invariants hold per lane.
func TestFiftyExecutionsPerMode(t *testing.T) {
	const n = 50
	cases := []struct {
		name, mode string
		lanes      int // 0: no StageflowLane variable
	}{
		{"queued", "QUEUED", 0},
		{"superseded", "SUPERSEDED", 0},
		{"parallel", "PARALLEL", 0},
		{"superseded-lanes", "SUPERSEDED", 3},
		{"queued-lanes", "QUEUED", 3},
	}
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// The SDK's standard retries, as a real client has them: the test is
	// about what the server decides, and the machine is busy.
	cp := codepipeline.New(codepipeline.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Credentials: srv.Credentials()})
	typ := &cptypes.ActionTypeId{Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerCustom, Provider: aws.String("ModeWorker"), Version: aws.String("1")}
	if _, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: typ.Category, Provider: typ.Provider, Version: typ.Version,
		InputArtifactDetails: &cptypes.ArtifactDetails{}, OutputArtifactDetails: &cptypes.ArtifactDetails{},
		ConfigurationProperties: []cptypes.ActionConfigurationProperty{{Name: aws.String("Lane"), Key: false, Required: false, Secret: false}},
	}); err != nil {
		t.Fatalf("CreateCustomActionType: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			decl := &cptypes.PipelineDeclaration{
				Name: aws.String("fifty-" + c.name), RoleArn: aws.String("arn:aws:iam::000000000000:role/modes"),
				PipelineType: cptypes.PipelineTypeV2, ExecutionMode: cptypes.ExecutionMode(c.mode),
			}
			if c.lanes > 0 {
				decl.Variables = []cptypes.PipelineVariableDeclaration{{Name: aws.String("StageflowLane"), DefaultValue: aws.String("lane0")}}
			}
			for _, st := range []string{"Build", "Deploy"} {
				a := cptypes.ActionDeclaration{Name: aws.String(st), ActionTypeId: typ}
				if c.lanes > 0 {
					a.Configuration = map[string]string{"Lane": "#{variables.StageflowLane}"}
				}
				decl.Stages = append(decl.Stages, cptypes.StageDeclaration{Name: aws.String(st), Actions: []cptypes.ActionDeclaration{a}})
			}
			if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: decl}); err != nil {
				t.Fatalf("CreatePipeline: %v", err)
			}
			w := newModeWorker(t, ctx, cp, typ, aws.ToString(decl.Name))
			var started []string
			laneOf := map[string]string{}
			for i := range n {
				in := &codepipeline.StartPipelineExecutionInput{Name: decl.Name}
				lane := ""
				if c.lanes > 0 {
					lane = fmt.Sprintf("lane%d", i%c.lanes)
					in.Variables = []cptypes.PipelineVariable{{Name: aws.String("StageflowLane"), Value: aws.String(lane)}}
				}
				out, err := cp.StartPipelineExecution(ctx, in)
				if err != nil {
					t.Fatalf("StartPipelineExecution %d: %v", i, err)
				}
				id := aws.ToString(out.PipelineExecutionId)
				started = append(started, id)
				laneOf[id] = lane
			}
			final := waitAllEnded(t, ctx, cp, aws.ToString(decl.Name), started)
			w.stop()
			if v := w.violations(); c.mode != "PARALLEL" && len(v) > 0 {
				t.Errorf("two executions in one stage of one lane at once: %v", v[:min(len(v), 5)])
			}
			byLane := map[string][]string{}
			for _, id := range started {
				byLane[laneOf[id]] = append(byLane[laneOf[id]], id)
			}
			for lane, ids := range byLane {
				switch c.mode {
				case "QUEUED", "PARALLEL":
					for _, id := range ids {
						if final[id] != cptypes.PipelineExecutionStatusSucceeded {
							t.Errorf("lane %q: %s ended %s", lane, id, final[id])
						}
					}
					if c.mode == "QUEUED" {
						if got := w.deployedOrder(lane); !slices.Equal(got, ids) {
							i := 0
							for i < min(len(got), len(ids)) && got[i] == ids[i] {
								i++
							}
							t.Errorf("lane %q: %d deployed, %d started; the order differs from place %d on", lane, len(got), len(ids), i)
						}
					}
				case "SUPERSEDED":
					superseded := 0
					for _, id := range ids {
						switch final[id] {
						case cptypes.PipelineExecutionStatusSucceeded:
						case cptypes.PipelineExecutionStatusSuperseded:
							superseded++
							if slices.Contains(w.deployedOrder(lane), id) {
								t.Errorf("lane %q: %s ended Superseded after it deployed", lane, id)
							}
						default:
							t.Errorf("lane %q: %s ended %s", lane, id, final[id])
						}
					}
					if last := ids[len(ids)-1]; final[last] != cptypes.PipelineExecutionStatusSucceeded {
						t.Errorf("lane %q: the last execution ended %s", lane, final[last])
					}
					t.Logf("lane %q: %d of %d superseded", lane, superseded, len(ids))
				}
			}
			if c.mode == "SUPERSEDED" && c.lanes == 0 && countStatus(final, cptypes.PipelineExecutionStatusSuperseded) == 0 {
				t.Errorf("no execution of %d was superseded: the test did not make them overlap", n)
			}
		})
	}
}

func countStatus(m map[string]cptypes.PipelineExecutionStatus, s cptypes.PipelineExecutionStatus) int {
	k := 0
	for _, v := range m {
		if v == s {
			k++
		}
	}
	return k
}

// waitAllEnded polls ListPipelineExecutions until every started execution
// has ended, and returns their statuses.
func waitAllEnded(t *testing.T, ctx context.Context, cp *codepipeline.Client, name string, ids []string) map[string]cptypes.PipelineExecutionStatus {
	t.Helper()
	for {
		out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name), MaxResults: aws.Int32(100)})
		if err != nil {
			t.Fatalf("ListPipelineExecutions: %v", err)
		}
		final := map[string]cptypes.PipelineExecutionStatus{}
		running := 0
		for _, s := range out.PipelineExecutionSummaries {
			final[aws.ToString(s.PipelineExecutionId)] = s.Status
			if s.Status == cptypes.PipelineExecutionStatusInProgress || s.Status == cptypes.PipelineExecutionStatusStopping {
				running++
			}
		}
		if running == 0 && len(final) >= len(ids) {
			return final
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d executions still running at the deadline", running, len(ids))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// modeWorker is a job worker for the pipeline's custom actions: it takes
// each job, holds it a few milliseconds and succeeds it, recording who is
// in each stage of each lane.
type modeWorker struct {
	t        *testing.T
	cp       *codepipeline.Client
	typ      *cptypes.ActionTypeId
	pipeline string
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup

	mu       sync.Mutex
	in       map[string]string // lane/stage → execution with a job out
	bad      []string
	deployed map[string][]string // lane → executions whose Deploy job succeeded, in order
}

func newModeWorker(t *testing.T, ctx context.Context, cp *codepipeline.Client, typ *cptypes.ActionTypeId, name string) *modeWorker {
	w := &modeWorker{t: t, cp: cp, typ: typ, pipeline: name, done: make(chan struct{}), in: map[string]string{}, deployed: map[string][]string{}}
	w.wg.Add(1)
	go w.loop(ctx)
	t.Cleanup(w.stop)
	return w
}

func (w *modeWorker) stop() {
	w.once.Do(func() { close(w.done) })
	w.wg.Wait()
}

func (w *modeWorker) violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.bad)
}

func (w *modeWorker) deployedOrder(lane string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.deployed[lane])
}

func (w *modeWorker) loop(ctx context.Context) {
	defer w.wg.Done()
	var jobs sync.WaitGroup
	defer jobs.Wait()
	for {
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			return
		default:
		}
		out, err := w.cp.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: w.typ, MaxBatchSize: aws.Int32(10)})
		if err != nil {
			if ctx.Err() == nil {
				w.t.Errorf("PollForJobs: %v", err)
			}
			return
		}
		if len(out.Jobs) == 0 {
			select {
			case <-w.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		for _, j := range out.Jobs {
			pc := j.Data.PipelineContext
			if aws.ToString(pc.PipelineName) != w.pipeline {
				continue
			}
			lane := j.Data.ActionConfiguration.Configuration["Lane"]
			stage := aws.ToString(pc.Stage.Name)
			exec := aws.ToString(pc.PipelineExecutionId)
			key := lane + "/" + stage
			w.mu.Lock()
			if other, busy := w.in[key]; busy && other != exec {
				w.bad = append(w.bad, fmt.Sprintf("%s: %s and %s", key, other, exec))
			}
			w.in[key] = exec
			w.mu.Unlock()
			jobs.Add(1)
			go func() {
				defer jobs.Done()
				if _, err := w.cp.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: j.Id, Nonce: j.Nonce}); err != nil {
					w.t.Errorf("AcknowledgeJob: %v", err)
					return
				}
				time.Sleep(time.Duration(1+rand.IntN(8)) * time.Millisecond) // the work
				w.mu.Lock()
				if w.in[key] == exec {
					delete(w.in, key)
				}
				if stage == "Deploy" {
					w.deployed[lane] = append(w.deployed[lane], exec)
				}
				w.mu.Unlock()
				if _, err := w.cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: j.Id}); err != nil {
					w.t.Errorf("PutJobSuccessResult: %v", err)
				}
			}()
		}
	}
}
