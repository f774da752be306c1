package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBuckets: a burst, then one per interval, with the wait until the
// next token; spending past what is left puts the key in debt; refunds
// stop at the burst; keys are independent; nil allows everything.
func TestBuckets(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	b := NewBuckets(3, 10*time.Second)
	b.now = func() time.Time { return now }

	for range 3 {
		ok, _ := b.Take("a", 1)
		require.True(t, ok)
	}
	ok, retry := b.Take("a", 1)
	require.False(t, ok)
	require.Equal(t, 10*time.Second, retry)
	ok, _ = b.Take("b", 1)
	require.True(t, ok, "keys are independent")

	now = now.Add(4 * time.Second)
	ok, retry = b.Take("a", 1)
	require.False(t, ok)
	require.Equal(t, 6*time.Second, retry)
	now = now.Add(6 * time.Second)
	ok, _ = b.Take("a", 1)
	require.True(t, ok)

	// Debt: five at once from a full bucket of three, then two intervals
	// and more to wait.
	ok, _ = b.Take("c", 5)
	require.True(t, ok)
	ok, retry = b.Take("c", 1)
	require.False(t, ok)
	require.Equal(t, 30*time.Second, retry)

	b.Refund("d", 5)
	for range 3 {
		ok, _ = b.Take("d", 1)
		require.True(t, ok)
	}
	ok, _ = b.Take("d", 1)
	require.False(t, ok, "a refund never raises a bucket past its burst")

	var off *Buckets
	ok, _ = off.Take("a", 1_000_000)
	require.True(t, ok)
	require.Nil(t, NewBuckets(0, time.Second))
	require.Nil(t, PerMinute(0))
	require.Equal(t, 500*time.Millisecond, PerMinute(120).every)
}
