package dynamo

import "sync"

// meta is what a write of an execution must know of the stored version it
// replaces: which ended runs are stored in items of their own (moved, a
// bitmap by place: the body holds null there), how many runs it had (the
// tokens of the runs past them get pointers), and the pipeline name and
// client request token (whose uniqueness item moves when they change).
type meta struct {
	version int64
	nruns   int
	moved   []byte // read-only once cached
	crt     string
	pname   string
}

func bit(b []byte, i int) bool { return i/8 < len(b) && b[i/8]&(1<<(i%8)) != 0 }

func setBit(b []byte, i int) []byte {
	for len(b) <= i/8 {
		b = append(b, 0)
	}
	b[i/8] |= 1 << (i % 8)
	return b
}

// metaCache remembers the meta of executions this process read or wrote
// last, so that the usual read-then-update costs no extra read. A version
// identifies one content for good, so an entry is exact even when other
// processes write the table: a write whose version does not match reads the
// stored meta instead.
type metaCache struct {
	mu  sync.Mutex
	m   map[string]meta
	max int
}

func newMetaCache(max int) *metaCache { return &metaCache{m: make(map[string]meta), max: max} }

func (c *metaCache) get(id string, version int64) (meta, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.m[id]
	return m, ok && m.version == version
}

func (c *metaCache) put(id string, m meta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= c.max {
		for k := range c.m { // drop an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[id] = m
}

func (c *metaCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
