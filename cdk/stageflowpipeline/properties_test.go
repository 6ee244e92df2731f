package stageflowpipeline

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
)

func ptr[T any](v T) *T { return &v }

// goPipeline is a pipeline in shared/pipeline's types that uses the members
// whose CloudFormation names matter: ids, artifacts, configuration keys of
// every case, artifactStores, triggers, conditions.
func goPipeline() *pipeline.Pipeline {
	commands := pipeline.ActionTypeID{Category: "Compute", Owner: "AWS", Provider: "Commands", Version: "1"}
	return &pipeline.Pipeline{
		Name:         "go-typed",
		RoleArn:      "arn:aws:iam::123456789012:role/pipeline",
		PipelineType: pipeline.TypeV2,
		Version:      ptr(3),
		ArtifactStores: map[string]pipeline.ArtifactStore{
			"us-east-1": {Type: "S3", Location: "bucket-east", EncryptionKey: &pipeline.EncryptionKey{ID: "alias/east", Type: "KMS"}},
			"eu-west-1": {Type: "S3", Location: "bucket-west"},
		},
		Variables: []pipeline.VariableDeclaration{{Name: "TARGET", DefaultValue: ptr("staging")}},
		Stages: []pipeline.Stage{
			{Name: "Build", Actions: []pipeline.Action{{
				Name: "Compile", ActionTypeID: commands, RunOrder: ptr(2),
				Commands:        []string{"make"},
				OutputArtifacts: []pipeline.OutputArtifact{{Name: "Out", Files: []string{"bin/*"}}},
			}}},
			{
				Name: "Deploy",
				BeforeEntry: &pipeline.BeforeEntryConditions{Conditions: []pipeline.Condition{{
					Result: pipeline.ResultFail,
					Rules: []pipeline.Rule{{
						Name:          "OnlyStaging",
						RuleTypeID:    pipeline.RuleTypeID{Category: "Rule", Owner: "AWS", Provider: "VariableCheck", Version: "1"},
						Configuration: map[string]string{"Variable": "#{variables.TARGET}", "Value": "staging", "Operator": "EQ"},
					}},
				}}},
				Actions: []pipeline.Action{{
					Name: "Ship", ActionTypeID: commands,
					Commands:       []string{"ls"},
					InputArtifacts: []pipeline.InputArtifact{{Name: "Out"}},
				}},
			},
		},
	}
}

