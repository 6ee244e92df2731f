package runner

import (
	"testing"

	"github.com/stageflow/stageflow/shared/actions"
	"github.com/stageflow/stageflow/shared/actions/actiontest"
	"github.com/stageflow/stageflow/shared/engine"
)

// BenchmarkSlotUnderCap is what a machine-bound action pays for its slot
// when the cap is not reached: the provider lookup that tells it needs one,
// taking it and giving it back (compare with the ~100 µs of a step).
func BenchmarkSlotUnderCap(b *testing.B) {
	reg := actions.NewRegistry(nil)
	actiontest.Register(reg)
	r := New(Config{Providers: reg, MaxParallelActions: 64})
	run := engine.ActionRun{Type: actiontest.MachineType}
	for b.Loop() {
		if !r.needsSlot(run) || !r.tryAcquire() {
			b.Fatal("no slot")
		}
		r.release()
	}
}
