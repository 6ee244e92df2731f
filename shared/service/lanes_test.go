package service_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
	"github.com/stageflow/stageflow/shared/store"
)

// lanedHistory is a SUPERSEDED pipeline with lanes whose executions stand,
// oldest first: a1 (lane a) holding Ship, b1 (lane b) in Gate, a2 (lane a)
// done with Gate and waiting to enter Ship behind a1; the transition into
// Gate is disabled.
type lanedHistory struct {
	srv        *apitest.Server
	a1, b1, a2 string
}

func newLanedHistory(t *testing.T) *lanedHistory {
	t.Helper()
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	svc := srv.Service
	ctx := service.LocalCaller(t.Context(), "test")
	def := "main"
	createPipeline(t, svc, pipeline.Pipeline{Name: "laned", PipelineType: pipeline.TypeV2,
		Variables: []pipeline.VariableDeclaration{{Name: engine.LaneVariable, DefaultValue: &def}},
		Stages: []pipeline.Stage{
			{Name: "Gate", Actions: []pipeline.Action{{Name: "Approve", ActionTypeID: manualApproval}}},
			{Name: "Ship", Actions: []pipeline.Action{{Name: "Release", ActionTypeID: manualApproval}}},
		}})
	start := func(lane string) string {
		t.Helper()
		e, err := svc.StartExecution(ctx, service.StartInput{PipelineName: "laned", Variables: map[string]string{engine.LaneVariable: lane}})
		if err != nil {
			t.Fatal(err)
		}
		waitingRun(t, srv, e.ID, "Gate", "Approve")
		return e.ID
	}
	approveGate := func(id string) {
		t.Helper()
		if _, err := svc.PutApprovalResult(ctx, service.ApprovalInput{PipelineName: "laned", Stage: "Gate", Action: "Approve",
			ExecutionID: id, Status: "Approved", Summary: "go"}); err != nil {
			t.Fatal(err)
		}
	}
	h := &lanedHistory{srv: srv}
	h.a1 = start("a")
	approveGate(h.a1)
	waitingRun(t, srv, h.a1, "Ship", "Release")
	h.b1 = start("b")
	h.a2 = start("a")
	approveGate(h.a2)
	eventually(t, "a2 waiting for Ship", func() bool {
		e, err := srv.System.Store.GetExecution(t.Context(), h.a2)
		if err != nil {
			t.Fatal(err)
		}
		return e.Wait != nil && e.Wait.Stage == "Ship"
	})
	if err := svc.DisableStageTransition(ctx, "laned", "Gate", "Inbound", "frozen"); err != nil {
		t.Fatal(err)
	}
	return h
}

func lane(s string) *string { return &s }

// TestPipelineStateByLane: the state of a lane shows each stage's latest
// execution of that lane and the lane's waiting executions; every lane
// shows the pipeline-wide transitions; no lane is every lane.
func TestPipelineStateByLane(t *testing.T) {
	h := newLanedHistory(t)
	ctx := service.LocalCaller(t.Context(), "test")
	cases := []struct {
		name        string
		lane        *string
		gate, ship  string   // the stages' latest executions ("": none)
		shipInbound []string // waiting to enter Ship
	}{
		{"every lane", nil, h.a2, h.a1, []string{h.a2}},
		{"lane a", lane("a"), h.a2, h.a1, []string{h.a2}},
		{"lane b", lane("b"), h.b1, "", nil},
		{"a lane without executions", lane("c"), "", "", nil},
		{"no lane", lane(""), "", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := h.srv.Service.GetPipelineStateIn(ctx, "laned", c.lane)
			if err != nil {
				t.Fatal(err)
			}
			gate, ship := out.StageStates[0], out.StageStates[1]
			for _, st := range []struct {
				ss   service.StageState
				want string
			}{{gate, c.gate}, {ship, c.ship}} {
				got := ""
				if st.ss.LatestExecution != nil {
					got = st.ss.LatestExecution.PipelineExecutionID
				}
				if got != st.want {
					t.Errorf("stage %s: latest execution %q, want %q", st.ss.StageName, got, st.want)
				}
				if ae := st.ss.ActionStates[0].LatestExecution; (ae != nil) != (st.want != "") {
					t.Errorf("stage %s: action's latest execution %+v", st.ss.StageName, ae)
				}
			}
			var inbound []string
			for _, x := range ship.InboundExecutions {
				inbound = append(inbound, x.PipelineExecutionID)
			}
			if !slices.Equal(inbound, c.shipInbound) {
				t.Errorf("Ship's inbound executions %v, want %v", inbound, c.shipInbound)
			}
			if (ship.InboundExecution != nil) != (len(c.shipInbound) > 0) {
				t.Errorf("Ship's inboundExecution %+v", ship.InboundExecution)
			}
			if tr := gate.InboundTransitionState; tr == nil || tr.Enabled || tr.DisabledReason != "frozen" {
				t.Errorf("Gate's transition %+v, want disabled in every lane", tr)
			}
			if tr := ship.InboundTransitionState; tr == nil || !tr.Enabled {
				t.Errorf("Ship's transition %+v", tr)
			}
		})
	}
	// GetPipelineState, the CodePipeline door's, is every lane.
	all, err := h.srv.Service.GetPipelineState(ctx, "laned")
	if err != nil {
		t.Fatal(err)
	}
	if le := all.StageStates[0].LatestExecution; le == nil || le.PipelineExecutionID != h.a2 {
		t.Errorf("GetPipelineState: Gate's latest %+v", le)
	}
}

