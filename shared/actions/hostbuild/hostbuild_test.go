package hostbuild

import (
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/pipeline"
)

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		unit    time.Duration
		minutes int
		want    time.Duration
	}{
		{0, 0, DefaultTimeout},
		{0, 5, 5 * time.Minute},
		{time.Second, 0, 60 * time.Second},
		{time.Second, 7, 7 * time.Second},
	} {
		h := Host{TimeoutUnit: tc.unit}
		if got := h.Timeout(tc.minutes); got != tc.want {
			t.Errorf("unit %s, %d minutes: timeout %s, want %s", tc.unit, tc.minutes, got, tc.want)
		}
	}
}

// TestTimeoutWithinTheEngines: the build's own timeout is never longer than
// the engine's timeout of the run (engine.ActionTimeout), for the types a
// Host serves: equal when the action declares timeoutInMinutes, CodeBuild's
// 60-minute default build timeout otherwise (the engine allows a Commands
// action 1 hour, a CodeBuild action 8 hours). A build that hits it ends
// TimedOut by itself, before the runner's timer would fail it.
func TestTimeoutWithinTheEngines(t *testing.T) {
	for _, typ := range []pipeline.ActionTypeID{
		{Category: "Compute", Owner: "AWS", Provider: "Commands", Version: "1"},
		{Category: "Build", Owner: "AWS", Provider: "CodeBuild", Version: "1"},
		{Category: "Test", Owner: "AWS", Provider: "CodeBuild", Version: "1"},
	} {
		for _, minutes := range []int{0, 5, 60, 600, 86400} {
			run := &engine.ActionRun{Type: typ, TimeoutInMinutes: minutes}
			if own, engines := (Host{}).Timeout(minutes), engine.ActionTimeout(run); own > engines || minutes > 0 && own != engines {
				t.Errorf("%s, %d minutes: build timeout %s, engine's %s", typ, minutes, own, engines)
			}
		}
	}
}
