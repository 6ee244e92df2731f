package stageflowpipeline

import (
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// The app, synthesized once for the test binary: a stack with two valid
// pipelines and a stack with an invalid one.
var (
	good, bad         awscdk.Stack
	goodTmpl          assertions.Template
	first, second     Pipeline
	invalidPipelineID = "Broken"
)

const invalidDoc = `{"name": "broken", "stages": [{"name": "Build", "actions": [
  {"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
   "commands": ["true"], "runOrder": 0, "inputArtifacts": [{"name": "Nowhere"}]}]}]}`

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stageflow-construct-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir)})
	good = awscdk.NewStack(app, jsii.String("Good"), nil)
	token := awscdk.Fn_ImportValue(jsii.String(ProviderExport))
	first = NewPipeline(good, jsii.String("First"), &PipelineProps{ServiceToken: token, Pipeline: goPipeline()})
	second = NewPipeline(good, jsii.String("Second"), &PipelineProps{
		ServiceToken:             jsii.String("arn:aws:lambda:us-east-1:123456789012:function:provider"),
		Document:                 []byte(`{"pipeline": {"name": "second", "stages": [{"name": "Only", "actions": [{"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"], "runOrder": 3}]}]}, "tags": [{"key": "k", "value": "v"}]}`),
		RestartExecutionOnUpdate: jsii.Bool(true),
	})
	awscdk.NewCfnOutput(good, jsii.String("FirstName"), &awscdk.CfnOutputProps{Value: first.Name()})
	bad = awscdk.NewStack(app, jsii.String("Bad"), nil)
	NewPipeline(bad, jsii.String(invalidPipelineID), &PipelineProps{ServiceToken: token, Document: []byte(invalidDoc)})
	app.Synth(nil)
	goodTmpl = assertions.Template_FromStack(good, nil)
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// check runs an assertions call, which panics when it fails, as a test error.
func check(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Error(r)
		}
	}()
	f()
}

func TestSynthTwoPipelines(t *testing.T) {
	check(t, func() { goodTmpl.ResourceCountIs(jsii.String(ResourceType), jsii.Number(2)) })
	for _, tc := range []struct {
		name  string
		props map[string]any
	}{
		{"Go types, imported token", map[string]any{
			"ServiceToken": map[string]any{"Fn::ImportValue": "StageflowPipelineProvider"},
			"Name":         "go-typed",
			"ArtifactStores": []any{
				map[string]any{"Region": "eu-west-1", "ArtifactStore": map[string]any{"Type": "S3", "Location": "bucket-west"}},
				assertions.Match_ObjectLike(&map[string]any{"Region": "us-east-1"}),
			},
			"Stages": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Name": "Build",
				"Actions": []any{assertions.Match_ObjectLike(&map[string]any{
					"RunOrder":        2,
					"OutputArtifacts": []any{map[string]any{"Name": "Out", "Files": []any{"bin/*"}}},
				})},
			})}),
		}},
		{"JSON envelope, string token", map[string]any{
			"ServiceToken":             "arn:aws:lambda:us-east-1:123456789012:function:provider",
			"Name":                     "second",
			"Tags":                     []any{map[string]any{"Key": "k", "Value": "v"}},
			"RestartExecutionOnUpdate": true,
			"Version":                  assertions.Match_Absent(),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, func() {
				goodTmpl.HasResourceProperties(jsii.String(ResourceType), assertions.Match_ObjectLike(&tc.props))
			})
		})
	}
	check(t, func() {
		goodTmpl.HasOutput(jsii.String("FirstName"), &map[string]any{
			"Value": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^First")), "Name"}},
		})
	})
	// The tokens name the resource's attributes.
	for _, tc := range []struct {
		name string
		got  *string
		attr string
	}{{"Name", first.Name(), "Name"}, {"Version", first.Version(), "Version"}, {"Arn", second.Arn(), "Arn"}} {
		resolved := good.Resolve(tc.got)
		m, ok := resolved.(map[string]any)
		att, _ := m["Fn::GetAtt"].([]any)
		if !ok || len(att) != 2 || att[1] != tc.attr {
			t.Errorf("%s() resolves to %v, want Fn::GetAtt of attribute %s", tc.name, resolved, tc.attr)
		}
	}
	check(t, func() {
		assertions.Annotations_FromStack(good).HasNoError(jsii.String("*"), assertions.Match_AnyValue())
	})
}

// TestSynthInvalid: an invalid pipeline puts each problem, with its path, as
// an error on the construct (what makes `cdk synth` fail).
func TestSynthInvalid(t *testing.T) {
	annotations := assertions.Annotations_FromStack(bad)
	for _, msg := range []string{
		"stages[0].actions[0].runOrder: must be 1..999, got 0",
		`stages[0].actions[0].inputArtifacts[0]: artifact "Nowhere" is not produced by any action that runs before this one`,
	} {
		check(t, func() { annotations.HasError(jsii.String("/Bad/"+invalidPipelineID), jsii.String(msg)) })
	}
	check(t, func() {
		annotations.HasNoError(jsii.String("/Bad/"+invalidPipelineID), assertions.Match_StringLikeRegexp(jsii.String("^ServiceToken")))
	})
}
