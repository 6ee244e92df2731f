package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves on.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// step is one thing a test does: fail a key, move the clock, or check
// Allow (and RetryAfter) for a key.
type step struct {
	fail    string
	advance time.Duration
	check   string
	allowed bool
	retry   time.Duration
}

func TestLimiter(t *testing.T) {
	fail := func(k string) step { return step{fail: k} }
	wait := func(d time.Duration) step { return step{advance: d} }
	allowed := func(k string) step { return step{check: k, allowed: true} }
	refused := func(k string, retry time.Duration) step { return step{check: k, retry: retry} }
	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{
		{"unknown keys are allowed", Options{Failures: 2}, []step{allowed("a"), allowed("")}},
		{"failures below the limit are answered", Options{Failures: 3}, []step{
			fail("a"), fail("a"), allowed("a"),
		}},
		{"the limit reached refuses until the window passes", Options{Failures: 3, Window: time.Minute}, []step{
			fail("a"), wait(10 * time.Second), fail("a"), fail("a"),
			refused("a", 50*time.Second), wait(50 * time.Second), allowed("a"),
		}},
		{"retry after counts from the window's first failure", Options{Failures: 2, Window: time.Minute}, []step{
			fail("a"), wait(20 * time.Second), fail("a"), refused("a", 40*time.Second),
			wait(39 * time.Second), refused("a", time.Second),
			wait(time.Second), allowed("a"),
		}},
		{"a new window starts with the next failure", Options{Failures: 2, Window: time.Minute}, []step{
			fail("a"), fail("a"), wait(time.Minute), allowed("a"),
			fail("a"), allowed("a"), fail("a"), refused("a", time.Minute),
		}},
		{"failures of one key never throttle another", Options{Failures: 1}, []step{
			fail("a"), refused("a", DefaultWindow), allowed("b"),
		}},
		{"defaults: ten failures a minute", Options{}, []step{
			fail("a"), fail("a"), fail("a"), fail("a"), fail("a"), fail("a"), fail("a"), fail("a"), fail("a"),
			allowed("a"), fail("a"), refused("a", DefaultWindow), wait(DefaultWindow), allowed("a"),
		}},
		{"past MaxKeys the oldest window is forgotten", Options{Failures: 1, MaxKeys: 2}, []step{
			fail("a"), wait(time.Second), fail("b"), wait(time.Second), fail("c"),
			allowed("a"), refused("b", DefaultWindow-time.Second), refused("c", DefaultWindow),
		}},
		{"a key failing again keeps its place", Options{Failures: 3, MaxKeys: 2}, []step{
			fail("a"), fail("b"), fail("a"), fail("a"), fail("c"),
			allowed("a"), allowed("b"), allowed("c"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			tt.opts.Now = clock.now
			l := New(tt.opts)
			for i, s := range tt.steps {
				switch {
				case s.fail != "":
					l.Failed(s.fail)
				case s.advance != 0:
					clock.advance(s.advance)
				default:
					if got := l.Allow(s.check); got != s.allowed {
						t.Errorf("step %d: Allow(%q) = %v, want %v", i, s.check, got, s.allowed)
					}
					if got := l.RetryAfter(s.check); got != s.retry {
						t.Errorf("step %d: RetryAfter(%q) = %v, want %v", i, s.check, got, s.retry)
					}
				}
			}
			if max := tt.opts.MaxKeys; max > 0 && l.Len() > max {
				t.Errorf("tracks %d keys, cap %d", l.Len(), max)
			}
		})
	}
}

// TestLimiterConcurrent fails keys from many goroutines at once (run with
// -race): every failure is counted, and the cap holds.
func TestLimiterConcurrent(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	const workers, perWorker = 8, 50
	l := New(Options{Failures: workers * perWorker, MaxKeys: 64, Now: clock.now})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				if !l.Allow("shared") {
					t.Error("refused before the limit")
				}
				l.Failed("shared")
				l.Failed(fmt.Sprintf("own-%d-%d", w, i)) // churns past the cap
				_ = l.Len()
			}
		}()
	}
	wg.Wait()
	if n := l.Len(); n > 64 {
		t.Errorf("tracks %d keys, cap 64", n)
	}
	// "shared" may have been evicted by the churn; fill it again alone.
	l2 := New(Options{Failures: workers * perWorker, Now: clock.now})
	var wg2 sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for i := 0; i < perWorker; i++ {
				l2.Failed("k")
			}
		}()
	}
	wg2.Wait()
	if l2.Allow("k") {
		t.Errorf("allowed after %d concurrent failures, limit %d", workers*perWorker, workers*perWorker)
	}
	if l2.Failed("k"); l2.Len() != 1 {
		t.Errorf("tracks %d keys, want 1", l2.Len())
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ id, addr, want string }{
		{"AKIDEXAMPLE", "127.0.0.1:5000", "key:AKIDEXAMPLE@127.0.0.1"},
		{"AKIDEXAMPLE", "127.0.0.2:5000", "key:AKIDEXAMPLE@127.0.0.2"},
		{"", "127.0.0.1:5000", "addr:127.0.0.1"},
		{"", "[::1]:443", "addr:::1"},
		{"", "not an address", "addr:not an address"},
		{"127.0.0.1", "", "key:127.0.0.1@"},
	}
	for _, tt := range tests {
		if got := Key(tt.id, tt.addr); got != tt.want {
			t.Errorf("Key(%q, %q) = %q, want %q", tt.id, tt.addr, got, tt.want)
		}
	}
}
