package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeSource is an in-memory event log with dense increasing ids.
type fakeSource struct {
	mu     sync.Mutex
	events []Event
}

func (f *fakeSource) Append(topic string) Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev := Event{
		ID:      int64(len(f.events) + 1),
		Topic:   topic,
		Kind:    "message.created",
		Payload: json.RawMessage(`{}`),
	}
	f.events = append(f.events, ev)
	return ev
}

func (f *fakeSource) Head(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.events)), nil
}

func (f *fakeSource) After(_ context.Context, after int64, limit int) ([]Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rest := f.events[f.index(after):]
	return slices.Clone(rest[:min(limit, len(rest))]), nil
}

func (f *fakeSource) Replay(_ context.Context, topics []string, after, upto int64, limit int) ([]Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Event
	for _, ev := range f.events[f.index(after):] {
		if ev.ID > upto || len(out) == limit {
			break
		}
		if slices.Contains(topics, ev.Topic) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// index returns the position of the first event with ID > after.
func (f *fakeSource) index(after int64) int {
	return sort.Search(len(f.events), func(i int) bool { return f.events[i].ID > after })
}

// expected returns the ids of the stored events on topics with ID > after.
func (f *fakeSource) expected(topics []string, after int64) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int64
	for _, ev := range f.events[f.index(after):] {
		if slices.Contains(topics, ev.Topic) {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

// startHub runs a hub over src and a LocalBus until the test ends. The hub
// has read the head of src when it returns.
func startHub(t *testing.T, src Source, opts HubOptions) *Hub {
	t.Helper()
	return startHubOn(t, src, NewLocalBus(), opts)
}

// startHubOn is startHub on bus, which it closes at the end.
func startHubOn(t *testing.T, src Source, bus Bus, opts HubOptions) *Hub {
	t.Helper()
	hub := NewHub(src, bus, opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-errc)
		assert.NoError(t, bus.Close())
	})
	<-hub.ready
	return hub
}

// write appends an event and notifies the hub, as the writer does after commit.
func write(t *testing.T, src *fakeSource, hub *Hub, topic string) Event {
	t.Helper()
	ev := src.Append(topic)
	require.NoError(t, hub.Notify(context.Background(), ev.ID))
	return ev
}

func subscribe(t *testing.T, hub *Hub, topics []string, after int64) *Subscription {
	t.Helper()
	sub, err := hub.Subscribe(context.Background(), topics, after)
	require.NoError(t, err)
	t.Cleanup(sub.Close)
	return sub
}

// receive reads n events from sub, failing after a timeout.
func receive(t *testing.T, sub *Subscription, n int) []Event {
	t.Helper()
	got, err := collect(sub, n)
	require.NoError(t, err)
	return got
}

// collect reads n events from sub; unlike receive, it may run outside the
// test goroutine.
func collect(sub *Subscription, n int) ([]Event, error) {
	var got []Event
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				return got, fmt.Errorf("subscription ended after %d of %d events: %w", len(got), n, sub.Err())
			}
			got = append(got, ev)
		case <-timeout:
			return got, fmt.Errorf("timed out after %d of %d events", len(got), n)
		}
	}
	return got, nil
}

// waitEnded drains sub until C is closed and returns Err.
func waitEnded(t *testing.T, sub *Subscription) error {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-sub.C():
			if !ok {
				return sub.Err()
			}
		case <-timeout:
			require.FailNow(t, "subscription did not end")
		}
	}
}

func ids(events []Event) []int64 {
	var out []int64
	for _, ev := range events {
		out = append(out, ev.ID)
	}
	return out
}

