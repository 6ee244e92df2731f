package lambdatest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

// Builds builds the bootstraps a test binary needs for this machine, each
// once, into a temporary folder of its own that Remove deletes (call it from
// TestMain after the tests ran). The zero value is ready to use.
type Builds struct {
	mu    sync.Mutex
	dir   string
	paths map[string]string
	errs  map[string]error
}

// Bootstrap returns the path of functions/<fn>'s bootstrap, building it on
// first use; a failed build fails t (each time it is asked for).
func (b *Builds) Bootstrap(t testing.TB, fn string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "stageflow-bootstraps-"); err != nil {
			t.Fatal(err)
		}
		b.paths, b.errs = map[string]string{}, map[string]error{}
	}
	if _, done := b.errs[fn]; !done {
		start := time.Now()
		b.paths[fn], b.errs[fn] = Build(context.Background(), root, fn, b.dir)
		t.Logf("built %s in %v", fn, time.Since(start).Round(time.Millisecond))
	}
	if err := b.errs[fn]; err != nil {
		t.Fatal(err)
	}
	return b.paths[fn]
}

// Remove deletes the folder of the bootstraps built so far.
func (b *Builds) Remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		os.RemoveAll(b.dir)
		b.dir = ""
	}
}
