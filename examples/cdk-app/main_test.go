package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// tmpl is the example's stack, synthesized once for the test binary.
var tmpl assertions.Template

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stageflow-cdk-app-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir)})
	stack, err := NewStack(app, "StageflowPipelines", "..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	app.Synth(nil)
	tmpl = assertions.Template_FromStack(stack, nil)
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// check runs an assertions call, which panics when it fails, as a test error.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

func TestExampleApp(t *testing.T) {
	imported := map[string]any{"Fn::ImportValue": "StageflowPipelineProvider"}
	check(t, "two pipelines", func() { tmpl.ResourceCountIs(jsii.String("Custom::StageflowPipeline"), jsii.Number(2)) })
	for _, tc := range []struct {
		name  string
		props map[string]any
	}{
		{"from Go types", map[string]any{
			"ServiceToken": imported,
			"Name":         "hello-from-cdk",
			"Tags":         []any{map[string]any{"Key": "team", "Value": "web"}},
			"Stages": []any{map[string]any{"Name": "Greet", "Actions": []any{assertions.Match_ObjectLike(&map[string]any{
				"ActionTypeId": map[string]any{"Category": "Compute", "Owner": "AWS", "Provider": "Commands", "Version": "1"},
			})}}},
		}},
		{"from build-test-deploy.json", map[string]any{
			"ServiceToken":                   imported,
			"Name":                           "build-test-deploy",
			"ExecutionMode":                  "QUEUED",
			"DisableInboundStageTransitions": []any{map[string]any{"StageName": "Release", "Reason": "opened by hand after review"}},
			"RestartExecutionOnUpdate":       false,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.name, func() {
				tmpl.HasResourceProperties(jsii.String("Custom::StageflowPipeline"), assertions.Match_ObjectLike(&tc.props))
			})
		})
	}
	check(t, "outputs", func() {
		tmpl.HasOutput(jsii.String("HelloArn"), &map[string]any{
			"Value": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^Hello")), "Arn"}},
		})
		tmpl.HasOutput(jsii.String("BuildTestDeployVersion"), &map[string]any{
			"Value": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^BuildTestDeploy")), "Version"}},
		})
	})
}