// assertNothing checks that no event is pending on sub.
func assertNothing(t *testing.T, sub *Subscription) {
	t.Helper()
	select {
	case ev := <-sub.C():
		assert.Failf(t, "unexpected event", "%+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestHubDeliversMatchingTopicsInOrder(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	a := subscribe(t, hub, []string{"conversation:1", "user:7"}, 0)
	b := subscribe(t, hub, []string{"conversation:2"}, 0)

	var want []int64
	for i := range 30 {
		ev := write(t, src, hub, []string{"conversation:1", "conversation:2", "user:7"}[i%3])
		if ev.Topic != "conversation:2" {
			want = append(want, ev.ID)
		}
	}
	assert.Equal(t, want, ids(receive(t, a, 20)))
	for _, ev := range receive(t, b, 10) {
		assert.Equal(t, "conversation:2", ev.Topic)
	}
	assertNothing(t, a)
	assert.Equal(t, Stats{Subscriptions: 2, Topics: 3, Position: 30}, hub.Stats())
}

func TestHubPollsWithoutSignals(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: 10 * time.Millisecond})
	sub := subscribe(t, hub, []string{"room:3"}, 0)
	ev := src.Append("room:3") // no Notify: a lost notification
	assert.Equal(t, []int64{ev.ID}, ids(receive(t, sub, 1)))
}

func TestHubTailsInBatches(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, BatchSize: 7, Buffer: 100})
	sub := subscribe(t, hub, []string{"room:3"}, 0)
	for range 50 {
		src.Append("room:3")
	}
	require.NoError(t, hub.Notify(context.Background(), 50))
	assert.Equal(t, src.expected([]string{"room:3"}, 0), ids(receive(t, sub, 50)))
}

func TestHubEphemeralEvents(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	on := subscribe(t, hub, []string{"conversation:1"}, 0)
	off := subscribe(t, hub, []string{"conversation:2"}, 0)

	typing := Event{ID: 99, Topic: "conversation:1", Kind: "typing", Payload: json.RawMessage(`{"user":7}`)}
	require.NoError(t, hub.PublishEphemeral(context.Background(), typing))
	got := receive(t, on, 1)[0]
	typing.ID = 0
	assert.Equal(t, typing, got)
	assertNothing(t, off)
	assert.Zero(t, hub.Stats().Position)
}

func TestHubResumeReplaysThenGoesLive(t *testing.T) {
	src := &fakeSource{}
	for i := range 40 {
		src.Append([]string{"a", "b"}[i%2])
	}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, BatchSize: 3})
	sub := subscribe(t, hub, []string{"a"}, 10)
	for i := range 10 {
		write(t, src, hub, []string{"a", "b"}[i%2])
	}
	want := src.expected([]string{"a"}, 10)
	assert.Len(t, want, 20)
	assert.Equal(t, want, ids(receive(t, sub, len(want))))
	assertNothing(t, sub)
}

// TestHubResumeRace resumes many subscriptions at random cursors while a
// writer appends: each must see exactly the stored events after its cursor,
// in order, with no gap and no duplicate.
func TestHubResumeRace(t *testing.T) {
	topics := []string{"t0", "t1", "t2", "t3"}
	for round := range 15 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			src := &fakeSource{}
			for i := range 100 {
				src.Append(topics[i%len(topics)])
			}
			hub := startHub(t, src, HubOptions{PollInterval: 5 * time.Millisecond, BatchSize: 16, Buffer: 2000})

			const total = 600
			writerDone := make(chan struct{})
			go func() {
				defer close(writerDone)
				for i := range total - 100 {
					ev := src.Append(topics[rand.IntN(len(topics))])
					if i%3 != 0 { // some notifications are "lost"
						_ = hub.Notify(context.Background(), ev.ID)
					}
					if i%50 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()

			type resumed struct {
				sub    *Subscription
				topics []string
				after  int64
			}
			subs := make([]resumed, 50)
			for i := range subs {
				head, _ := src.Head(context.Background())
				r := resumed{topics: []string{topics[rand.IntN(4)], topics[rand.IntN(4)]}, after: 1 + rand.Int64N(head)}
				r.sub = subscribe(t, hub, r.topics, r.after)
				subs[i] = r
				if i%10 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			<-writerDone
			require.NoError(t, hub.Notify(context.Background(), total))

			var wg sync.WaitGroup
			for _, r := range subs {
				wg.Go(func() {
					want := src.expected(r.topics, r.after)
					got, err := collect(r.sub, len(want))
					assert.NoError(t, err)
					assert.Equal(t, want, ids(got), "after %d on %v", r.after, r.topics)
					assertNothing(t, r.sub)
				})
			}
			wg.Wait()
		})
	}
}

