// Package throttle limits failed authentications per key: after Failures
// failed authentications of one key within a window, further requests
// naming that key are refused outright (the caller answers 429
// ThrottlingException, without checking a signature) until the window that
// the first of those failures opened has passed. Only failures count:
// requests that authenticate never throttle anyone, and cost no memory.
//
// A key is whatever the caller chooses; Key builds the usual one, the
// access key ID a request names or, for requests naming none, the remote
// address. The limiter tracks at most MaxKeys keys; past that, the key
// whose window opened first is forgotten. It is safe for concurrent use.
//
// Use (an authenticating handler):
//
//	key := throttle.Key(accessKeyID, r.RemoteAddr)
//	if !l.Allow(key) {
//		// 429 ThrottlingException, Retry-After: l.RetryAfter(key)
//	}
//	if err := verify(r); err != nil {
//		l.Failed(key)
//		// 403 as usual
//	}
package throttle

import (
	"container/list"
	"net"
	"sync"
	"time"
)

// Defaults of Options' zero fields.
const (
	DefaultFailures = 10
	DefaultWindow   = time.Minute
	DefaultMaxKeys  = 10000
)

// Options configure a Limiter; zero fields take the defaults.
type Options struct {
	// Failures is how many failed authentications of a key are answered
	// within a window; the requests after them are refused until the
	// window passes.
	Failures int
	// Window is how long a window lasts, from the first failure counted
	// in it.
	Window time.Duration
	// MaxKeys caps the keys tracked at once.
	MaxKeys int
	// Now is the clock (time.Now when nil); tests inject their own.
	Now func() time.Time
}

// Limiter counts failed authentications per key. The zero value is not
// usable: make one with New.
type Limiter struct {
	failures int
	window   time.Duration
	maxKeys  int
	now      func() time.Time

	mu sync.Mutex
	// byKey finds a key's entry in order, where entries are kept by the
	// start of their window, oldest first.
	byKey map[string]*list.Element
	order *list.List
}

type entry struct {
	key      string
	start    time.Time // when the window opened (its first failure)
	failures int
}

// New makes a Limiter.
func New(o Options) *Limiter {
	l := &Limiter{failures: o.Failures, window: o.Window, maxKeys: o.MaxKeys, now: o.Now,
		byKey: map[string]*list.Element{}, order: list.New()}
	if l.failures <= 0 {
		l.failures = DefaultFailures
	}
	if l.window <= 0 {
		l.window = DefaultWindow
	}
	if l.maxKeys <= 0 {
		l.maxKeys = DefaultMaxKeys
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// Key is the key of a request: the host of its remote address (the port
// dropped, so that one client's connections share a key), with the access
// key ID it names when it names one. Access key IDs are not secret: keyed
// by the ID alone, anyone could keep a key's owner throttled by failing
// with its ID; keyed by ID and address, a failing client throttles only
// itself. The two kinds never collide.
func Key(accessKeyID, remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	if accessKeyID != "" {
		return "key:" + accessKeyID + "@" + host
	}
	return "addr:" + host
}

// current returns key's entry if its window is still open, forgetting it
// when it has passed. The caller holds mu.
func (l *Limiter) current(key string, now time.Time) *list.Element {
	el, ok := l.byKey[key]
	if !ok {
		return nil
	}
	if now.Sub(el.Value.(*entry).start) >= l.window {
		l.order.Remove(el)
		delete(l.byKey, key)
		return nil
	}
	return el
}

// Allow reports whether a request naming key may be answered: false once
// key has failed Failures times in its current window, until that window
// passes. Allow records nothing.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	el := l.current(key, l.now())
	return el == nil || el.Value.(*entry).failures < l.failures
}

// RetryAfter is how long until a refused key is answered again (0 when it
// is not refused), for a Retry-After header.
func (l *Limiter) RetryAfter(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	el := l.current(key, now)
	if el == nil || el.Value.(*entry).failures < l.failures {
		return 0
	}
	return el.Value.(*entry).start.Add(l.window).Sub(now)
}

// Failed records a failed authentication of key, opening a window when it
// has none open (and forgetting the oldest key if MaxKeys are tracked).
func (l *Limiter) Failed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if el := l.current(key, now); el != nil {
		el.Value.(*entry).failures++
		return
	}
	for l.order.Len() >= l.maxKeys {
		oldest := l.order.Front()
		l.order.Remove(oldest)
		delete(l.byKey, oldest.Value.(*entry).key)
	}
	// A new window starts now, later than (or as late as) every other
	// entry's: the order stays oldest first.
	l.byKey[key] = l.order.PushBack(&entry{key: key, start: now, failures: 1})
}

// Len is how many keys are tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}
