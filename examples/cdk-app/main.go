// Command cdk-app is an example CDK app that declares two Stageflow
// pipelines with the stageflowpipeline construct: one in shared/pipeline's
// Go types, one from examples/build-test-deploy.json. They are deployed by
// the provider of a deployed Stageflow stack, whose ServiceToken the app
// imports (the export StageflowPipelineProvider). Run it from this folder:
// `cdk synth` (cdk.json runs `go run .`).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stageflow/stageflow/cdk/stageflowpipeline"
	"github.com/stageflow/stageflow/shared/pipeline"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if _, err := NewStack(app, "StageflowPipelines", ".."); err != nil {
		fmt.Fprintf(os.Stderr, "cdk-app: %v\n", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}

// NewStack declares the stack of the two pipelines; examplesDir is where
// build-test-deploy.json is.
func NewStack(scope constructs.Construct, id, examplesDir string) (awscdk.Stack, error) {
	stack := awscdk.NewStack(scope, jsii.String(id), nil)
	// The Stageflow stack's name: Stageflow unless deployed with
	// -c stackName=…; give the same here with -c stageflowStack=….
	stageflow := "Stageflow"
	if v, ok := stack.Node().TryGetContext(jsii.String("stageflowStack")).(string); ok && v != "" {
		stageflow = v
	}
	token := awscdk.Fn_ImportValue(jsii.String(stageflowpipeline.ProviderExportName(stageflow)))

	hello := stageflowpipeline.NewPipeline(stack, jsii.String("Hello"), &stageflowpipeline.PipelineProps{
		ServiceToken: token,
		Pipeline:     helloPipeline(),
		Tags:         []pipeline.Tag{{Key: "team", Value: "web"}},
	})

	doc, err := os.ReadFile(filepath.Join(examplesDir, "build-test-deploy.json"))
	if err != nil {
		return nil, err
	}
	btd := stageflowpipeline.NewPipeline(stack, jsii.String("BuildTestDeploy"), &stageflowpipeline.PipelineProps{
		ServiceToken: token,
		Document:     doc,
		DisableInboundStageTransitions: []stageflowpipeline.StageTransition{
			{StageName: "Release", Reason: "opened by hand after review"},
		},
		RestartExecutionOnUpdate: jsii.Bool(false),
	})

	awscdk.NewCfnOutput(stack, jsii.String("HelloArn"), &awscdk.CfnOutputProps{Value: hello.Arn()})
	awscdk.NewCfnOutput(stack, jsii.String("BuildTestDeployVersion"), &awscdk.CfnOutputProps{Value: btd.Version()})
	return stack, nil
}

// helloPipeline is examples/hello.json's kind of pipeline, in Go.
func helloPipeline() *pipeline.Pipeline {
	return &pipeline.Pipeline{
		Name:         "hello-from-cdk",
		PipelineType: pipeline.TypeV2,
		Stages: []pipeline.Stage{{
			Name: "Greet",
			Actions: []pipeline.Action{{
				Name:         "SayHello",
				ActionTypeID: pipeline.ActionTypeID{Category: pipeline.CategoryCompute, Owner: pipeline.OwnerAWS, Provider: "Commands", Version: "1"},
				Commands:     []string{"echo hello from a CDK app"},
			}},
		}},
	}
}