// TestHubResumeAheadOfHub resumes from a cursor this hub has not reached yet
// (the client came from a faster instance): nothing at or before it is sent.
func TestHubResumeAheadOfHub(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	for range 5 {
		src.Append("a") // committed, but the hub has not been told
	}
	sub := subscribe(t, hub, []string{"a"}, 3)
	ev := write(t, src, hub, "a")
	assert.Equal(t, []int64{4, 5, ev.ID}, ids(receive(t, sub, 3)))
}

func TestHubRefusesCursorBeyondHead(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	src.Append("a")
	src.Append("a") // committed, the hub not told: still a known cursor

	subscribe(t, hub, []string{"a"}, 2)
	_, err := hub.Subscribe(context.Background(), []string{"a"}, 3)
	require.ErrorIs(t, err, ErrCursorUnknown)
	assert.Equal(t, 1, hub.Stats().Subscriptions)
}

func TestHubResumeTooOld(t *testing.T) {
	src := &fakeSource{}
	for range 20 {
		src.Append("a")
	}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, MaxReplay: 10, BatchSize: 4})

	old := subscribe(t, hub, []string{"a"}, 9) // 11 to replay
	select {
	case ev, ok := <-old.C():
		require.False(t, ok, "got %+v", ev)
	case <-time.After(5 * time.Second):
		require.FailNow(t, "subscription did not end")
	}
	assert.ErrorIs(t, old.Err(), ErrResumeTooOld)

	recent := subscribe(t, hub, []string{"a"}, 10) // exactly 10
	assert.Equal(t, src.expected([]string{"a"}, 10), ids(receive(t, recent, 10)))
	assert.NoError(t, recent.Err())
	assert.Equal(t, 1, hub.Stats().Subscriptions)
}

func TestSubscriptionTopicsChangeWhileLive(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	sub := subscribe(t, hub, []string{"user:7"}, 0)

	a := write(t, src, hub, "user:7")
	assert.Equal(t, []int64{a.ID}, ids(receive(t, sub, 1)))

	sub.AddTopic("conversation:42") // the user joined a group
	b := write(t, src, hub, "conversation:42")
	assert.Equal(t, []int64{b.ID}, ids(receive(t, sub, 1)))

	sub.RemoveTopic("user:7")
	write(t, src, hub, "user:7")
	c := write(t, src, hub, "conversation:42")
	assert.Equal(t, []int64{c.ID}, ids(receive(t, sub, 1)))
	assert.Equal(t, 1, hub.Stats().Topics)
}

func TestSubscriptionTopicsChangeConcurrently(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Millisecond, Buffer: 10000})
	sub := subscribe(t, hub, nil, 0)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			topic := fmt.Sprint("t", i)
			for range 200 {
				sub.AddTopic(topic)
				src.Append(topic)
				sub.RemoveTopic(topic)
			}
		})
	}
	wg.Wait()
	require.NoError(t, hub.Notify(context.Background(), 800))
	var last int64
	for {
		select {
		case ev := <-sub.C():
			assert.Greater(t, ev.ID, last)
			last = ev.ID
			continue
		case <-time.After(50 * time.Millisecond):
		}
		break
	}
	assert.Zero(t, hub.Stats().Topics)
	assert.NoError(t, sub.Err())
}

func TestHubSlowConsumerDoesNotBlock(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, Buffer: 32})
	slow := subscribe(t, hub, []string{"a"}, 0) // never reads
	fast := subscribe(t, hub, []string{"a"}, 0)

	start := time.Now()
	for range 10 {
		var want []int64
		for range 20 {
			want = append(want, write(t, src, hub, "a").ID)
		}
		assert.Equal(t, want, ids(receive(t, fast, len(want))))
	}
	assert.Less(t, time.Since(start), 2*time.Second, "the writer or the hub was held up")

	assert.ErrorIs(t, waitEnded(t, slow), ErrSlowConsumer)
	assert.NoError(t, fast.Err())
	assert.Equal(t, 1, hub.Stats().Subscriptions)
}

