package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// HubOptions tunes a Hub; zero values take the defaults.
type HubOptions struct {
	// PollInterval is how often the hub tails the log without being
	// signalled, a safety net for lost notifications. Default 2s.
	PollInterval time.Duration
	// Buffer is the per-subscription queue length; a subscription that falls
	// this far behind is ended with ErrSlowConsumer. Default 256. Only a
	// backlog is allocated: an idle subscription holds a channel of 8.
	Buffer int
	// BatchSize is the page size for reading the log. Default 500.
	BatchSize int
	// MaxReplay is the most stored events a resuming subscription is sent
	// before it goes live; beyond it the subscription ends with
	// ErrResumeTooOld. Default 10000.
	MaxReplay int
	// Logger receives source errors. Default: discard.
	Logger *slog.Logger
}

func (o HubOptions) withDefaults() HubOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Buffer <= 0 {
		o.Buffer = 256
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.MaxReplay <= 0 {
		o.MaxReplay = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Hub tails the event log of one server process and fans events out to its
// subscriptions. It is woken by its Bus and polls as a safety net, so every
// committed event reaches every matching subscription exactly once, in ID
// order, however notifications fare.
//
// Dispatch never waits for a subscriber: each subscription has a bounded
// queue and is ended with ErrSlowConsumer when it overflows. Subscriptions are
// indexed by topic, so an event costs O(subscriptions on its topic). An
// event's Join and Leave change the topics of the subscriptions that receive
// it as dispatch passes it, so topics change in log order, whatever the
// consumers' lag; a resume's replay follows them alike.
type Hub struct {
	src     Source
	bus     Bus
	opts    HubOptions
	started atomic.Bool
	ready   chan struct{} // closed once position is initialised
	done    chan struct{} // closed when Run has returned

	// mu guards the fields below and the hub-owned fields of every
	// Subscription. Dispatching a batch and advancing position happen under
	// one lock hold, which is what lets Subscribe split a resume into
	// "stored up to position" and "live after it" without gap or overlap.
	mu       sync.Mutex
	position int64 // every event with ID <= position has been dispatched
	byTopic  map[string]map[*Subscription]struct{}
	subs     map[*Subscription]struct{}
	closed   bool
	// observers are told the events of their topic as dispatch passes
	// them (Observe).
	observers map[string]map[*observer]struct{}
}

// observer is one Observe call.
type observer struct{ fn func(Event) }

// NewHub returns a Hub reading src and woken by bus; call Run to start it.
// The hub does not own bus: close it after Run has returned.
func NewHub(src Source, bus Bus, opts HubOptions) *Hub {
	return &Hub{
		src:       src,
		bus:       bus,
		opts:      opts.withDefaults(),
		ready:     make(chan struct{}),
		done:      make(chan struct{}),
		byTopic:   make(map[string]map[*Subscription]struct{}),
		subs:      make(map[*Subscription]struct{}),
		observers: make(map[string]map[*observer]struct{}),
	}
}

// Observe calls fn with every event on topic, stored or ephemeral, as
// dispatch passes it: in log order, before the event (and so before any
// later one) reaches a subscription. It is for state an instance keeps in
// step with the log, such as which sessions its live connections may still
// act for. fn runs on the hub's goroutine under its lock: it must return at
// once and must not call the hub. The returned func stops the observer.
func (h *Hub) Observe(topic string, fn func(Event)) (stop func()) {
	o := &observer{fn: fn}
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.observers[topic]
	if set == nil {
		set = make(map[*observer]struct{})
		h.observers[topic] = set
	}
	set[o] = struct{}{}
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.observers[topic], o)
		if len(h.observers[topic]) == 0 {
			delete(h.observers, topic)
		}
	}
}

// Run starts at the current head of the log and dispatches events until ctx
// is done (then it returns nil) or the bus is closed. Either way it ends all
// subscriptions with ErrHubClosed. Run may be called once.
func (h *Hub) Run(ctx context.Context) error {
	if !h.started.CompareAndSwap(false, true) {
		return errors.New("realtime: run: hub already started")
	}
	defer h.shutdown()

	head, err := h.src.Head(ctx)
	if err != nil {
		return fmt.Errorf("realtime: run: %w", err)
	}
	h.mu.Lock()
	h.position = head
	h.mu.Unlock()
	close(h.ready)

	ticker := time.NewTicker(h.opts.PollInterval)
	defer ticker.Stop()
	var (
		settle     <-chan time.Time // armed while the source waits on a gap
		backoff    time.Duration
		settler, _ = h.src.(Settler)
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-h.bus.Signals():
			if !ok {
				return fmt.Errorf("realtime: run: %w", ErrBusClosed)
			}
			h.handle(ctx, s)
		case <-ticker.C:
			h.catchUp(ctx)
		case <-settle:
			settle = nil
			h.catchUp(ctx)
		}
		// A gap filled by a commit comes with a wake-up; one left by a
		// rollback does not, so ask again soon, backing off while a long
		// transaction holds it.
		if settler != nil && settler.Unsettled() {
			if settle == nil {
				backoff = min(max(2*backoff, time.Millisecond), 100*time.Millisecond)
				settle = time.After(backoff)
			}
		} else {
			settle, backoff = nil, 0
		}
	}
}

// handle acts on one bus signal. Run's goroutine is the only writer of
// position, so it may read it without the lock.
func (h *Hub) handle(ctx context.Context, s Signal) {
	if s.Ephemeral != nil {
		e := *s.Ephemeral
		e.ID = 0
		h.dispatch([]Event{e})
	}
	if s.Head == -1 || s.Head > h.position {
		h.catchUp(ctx)
	}
}

