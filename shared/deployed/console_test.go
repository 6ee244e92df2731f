package deployed

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/service"
)

const (
	testConsoleDomain = "https://stageflow-123456789012.auth.us-east-1.amazoncognito.com"
	testConsoleClient = "5example0clientid0000000ab"
)

// TestConsoleRoutes sends the api function's wiring (NewAPIHandler: the
// doors with the Cognito sign-in, behind GatewayCallers, through the v2
// adapter) the events of the console's open routes (ConsolePageRoutes) and
// of a console REST route authorized by the JWT authorizer: the page and
// its assets with the console's security headers, the sign-in
// configuration of the environment, and whoami for the token's user, with
// no CSRF token (a bearer token, not a cookie).
func TestConsoleRoutes(t *testing.T) {
	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir(), Region: "us-east-1", Account: "123456789012",
		Authorize: service.NewPolicyAuthorizer(GatewayPolicies(func(context.Context, string) ([]*auth.Policy, error) { return nil, nil }))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(context.Background()) })
	g := Gateway{Region: "us-east-1", Account: "123456789012", UserPoolID: testPool}
	h, err := NewAPIHandler(sys.Service, g, Config{ConsoleDomain: testConsoleDomain + "/", ConsoleClientID: testConsoleClient}, nil)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httpadapter.NewV2(h).ProxyWithContext
	open := func(routeKey, path string) events.APIGatewayV2HTTPRequest {
		return events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: routeKey, RawPath: path, Headers: map[string]string{"accept": "text/html", "host": "abc123.execute-api.us-east-1.amazonaws.com"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RouteKey: routeKey, DomainName: "abc123.execute-api.us-east-1.amazonaws.com", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path, Protocol: "HTTP/1.1", SourceIP: "192.0.2.1"},
			},
		}
	}
	whoami := readEvent(t, "testdata/gateway.console-jwt.json")
	whoami.RouteKey, whoami.RawPath, whoami.RawQueryString, whoami.QueryStringParameters = "GET /console/v1/whoami", "/console/v1/whoami", "action=codepipeline:StartPipelineExecution", nil
	whoami.RequestContext.RouteKey, whoami.RequestContext.HTTP.Path = whoami.RouteKey, whoami.RawPath
	const csp = "connect-src 'self' " + testConsoleDomain + ";"
	tests := []struct {
		name    string
		ev      events.APIGatewayV2HTTPRequest
		status  int
		headers map[string]string // each must be in the answer's header (a substring)
		body    string            // in the body
	}{
		{"the API's address opens the console", open("GET /", "/"), http.StatusFound, map[string]string{"Location": "/console/"}, ""},
		{"/console", open("GET /console", "/console"), http.StatusMovedPermanently, map[string]string{"Location": "/console/"}, ""},
		{"the page", open("GET /console", "/console/"), http.StatusOK, map[string]string{
			"Content-Type": "text/html", "Content-Security-Policy": csp, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
			"Cache-Control": "no-cache"}, `<script type="module" src="/console/assets/app.js">`},
		{"the hosted UI's return, with the code", func() events.APIGatewayV2HTTPRequest {
			ev := open("GET /console", "/console/")
			ev.RawQueryString = "code=abc&state=xyz"
			return ev
		}(), http.StatusOK, map[string]string{"Content-Security-Policy": csp}, "<main"},
		{"an asset", open("GET /console/assets/{proxy+}", "/console/assets/auth.js"), http.StatusOK, map[string]string{
			"Content-Type": "text/javascript", "Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"}, "code_challenge"},
		{"no such asset", open("GET /console/assets/{proxy+}", "/console/assets/nope.js"), http.StatusNotFound, nil, "Not found"},
		{"the sign-in configuration", open("GET /console/config.json", "/console/config.json"), http.StatusOK,
			map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
			`{"mode":"cognito","domain":"` + testConsoleDomain + `","clientId":"` + testConsoleClient + `","apiBase":"/console"}`},
		{"whoami with the user pool's token", whoami, http.StatusOK, map[string]string{"Content-Type": "application/json"},
			`"principal":"` + testPoolARN + `/user/alice"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := proxy(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d (body %.300s)", res.StatusCode, tt.status, res.Body)
			}
			for k, want := range tt.headers {
				got := res.Headers[k]
				if got == "" && len(res.MultiValueHeaders[k]) > 0 {
					got = res.MultiValueHeaders[k][0]
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s: %q, want %q in it", k, got, want)
				}
			}
			if !strings.Contains(res.Body, tt.body) {
				t.Errorf("body %.300s, want %q in it", res.Body, tt.body)
			}
		})
	}
	// whoami deployed: the user, no CSRF token (nothing to forge with a
	// bearer token), and what its groups allow.
	res, err := proxy(context.Background(), whoami)
	if err != nil {
		t.Fatal(err)
	}
	var who struct {
		Principal string `json:"principal"`
		CSRFToken string `json:"csrfToken"`
		Checks    []struct {
			Allowed bool `json:"allowed"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(res.Body), &who); err != nil {
		t.Fatal(err)
	}
	if who.CSRFToken != "" || who.Principal == "" || len(who.Checks) != 1 || who.Checks[0].Allowed {
		t.Errorf("whoami: %s; want no CSRF token, and StartPipelineExecution not allowed to approvers and readers", res.Body)
	}
}

// TestConsoleSignInFromEnv: the api function's environment names the
// console's sign-in; a malformed one stops the function from starting
// (NewAPIHandler fails) rather than serving a page that cannot sign in.
func TestConsoleSignInFromEnv(t *testing.T) {
	sys, err := embedded.Open(embedded.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(context.Background()) })
	for _, cfg := range []Config{
		{ConsoleDomain: "http://stageflow.auth.us-east-1.amazoncognito.com", ConsoleClientID: testConsoleClient},
		{ConsoleDomain: testConsoleDomain},
		{ConsoleClientID: testConsoleClient},
	} {
		if _, err := NewAPIHandler(sys.Service, Gateway{}, cfg, nil); err == nil {
			t.Errorf("NewAPIHandler(%+v) = nil error, want the sign-in refused", cfg)
		}
	}
}
