// Package stageflowpipeline is a CDK construct for declaring Stageflow
// pipelines in a CDK Go app: NewPipeline emits a Custom::StageflowPipeline
// custom resource, served by the provider of the deployed Stageflow stack,
// whose properties are those of AWS::CodePipeline::Pipeline.
//
// The pipeline is given as shared/pipeline's Go types or as a pipeline's
// JSON (what `stageflow validate` takes: a bare pipeline or the get-pipeline
// envelope) and is validated at synth time by the same loader and rules as
// `stageflow validate`. Each problem becomes an error annotation on the
// construct ("stages[1].actions[0].runOrder: must be 1..999, got 0"), so
// `cdk synth` and `cdk deploy` list them all and fail before anything is
// deployed; a Go program that synthesizes by itself can ask Properties
// first, which returns the same problems without synthesizing.
package stageflowpipeline

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stageflow/stageflow/shared/pipeline"
)

// ProviderExport is the name under which a Stageflow stack of the default
// name (Stageflow) exports its provider's ServiceToken:
// awscdk.Fn_ImportValue(jsii.String(ProviderExport)).
const ProviderExport = "StageflowPipelineProvider"

// ProviderExportName is the export of the ServiceToken of the Stageflow
// stack named stackName (deployed with -c stackName=…):
// awscdk.Fn_ImportValue(jsii.String(ProviderExportName("StageflowProd"))).
func ProviderExportName(stackName string) string { return stackName + "PipelineProvider" }

// PipelineProps declares one pipeline.
type PipelineProps struct {
	// ServiceToken is the provider's ServiceToken (its Lambda function's
	// ARN): a string, or an imported value such as
	// awscdk.Fn_ImportValue(jsii.String(ProviderExport)). Required.
	ServiceToken *string

	// Pipeline is the pipeline as shared/pipeline's types. Give either
	// Pipeline or Document.
	Pipeline *pipeline.Pipeline
	// Document is the pipeline as CodePipeline's JSON: a bare pipeline or
	// the envelope {"pipeline": …, "tags": …} of get-pipeline. Its metadata
	// and the pipeline's version are ignored (CloudFormation declares
	// neither).
	Document []byte

	// Tags are the pipeline's tags (CloudFormation's Tags); a Document's
	// envelope may carry them instead, not both.
	Tags []pipeline.Tag
	// DisableInboundStageTransitions lists the stages whose inbound
	// transition the provider disables (CloudFormation-only).
	DisableInboundStageTransitions []StageTransition
	// RestartExecutionOnUpdate asks the provider to start an execution after
	// each update (CloudFormation-only); nil leaves it out.
	RestartExecutionOnUpdate *bool
}

// Pipeline is a Stageflow pipeline declared in a stack.
type Pipeline interface {
	constructs.Construct
	// Resource is the Custom::StageflowPipeline resource.
	Resource() awscdk.CustomResource
	// Name is the pipeline's name (Fn::GetAtt Name).
	Name() *string
	// Version is the pipeline's version after the deployment
	// (Fn::GetAtt Version).
	Version() *string
	// Arn is the pipeline's ARN (Fn::GetAtt Arn).
	Arn() *string
}

type stageflowPipeline struct {
	constructs.Construct
	resource awscdk.CustomResource
}

// NewPipeline declares a pipeline. Invalid props add one error annotation
// per problem to the construct, which makes `cdk synth` fail listing them;
// the resource is then declared with the ServiceToken alone.
func NewPipeline(scope constructs.Construct, id *string, props *PipelineProps) Pipeline {
	c := constructs.NewConstruct(scope, id)
	properties, problems := properties(props)
	for _, p := range problems {
		awscdk.Annotations_Of(c).AddError(jsii.String(p.String()))
	}
	if properties == nil {
		properties = map[string]any{}
	}
	var token *string
	if props != nil && props.ServiceToken != nil && *props.ServiceToken != "" {
		token = props.ServiceToken
	} else {
		token = jsii.String("missing-service-token")
	}
	resource := awscdk.NewCustomResource(c, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken: token,
		ResourceType: jsii.String(ResourceType),
		Properties:   &properties,
	})
	return &stageflowPipeline{Construct: c, resource: resource}
}

func (p *stageflowPipeline) Resource() awscdk.CustomResource { return p.resource }
func (p *stageflowPipeline) Name() *string                   { return p.resource.GetAttString(jsii.String("Name")) }
func (p *stageflowPipeline) Version() *string                { return p.resource.GetAttString(jsii.String("Version")) }
func (p *stageflowPipeline) Arn() *string                    { return p.resource.GetAttString(jsii.String("Arn")) }