// TestHubSlowConsumerWhileReplaying overflows the queue of live events held
// back behind a replay the client is not reading.
func TestHubSlowConsumerWhileReplaying(t *testing.T) {
	src := &fakeSource{}
	for range 20 {
		src.Append("a")
	}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, Buffer: 4})
	sub := subscribe(t, hub, []string{"a"}, 1)
	for range 10 {
		write(t, src, hub, "a")
	}
	require.Eventually(t, func() bool { return hub.Stats().Subscriptions == 0 }, 5*time.Second, time.Millisecond)
	assert.ErrorIs(t, waitEnded(t, sub), ErrSlowConsumer)
}

func TestSubscriptionEndsWithContext(t *testing.T) {
	src := &fakeSource{}
	for range 20 {
		src.Append("a")
	}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, Buffer: 4})

	for _, after := range []int64{0, 1} { // live, and stuck replaying to a reader that does not read
		ctx, cancel := context.WithCancel(context.Background())
		sub, err := hub.Subscribe(ctx, []string{"a"}, after)
		require.NoError(t, err)
		require.Equal(t, 1, hub.Stats().Subscriptions)
		cancel()
		assert.NoError(t, waitEnded(t, sub))
		assert.Equal(t, Stats{Position: 20}, hub.Stats())
	}

	sub := subscribe(t, hub, []string{"a"}, 0)
	sub.Close()
	sub.Close()
	assert.NoError(t, waitEnded(t, sub))
	assert.Zero(t, hub.Stats().Subscriptions)
}

func TestHubClose(t *testing.T) {
	src := &fakeSource{}
	for range 20 {
		src.Append("a")
	}
	bus := NewLocalBus()
	defer bus.Close()
	hub := NewHub(src, bus, HubOptions{PollInterval: time.Hour, Buffer: 4})

	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error)
	go func() { // subscribing before Run waits for it
		_, err := hub.Subscribe(context.Background(), []string{"a"}, 0)
		waiting <- err
	}()
	errc := make(chan error)
	go func() { errc <- hub.Run(ctx) }()
	require.NoError(t, <-waiting)

	live := subscribe(t, hub, []string{"a"}, 0)
	replaying := subscribe(t, hub, []string{"a"}, 1)
	cancel()
	require.NoError(t, <-errc)

	assert.ErrorIs(t, waitEnded(t, live), ErrHubClosed)
	assert.ErrorIs(t, waitEnded(t, replaying), ErrHubClosed)
	_, err := hub.Subscribe(context.Background(), []string{"a"}, 0)
	assert.ErrorIs(t, err, ErrHubClosed)
	assert.Error(t, hub.Run(context.Background()), "second Run")
}

func TestHubStopsWhenBusCloses(t *testing.T) {
	bus := NewLocalBus()
	hub := NewHub(&fakeSource{}, bus, HubOptions{})
	errc := make(chan error)
	go func() { errc <- hub.Run(context.Background()) }()
	sub := subscribe(t, hub, []string{"a"}, 0)
	require.NoError(t, bus.Close())
	assert.ErrorIs(t, <-errc, ErrBusClosed)
	assert.ErrorIs(t, waitEnded(t, sub), ErrHubClosed)
}

// failingSource fails every read.
type failingSource struct{ fakeSource }

var errDown = errors.New("database down")

func (f *failingSource) Replay(context.Context, []string, int64, int64, int) ([]Event, error) {
	return nil, errDown
}

func TestSubscriptionReplayError(t *testing.T) {
	src := &failingSource{}
	src.Append("a")
	src.Append("a")
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	sub := subscribe(t, hub, []string{"a"}, 1)
	assert.ErrorIs(t, waitEnded(t, sub), errDown)
	assert.Zero(t, hub.Stats().Subscriptions)
}

// downSource cannot even tell its head.
type downSource struct{ fakeSource }

func (d *downSource) Head(context.Context) (int64, error) { return 0, errDown }

func TestHubRunFailsWithoutHead(t *testing.T) {
	bus := NewLocalBus()
	defer bus.Close()
	hub := NewHub(&downSource{}, bus, HubOptions{})
	assert.ErrorIs(t, hub.Run(context.Background()), errDown)
	_, err := hub.Subscribe(context.Background(), []string{"a"}, 0)
	assert.ErrorIs(t, err, ErrHubClosed)
}

// queueState reads the hub-owned queue fields of sub.
func queueState(hub *Hub, sub *Subscription) (flushing bool, held int) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	return sub.flushing, len(sub.held)
}

