package rest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/service"
)

// TestRESTValidate: POST /v1/validate checks a document as a create would,
// answering each problem at the JSON path the console maps to a field, and
// saves nothing.
func TestRESTValidate(t *testing.T) {
	env := newRESTEnv(t)
	commands := func(stages string) string {
		return `{"pipeline": {"name": "checked", "pipelineType": "V2", "stages": ` + stages + `}}`
	}
	say := `{"name": "Say", "actionTypeId": ` + restCommands + `, "commands": ["echo hi"]}`
	tests := []struct {
		name    string
		body    string
		status  int
		code    string
		problem string // a path among the answer's problems
	}{
		{"valid envelope", commands(`[{"name": "Build", "actions": [` + say + `]}]`), 200, "", ""},
		{"valid bare pipeline", restCommandsPipeline("bare", "echo hi"), 200, "", ""},
		{"a Commands action without commands", commands(`[{"name": "Build", "actions": [{"name": "Say", "actionTypeId": ` + restCommands + `}]}]`),
			400, "InvalidStructureException", "stages[0].actions[0].commands"},
		{"a stage without actions", commands(`[{"name": "Build", "actions": [` + say + `]}, {"name": "Empty", "actions": []}]`),
			400, "InvalidStructureException", "stages[1].actions"},
		{"a bare pipeline's paths", `{"name": "bare", "pipelineType": "V2", "stages": [{"name": "Build", "actions": [{"name": "Say", "actionTypeId": ` + restCommands + `}]}]}`,
			400, "InvalidStructureException", "stages[0].actions[0].commands"},
		{"an unknown configuration key", commands(`[{"name": "Build", "actions": [{"name": "B", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
			"configuration": {"ProjectNme": "x"}, "inputArtifacts": [{"name": "src"}]}]}]`),
			400, "InvalidStructureException", "stages[0].actions[0].configuration.ProjectNme"},
		{"an unknown member", commands(`[{"name": "Build", "actions": [` + say + `], "colour": "red"}]`),
			400, "InvalidStructureException", "stages[0].colour"},
		{"malformed JSON", `{"pipeline": {"name": `, 400, "ValidationException", ""},
		{"not an object", `[1, 2]`, 400, "ValidationException", ""},
		{"empty body", ``, 400, "ValidationException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.status == 200 {
				var out RESTValidation
				env.ok("POST", "/v1/validate", tt.body, 200, &out)
				if !out.Valid {
					t.Fatalf("answer %+v, want valid", out)
				}
				return
			}
			restExpectError(t, env, "POST", "/v1/validate", tt.body, tt.status, tt.code, tt.problem)
		})
	}
	// Nothing was saved.
	for _, name := range []string{"checked", "bare"} {
		if code, _, body := env.do("GET", "/v1/pipelines/"+name, nil); code != 404 {
			t.Errorf("GET %s after validating: %d %s, want 404", name, code, body)
		}
	}
	if code, _, _ := env.do("GET", "/v1/validate", nil); code != 405 {
		t.Errorf("GET /v1/validate: %d, want 405", code)
	}
	big := `{"name": "` + strings.Repeat("x", restMaxBody) + `"}`
	if code, _, _ := env.do("POST", "/v1/validate", big); code != 413 {
		t.Errorf("an oversize body: %d, want 413", code)
	}
}

// TestRESTActionTypes: GET /v1/action-types lists the types the editor
// offers, with their configuration properties; owner filters.
func TestRESTActionTypes(t *testing.T) {
	env := newRESTEnv(t)
	custom := `{"category": "Deploy", "provider": "EditorWorker", "version": "1",
	  "configurationProperties": [{"name": "Token", "required": true, "key": true, "secret": true}],
	  "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1}, "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 0}}`
	if _, err := env.sys.Service.CreateCustomActionType(t.Context(), mustCustomInput(t, custom)); err != nil {
		t.Fatal(err)
	}
	type listed struct {
		ActionTypes []struct {
			ID struct {
				Category, Owner, Provider, Version string
			} `json:"id"`
			ActionConfigurationProperties []struct {
				Name             string
				Required, Secret bool
			} `json:"actionConfigurationProperties"`
		} `json:"actionTypes"`
	}
	tests := []struct {
		query string
		want  []string // category/owner/provider, in order
	}{
		{"", []string{"Compute/AWS/Commands", "Build/AWS/CodeBuild", "Test/AWS/CodeBuild", "Approval/AWS/Manual", "Deploy/Custom/EditorWorker"}},
		{"?owner=AWS", []string{"Compute/AWS/Commands", "Build/AWS/CodeBuild", "Test/AWS/CodeBuild", "Approval/AWS/Manual"}},
		{"?owner=Custom", []string{"Deploy/Custom/EditorWorker"}},
		{"?owner=ThirdParty", nil},
	}
	for _, tt := range tests {
		t.Run("owner "+tt.query, func(t *testing.T) {
			var out listed
			env.ok("GET", "/v1/action-types"+tt.query, nil, 200, &out)
			var got []string
			for _, at := range out.ActionTypes {
				got = append(got, at.ID.Category+"/"+at.ID.Owner+"/"+at.ID.Provider)
				switch at.ID.Provider {
				case "CodeBuild":
					if p := at.ActionConfigurationProperties; len(p) == 0 || p[0].Name != "ProjectName" || !p[0].Required {
						t.Errorf("CodeBuild's properties: %+v", p)
					}
				case "EditorWorker":
					if p := at.ActionConfigurationProperties; len(p) != 1 || !p[0].Secret || !p[0].Required {
						t.Errorf("EditorWorker's properties: %+v", p)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("listed %v, want %v", got, tt.want)
			}
		})
	}
	for _, q := range []string{"?owner=Someone", "?owner=aws", "?owner=AWS&owner=Custom"} {
		restExpectError(t, env, "GET", "/v1/action-types"+q, nil, 400, "ValidationException", "owner")
	}
}

func mustCustomInput(t *testing.T, js string) service.CustomActionTypeInput {
	t.Helper()
	var in service.CustomActionTypeInput
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatal(err)
	}
	return in
}
