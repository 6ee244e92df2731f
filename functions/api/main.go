// Command api is the api function: the whole HTTP surface of shared/api
// (the REST door and the CodePipeline door) behind the API Gateway HTTP
// API, whose version 2.0 events the adapter turns into HTTP requests.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/deployed"
)

func main() {
	lg := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := deployed.FromEnv(os.LookupEnv, deployed.APIEnv)
	if err == nil {
		cfg.Logger = lg
		var sys *deployed.System
		if sys, err = deployed.Open(context.Background(), cfg); err == nil {
			var h *api.Handler
			if h, err = api.NewHandler(api.Config{Service: sys.Service, Logger: lg}); err == nil {
				lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
			}
		}
	}
	lg.Error("api: cannot start", "err", err)
	os.Exit(1)
}
