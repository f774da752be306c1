package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/viewer"
)

// TestSessionCacheDropWins: a read that began before a drop does not put
// back what the drop removed, entries last no longer than the TTL nor the
// session's expiry, and a role change drops every session of the user.
func TestSessionCacheDropWins(t *testing.T) {
	var c sessionCache
	now := time.Now()
	far := now.Add(time.Hour)
	c.put(c.begin(), viewer.Viewer{UserID: 1, SessionID: 10}, now, far)
	_, ok := c.get(10, now)
	require.False(t, ok, "caches nothing until enabled")

	c.enable(time.Minute)
	gen := c.begin() // a read of session 10 begins
	c.drop(SessionChange{User: 1, Sessions: []int{10}, Reason: EndSignedOut})
	c.put(gen, viewer.Viewer{UserID: 1, SessionID: 10}, now, far) // and ends after the logout
	_, ok = c.get(10, now)
	require.False(t, ok, "a read older than the drop is not kept")

	c.put(c.begin(), viewer.Viewer{UserID: 1, SessionID: 10}, now, far)
	v, ok := c.get(10, now)
	require.True(t, ok)
	require.Equal(t, 1, v.UserID)
	_, ok = c.get(10, now.Add(time.Minute))
	require.False(t, ok, "not past the TTL")

	c.put(c.begin(), viewer.Viewer{UserID: 2, SessionID: 20}, now, now.Add(time.Second))
	_, ok = c.get(20, now.Add(2*time.Second))
	require.False(t, ok, "not past the session's expiry")

	c.put(c.begin(), viewer.Viewer{UserID: 3, SessionID: 30}, now, far)
	c.put(c.begin(), viewer.Viewer{UserID: 3, SessionID: 31}, now, far)
	c.put(c.begin(), viewer.Viewer{UserID: 4, SessionID: 40}, now, far)
	admin := true
	c.drop(SessionChange{User: 3, Admin: &admin})
	for _, sid := range []int{30, 31} {
		_, ok = c.get(sid, now)
		require.False(t, ok, "a role change drops every session of the user")
	}
	_, ok = c.get(40, now)
	require.True(t, ok, "and only his")
}
