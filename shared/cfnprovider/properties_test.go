package cfnprovider

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stageflow/stageflow/shared/errs"
)

const approval = `{"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}`

// twoStages is a valid pipeline's properties named name, with extra
// members spliced into the first action.
func twoStages(name, action string) string {
	if action != "" {
		action = ", " + action
	}
	return `{"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider", "Name": "` + name + `",
	 "RoleArn": "arn:aws:iam::123456789012:role/pipeline",
	 "ArtifactStore": {"Type": "S3", "Location": "bucket"},
	 "Stages": [
	  {"Name": "Gate", "Actions": [{"Name": "Approve", "ActionTypeId": ` + approval + action + `}]},
	  {"Name": "Ship", "Actions": [{"Name": "Approve", "ActionTypeId": ` + approval + `}]}]}`
}

func TestConvert(t *testing.T) {
	ok := []struct {
		name, props string
		check       func(t *testing.T, p *Properties)
	}{
		{"strings for numbers", twoStages("p", `"RunOrder": "2", "TimeoutInMinutes": "10"`), func(t *testing.T, p *Properties) {
			a := p.Pipeline.Stages[0].Actions[0]
			if a.RunOrder == nil || *a.RunOrder != 2 || a.TimeoutInMinutes == nil || *a.TimeoutInMinutes != 10 {
				t.Errorf("runOrder %v, timeoutInMinutes %v; want 2 and 10", a.RunOrder, a.TimeoutInMinutes)
			}
		}},
		{"numbers as numbers", twoStages("p", `"RunOrder": 3`), func(t *testing.T, p *Properties) {
			if r := p.Pipeline.Stages[0].Actions[0].RunOrder; r == nil || *r != 3 {
				t.Errorf("runOrder %v, want 3", r)
			}
		}},
		{"configuration scalars become strings", twoStages("p", `"Configuration": {"CustomData": 42, "NotificationArn": "x", "B": true}`), func(t *testing.T, p *Properties) {
			c := p.Pipeline.Stages[0].Actions[0].Configuration
			if c["CustomData"] != "42" || c["B"] != "true" || c["NotificationArn"] != "x" {
				t.Errorf("configuration %v", c)
			}
		}},
		{"CloudFormation-only properties", strings.Replace(twoStages("p", ""), `"Name": "p",`, `"Name": "p", "RestartExecutionOnUpdate": "true",
			"DisableInboundStageTransitions": [{"StageName": "Ship", "Reason": "frozen"}], "Tags": [{"Key": "team", "Value": "blue"}],`, 1),
			func(t *testing.T, p *Properties) {
				if !p.RestartExecutionOnUpdate || len(p.DisableInboundStageTransitions) != 1 || p.DisableInboundStageTransitions[0] != (Transition{"Ship", "frozen"}) ||
					len(p.Tags) != 1 || p.Tags[0].Key != "team" || p.Tags[0].Value != "blue" {
					t.Errorf("got %+v", p)
				}
			}},
		{"ArtifactStores as a list of regions", strings.Replace(twoStages("p", `"Region": "eu-west-1"`), `"ArtifactStore": {"Type": "S3", "Location": "bucket"},`,
			`"ArtifactStores": [{"Region": "us-east-1", "ArtifactStore": {"Type": "S3", "Location": "a"}}, {"Region": "eu-west-1", "ArtifactStore": {"Type": "S3", "Location": "b"}}],`, 1),
			func(t *testing.T, p *Properties) {
				if p.Pipeline.ArtifactStores["eu-west-1"].Location != "b" || p.Pipeline.ArtifactStores["us-east-1"].Location != "a" || p.Pipeline.ArtifactStore != nil {
					t.Errorf("artifactStores %+v", p.Pipeline.ArtifactStores)
				}
			}},
	}
	ok = append(ok, struct {
		name, props string
		check       func(t *testing.T, p *Properties)
	}{"the README's example", readmeExample, func(t *testing.T, p *Properties) {
		if p.Pipeline.Stages[0].Actions[0].TimeoutInMinutes == nil || !p.RestartExecutionOnUpdate {
			t.Errorf("got %+v", p)
		}
	}})
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Convert(json.RawMessage(tt.props))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
	bad := []struct {
		name, props, path, words string
	}{
		{"unknown member", twoStages("p", `"RunOrdr": 2`), "Stages[0].Actions[0].RunOrdr", `did you mean "RunOrder"`},
		{"unknown top-level", strings.Replace(twoStages("p", ""), `"Name"`, `"Nmae": "x", "Name"`, 1), "Nmae", "not a property"},
		{"not an integer", twoStages("p", `"RunOrder": "two"`), "Stages[0].Actions[0].RunOrder", `not "two"`},
		{"not a boolean", strings.Replace(twoStages("p", ""), `"Name"`, `"RestartExecutionOnUpdate": "yes", "Name"`, 1), "RestartExecutionOnUpdate", "boolean"},
		{"nested configuration", twoStages("p", `"Configuration": {"X": {"a": 1}}`), "Stages[0].Actions[0].Configuration.X", "string, number or boolean"},
		{"validator's problem at its property path", twoStages("p", `"RunOrder": "0"`), "Stages[0].Actions[0].RunOrder", ""},
		{"missing Name", strings.Replace(twoStages("p", ""), `"Name": "p",`, "", 1), "Name", ""},
		{"transition of no stage", strings.Replace(twoStages("p", ""), `"Name"`, `"DisableInboundStageTransitions": [{"StageName": "Nope", "Reason": "r"}], "Name"`, 1),
			"DisableInboundStageTransitions[0].StageName", `no stage "Nope"`},
		{"store of a region", strings.Replace(twoStages("p", ""), `"ArtifactStore": {"Type": "S3", "Location": "bucket"},`,
			`"ArtifactStores": [{"Region": "us-east-1", "ArtifactStore": {"Type": "S4", "Location": "a"}}],`, 1), "ArtifactStores[0].ArtifactStore.Type", ""},
		{"a rule's TimeoutInMinutes (not in CloudFormation's RuleDeclaration)", strings.Replace(twoStages("p", ""), `{"Name": "Ship", `,
			`{"Name": "Ship", "BeforeEntry": {"Conditions": [{"Result": "FAIL", "Rules": [{"Name": "R", "TimeoutInMinutes": "5",
			"RuleTypeId": {"Category": "Rule", "Owner": "AWS", "Provider": "VariableCheck", "Version": "1"}}]}]}, `, 1),
			"Stages[1].BeforeEntry.Conditions[0].Rules[0].TimeoutInMinutes", "not a property"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Convert(json.RawMessage(tt.props))
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Validation {
				t.Fatalf("Convert = %v, want a validation error", err)
			}
			for _, p := range e.Problems {
				if p.Path == tt.path && strings.Contains(p.Message, tt.words) {
					return
				}
			}
			t.Errorf("problems %v, want one at %s saying %q", e.Problems, tt.path, tt.words)
		})
	}
}

// readmeExample is the README's example template's properties (section
// "Pipelines in CloudFormation") as CloudFormation passes them.
const readmeExample = `{"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p", "Name": "release", "PipelineType": "V2",
 "ExecutionMode": "QUEUED", "RoleArn": "arn:aws:iam::123456789012:role/release-pipeline",
 "ArtifactStore": {"Type": "S3", "Location": "release-artifacts"},
 "Stages": [
  {"Name": "Build", "Actions": [{"Name": "Compile", "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "Commands", "Version": "1"},
    "Commands": ["make build"], "OutputArtifacts": [{"Name": "Bin", "Files": ["bin/**"]}], "TimeoutInMinutes": "30"}]},
  {"Name": "Approve", "Actions": [{"Name": "Gate", "ActionTypeId": {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"},
    "Configuration": {"CustomData": "Ship this build?"}, "RunOrder": "1"}]}],
 "Tags": [{"Key": "team", "Value": "release"}],
 "DisableInboundStageTransitions": [{"StageName": "Approve", "Reason": "frozen until the release review"}],
 "RestartExecutionOnUpdate": "true"}`
