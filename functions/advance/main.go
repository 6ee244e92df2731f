// Command advance is the advance function: the engine's step of the state machine
// (its Advance and Park states; shared/sfn).
package main

import (
	"log/slog"

	"github.com/stageflow/stageflow/shared/deployed"
)

func main() {
	deployed.Main("advance", deployed.HandlerEnv, func(sys *deployed.System, _ *slog.Logger) (any, error) {
		return sys.Driver.HandleAdvance, nil
	})
}
