// Command api is the api function: the whole HTTP surface of shared/api
// (the REST door and the CodePipeline door) behind the API Gateway HTTP
// API, whose version 2.0 events the adapter turns into HTTP requests; the
// gateway's authorization becomes the request's caller (deployed.Gateway).
package main

import (
	"log/slog"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/deployed"
)

func main() {
	deployed.Main("api", deployed.APIEnv, func(sys *deployed.System, lg *slog.Logger) (any, error) {
		h, err := api.NewHandler(api.Config{Service: sys.Service, Logger: lg})
		if err != nil {
			return nil, err
		}
		// The callers API Gateway authorized (IAM, the console's user pool)
		// are established from the event's request context.
		return httpadapter.NewV2(sys.Gateway.GatewayCallers(h)).ProxyWithContext, nil
	})
}
