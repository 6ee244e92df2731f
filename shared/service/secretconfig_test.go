package service

import (
	"reflect"
	"testing"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

// TestMaskLeavesTheRecord: masking hands out copies; the record the engine
// runs with (and the stores' caches share) keeps its values.
func TestMaskLeavesTheRecord(t *testing.T) {
	custom := pipeline.ActionTypeID{Category: "Deploy", Owner: pipeline.OwnerCustom, Provider: "W", Version: "1"}
	other := pipeline.ActionTypeID{Category: "Deploy", Owner: pipeline.OwnerCustom, Provider: "Plain", Version: "1"}
	sp := secretProps{custom: {"Token": true}}
	e := &engine.Execution{
		Pipeline: pipeline.Pipeline{Name: "p", Stages: []pipeline.Stage{
			{Name: "A", Actions: []pipeline.Action{{Name: "plain", ActionTypeID: other, Configuration: map[string]string{"Token": "not-secret"}}}},
			{Name: "B", Actions: []pipeline.Action{{Name: "w", ActionTypeID: custom, Configuration: map[string]string{"Token": "s3cret", "Env": "prod"}}}},
		}},
		Actions: []engine.ActionRun{{Type: custom, Configuration: map[string]string{"Token": "s3cret", "Env": "prod"}}},
	}
	before := deepCopy(t, e)
	m := sp.maskExecution(e)
	if !reflect.DeepEqual(e, before) {
		t.Fatalf("masking changed the record:\n%+v\nwant\n%+v", e, before)
	}
	if got := m.Pipeline.Stages[1].Actions[0].Configuration; got["Token"] != SecretMask || got["Env"] != "prod" {
		t.Errorf("masked declaration %v", got)
	}
	if got := m.Actions[0].Configuration; got["Token"] != SecretMask || got["Env"] != "prod" {
		t.Errorf("masked run %v", got)
	}
	if got := m.Pipeline.Stages[0].Actions[0].Configuration["Token"]; got != "not-secret" {
		t.Errorf("another type's Token masked: %q", got)
	}
	if secretProps(nil).maskExecution(e) != e {
		t.Error("nothing to mask, yet a copy")
	}

	// keepSecrets: the mask takes the previous value; a value replaces it.
	old := before.Pipeline
	next := deepCopy(t, e).Pipeline
	next.Stages[1].Actions[0].Configuration = map[string]string{"Token": "*****", "Env": "qa"}
	sent := next.Stages[1].Actions[0].Configuration
	if err := sp.keepSecrets(&next, &old); err != nil {
		t.Fatal(err)
	}
	if got := next.Stages[1].Actions[0].Configuration; got["Token"] != "s3cret" || got["Env"] != "qa" {
		t.Errorf("kept %v", got)
	}
	if sent["Token"] != "*****" {
		t.Error("keepSecrets modified the map it was given")
	}
	if err := sp.keepSecrets(&next, nil); err != nil {
		t.Errorf("no mask, yet %v", err)
	}
}

func deepCopy(t *testing.T, e *engine.Execution) *engine.Execution {
	t.Helper()
	c := *e
	c.Pipeline.Stages = nil
	for _, st := range e.Pipeline.Stages {
		st2 := st
		st2.Actions = nil
		for _, a := range st.Actions {
			a.Configuration = cloneMap(a.Configuration)
			st2.Actions = append(st2.Actions, a)
		}
		c.Pipeline.Stages = append(c.Pipeline.Stages, st2)
	}
	c.Actions = nil
	for _, r := range e.Actions {
		r.Configuration = cloneMap(r.Configuration)
		c.Actions = append(c.Actions, r)
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