// listIDs pages through ListExecutionsIn and returns the IDs and lanes.
func listIDs(t *testing.T, svc *service.Service, q service.ListExecutionsQuery) (ids, lanes []string) {
	t.Helper()
	ctx := service.LocalCaller(t.Context(), "test")
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("more than 20 pages")
		}
		out, err := svc.ListExecutionsIn(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if q.MaxResults > 0 && len(out.PipelineExecutionSummaries) > q.MaxResults {
			t.Fatalf("a page of %d, asked for %d", len(out.PipelineExecutionSummaries), q.MaxResults)
		}
		for _, s := range out.PipelineExecutionSummaries {
			ids, lanes = append(ids, s.PipelineExecutionID), append(lanes, s.Lane)
		}
		if q.NextToken = out.NextToken; q.NextToken == "" {
			return ids, lanes
		}
	}
}

// TestListExecutionsByLane: a lane's history lists only that lane's
// executions, newest first, whole through its pages, each naming its lane.
func TestListExecutionsByLane(t *testing.T) {
	h := newLanedHistory(t)
	cases := []struct {
		name  string
		q     service.ListExecutionsQuery
		ids   []string
		lanes []string
	}{
		{"every lane", service.ListExecutionsQuery{}, []string{h.a2, h.b1, h.a1}, []string{"a", "b", "a"}},
		{"lane a", service.ListExecutionsQuery{Lane: lane("a")}, []string{h.a2, h.a1}, []string{"a", "a"}},
		{"lane a, a page of one", service.ListExecutionsQuery{Lane: lane("a"), MaxResults: 1}, []string{h.a2, h.a1}, []string{"a", "a"}},
		{"lane b", service.ListExecutionsQuery{Lane: lane("b")}, []string{h.b1}, []string{"b"}},
		{"lane b, a page of one", service.ListExecutionsQuery{Lane: lane("b"), MaxResults: 1}, []string{h.b1}, []string{"b"}},
		{"lane b in progress", service.ListExecutionsQuery{Lane: lane("b"), Status: engine.InProgress}, []string{h.b1}, []string{"b"}},
		{"lane b succeeded", service.ListExecutionsQuery{Lane: lane("b"), Status: engine.Succeeded}, nil, nil},
		{"a lane without executions", service.ListExecutionsQuery{Lane: lane("c")}, nil, nil},
		{"no lane", service.ListExecutionsQuery{Lane: lane("")}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.PipelineName = "laned"
			ids, lanes := listIDs(t, h.srv.Service, c.q)
			if !slices.Equal(ids, c.ids) || !slices.Equal(lanes, c.lanes) {
				t.Fatalf("listed %v in lanes %q, want %v in %q", ids, lanes, c.ids, c.lanes)
			}
		})
	}

	// ListPipelineExecutions (the CodePipeline door) lists every lane and
	// names none.
	ctx := service.LocalCaller(t.Context(), "test")
	out, err := h.srv.Service.ListExecutions(ctx, "laned", "", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.PipelineExecutionSummaries); n != 3 {
		t.Fatalf("ListExecutions: %d rows", n)
	}
	if data, err := json.Marshal(out); err != nil || strings.Contains(string(data), `"lane"`) {
		t.Errorf("ListExecutions shows lanes: %s, %v", data, err)
	}
}

