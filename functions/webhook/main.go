// Command webhook is the webhook function: the two open routes of the HTTP
// API that start pipelines from outside — V1 webhook URLs (POST
// /webhooks/v1/{id}) and the connections' GitHub-compatible event
// endpoints (POST /webhooks/connections/{connectionId}) — served by
// api.NewWebhookHandler, the handlers `stageflow serve` mounts. API Gateway
// authorizes nothing on these routes: each handler verifies the request's
// signature (or address) itself.
package main

import (
	"log/slog"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/deployed"
)

func main() {
	deployed.Main("webhook", deployed.WebhookEnv, func(sys *deployed.System, lg *slog.Logger) (any, error) {
		h, err := api.NewWebhookHandler(api.Config{Service: sys.Service, Logger: lg})
		if err != nil {
			return nil, err
		}
		return httpadapter.NewV2(h).ProxyWithContext, nil
	})
}