// waitPosition waits until the hub has dispatched every event up to id.
func waitPosition(t *testing.T, hub *Hub, id int64) {
	t.Helper()
	require.Eventually(t, func() bool { return hub.Stats().Position >= id }, 5*time.Second, time.Millisecond)
}

func TestSubscriptionQueueIsSmallUntilNeeded(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	sub := subscribe(t, hub, []string{"a"}, 0)
	assert.Equal(t, chanSize, cap(sub.out))
	small := startHub(t, &fakeSource{}, HubOptions{PollInterval: time.Hour, Buffer: 3})
	assert.Equal(t, 3, cap(subscribe(t, small, []string{"a"}, 0).out))
}

// TestSubscriptionOverflowKeepsOrder fills the channel and the overflow
// behind it with a reader that does not read, then reads, then does it again:
// every event arrives once, in order, and the subscription is handed back to
// direct dispatch, its flush goroutine gone.
func TestSubscriptionOverflowKeepsOrder(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, Buffer: 100})
	sub := subscribe(t, hub, []string{"a", "b"}, 0)
	before := goleak.IgnoreCurrent()

	for round := range 3 {
		var want []int64
		for i := range 60 {
			ev := write(t, src, hub, []string{"a", "b", "c"}[i%3])
			if ev.Topic != "c" {
				want = append(want, ev.ID)
			}
			if i == 20 { // ephemeral events keep their place
				waitPosition(t, hub, ev.ID)
				require.NoError(t, hub.PublishEphemeral(context.Background(), Event{Topic: "a", Kind: "typing"}))
				want = append(want, 0)
				require.Eventually(t, func() bool {
					hub.mu.Lock()
					defer hub.mu.Unlock()
					return len(sub.out)+len(sub.held) == len(want)
				}, 5*time.Second, time.Millisecond)
			}
		}
		waitPosition(t, hub, int64(60*(round+1)))
		flushing, held := queueState(hub, sub)
		assert.True(t, flushing, "round %d", round)
		assert.Equal(t, len(want)-chanSize, held, "round %d", round)

		assert.Equal(t, want, ids(receive(t, sub, len(want))), "round %d", round)
		assertNothing(t, sub)
		flushing, held = queueState(hub, sub)
		assert.False(t, flushing, "round %d", round)
		assert.Zero(t, held, "round %d", round)
		goleak.VerifyNone(t, before)
	}

	// Back to direct dispatch: straight into the channel.
	ev := write(t, src, hub, "a")
	waitPosition(t, hub, ev.ID)
	flushing, _ := queueState(hub, sub)
	assert.False(t, flushing)
	assert.Equal(t, []int64{ev.ID}, ids(receive(t, sub, 1)))
	assert.NoError(t, sub.Err())
}

// TestSubscriptionOverflowWhileReading reads slowly while writers overflow
// the channel again and again: nothing is lost, duplicated or reordered.
func TestSubscriptionOverflowWhileReading(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Millisecond, Buffer: 5000, BatchSize: 7})
	sub := subscribe(t, hub, []string{"a"}, 0)
	const total = 3000
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for i := range total / 3 {
				ev := src.Append("a")
				if i%2 == 0 {
					_ = hub.Notify(context.Background(), ev.ID)
				}
			}
		})
	}
	var got []Event
	for len(got) < total {
		batch, err := collect(sub, min(1+rand.IntN(40), total-len(got)))
		require.NoError(t, err)
		got = append(got, batch...)
		if rand.IntN(4) == 0 {
			time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		}
	}
	wg.Wait()
	assert.Equal(t, src.expected([]string{"a"}, 0), ids(got))
	assertNothing(t, sub)
	assert.NoError(t, sub.Err())
}

