package service_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/api/apitest"
	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/service"
)

// TestStartChecksTheAPIsRules: a local caller (stageflow run --var) is held
// to the same limits as the doors.
func TestStartChecksTheAPIsRules(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx := service.LocalCaller(t.Context(), "test")
	createVarsPipeline(t, srv, "vars")
	tests := []struct {
		name string
		in   service.StartInput
		path string // "" when the start is fine
	}{
		{"a value of 1000 characters", service.StartInput{Variables: map[string]string{"V": strings.Repeat("x", 1000)}}, ""},
		{"a value of 1001 characters", service.StartInput{Variables: map[string]string{"V": strings.Repeat("x", 1001)}}, "variables.V"},
		{"a line break in a value", service.StartInput{Variables: map[string]string{"V": "a\nb"}}, "variables.V"},
		{"a token of 129 characters", service.StartInput{ClientRequestToken: strings.Repeat("a", 129)}, "clientRequestToken"},
		{"a token with a space", service.StartInput{ClientRequestToken: "a b"}, "clientRequestToken"},
		{"a name with a space", service.StartInput{Variables: map[string]string{"N O": "x"}}, "variables"},
		{"a revision type not in the API", service.StartInput{SourceRevisions: []engine.SourceRevision{{Action: "A", Type: "BRANCH", Value: "main"}}}, "sourceRevisions[0].revisionType"},
		{"an empty revision", service.StartInput{SourceRevisions: []engine.SourceRevision{{Action: "A", Type: "COMMIT_ID"}}}, "sourceRevisions[0].revisionValue"},
		{"a revision of 1501 characters", service.StartInput{SourceRevisions: []engine.SourceRevision{{Action: "A", Type: "COMMIT_ID", Value: strings.Repeat("f", 1501)}}}, "sourceRevisions[0].revisionValue"},
		{"a revision for an approval", service.StartInput{SourceRevisions: []engine.SourceRevision{{Action: "A", Type: "COMMIT_ID", Value: "abc"}}}, "sourceRevisions[0].actionName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.PipelineName = "vars"
			_, err := srv.Service.StartExecution(ctx, tt.in)
			if tt.path == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Validation || len(e.Problems) == 0 || e.Problems[0].Path != tt.path {
				t.Fatalf("error %v, want a Validation problem at %s", err, tt.path)
			}
		})
	}
}

// TestClientRequestTokenNamesOneRequest: the same token with the same
// request is the same execution; with other variables it is a Validation
// error naming the token.
func TestClientRequestTokenNamesOneRequest(t *testing.T) {
	srv := apitest.NewServer(t, apitest.WithoutFirstExecution())
	ctx := service.LocalCaller(t.Context(), "test")
	createVarsPipeline(t, srv, "tokens")
	first, err := srv.Service.StartExecution(ctx, service.StartInput{PipelineName: "tokens", ClientRequestToken: "tok-1",
		Variables: map[string]string{"V": "one"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		vars    map[string]string
		invalid bool
	}{
		{"the same variables", map[string]string{"V": "one"}, false},
		{"another value", map[string]string{"V": "two"}, true},
		{"no variables (the default)", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := srv.Service.StartExecution(ctx, service.StartInput{PipelineName: "tokens", ClientRequestToken: "tok-1", Variables: tt.vars})
			if !tt.invalid {
				if err != nil || got.ID != first.ID {
					t.Fatalf("got %v, %v; want execution %s", got, err, first.ID)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Validation || !strings.Contains(err.Error()+fmt.Sprint(e.Problems), "tok-1") {
				t.Fatalf("error %v, want a Validation error naming the token", err)
			}
		})
	}
}

// createVarsPipeline creates a pipeline with a variable V (default "d") and
// one manual approval.
func createVarsPipeline(t *testing.T, srv *apitest.Server, name string) {
	t.Helper()
	def := "d"
	p := pipeline.Pipeline{Name: name, Variables: []pipeline.VariableDeclaration{{Name: "V", DefaultValue: &def}},
		Stages: []pipeline.Stage{{Name: "S", Actions: []pipeline.Action{{Name: "A", ActionTypeID: manualApproval}}}}}
	if _, err := srv.Service.CreatePipeline(service.LocalCaller(t.Context(), "test"), p, nil); err != nil {
		t.Fatal(err)
	}
}
