package sfn_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/sfn"
	"github.com/stageflow/stageflow/shared/sfn/sfntest"
)

var testFunctions = sfn.Functions{
	Advance:  "arn:aws:lambda:us-east-1:000000000000:function:stageflow-advance",
	Dispatch: "arn:aws:lambda:us-east-1:000000000000:function:stageflow-dispatch",
}

func definition(t *testing.T, fn sfn.Functions) []byte {
	t.Helper()
	def, err := sfn.Definition(fn)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

// TestDefinitionIsValidASL: asl-validator@4.0.0 accepts the definition,
// and rejects it once broken (so the check is real).
func TestDefinitionIsValidASL(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no node")
	}
	js := sfntest.JSDir(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, definition(t, testFunctions), 0o644); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(definition(t, testFunctions), &m)
	delete(m["States"].(map[string]any), sfn.StateDone)
	broken, _ := json.Marshal(m)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, broken, 0o644)
	// One run of the validator for both (node starts slowly).
	report, err := sfntest.Validate(js, good, bad)
	if !strings.Contains(report, `"`+good+`" is valid`) {
		t.Fatalf("the definition is not valid: %s", report)
	}
	if err == nil || !strings.Contains(report, `"`+bad+`" is invalid`) || !strings.Contains(report, "MISSING_TRANSITION_TARGET") {
		t.Fatalf("a definition without its Done state passed: %v %s", err, report)
	}
}

// asl is the part of a definition the shape test reads.
type asl struct {
	StartAt string
	States  map[string]aslState
}

type aslState struct {
	Type, Resource, Next, Default, TimeoutSecondsPath, ItemsPath, ErrorPath, CausePath string
	TimeoutSeconds                                                                     int
	MaxConcurrency                                                                     *int
	Parameters                                                                         map[string]any
	Retry                                                                              []struct{ ErrorEquals []string }
	Catch                                                                              []struct {
		ErrorEquals []string
		Next        string
	}
	Choices       []struct{ Variable, StringEquals, Next string }
	ItemProcessor *asl
	End           bool
}

// TestDefinitionShape: the loop is the local runner's, and each point the
// driver relies on is in it.
func TestDefinitionShape(t *testing.T) {
	var m asl
	if err := json.Unmarshal(definition(t, testFunctions), &m); err != nil {
		t.Fatal(err)
	}
	adv := m.States[sfn.StateAdvance]
	if m.StartAt != sfn.StateAdvance || adv.Type != "Task" || adv.Resource != sfn.ResourceInvoke || adv.Next != sfn.StateRoute ||
		adv.Parameters["FunctionName"] != testFunctions.Advance {
		t.Errorf("Advance: %+v", adv)
	}
	route := m.States[sfn.StateRoute]
	next := map[string]string{}
	for _, c := range route.Choices {
		next[c.StringEquals] = c.Next
	}
	if route.Type != "Choice" || next[sfn.NextDone] != sfn.StateDone || next[sfn.NextPark] != sfn.StatePark || route.Default != sfn.StateWave {
		t.Errorf("Route: %+v", route)
	}
	wave := m.States[sfn.StateWave]
	if wave.Type != "Map" || wave.ItemsPath != "$.wave" || wave.MaxConcurrency == nil || *wave.MaxConcurrency != 0 || wave.Next != sfn.StateAdvance {
		t.Errorf("Wave: %+v", wave)
	}
	disp := wave.ItemProcessor.States[sfn.StateDispatch]
	payload, _ := disp.Parameters["Payload"].(map[string]any)
	if disp.Resource != sfn.ResourceInvokeToken || disp.TimeoutSecondsPath != "$.timeoutSeconds" || payload["taskToken.$"] != "$$.Task.Token" ||
		disp.Parameters["FunctionName"] != testFunctions.Dispatch {
		t.Errorf("Dispatch: %+v", disp)
	}
	if len(disp.Catch) != 1 || !slices.Equal(disp.Catch[0].ErrorEquals, []string{"States.Timeout"}) || disp.Catch[0].Next != sfn.StateTimedOut {
		t.Errorf("Dispatch catches %+v; only its timeout is caught in the Map", disp.Catch)
	}
	park := m.States[sfn.StatePark]
	if park.Resource != sfn.ResourceInvokeToken || park.Next != sfn.StateAdvance || park.Parameters["FunctionName"] != testFunctions.Advance {
		t.Errorf("Park: %+v", park)
	}
	if park.TimeoutSecondsPath != "$.parkSeconds" || len(park.Catch) != 2 || !slices.Equal(park.Catch[0].ErrorEquals, []string{"States.Timeout"}) ||
		park.Catch[0].Next != sfn.StateAdvance || park.Catch[1].Next != sfn.StateHandlerFailed {
		t.Errorf("Park: timeout %q, catches %+v; a timed-out park advances again", park.TimeoutSecondsPath, park.Catch)
	}
	if park := m.States[sfn.StatePark]; len(park.Retry) != 1 || !slices.Contains(park.Retry[0].ErrorEquals, "Lambda.ServiceException") {
		t.Errorf("Park retries %+v", park.Retry)
	}
	// Lambda's own errors are retried on every Task; anything else ends in the Fail state with its cause.
	for _, name := range []string{sfn.StateAdvance} {
		st := m.States[name]
		if len(st.Retry) != 1 || !slices.Contains(st.Retry[0].ErrorEquals, "Lambda.ServiceException") || !slices.Contains(st.Retry[0].ErrorEquals, "Lambda.TooManyRequestsException") {
			t.Errorf("%s retries %+v", name, st.Retry)
		}
		if len(st.Catch) != 1 || st.Catch[0].Next != sfn.StateHandlerFailed || !slices.Equal(st.Catch[0].ErrorEquals, []string{"States.ALL"}) {
			t.Errorf("%s catches %+v", name, st.Catch)
		}
	}
	if len(disp.Retry) != 1 || !slices.Contains(disp.Retry[0].ErrorEquals, "Lambda.ServiceException") {
		t.Errorf("Dispatch retries %+v", disp.Retry)
	}
	if f := m.States[sfn.StateHandlerFailed]; f.Type != "Fail" || f.CausePath != "$.error.Cause" || f.ErrorPath != "$.error.Error" {
		t.Errorf("HandlerFailed: %+v", f)
	}
	if _, err := sfn.Definition(sfn.Functions{Advance: "a"}); err == nil {
		t.Error("a definition without the dispatch function")
	}
}

// TestLargestPipelineFitsTheHistory: the largest pipeline CodePipeline
// allows (500 actions), each action a wave of its own (the worst case),
// stays under Step Functions' 25,000 history events.
func TestLargestPipelineFitsTheHistory(t *testing.T) {
	worst := sfn.HistoryEvents(pipeline.MaxActionsInPipeline, pipeline.MaxActionsInPipeline)
	if worst != 9511 || worst > sfn.MaxHistoryEvents {
		t.Fatalf("the largest pipeline takes %d events", worst)
	}
	if widest := sfn.HistoryEvents(pipeline.MaxStages, pipeline.MaxActionsInPipeline); widest >= worst {
		t.Fatalf("fewer waves, %d events, not fewer than %d", widest, worst)
	}
}