// TestSubscriptionOverflowSlowConsumerAtBuffer checks that the bound is
// still Buffer events, channel and overflow together, and that the reader
// then gets the channel's events, in order, before C closes.
func TestSubscriptionOverflowSlowConsumerAtBuffer(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, Buffer: 20})
	before := goleak.IgnoreCurrent()
	sub := subscribe(t, hub, []string{"a"}, 0) // never reads, for now
	for range 20 {
		write(t, src, hub, "a")
	}
	waitPosition(t, hub, 20)
	assert.Equal(t, 1, hub.Stats().Subscriptions, "20 events fit a Buffer of 20")
	_, held := queueState(hub, sub)
	assert.Equal(t, 20-chanSize, held)

	write(t, src, hub, "a")
	waitPosition(t, hub, 21)
	assert.Zero(t, hub.Stats().Subscriptions, "the 21st does not")
	var got []Event
	for ev := range sub.C() {
		got = append(got, ev)
	}
	assert.ErrorIs(t, sub.Err(), ErrSlowConsumer)
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8}, ids(got))
	goleak.VerifyNone(t, before)
}

// TestSubscriptionEndsWhileFlushing ends subscriptions whose flush goroutine
// waits on a reader that does not read, in each way a subscription ends: C
// closes and the goroutine exits.
func TestSubscriptionEndsWhileFlushing(t *testing.T) {
	src := &fakeSource{}
	bus := NewLocalBus()
	defer bus.Close()
	hub := NewHub(src, bus, HubOptions{PollInterval: time.Hour, Buffer: 50})
	runCtx, stopHub := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- hub.Run(runCtx) }()
	<-hub.ready
	before := goleak.IgnoreCurrent()

	closed, err := hub.Subscribe(context.Background(), []string{"a"}, 0)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancelled, err := hub.Subscribe(ctx, []string{"a"}, 0)
	require.NoError(t, err)
	shut, err := hub.Subscribe(context.Background(), []string{"a"}, 0)
	require.NoError(t, err)
	for range 20 {
		write(t, src, hub, "a")
	}
	waitPosition(t, hub, 20)
	for _, sub := range []*Subscription{closed, cancelled, shut} {
		flushing, held := queueState(hub, sub)
		require.True(t, flushing)
		require.Equal(t, 20-chanSize, held)
	}

	closed.Close()
	assert.NoError(t, waitEnded(t, closed))
	cancel()
	assert.NoError(t, waitEnded(t, cancelled))
	stopHub()
	require.NoError(t, <-errc)
	assert.ErrorIs(t, waitEnded(t, shut), ErrHubClosed)
	goleak.VerifyNone(t, before)
}

// TestSubscriptionOverflowAfterReplay overflows a resumed subscription right
// after its replay: held events, replayed ones and the overflow keep one
// order.
func TestSubscriptionOverflowAfterReplay(t *testing.T) {
	src := &fakeSource{}
	for range 30 {
		src.Append("a")
	}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour, Buffer: 200, BatchSize: 4})
	sub := subscribe(t, hub, []string{"a"}, 5)
	for range 40 {
		write(t, src, hub, "a")
	}
	waitPosition(t, hub, 70)
	want := src.expected([]string{"a"}, 5)
	got := receive(t, sub, 10)
	for range 40 { // more overflow while the rest is still queued
		write(t, src, hub, "a")
	}
	want = append(want, src.expected([]string{"a"}, 70)...)
	got = append(got, receive(t, sub, len(want)-len(got))...)
	assert.Equal(t, want, ids(got))
	assertNothing(t, sub)
}

// TestHubObserve: an observer sees every event of its topic in log order,
// before any later event reaches a subscription, and nothing after it
// stops.
func TestHubObserve(t *testing.T) {
	src := &fakeSource{}
	hub := startHub(t, src, HubOptions{PollInterval: time.Hour})
	sub := subscribe(t, hub, []string{"user:1"}, 0)
	var mu sync.Mutex
	var seen []int64
	stop := hub.Observe("sessions", func(ev Event) {
		mu.Lock()
		seen = append(seen, ev.ID)
		mu.Unlock()
	})
	first := write(t, src, hub, "sessions")
	after := write(t, src, hub, "user:1")
	got := receive(t, sub, 1)[0]
	require.Equal(t, after.ID, got.ID)
	mu.Lock()
	require.Equal(t, []int64{first.ID}, seen, "the observer has seen the earlier event when a later one is delivered")
	mu.Unlock()

	stop()
	write(t, src, hub, "sessions")
	write(t, src, hub, "user:1")
	receive(t, sub, 1)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int64{first.ID}, seen, "a stopped observer sees nothing more")
}
