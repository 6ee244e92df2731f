package restclient_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/api/rest/restclient"
	"github.com/stageflow/stageflow/shared/service"
)

// TestLanes: the state and the executions of a lane through the REST door
// (?lane=), "" asking for the executions in no lane, nil for every lane.
func TestLanes(t *testing.T) {
	c := newClient(t)
	ctx := testContext(t)
	decl := fmt.Appendf(nil, `{"name": "laned", "pipelineType": "V2",
  "variables": [{"name": "StageflowLane", "defaultValue": "main"}],
  "stages": [
    {"name": "Approve", "actions": [{"name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
    {"name": "After", "actions": [{"name": "Say", "actionTypeId": %s, "commands": ["true"]}]}
  ]}`, commandsType)
	if _, err := c.CreatePipeline(ctx, decl); err != nil {
		t.Fatal(err)
	}
	start := func(lane string) string {
		t.Helper()
		id, err := c.StartExecution(ctx, "laned", rest.RESTStartExecution{Variables: map[string]string{"StageflowLane": lane}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, c, "laned", id, "the approval", gateWaiting)
		return id
	}
	a, b := start("feature/a"), start("feature/b")
	lane := func(s string) *string { return &s }
	cases := []struct {
		name  string
		lane  *string
		ids   []string // listed, newest first
		lanes []string
		gate  string // Approve's latest execution
	}{
		{"every lane", nil, []string{b, a}, []string{"feature/b", "feature/a"}, b},
		{"lane feature/a", lane("feature/a"), []string{a}, []string{"feature/a"}, a},
		{"lane feature/b", lane("feature/b"), []string{b}, []string{"feature/b"}, b},
		{"no lane", lane(""), nil, nil, ""},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			out, err := c.ListExecutionsIn(ctx, service.ListExecutionsQuery{PipelineName: "laned", Lane: cs.lane})
			if err != nil {
				t.Fatal(err)
			}
			var ids, lanes []string
			for _, s := range out.PipelineExecutionSummaries {
				ids, lanes = append(ids, s.PipelineExecutionID), append(lanes, s.Lane)
			}
			if !slices.Equal(ids, cs.ids) || !slices.Equal(lanes, cs.lanes) {
				t.Errorf("listed %v in lanes %q, want %v in %q", ids, lanes, cs.ids, cs.lanes)
			}
			state, err := c.PipelineStateIn(ctx, "laned", cs.lane)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if le := state.StageStates[0].LatestExecution; le != nil {
				got = le.PipelineExecutionID
			}
			if got != cs.gate {
				t.Errorf("Approve's latest execution %q, want %q", got, cs.gate)
			}
		})
	}
	// A lane the server refuses comes back as its ValidationException.
	_, err := c.ListExecutionsIn(ctx, service.ListExecutionsQuery{PipelineName: "laned", Lane: lane("two\nlines")})
	var ae *restclient.Error
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "ValidationException" {
		t.Fatalf("a lane with a line break: %v", err)
	}
}
