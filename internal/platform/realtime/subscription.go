package realtime

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
)

// Subscribe starts a subscription to the events whose Topic is in topics. It
// waits for Run to have initialised the hub.
//
// With after > 0, a resume cursor (the last event id the client saw), the
// subscription first delivers every stored event on its topics with
// ID > after, then live events, with no gap and no duplicate. It registers for
// live dispatch (holding live events back) at the hub's current position P
// before replaying (after, P] from the Source in its own goroutine, then
// releases the held events, which all have IDs > P. With after == 0 it is
// live only.
//
// A cursor beyond the log's committed head is refused with ErrCursorUnknown.
//
// The subscription ends when ctx is done, on Close, or with one of the errors
// described on Subscription.Err.
func (h *Hub) Subscribe(ctx context.Context, topics []string, after int64) (*Subscription, error) {
	if after < 0 {
		return nil, fmt.Errorf("realtime: subscribe: negative cursor %d", after)
	}
	select {
	case <-h.ready:
	case <-h.done:
		return nil, fmt.Errorf("realtime: subscribe: %w", ErrHubClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("realtime: subscribe: %w", ctx.Err())
	}
	if err := h.knownCursor(ctx, after); err != nil {
		return nil, err
	}

	s := &Subscription{
		hub:    h,
		out:    make(chan Event, min(h.opts.Buffer, chanSize)),
		after:  after,
		topics: make(map[string]struct{}, len(topics)),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("realtime: subscribe: %w", ErrHubClosed)
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.stopWatch = context.AfterFunc(ctx, func() { h.end(s, nil) })
	h.subs[s] = struct{}{}
	for _, t := range topics {
		h.addTopicLocked(s, t)
	}
	if upto := h.position; after < upto {
		s.replaying = true
		s.changed = make(map[string]int64)
		go s.replay(slices.Collect(maps.Keys(s.topics)), after, upto)
	}
	return s, nil
}

// knownCursor checks that after is an event of this log: at most the hub's
// position, or else at most the committed head (the hub may not have polled
// an event another instance already delivered).
func (h *Hub) knownCursor(ctx context.Context, after int64) error {
	h.mu.Lock()
	position := h.position
	h.mu.Unlock()
	if after <= position {
		return nil
	}
	head, err := h.src.Head(ctx)
	if err != nil {
		return fmt.Errorf("realtime: subscribe: %w", err)
	}
	if after > head {
		return fmt.Errorf("realtime: subscribe after %d (head %d): %w", after, head, ErrCursorUnknown)
	}
	return nil
}

// Subscription is a stream of events on a changeable set of topics, created
// by Hub.Subscribe.
type Subscription struct {
	hub       *Hub
	out       chan Event
	after     int64           // resume cursor; 0 for live only
	ctx       context.Context // done when the subscription ends; bounds the replay
	cancel    context.CancelFunc
	stopWatch func() bool // stops watching the caller's ctx

	// Guarded by hub.mu.
	topics    map[string]struct{}
	replaying bool    // the replay goroutine owns out
	flushing  bool    // the flush goroutine owns out (never with replaying)
	held      []Event // live events waiting for the goroutine that owns out
	// changed is set while the replay has not settled (settleReplay): the
	// first event dispatched since registration that joined or left each
	// topic.
	changed map[string]int64
	ended   bool
	err     error

	notify atomic.Pointer[func()] // see Notify
}

// C returns the events, in ID order (ephemeral ones, with ID 0, interleaved).
// It is closed when the subscription ends; Err then says why. The events
// still in the channel then (at most 8) are delivered before it closes; the
// rest of a backlog is not.
func (s *Subscription) C() <-chan Event { return s.out }

// Notify makes fn be called whenever C may have become readable: an event
// was put in it, or it was closed. It is called once at once, for what C
// already holds. fn may run under the hub's lock: it must return at once
// and not call the subscription. It lets a consumer wait for events
// without a goroutine blocked on C (graph's driven streams); a consumer
// that reads C in a loop needs none.
func (s *Subscription) Notify(fn func()) {
	s.notify.Store(&fn)
	fn()
}

// wake calls the Notify function, if any.
func (s *Subscription) wake() {
	if fn := s.notify.Load(); fn != nil {
		(*fn)()
	}
}

// Err returns why the subscription ended: nil for ctx cancellation or Close,
// ErrSlowConsumer or ErrHubClosed (the client resumes from its cursor),
// ErrResumeTooOld (the client refetches), or an error from the Source during
// replay. It is nil while the subscription is running.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// AddTopic adds topic to the subscription, e.g. when the user joined a group.
// Events on it are delivered from the next dispatch on; earlier ones are not
// replayed.
func (s *Subscription) AddTopic(topic string) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if !s.ended {
		s.hub.addTopicLocked(s, topic)
	}
}

// Has reports whether the subscription listens to topic now: it was given
// it, or joined it (an event's Join, AddTopic), and has not left it (an
// event's Leave, RemoveTopic) or ended since. Joins and leaves take effect
// when dispatch passes their events, so a consumer handling a queued event
// gets the answer as of that event or a later one.
func (s *Subscription) Has(topic string) bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	_, ok := s.topics[topic]
	return ok && !s.ended
}

