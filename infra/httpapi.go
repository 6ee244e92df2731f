package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/api/rest"
	"github.com/stageflow/stageflow/shared/deployed"
	"github.com/stageflow/stageflow/shared/service"
)

// codePipelineRoute is the route of the CodePipeline door (JSON 1.1, the
// operation in X-Amz-Target): open at the gateway, every request verified
// by Stageflow against its own access keys (SigV4 for codepipeline), so the
// unchanged AWS CLI and SDKs work with a profile and --endpoint-url.
const codePipelineRoute = "POST /"

// codePipelineIAMRoute is the CodePipeline door again, IAM-authorized: for
// job workers on IAM role credentials, which sign for execute-api.
const codePipelineIAMRoute = "POST " + deployed.CodePipelineIAMPath

// route is one route of the HTTP API and who authorizes it.
type route struct {
	Key  string // METHOD /path
	Auth string // authIAM, authNone or authConsole
}

// Who authorizes a route.
const (
	authIAM     = "AWS_IAM"
	authNone    = "NONE"
	authConsole = "JWT" // the console's user pool
)

// apiRoutes are the routes the HTTP API declares: every route of the REST
// door with IAM authorization, each again under the console's prefix with
// the user pool's JWT authorizer (API Gateway takes one authorizer per
// route, and a browser cannot sign IAM requests), the CodePipeline door's
// open route and its IAM-authorized one, and the console's page routes.
func apiRoutes() []route {
	var out []route
	for _, r := range rest.Patterns() {
		out = append(out, route{r, authIAM})
		method, path, _ := strings.Cut(r, " ")
		out = append(out, route{method + " " + deployed.ConsolePrefix + path, authConsole})
	}
	out = append(out, route{codePipelineRoute, authNone}, route{codePipelineIAMRoute, authIAM})
	return append(out, consolePageRoutes()...)
}

// consolePageRoutes are the console's page, its assets and its sign-in
// configuration (deployed.ConsolePageRoutes), open: the same static files
// for everyone, no data (the page asks the REST door under /console/v1,
// with a user pool token, for that). The hosted UI returns to /console/.
func consolePageRoutes() []route {
	var out []route
	for _, r := range deployed.ConsolePageRoutes {
		out = append(out, route{r, authNone})
	}
	return out
}

// newHTTPAPI declares the API Gateway HTTP API (v2) in front of the api
// function: one route per apiRoutes entry, each with its authorizer, the
// function invoked with the version 2.0 payload (whose request context
// shared/deployed's GatewayCallers reads the caller from). A path no route
// declares is answered by API Gateway (404) without reaching the function.
//
// The console's app client of users is declared here, once the API's URL
// (its callback and sign-out URL) is known.
func newHTTPAPI(scope constructs.Construct, api function, users *consoleUsers) (awsapigatewayv2.HttpApi, error) {
	iam := awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	h := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:       jsii.String("Stageflow: the REST door under /v1 (IAM) and /console/v1 (Cognito), the CodePipeline door at POST / (Stageflow's keys) and POST /codepipeline (IAM), the console's page at / and /console/ (open)"),
		DefaultAuthorizer: iam,
	})
	users.addConsoleClient(consoleURL(h))
	authorizers := map[string]awsapigatewayv2.IHttpRouteAuthorizer{
		authIAM:  iam,
		authNone: awsapigatewayv2.NewHttpNoneAuthorizer(),
		authConsole: awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("ConsoleAuthorizer"), users.Pool,
			&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
				AuthorizerName:  jsii.String("ConsoleUsers"),
				UserPoolClients: &[]awscognito.IUserPoolClient{users.Client},
			}),
	}
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiFunction"), api.Fn,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0()})
	for _, r := range apiRoutes() {
		method, path, ok := strings.Cut(r.Key, " ")
		if !ok {
			return nil, fmt.Errorf("route %q is not METHOD /path", r.Key)
		}
		m, ok := httpMethods[method]
		if !ok {
			return nil, fmt.Errorf("route %q: method %s is not one the HTTP API declares", r.Key, method)
		}
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(path), Methods: &[]awsapigatewayv2.HttpMethod{m}, Integration: integration, Authorizer: authorizers[r.Auth],
		}
		if r.Auth == authConsole {
			opts.AuthorizationScopes = jsii.Strings(deployed.ConsoleRouteScopes...)
		}
		h.AddRoutes(opts)
	}
	return h, nil
}

// consoleURL is the console's address on the HTTP API: where the hosted UI
// sends users back after signing in (with the code) and out.
func consoleURL(h awsapigatewayv2.HttpApi) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{h.ApiEndpoint(), jsii.String(api.ConsolePath)})
}

// webhookRoutes are the routes of the webhook function: open at the
// gateway (a webhook's sender signs with its secret, not with AWS
// credentials), every request verified by the function itself (GitHub's
// HMAC of the body, or the webhook's address range). Their paths are the
// ones `stageflow serve` answers (service.WebhookPath, api.TriggerPathPrefix).
var webhookRoutes = []string{
	"POST " + service.WebhookPath + "{id}",
	"POST " + api.TriggerPathPrefix + "{connectionId}",
}

// webhookThrottle bounds the requests per second (and the burst) API
// Gateway lets through to each webhook route, before the function's own
// limit of failed signatures per address (shared/api/throttle).
var webhookThrottle = struct{ Rate, Burst float64 }{Rate: 20, Burst: 40}

// addWebhookRoutes declares webhookRoutes on the HTTP API, integrated with
// the webhook function (payload 2.0) with no authorizer, each throttled at
// the stage (route settings of the $default stage, which the CDK's HTTP
// API construct does not offer per route: set on the stage resource, after
// the routes exist, as CloudFormation requires).
func addWebhookRoutes(h awsapigatewayv2.HttpApi, webhook function) error {
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("WebhookFunction"), webhook.Fn,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0()})
	settings := map[string]any{}
	stage, ok := h.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	if !ok {
		return fmt.Errorf("the HTTP API has no default stage to throttle the webhook routes on")
	}
	for _, key := range webhookRoutes {
		method, path, _ := strings.Cut(key, " ")
		routes := h.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(path), Methods: &[]awsapigatewayv2.HttpMethod{httpMethods[method]}, Integration: integration,
			Authorizer: awsapigatewayv2.NewHttpNoneAuthorizer(),
		})
		for _, r := range *routes {
			stage.Node().AddDependency(r)
		}
		settings[key] = map[string]any{"ThrottlingRateLimit": webhookThrottle.Rate, "ThrottlingBurstLimit": webhookThrottle.Burst}
	}
	stage.AddPropertyOverride(jsii.String("RouteSettings"), settings)
	return nil
}

var httpMethods = map[string]awsapigatewayv2.HttpMethod{
	"GET": awsapigatewayv2.HttpMethod_GET, "POST": awsapigatewayv2.HttpMethod_POST,
	"PUT": awsapigatewayv2.HttpMethod_PUT, "DELETE": awsapigatewayv2.HttpMethod_DELETE,
}
