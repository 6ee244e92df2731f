// Command dispatch is the dispatch function: it starts one action run with
// the task token of the state machine's Dispatch state (shared/sfn).
package main

import (
	"log/slog"

	"github.com/stageflow/stageflow/shared/deployed"
)

func main() {
	deployed.Main("dispatch", deployed.HandlerEnv, func(sys *deployed.System, _ *slog.Logger) (any, error) {
		return sys.Driver.Dispatch, nil
	})
}