// RemoveTopic removes topic from the subscription. Events on it already
// queued are still delivered.
func (s *Subscription) RemoveTopic(topic string) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if !s.ended {
		s.hub.removeTopicLocked(s, topic)
	}
}

// Close ends the subscription; Err stays nil. It is idempotent.
func (s *Subscription) Close() { s.hub.end(s, nil) }

func (s *Subscription) noteChangeLocked(topic string, id int64) {
	if s.changed == nil {
		return
	}
	if _, ok := s.changed[topic]; !ok {
		s.changed[topic] = id
	}
}

// chanSize is the capacity of a subscription's channel. An idle subscription
// costs only this much queue; a backlog beyond it waits in held, so that the
// queue still holds up to HubOptions.Buffer events.
const chanSize = 8

// deliverLocked queues ev for s without blocking: while s replays, live
// events are held back to follow the replay. Afterwards they go straight into
// its small channel; when that is full, they overflow into held, and a flush
// goroutine owns the channel and feeds it from held, in order, until held is
// empty. A queue of Buffer events ends s with ErrSlowConsumer.
func (h *Hub) deliverLocked(s *Subscription, ev Event) {
	if ev.ID != 0 && ev.ID <= s.after {
		return // the client resumed from a cursor ahead of this hub: it has ev
	}
	switch {
	case s.replaying:
		if len(s.held) < h.opts.Buffer {
			s.held = append(s.held, ev)
			return
		}
	case s.flushing:
		// The queue is the channel, then held. Only the flush goroutine
		// sends while it runs, so the channel can only have shrunk since it
		// was read; the event it is sending may be counted twice.
		if len(s.out)+len(s.held) < h.opts.Buffer {
			s.held = append(s.held, ev)
			return
		}
	default:
		select {
		case s.out <- ev:
			s.wake()
			return
		default:
		}
		if cap(s.out) < h.opts.Buffer {
			s.flushing = true
			s.held = append(s.held, ev)
			go s.flush()
			return
		}
	}
	h.endLocked(s, ErrSlowConsumer)
}

// flush runs while s is flushing: it moves held into C, in order, waiting for
// the reader without holding the hub's lock, and hands s back to direct
// dispatch once held is empty. If s ends meanwhile, it closes C.
func (s *Subscription) flush() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if s.ended {
			close(s.out)
			s.wake()
			return
		}
	fill: // what fits without waiting
		for len(s.held) > 0 {
			select {
			case s.out <- s.held[0]:
				s.held = s.held[1:]
				s.wake()
			default:
				break fill
			}
		}
		if len(s.held) == 0 {
			s.held, s.flushing = nil, false
			return
		}
		// The channel is full: wait for the reader. ev stays first in held
		// until it is sent, so dispatch appends behind it and counts it.
		ev := s.held[0]
		h.mu.Unlock()
		sent := false
		select {
		case s.out <- ev:
			sent = true
		case <-s.ctx.Done():
		}
		h.mu.Lock()
		switch {
		case s.ended: // endLocked discarded held
		case sent:
			s.held = s.held[1:]
			s.wake()
		default:
			// The caller's ctx is done: end s now, as its AfterFunc is
			// about to, rather than spin until it does.
			h.endLocked(s, nil)
		}
	}
}

// send blocks until events are in C or the subscription ends.
func (s *Subscription) send(events []Event) error {
	for _, ev := range events {
		select {
		case s.out <- ev:
			s.wake()
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	return nil
}
