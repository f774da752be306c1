package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

	// Wake-ups of Notify: the highest head not yet published (0 when none),
	// a kick for the publisher goroutine and a local wake-up for Run, both
	// of capacity 1 so that notifiers never wait.
	unpublished atomic.Int64
	kick, wake  chan struct{}
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
		kick:      make(chan struct{}, 1),
		wake:      make(chan struct{}, 1),
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
	pubCtx, stopPublishing := context.WithCancel(ctx)
	published := make(chan struct{})
	go h.publish(pubCtx, published)
	defer func() { stopPublishing(); <-published }()

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
		case <-h.wake:
			h.catchUp(ctx)
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

// shutdown ends every subscription and refuses new ones.
func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	for s := range h.subs {
		h.endLocked(s, ErrHubClosed)
	}
	h.mu.Unlock()
	close(h.done)
}

// Notify tells every hub on the bus that the log head is now at least head.
// The writer calls it after committing. It never waits for the bus: this
// hub is woken at once, and the other instances' wake-ups coalesce, one
// publish of the newest head in flight at a time (publish), so that a burst
// of commits costs a few NOTIFYs, not one each, and no writer queues behind
// PostgreSQL's NOTIFY lock.
func (h *Hub) Notify(_ context.Context, head int64) error {
	for {
		old := h.unpublished.Load()
		if head <= old || h.unpublished.CompareAndSwap(old, head) {
			break
		}
	}
	nudge(h.wake)
	nudge(h.kick)
	return nil
}

// nudge marks c, of capacity 1, as due without waiting: a mark already
// there stands for this one too.
func nudge(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// publishTimeout bounds one publish of a wake-up, so that a stuck bus costs
// other instances a poll interval, not a stuck publisher.
const publishTimeout = 5 * time.Second

// publish sends Notify's newest head on the bus whenever kicked, until ctx
// is done (Run returns); then it sends what is left once, so that other
// instances hear of the last commits before this hub stops.
func (h *Hub) publish(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	send := func() {
		head := h.unpublished.Swap(0)
		if head == 0 {
			return
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		defer cancel()
		if err := h.bus.Publish(pctx, Signal{Head: head}); err != nil && !errors.Is(err, ErrBusClosed) {
			h.opts.Logger.Warn("realtime: publishing a wake-up", "head", head, "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			send()
			return
		case <-h.kick:
			send()
		}
	}
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

// end ends s for reason; see endLocked.
func (h *Hub) end(s *Subscription, reason error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(s, reason)
}

// endLocked ends s, keeping the first reason given, and unregisters it. C is
// closed here unless the replay or flush goroutine is running: it owns C until
// it hands s over to dispatch, so it closes C itself. Events still held are
// discarded: the client resumes from the last one it received.
func (h *Hub) endLocked(s *Subscription, reason error) {
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
		s.wake()
	}
}