// catchUp tails the log from position until it is exhausted. Errors are
// logged and retried on the next signal or tick.
func (h *Hub) catchUp(ctx context.Context) {
	for {
		events, err := h.src.After(ctx, h.position, h.opts.BatchSize)
		if err != nil {
			if ctx.Err() == nil {
				h.opts.Logger.Warn("realtime: tailing the event log", "after", h.position, "err", err)
			}
			return
		}
		h.dispatch(events)
		if len(events) < h.opts.BatchSize {
			return
		}
	}
}

// dispatch delivers events, in order, to the subscriptions on their topics
// and advances position past the stored ones (ephemeral events have ID 0).
func (h *Hub) dispatch(events []Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range events {
		for o := range h.observers[ev.Topic] {
			o.fn(ev)
		}
		// Removing s from the set being ranged over (a leave of ev's own
		// topic) is safe; a join adds s to another topic's set.
		for s := range h.byTopic[ev.Topic] {
			h.deliverLocked(s, ev)
			if !s.ended {
				h.followLocked(s, ev)
			}
		}
		if ev.ID != 0 {
			h.position = ev.ID
		}
	}
}

// followLocked applies the join and leave of ev, which s receives, to s's
// topics. While s replays, it also notes the first event that changed each
// topic (see settleReplay).
func (h *Hub) followLocked(s *Subscription, ev Event) {
	if ev.Join != "" {
		h.addTopicLocked(s, ev.Join)
		s.noteChangeLocked(ev.Join, ev.ID)
	}
	if ev.Leave != "" {
		h.removeTopicLocked(s, ev.Leave)
		s.noteChangeLocked(ev.Leave, ev.ID)
	}
}

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
	h.dropLocked(s, ErrSlowConsumer)
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
			return
		}
	fill: // what fits without waiting
		for len(s.held) > 0 {
			select {
			case s.out <- s.held[0]:
				s.held = s.held[1:]
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
		case s.ended: // dropLocked discarded held
		case sent:
			s.held = s.held[1:]
		default:
			// The caller's ctx is done: end s now, as its AfterFunc is
			// about to, rather than spin until it does.
			h.dropLocked(s, nil)
		}
	}
}

// shutdown ends every subscription and refuses new ones.
func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	for s := range h.subs {
		h.dropLocked(s, ErrHubClosed)
	}
	h.mu.Unlock()
	close(h.done)
}

// Notify tells every hub on the bus that the log head is now at least head.
// The writer calls it after committing.
func (h *Hub) Notify(ctx context.Context, head int64) error {
	if err := h.bus.Publish(ctx, Signal{Head: head}); err != nil {
		return fmt.Errorf("realtime: notify: %w", err)
	}
	return nil
}

// PublishEphemeral sends e, which is not stored, to the live subscriptions on
// its topic on every hub on the bus (this one included). Its ID is ignored.
// Delivery is best effort.
func (h *Hub) PublishEphemeral(ctx context.Context, e Event) error {
	e.ID = 0
	if err := h.bus.Publish(ctx, Signal{Ephemeral: &e}); err != nil {
		return fmt.Errorf("realtime: publish ephemeral: %w", err)
	}
	return nil
}

// Stats is a snapshot of a Hub for metrics.
type Stats struct {
	Subscriptions int   // live and replaying subscriptions
	Topics        int   // distinct topics subscribed to
	Position      int64 // highest event id dispatched
}

// Stats returns a snapshot of the hub.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Subscriptions: len(h.subs), Topics: len(h.byTopic), Position: h.position}
}

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
	s.stopWatch = context.AfterFunc(ctx, func() { h.drop(s, nil) })
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

func (h *Hub) addTopicLocked(s *Subscription, topic string) {
	if _, ok := s.topics[topic]; ok {
		return
	}
	s.topics[topic] = struct{}{}
	subs := h.byTopic[topic]
	if subs == nil {
		subs = make(map[*Subscription]struct{})
		h.byTopic[topic] = subs
	}
	subs[s] = struct{}{}
}

func (h *Hub) removeTopicLocked(s *Subscription, topic string) {
	delete(s.topics, topic)
	subs := h.byTopic[topic]
	delete(subs, s)
	if len(subs) == 0 {
		delete(h.byTopic, topic)
	}
}

// drop ends s for reason; see dropLocked.
func (h *Hub) drop(s *Subscription, reason error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(s, reason)
}

// dropLocked ends s, keeping the first reason given, and unregisters it. C is
// closed here unless the replay or flush goroutine is running: it owns C until
// it hands s over to dispatch, so it closes C itself. Events still held are
// discarded: the client resumes from the last one it received.
func (h *Hub) dropLocked(s *Subscription, reason error) {
	if s.ended {
		return
	}
	s.ended = true
	s.err = reason
	for t := range s.topics {
		h.removeTopicLocked(s, t)
	}
	delete(h.subs, s)
	s.stopWatch()
	s.cancel()
	s.held = nil
	if !s.replaying && !s.flushing {
		close(s.out)
	}
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
	h.dropLocked(s, err)
	close(s.out)
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
}

// C returns the events, in ID order (ephemeral ones, with ID 0, interleaved).
// It is closed when the subscription ends; Err then says why. The events
// still in the channel then (at most 8) are delivered before it closes; the
// rest of a backlog is not.
func (s *Subscription) C() <-chan Event { return s.out }

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
func (s *Subscription) Close() { s.hub.drop(s, nil) }

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

// send blocks until events are in C or the subscription ends.
func (s *Subscription) send(events []Event) error {
	for _, ev := range events {
		select {
		case s.out <- ev:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	return nil
}
