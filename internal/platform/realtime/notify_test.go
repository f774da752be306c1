package realtime

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stuckBus is a LocalBus whose head signals wait until released, as a
// NOTIFY waits for PostgreSQL's commit lock; it records the heads published.
type stuckBus struct {
	*LocalBus
	release chan struct{}
	mu      sync.Mutex
	heads   []int64
}

func (b *stuckBus) Publish(ctx context.Context, s Signal) error {
	if s.Head > 0 {
		select {
		case <-b.release:
		case <-ctx.Done():
			return ctx.Err()
		}
		b.mu.Lock()
		b.heads = append(b.heads, s.Head)
		b.mu.Unlock()
	}
	return b.LocalBus.Publish(ctx, s)
}

func (b *stuckBus) published() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int64(nil), b.heads...)
}

// TestNotifyNeverWaitsForTheBus: while the bus is stuck, writers' Notify
// calls return, this hub's subscribers get the events, and once the bus
// moves again the wake-ups that piled up go out as one or two publishes of
// the newest head, not one each.
func TestNotifyNeverWaitsForTheBus(t *testing.T) {
	src := &fakeSource{}
	bus := &stuckBus{LocalBus: NewLocalBus(), release: make(chan struct{})}
	hub := startHubOn(t, src, bus, HubOptions{PollInterval: time.Hour})
	sub := subscribe(t, hub, []string{"conversation:1"}, 0)

	var last Event
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		for range 100 {
			last = src.Append("conversation:1")
			assert.NoError(t, hub.Notify(context.Background(), last.ID))
		}
	}()
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Notify waited for the stuck bus")
	}
	got := receive(t, sub, 100)
	require.Equal(t, last, got[99], "this hub is woken without the bus")
	require.Empty(t, bus.published())

	close(bus.release)
	require.Eventually(t, func() bool {
		heads := bus.published()
		return len(heads) > 0 && heads[len(heads)-1] == last.ID
	}, 10*time.Second, time.Millisecond)
	assert.LessOrEqual(t, len(bus.published()), 2, "wake-ups coalesce while one is in flight")
}
