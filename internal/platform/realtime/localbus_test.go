package realtime

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drain reads signals until none arrives for a while.
func drain(bus Bus) []Signal {
	var got []Signal
	for {
		select {
		case s := <-bus.Signals():
			got = append(got, s)
		case <-time.After(50 * time.Millisecond):
			return got
		}
	}
}

func TestLocalBusCoalescesHeads(t *testing.T) {
	bus := NewLocalBus()
	defer bus.Close()
	for head := range int64(1000) {
		require.NoError(t, bus.Publish(context.Background(), Signal{Head: head + 1}))
	}
	got := drain(bus)
	require.NotEmpty(t, got)
	assert.LessOrEqual(t, len(got), 2, "at most the one in flight and the coalesced rest")
	assert.Equal(t, Signal{Head: 1000}, got[len(got)-1])

	require.NoError(t, bus.Publish(context.Background(), Signal{Head: 5}))
	require.NoError(t, bus.Publish(context.Background(), Signal{Head: -1}))
	require.NoError(t, bus.Publish(context.Background(), Signal{Head: 7}))
	assert.Contains(t, drain(bus), Signal{Head: -1}, "re-poll is never lost to a higher head")
}

func TestLocalBusDropsEphemeralWhenFull(t *testing.T) {
	bus := NewLocalBus()
	defer bus.Close()
	e := Event{Topic: "conversation:1", Kind: "typing"}
	for range 3 * ephemeralBuffer {
		require.NoError(t, bus.Publish(context.Background(), Signal{Ephemeral: &e}))
	}
	e.Kind = "changed after publishing"
	require.NoError(t, bus.Publish(context.Background(), Signal{Head: 9}))

	got := drain(bus)
	assert.LessOrEqual(t, len(got), ephemeralBuffer+2)
	assert.Contains(t, got, Signal{Head: 9}, "heads are never dropped")
	assert.Equal(t, "typing", got[len(got)-1].Ephemeral.Kind)
}

func TestLocalBusClose(t *testing.T) {
	bus := NewLocalBus()
	require.NoError(t, bus.Publish(context.Background(), Signal{Head: 1}))
	assert.True(t, bus.Healthy())
	require.NoError(t, bus.Close())
	require.NoError(t, bus.Close())
	for range bus.Signals() {
	}
	assert.ErrorIs(t, bus.Publish(context.Background(), Signal{Head: 2}), ErrBusClosed)
}
