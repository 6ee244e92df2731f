package service

import (
	"sync"

	"github.com/stageflow/stageflow/shared/engine"
)

// eventsBuffer is how many states a subscriber may fall behind before the
// oldest queued one is dropped.
const eventsBuffer = 16

// Events is a small publish/subscribe hub of execution changes. The server
// sets Publish as the runner's OnChange hook; REST streams (server-sent
// events, log following) subscribe to one execution each.
//
// Publish never blocks: every subscriber has a buffered channel, and when a
// subscriber falls behind its oldest queued state is dropped, so the latest
// state, in particular the terminal one, always arrives. States reach a
// subscriber in increasing Version order: a state no newer than one already
// queued for it (publishers may race) is skipped.
//
// The executions delivered are shared by every subscriber and must be
// treated as read-only.
type Events struct {
	mu   sync.Mutex
	subs map[string]map[*eventSub]struct{}
}

type eventSub struct {
	ch   chan *engine.Execution
	last int64 // Version of the newest state queued
}

// NewEvents makes an empty hub.
func NewEvents() *Events {
	return &Events{subs: map[string]map[*eventSub]struct{}{}}
}

// Publish hands a new state of an execution to its subscribers. It is safe
// to call from many goroutines and on a nil *Events (it does nothing).
func (ev *Events) Publish(e *engine.Execution) {
	if ev == nil || e == nil {
		return
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for s := range ev.subs[e.ID] {
		if e.Version <= s.last {
			continue // stale: a newer state is queued or delivered already
		}
		s.last = e.Version
		for sent := false; !sent; {
			select {
			case s.ch <- e:
				sent = true
			default:
				// Full: drop the oldest queued state and try again. Only
				// the subscriber receives concurrently, so this ends.
				select {
				case <-s.ch:
				default:
				}
			}
		}
	}
}

// Subscribe returns a channel of the changes of one execution and a cancel
// function that ends the subscription and closes the channel. Cancel may be
// called more than once.
func (ev *Events) Subscribe(executionID string) (<-chan *engine.Execution, func()) {
	s := &eventSub{ch: make(chan *engine.Execution, eventsBuffer)}
	ev.mu.Lock()
	if ev.subs == nil {
		ev.subs = map[string]map[*eventSub]struct{}{}
	}
	set := ev.subs[executionID]
	if set == nil {
		set = map[*eventSub]struct{}{}
		ev.subs[executionID] = set
	}
	set[s] = struct{}{}
	ev.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			if set := ev.subs[executionID]; set != nil {
				delete(set, s)
				if len(set) == 0 {
					delete(ev.subs, executionID)
				}
			}
			close(s.ch)
		})
	}
}

// Subscribers counts the subscriptions to an execution.
func (ev *Events) Subscribers(executionID string) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return len(ev.subs[executionID])
}
