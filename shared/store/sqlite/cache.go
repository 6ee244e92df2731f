package sqlite

import (
	"sync"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/store"
)

// execCache keeps a private decoded copy of the last version of recently
// created, read or written executions, with what the store knows of that
// version: its indexed columns and its ended runs (endedRuns).
// GetExecution takes the copy out and hands it to its caller without reading
// or decoding anything (nor copying: the engine's Get-then-Update cycle makes
// one copy, on Update). When the store owns the file (authoritative) the copy
// is current by construction: every write goes through this cache. Otherwise
// GetExecution asks SQLite for the stored version first; a version identifies
// one content for good (every write bumps it), so the cache is exact even
// when another process writes the file.
type execCache struct {
	mu            sync.Mutex
	m             map[string]*cached
	max           int
	authoritative bool
}

type cached struct {
	version int64
	exec    *engine.Execution // nil while a caller has it
	cols    indexed           // the stored indexed columns
	ended   endedRuns
}

// indexed are the columns of an execution that indexes cover.
type indexed struct {
	name, status, token string
	start               int64
}

func indexedOf(e *engine.Execution) indexed {
	return indexed{e.PipelineName, string(e.Status), e.ClientRequestToken, store.Nanos(e.StartTime)}
}

func newExecCache(max int, authoritative bool) *execCache {
	return &execCache{m: make(map[string]*cached), max: max, authoritative: authoritative}
}

// take hands the cached copy of id, if any, to the caller, with its version.
// The entry keeps what the store knows for the next write.
func (c *execCache) take(id string) (*engine.Execution, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.m[id]
	if !ok || x.exec == nil {
		return nil, 0
	}
	e := x.exec
	x.exec = nil
	return e, x.version
}

// storedOf returns what is known of the ended runs of id (read-only) and
// its stored indexed columns at the given version; known is false when the
// cache has no entry for that version.
func (c *execCache) storedOf(id string, version int64) (ended endedRuns, cols indexed, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if x, ok := c.m[id]; ok && x.version == version {
		return x.ended, x.cols, true
	}
	return nil, indexed{}, false
}

// remember caches a copy of e (for an execution that has ended, only its
// version: there is nothing more to copy it for).
func (c *execCache) remember(e *engine.Execution, ended endedRuns) {
	if !e.Status.Terminal() {
		e = copyForCache(e)
	}
	c.put(e, ended)
}

// put caches e, which the cache owns from now on, as stored with the given
// ended runs (which the cache owns too), unless the cache has a newer
// version.
func (c *execCache) put(e *engine.Execution, ended endedRuns) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.m[e.ID]
	if ok && x.version > e.Version {
		return // a read that raced with a write: keep the newer version
	}
	if !ok && len(c.m) >= c.max {
		for id := range c.m { // evict an arbitrary entry
			delete(c.m, id)
			break
		}
	}
	if e.Status.Terminal() {
		// The engine is done with it: keep only its version, so that a
		// read racing with the last write cannot cache an older one.
		c.m[e.ID] = &cached{version: e.Version}
		return
	}
	c.m[e.ID] = &cached{version: e.Version, exec: e, cols: indexedOf(e), ended: ended}
}
