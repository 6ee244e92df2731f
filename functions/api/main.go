// Command api is the api function: the whole HTTP surface of shared/api
// (the REST door, the CodePipeline door and the console's page) behind the
// API Gateway HTTP API, whose version 2.0 events the adapter turns into
// HTTP requests; the gateway's authorization becomes the request's caller
// (deployed.Gateway).
package main

import (
	"log/slog"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/deployed"
)

func main() {
	deployed.Main("api", deployed.APIEnv, func(sys *deployed.System, lg *slog.Logger) (any, error) {
		// The callers API Gateway authorized (IAM, the console's user pool)
		// are established from the event's request context.
		h, err := sys.APIHandler(lg)
		if err != nil {
			return nil, err
		}
		return httpadapter.NewV2(h).ProxyWithContext, nil
	})
}