func TestPropertiesPascalCase(t *testing.T) {
	got, err := Properties(&PipelineProps{
		ServiceToken:                   ptr("arn:aws:lambda:us-east-1:123456789012:function:provider"),
		Pipeline:                       goPipeline(),
		Tags:                           []pipeline.Tag{{Key: "team", Value: "web"}},
		DisableInboundStageTransitions: []StageTransition{{StageName: "Deploy", Reason: "frozen (release week)"}},
		RestartExecutionOnUpdate:       ptr(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Written from AWS::CodePipeline::Pipeline's CloudFormation reference.
	want := `{
	  "Name": "go-typed",
	  "RoleArn": "arn:aws:iam::123456789012:role/pipeline",
	  "PipelineType": "V2",
	  "ArtifactStores": [
	    {"Region": "eu-west-1", "ArtifactStore": {"Type": "S3", "Location": "bucket-west"}},
	    {"Region": "us-east-1", "ArtifactStore": {"Type": "S3", "Location": "bucket-east", "EncryptionKey": {"Id": "alias/east", "Type": "KMS"}}}
	  ],
	  "Variables": [{"Name": "TARGET", "DefaultValue": "staging"}],
	  "Stages": [
	    {"Name": "Build", "Actions": [{
	      "Name": "Compile",
	      "ActionTypeId": {"Category": "Compute", "Owner": "AWS", "Provider": "Commands", "Version": "1"},
	      "RunOrder": 2,
	      "Commands": ["make"],
	      "OutputArtifacts": [{"Name": "Out", "Files": ["bin/*"]}]
	    }]},
	    {"Name": "Deploy",
	     "BeforeEntry": {"Conditions": [{"Result": "FAIL", "Rules": [{
	       "Name": "OnlyStaging",
	       "RuleTypeId": {"Category": "Rule", "Owner": "AWS", "Provider": "VariableCheck", "Version": "1"},
	       "Configuration": {"Variable": "#{variables.TARGET}", "Value": "staging", "Operator": "EQ"}
	     }]}]},
	     "Actions": [{
	       "Name": "Ship",
	       "ActionTypeId": {"Category": "Compute", "Owner": "AWS", "Provider": "Commands", "Version": "1"},
	       "Commands": ["ls"],
	       "InputArtifacts": [{"Name": "Out"}]
	     }]}
	  ],
	  "Tags": [{"Key": "team", "Value": "web"}],
	  "DisableInboundStageTransitions": [{"StageName": "Deploy", "Reason": "frozen (release week)"}],
	  "RestartExecutionOnUpdate": true
	}`
	var wantTree map[string]any
	if err := json.Unmarshal([]byte(want), &wantTree); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantTree) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("properties:\n%s\nwant:\n%s", g, want)
	}
}

// TestPropertiesDocument: a problem of a JSON document keeps its path;
// configuration keys are the action's own and keep their case; an
// envelope's tags become Tags; version and metadata are left out.
func TestPropertiesDocument(t *testing.T) {
	doc := `{"pipeline": {"name": "doc", "version": 7, "stages": [{"name": "Build", "actions": [{
	    "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
	    "configuration": {"ProjectName": "web", "PrimarySource": "Src"},
	    "inputArtifacts": [{"name": "Src"}]}]},
	  {"name": "Src", "actions": [{"name": "S", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	    "commands": ["true"], "outputArtifacts": [{"name": "Src"}]}]}]},
	  "metadata": {"pipelineArn": "arn:aws:codepipeline:us-east-1:123456789012:doc"},
	  "tags": [{"key": "k", "value": "v"}]}`
	_, err := Properties(&PipelineProps{ServiceToken: ptr("t"), Document: []byte(doc)})
	if err == nil || !strings.Contains(err.Error(), "stages[0].actions[0].inputArtifacts[0]") {
		t.Fatalf("an input from a later stage: err = %v, want its path", err)
	}
	doc = strings.Replace(doc, `"inputArtifacts": [{"name": "Src"}]`, `"outputArtifacts": [{"name": "Bin"}]`, 1)
	got, err := Properties(&PipelineProps{ServiceToken: ptr("t"), Document: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	action := got["Stages"].([]any)[0].(map[string]any)["Actions"].([]any)[0].(map[string]any)
	if want := map[string]any{"ProjectName": "web", "PrimarySource": "Src"}; !reflect.DeepEqual(action["Configuration"], want) {
		t.Errorf("Configuration = %v, want %v", action["Configuration"], want)
	}
	if want := []any{map[string]any{"Key": "k", "Value": "v"}}; !reflect.DeepEqual(got["Tags"], want) {
		t.Errorf("Tags = %v, want %v", got["Tags"], want)
	}
	for _, k := range []string{"Version", "version", "Metadata", "metadata"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s is among the properties; CloudFormation declares none", k)
		}
	}
}

func TestPropertiesExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/build-test-deploy.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Properties(&PipelineProps{ServiceToken: ptr("t"), Document: data})
	if err != nil {
		t.Fatal(err)
	}
	if got["Name"] != "build-test-deploy" || got["ExecutionMode"] != "QUEUED" {
		t.Errorf("Name, ExecutionMode = %v, %v", got["Name"], got["ExecutionMode"])
	}
}

// TestProblems: every problem comes with its path; those of the pipeline
// are exactly what `stageflow validate` (pipeline.Load) reports.
func TestProblems(t *testing.T) {
	invalid := []byte(`{"name": "bad", "stages": [{"name": "Build", "actions": [
	  {"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Command", "version": "1"}, "runOrder": 0},
	  {"name": "B", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
	   "commands": ["true"], "inputArtifacts": [{"name": "Nowhere"}]}]}]}`)
	_, loadErr := pipeline.Load(invalid)
	var loaded *errs.Error
	if !errors.As(loadErr, &loaded) || len(loaded.Problems) < 3 {
		t.Fatalf("pipeline.Load of the invalid document: %v", loadErr)
	}
	var validate []string
	for _, p := range loaded.Problems {
		validate = append(validate, p.String())
	}

	ruleTimeout := goPipeline()
	ruleTimeout.Stages[1].BeforeEntry.Conditions[0].Rules[0].TimeoutInMinutes = ptr(10)
	tagged := []byte(`{"pipeline": {"name": "t", "stages": [{"name": "S", "actions": [{"name": "A",
	  "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]}]},
	  "tags": [{"key": "a", "value": "b"}]}`)

	for _, tc := range []struct {
		name  string
		props *PipelineProps
		want  []string
	}{
		{"nil props", nil, []string{"the pipeline's properties are required"}},
		{"invalid document", &PipelineProps{ServiceToken: ptr("t"), Document: invalid}, validate},
		{"invalid Go types", &PipelineProps{ServiceToken: ptr("t"), Pipeline: &pipeline.Pipeline{Name: "x"}},
			[]string{"stages: must not be null"}},
		{"malformed JSON", &PipelineProps{ServiceToken: ptr("t"), Document: []byte(`{"name": `)},
			[]string{"line 1, column 10: malformed JSON: the document ends too early"}},
		{"no service token", &PipelineProps{Pipeline: goPipeline()},
			[]string{`ServiceToken is required: the provider's ServiceToken, e.g. awscdk.Fn_ImportValue(jsii.String("StageflowPipelineProvider"))`}},
		{"no pipeline", &PipelineProps{ServiceToken: ptr("t")},
			[]string{"a pipeline is required: Pipeline (shared/pipeline's types) or Document (a pipeline's JSON)"}},
		{"both", &PipelineProps{ServiceToken: ptr("t"), Pipeline: goPipeline(), Document: tagged},
			[]string{"give the pipeline either as Pipeline or as Document, not both"}},
		{"rule timeout", &PipelineProps{ServiceToken: ptr("t"), Pipeline: ruleTimeout},
			[]string{"stages[1].beforeEntry.conditions[0].rules[0].timeoutInMinutes: AWS::CodePipeline::Pipeline's RuleDeclaration has no TimeoutInMinutes: leave it out in a CloudFormation pipeline"}},
		{"tags twice", &PipelineProps{ServiceToken: ptr("t"), Document: tagged, Tags: []pipeline.Tag{{Key: "c"}}},
			[]string{"tags: tags are given both in the document and in PipelineProps.Tags: give them in one place"}},
		{"bad tag", &PipelineProps{ServiceToken: ptr("t"), Pipeline: goPipeline(), Tags: []pipeline.Tag{{Value: "v"}}},
			[]string{"tags[0].key: is required"}},
		{"transitions", &PipelineProps{ServiceToken: ptr("t"), Pipeline: goPipeline(), DisableInboundStageTransitions: []StageTransition{
			{StageName: "Deploy", Reason: "ok"},
			{StageName: "Deploy", Reason: "again"},
			{StageName: "Test", Reason: "semi;colon"},
			{},
		}}, []string{
			`disableInboundStageTransitions[1].stageName: stage "Deploy" is already disabled by disableInboundStageTransitions[0]`,
			`disableInboundStageTransitions[2].stageName: no stage "Test" in the pipeline (stages: Build, Deploy)`,
			`disableInboundStageTransitions[2].reason: "semi;colon" may only contain letters, digits, spaces and ! @ ( ) . * ? -`,
			`disableInboundStageTransitions[3].stageName: is required`,
			`disableInboundStageTransitions[3].reason: is required`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props, problems := properties(tc.props)
			if props != nil {
				t.Errorf("properties given despite problems: %v", props)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if _, err := Properties(tc.props); errs.CodeOf(err) != errs.Validation {
				t.Errorf("Properties: err = %v, want a validation error", err)
			}
		})
	}
}
