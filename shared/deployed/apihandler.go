package deployed

import (
	"log/slog"
	"net/http"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/service"
)

// ConsolePageRoutes are the HTTP API's routes of the console's page, its
// assets and its sign-in configuration: open at the gateway (nothing in
// them is data; the page asks the REST door under ConsolePrefix, with a
// token of the user pool, for everything else). The hosted UI sends the
// browser back to ConsolePrefix+"/" with the code, and there after signing
// out. infra declares exactly these.
//
// An HTTP API route's path cannot end with a slash, and API Gateway routes
// a request for /console/ to the route GET /console, its rawPath (what the
// api function serves) as the browser sent it: one route answers both the
// page (/console/) and its redirect (/console).
var ConsolePageRoutes = []string{
	"GET /",
	"GET " + ConsolePrefix,
	"GET " + api.ConsoleConfigPath,
	"GET " + api.ConsoleAssetsPath + "{proxy+}",
}

// ConsoleRouteScopes are the scopes the console's REST routes require at
// the gateway, one of them at least: only access tokens carry scopes, so an
// ID token (whose aud is the app client too) is refused, as API Gateway's
// documentation advises. The hosted UI's access tokens carry openid, those
// of an SRP sign-in (a script's) aws.cognito.signin.user.admin.
var ConsoleRouteScopes = []string{"openid", "aws.cognito.signin.user.admin"}

// APIHandler is the api function's HTTP handler: the doors (api.NewHandler)
// with the console signing in with the user pool's hosted UI (when the
// configuration names its domain and client), behind GatewayCallers.
func (s *System) APIHandler(lg *slog.Logger) (http.Handler, error) {
	return NewAPIHandler(s.Service, s.Gateway, s.Config, lg)
}

// NewAPIHandler is APIHandler of a service and a gateway (tests give an
// embedded service).
func NewAPIHandler(svc *service.Service, g Gateway, cfg Config, lg *slog.Logger) (http.Handler, error) {
	var signIn *api.CognitoSignIn
	if cfg.ConsoleDomain != "" || cfg.ConsoleClientID != "" {
		signIn = &api.CognitoSignIn{Domain: cfg.ConsoleDomain, ClientID: cfg.ConsoleClientID, APIBase: ConsolePrefix}
	}
	h, err := api.NewHandler(api.Config{Service: svc, Logger: lg, ConsoleSignIn: signIn})
	if err != nil {
		return nil, err
	}
	return g.GatewayCallers(h), nil
}
