package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stageflow/stageflow/shared/api/rest"
)

// codePipelineRoute is the route of the CodePipeline door (JSON 1.1, the
// operation in X-Amz-Target).
const codePipelineRoute = "POST /"

// apiRoutes are the routes the HTTP API declares: every route of the REST
// door and the CodePipeline door's.
func apiRoutes() []string {
	return append(rest.Patterns(), codePipelineRoute)
}

// newHTTPAPI declares the API Gateway HTTP API (v2) in front of the api
// function: one route per route of the doors, each with IAM authorization
// (callers sign their requests with SigV4 for the service execute-api), the
// function invoked with the version 2.0 payload. A path no route declares
// is answered by API Gateway (404) without reaching the function.
//
// The CodePipeline door is behind IAM too until the access-control issue
// verifies CodePipeline-signed requests in Stageflow itself: until then an
// SDK must sign for execute-api (not codepipeline), which the AWS CLI does
// not do.
func newHTTPAPI(scope constructs.Construct, api function) (awsapigatewayv2.HttpApi, error) {
	iam := awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	h := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:       jsii.String("Stageflow: the REST door under /v1 and the CodePipeline door at POST /"),
		DefaultAuthorizer: iam,
	})
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiFunction"), api.Fn,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0()})
	for _, r := range apiRoutes() {
		method, path, ok := strings.Cut(r, " ")
		if !ok {
			return nil, fmt.Errorf("route %q is not METHOD /path", r)
		}
		m, ok := httpMethods[method]
		if !ok {
			return nil, fmt.Errorf("route %q: method %s is not one the HTTP API declares", r, method)
		}
		h.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(path), Methods: &[]awsapigatewayv2.HttpMethod{m}, Integration: integration, Authorizer: iam,
		})
	}
	return h, nil
}

var httpMethods = map[string]awsapigatewayv2.HttpMethod{
	"GET": awsapigatewayv2.HttpMethod_GET, "POST": awsapigatewayv2.HttpMethod_POST,
	"PUT": awsapigatewayv2.HttpMethod_PUT, "DELETE": awsapigatewayv2.HttpMethod_DELETE,
}