// TestLaneFilterRefusesBadValues: a lane is a pipeline variable's value.
func TestLaneFilterRefusesBadValues(t *testing.T) {
	h := newLanedHistory(t)
	ctx := service.LocalCaller(t.Context(), "test")
	long := strings.Repeat("v", 1001)
	for _, bad := range []string{"a\nb", long} {
		_, err := h.srv.Service.ListExecutionsIn(ctx, service.ListExecutionsQuery{PipelineName: "laned", Lane: &bad})
		if !errs.Is(err, errs.Validation) {
			t.Errorf("listing lane %.20q: %v, want a validation error", bad, err)
		}
		_, err = h.srv.Service.GetPipelineStateIn(ctx, "laned", &bad)
		if !errs.Is(err, errs.Validation) {
			t.Errorf("state of lane %.20q: %v, want a validation error", bad, err)
		}
	}
}

// oldRows is a store whose list rows are as an earlier release wrote them,
// counting the records read.
type oldRows struct {
	service.Store
	noListing bool // before rows kept a listing; else before listings kept the lane
	reads     atomic.Int64
}

func (o *oldRows) ListExecutions(ctx context.Context, f store.ExecutionFilter, p store.Page) ([]store.ExecutionSummary, string, error) {
	rows, next, err := o.Store.ListExecutions(ctx, f, p)
	for i := range rows {
		if o.noListing {
			rows[i].Listing = nil
		} else if rows[i].Listing != nil {
			l := *rows[i].Listing
			l.Lane = ""
			rows[i].Listing = &l
		}
	}
	return rows, next, err
}

func (o *oldRows) GetExecution(ctx context.Context, id string) (*engine.Execution, error) {
	o.reads.Add(1)
	return o.Store.GetExecution(ctx, id)
}

// TestOldRowsListInTheirLanes: rows written before listings kept the lane
// (or before there were listings) list in their execution's lane, read
// from the record; rows of a pipeline without lanes need no record read.
func TestOldRowsListInTheirLanes(t *testing.T) {
	h := newLanedHistory(t)
	ctx := service.LocalCaller(t.Context(), "test")
	plain := pipeline.Pipeline{Name: "plain", PipelineType: pipeline.TypeV2, ExecutionMode: "PARALLEL", Stages: []pipeline.Stage{
		{Name: "Gate", Actions: []pipeline.Action{{Name: "Approve", ActionTypeID: manualApproval}}},
	}}
	createPipeline(t, h.srv.Service, plain)
	var plainIDs []string
	for range 2 {
		e, err := h.srv.Service.StartExecution(ctx, service.StartInput{PipelineName: "plain"})
		if err != nil {
			t.Fatal(err)
		}
		plainIDs = append([]string{e.ID}, plainIDs...)
	}
	cases := []struct {
		name      string
		noListing bool
		pipeline  string
		lane      *string
		ids       []string
		lanes     []string
		reads     int64 // records read
	}{
		{"no listing, lane a", true, "laned", lane("a"), []string{h.a2, h.a1}, []string{"a", "a"}, 3},
		{"no listing, every lane", true, "laned", nil, []string{h.a2, h.b1, h.a1}, []string{"a", "b", "a"}, 3},
		{"listing without lane, lane a", false, "laned", lane("a"), []string{h.a2, h.a1}, []string{"a", "a"}, 3},
		{"listing without lane, lane b", false, "laned", lane("b"), []string{h.b1}, []string{"b"}, 3},
		{"listing without lane, no lane", false, "laned", lane(""), nil, nil, 3},
		{"no lanes declared, no lane", false, "plain", lane(""), plainIDs, []string{"", ""}, 0},
		{"no lanes declared, every lane", false, "plain", nil, plainIDs, []string{"", ""}, 0},
		{"no lanes declared, lane a", false, "plain", lane("a"), nil, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &oldRows{Store: h.srv.System.Store, noListing: c.noListing}
			svc := service.New(service.Config{Store: st})
			ids, lanes := listIDs(t, svc, service.ListExecutionsQuery{PipelineName: c.pipeline, Lane: c.lane})
			if !slices.Equal(ids, c.ids) || !slices.Equal(lanes, c.lanes) {
				t.Errorf("listed %v in lanes %q, want %v in %q", ids, lanes, c.ids, c.lanes)
			}
			if n := st.reads.Load(); n != c.reads {
				t.Errorf("%d records read, want %d", n, c.reads)
			}
		})
	}
}
