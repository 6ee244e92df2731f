// Command dispatch is the dispatch function: it starts one action run with
// the task token of the state machine's Dispatch state (shared/sfn).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stageflow/stageflow/shared/deployed"
)

func main() {
	lg := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := deployed.FromEnv(os.LookupEnv, deployed.HandlerEnv)
	if err == nil {
		cfg.Logger = lg
		var sys *deployed.System
		if sys, err = deployed.Open(context.Background(), cfg); err == nil {
			lambda.Start(sys.Driver.Dispatch)
		}
	}
	lg.Error("dispatch: cannot start", "err", err)
	os.Exit(1)
}
