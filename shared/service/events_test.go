package service

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
)

func TestEventsDeliversInVersionOrder(t *testing.T) {
	ev := NewEvents()
	ch, cancel := ev.Subscribe("e1")
	defer cancel()
	other, cancelOther := ev.Subscribe("e2")
	defer cancelOther()

	for _, v := range []int64{1, 2, 2, 1, 3} { // repeats and a stale one
		ev.Publish(&engine.Execution{ID: "e1", Version: v})
	}
	var got []int64
	for len(ch) > 0 {
		got = append(got, (<-ch).Version)
	}
	if want := []int64{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("versions = %v, want %v", got, want)
	}
	if len(other) != 0 {
		t.Fatalf("a subscriber of another execution got %d states", len(other))
	}
}

func TestEventsCancel(t *testing.T) {
	ev := NewEvents()
	ch, cancel := ev.Subscribe("e1")
	if n := ev.Subscribers("e1"); n != 1 {
		t.Fatalf("subscribers = %d, want 1", n)
	}
	cancel()
	cancel() // twice is fine
	if _, ok := <-ch; ok {
		t.Fatal("the channel is open after cancel")
	}
	if n := ev.Subscribers("e1"); n != 0 {
		t.Fatalf("subscribers = %d after cancel, want 0", n)
	}
	ev.Publish(&engine.Execution{ID: "e1", Version: 1}) // no subscriber: no panic
	var nilEvents *Events
	nilEvents.Publish(&engine.Execution{ID: "e1"})
}

// A subscriber that does not read must not block publishers, and once it
// reads it sees increasing versions ending with the newest one.
func TestEventsConcurrentPublishersSlowSubscriber(t *testing.T) {
	ev := NewEvents()
	slow, cancelSlow := ev.Subscribe("e1")
	defer cancelSlow()

	const publishers, perPublisher = 8, 500
	var wg sync.WaitGroup
	done := make(chan struct{})
	var next int64
	var mu sync.Mutex
	for range publishers {
		wg.Go(func() {
			for range perPublisher {
				mu.Lock()
				next++
				v := next
				mu.Unlock()
				// Publishing outside the lock lets versions race, as the
				// runner's goroutines do.
				ev.Publish(&engine.Execution{ID: "e1", Version: v})
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publishers blocked on a subscriber that does not read")
	}
	const final = publishers*perPublisher + 1
	ev.Publish(&engine.Execution{ID: "e1", Version: final, Status: engine.Succeeded})

	if n := len(slow); n > eventsBuffer {
		t.Fatalf("%d states queued, more than the buffer of %d", n, eventsBuffer)
	}
	var last int64
	for len(slow) > 0 {
		e := <-slow
		if e.Version <= last {
			t.Fatalf("version %d after %d", e.Version, last)
		}
		last = e.Version
	}
	if last != final {
		t.Fatalf("the last state delivered is version %d, want %d", last, final)
	}
}

// A subscriber reading slowly while others publish sees every terminal state.
func TestEventsSlowReaderGetsTerminal(t *testing.T) {
	ev := NewEvents()
	ch, cancel := ev.Subscribe("e1")
	defer cancel()
	go func() {
		for v := int64(1); v <= 200; v++ {
			e := &engine.Execution{ID: "e1", Version: v, Status: engine.InProgress}
			if v == 200 {
				e.Status = engine.Failed
			}
			ev.Publish(e)
		}
	}()
	timeout := time.After(10 * time.Second)
	var last int64
	for {
		select {
		case e := <-ch:
			if e.Version <= last {
				t.Fatalf("version %d after %d", e.Version, last)
			}
			last = e.Version
			if e.Status.Terminal() {
				if e.Version != 200 {
					t.Fatalf("terminal version %d, want 200", e.Version)
				}
				return
			}
			time.Sleep(time.Millisecond) // slow reader
		case <-timeout:
			t.Fatalf("no terminal state; last version %d", last)
		}
	}
}
