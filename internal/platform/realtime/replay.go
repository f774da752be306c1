package realtime

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// replay runs in its own goroutine so that reading the log never holds up the
// hub: it sends the stored events in (after, upto], then the live events held
// back meanwhile, until none are left and dispatch can take over. Topics the
// replay joined were not registered while dispatch passed (upto, P]: their
// events there are read from the log and merged, by id, with the held ones.
// Topics the replay left were: their held events are dropped (settleReplay).
func (s *Subscription) replay(topics []string, after, upto int64) {
	events, joined, left, err := s.hub.fetchReplay(s.ctx, topics, after, upto)
	var gap []Event
	if err == nil {
		p, changed := s.hub.settleReplay(s, joined, left)
		if len(joined) > 0 && p > upto {
			gap, _, _, err = s.hub.fetchReplay(s.ctx, joined, upto, p)
			// A joined topic that dispatch has changed since upto (left
			// again) was the subscription's only until that change.
			gap = slices.DeleteFunc(gap, func(ev Event) bool { return heldSince(changed, ev) })
		}
	}
	for err == nil {
		if err = s.send(events); err != nil {
			break
		}
		held, done := s.hub.nextHeld(s, len(gap) > 0)
		if done {
			return
		}
		events, gap = mergeByID(held, gap), nil
	}
	s.hub.endReplay(s, err)
}

// fetchReplay reads the stored events on topics in (after, upto]. It reads
// them all before any is sent so that a too-old cursor is refused with
// ErrResumeTooOld up front instead of after a partial replay. It follows
// joins and leaves as dispatch does: after an event that joins a topic, it
// reads on with that topic too, and after one that leaves a topic, without
// it. It returns the topics held at upto that topics lacked (joined), and
// those of topics no longer held at upto (left).
func (h *Hub) fetchReplay(ctx context.Context, topics []string, after, upto int64) (events []Event, joined, left []string, err error) {
	set := make(map[string]bool, len(topics))
	for _, t := range topics {
		set[t] = true
	}
	for after < upto && len(set) > 0 {
		page, err := h.src.Replay(ctx, slices.Collect(maps.Keys(set)), after, upto, h.opts.BatchSize)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("realtime: replay: %w", err)
		}
		if len(page) == 0 {
			break
		}
		cut := len(page)
		for i, ev := range page {
			if (ev.Join != "" && !set[ev.Join]) || (ev.Leave != "" && set[ev.Leave]) {
				if ev.Join != "" {
					set[ev.Join] = true
				}
				if ev.Leave != "" {
					delete(set, ev.Leave)
				}
				cut = i + 1 // re-read from here with the topics changed
				break
			}
		}
		events = append(events, page[:cut]...)
		if len(events) > h.opts.MaxReplay {
			return nil, nil, nil, ErrResumeTooOld
		}
		if cut == len(page) && len(page) < h.opts.BatchSize {
			break
		}
		after = page[cut-1].ID
	}
	for _, t := range topics {
		if !set[t] {
			left = append(left, t)
		}
		delete(set, t)
	}
	return events, slices.Collect(maps.Keys(set)), left, nil
}

// settleReplay brings s's topics in line with its replay of (after, upto].
// s was registered at upto with the topics it was given, and dispatch has
// followed the joins and leaves of the events after upto since. A topic
// the replay joined is added, and one it left is removed, unless dispatch
// has changed that topic since upto: the later change stands. The live
// events held on a topic the replay left are dropped, up to that change.
// settleReplay returns the position from which dispatch delivers the
// joined topics, and the first event after upto that changed each topic.
func (h *Hub) settleReplay(s *Subscription, joined, left []string) (int64, map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	changed := s.changed
	s.changed = nil
	if s.ended {
		return h.position, changed
	}
	for _, t := range joined {
		if _, ok := changed[t]; !ok {
			h.addTopicLocked(s, t)
		}
	}
	for _, t := range left {
		if _, ok := changed[t]; !ok {
			h.removeTopicLocked(s, t)
		}
	}
	if len(left) > 0 {
		s.held = slices.DeleteFunc(s.held, func(ev Event) bool {
			return slices.Contains(left, ev.Topic) && !heldSince(changed, ev)
		})
	}
	return h.position, changed
}

// heldSince reports whether ev comes at or after the first event that
// changed its topic during the replay (noted in changed): from that event
// on, dispatch has followed the topic itself.
func heldSince(changed map[string]int64, ev Event) bool {
	at, ok := changed[ev.Topic]
	return ok && ev.ID >= at
}

// nextHeld is called by the replay goroutine once it has sent everything it
// had. It returns the live events held back meanwhile. When there are none
// left and the caller has no more to send, the replay is over (done): s is handed to direct dispatch, or, if s
// has ended meanwhile, C is closed.
func (h *Hub) nextHeld(s *Subscription, more bool) (held []Event, done bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.ended {
		close(s.out)
		s.wake()
		return nil, true
	}
	held, s.held = s.held, nil
	if len(held) == 0 && !more {
		s.replaying = false
		return nil, true
	}
	return held, false
}

// endReplay ends s after its replay failed and closes C. A failure caused by
// the subscription's context (cancelled, or s already dropped) is no error of
// the subscription's.
func (h *Hub) endReplay(s *Subscription, err error) {
	if s.ctx.Err() != nil {
		err = nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(s, err)
	close(s.out)
	s.wake()
}

// mergeByID merges two id-ordered lists, dropping duplicates; ephemeral
// events (id 0) keep their place in a.
func mergeByID(a, b []Event) []Event {
	out := make([]Event, 0, len(a)+len(b))
	var last int64
	for len(a) > 0 || len(b) > 0 {
		var ev Event
		if len(b) == 0 || (len(a) > 0 && (a[0].ID == 0 || a[0].ID <= b[0].ID)) {
			ev, a = a[0], a[1:]
		} else {
			ev, b = b[0], b[1:]
		}
		if ev.ID != 0 && ev.ID <= last {
			continue
		}
		if ev.ID != 0 {
			last = ev.ID
		}
		out = append(out, ev)
	}
	return out
}
