package cpdoor_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/apispec/apidef"
	"github.com/stageflow/stageflow/shared/service"
)

// TestRevisionOutputsMatchAPIDefinition compares the output shapes that show
// revisions, execution modes and stops with the API definition's
// structures: every JSON member must be one of the structure's, under the
// same name, and a member the definition requires must always be written
// (no omitempty).
func TestRevisionOutputsMatchAPIDefinition(t *testing.T) {
	def := apidef.ForTest(t)
	for _, c := range []struct {
		goType    reflect.Type
		structure string
	}{
		{reflect.TypeFor[service.PipelineExecution](), "PipelineExecution"},
		{reflect.TypeFor[service.ArtifactRevision](), "ArtifactRevision"},
		{reflect.TypeFor[service.PipelineExecutionSummary](), "PipelineExecutionSummary"},
		{reflect.TypeFor[service.SourceRevision](), "SourceRevision"},
		{reflect.TypeFor[service.StopExecutionTrigger](), "StopExecutionTrigger"},
		{reflect.TypeFor[service.ActionState](), "ActionState"},
		{reflect.TypeFor[service.ActionRevision](), "ActionRevision"},
		{reflect.TypeFor[service.JobData](), "JobData"},
		{reflect.TypeFor[service.Artifact](), "Artifact"},
	} {
		api, ok := def.Shapes[c.structure]
		if !ok || api.Type != "structure" {
			t.Errorf("%s: not a structure of the API definition", c.structure)
			continue
		}
		written := map[string]bool{}
		for i := range c.goType.NumField() {
			f := c.goType.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || name == "" {
				continue
			}
			written[name] = true
			if _, ok := api.Members[name]; !ok {
				t.Errorf("%s.%s (%s.%s): the API definition has no such member", c.structure, name, c.goType.Name(), f.Name)
			}
			if slices.Contains(api.Required, name) && strings.Contains(opts, "omitempty") {
				t.Errorf("%s.%s: required by the API definition, but omitted when empty", c.structure, name)
			}
		}
		for _, req := range api.Required {
			if !written[req] {
				t.Errorf("%s.%s: required by the API definition, but %s has no such member", c.structure, req, c.goType.Name())
			}
		}
	}
}
