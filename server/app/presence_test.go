package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/presence"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

const presenceSubscription = `subscription { presence { user { id username } online lastSeenAt } }`

// presenceEvent is one event of the presence subscription.
type presenceEvent struct {
	User       struct{ ID, Username string }
	Online     bool
	LastSeenAt *time.Time
}

// nextPresence returns the next presence event.
func nextPresence(c *apptest.Conn) presenceEvent {
	c.T.Helper()
	ev, typ := apptest.Next[*presenceEvent](c, "presence")
	require.Equal(c.T, "next", typ)
	require.NotNil(c.T, ev)
	return *ev
}

// expectPresence reads the next presence event and checks whose and which.
func expectPresence(c *apptest.Conn, who account, online bool) presenceEvent {
	c.T.Helper()
	ev := nextPresence(c)
	require.Equal(c.T, who.ID, ev.User.ID, "presence of %s expected, got %+v", who.ID, ev)
	require.Equal(c.T, online, ev.Online, "%+v", ev)
	return ev
}

// shortPresence makes presence rows stale after a second.
func shortPresence(c *app.Config) { c.PresenceTTL = time.Second }

// friends makes a and b friends through the API.
func (s *server) friends(a, b account) {
	s.T.Helper()
	var out struct{ ApplyFriend struct{ ID string } }
	s.OK(a.Token, `mutation($id: ID) { applyFriend(input: {userId: $id}) { id } }`, map[string]any{"id": b.ID}, &out)
	s.OK(b.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, map[string]any{"id": out.ApplyFriend.ID}, nil)
}

type userPresence struct {
	Online     bool
	LastSeenAt *time.Time
}

// presenceOf reads u's online and lastSeenAt fields as viewer.
func (s *server) presenceOf(viewer account, u account) userPresence {
	s.T.Helper()
	var out struct{ Node userPresence }
	s.OK(viewer.Token, `query($id: ID!) { node(id: $id) { ... on User { online lastSeenAt } } }`, map[string]any{"id": u.ID}, &out)
	return out.Node
}

// replaceConnection opens a second connection of alice on second, then
// closes her first one, first, waiting each time for s to count her
// connections; it returns the second. Her presence does not change, so
// watching, bob's presence stream, hears nothing of it: dave going online
// next, his event is the next one.
func (s *server) replaceConnection(second *server, first, watching *apptest.Conn, alice, dave account) *apptest.Conn {
	s.T.Helper()
	c := second.MustDial(alice.Token)
	require.Eventually(s.T, func() bool { return s.connections(alice) == 2 }, 5*time.Second, 10*time.Millisecond)
	first.Close()
	require.Eventually(s.T, func() bool { return s.connections(alice) == 1 }, 5*time.Second, 10*time.Millisecond)
	s.MustDial(dave.Token)
	expectPresence(watching, dave, true)
	return c
}

// connections returns the connection count of uid's presence rows.
func (s *server) connections(u account) int {
	s.T.Helper()
	id := intID(u.ID)
	rows, err := s.App.Client.Presence.Query().Where(presence.UserID(id)).All(viewer.SystemContext(context.Background()))
	require.NoError(s.T, err)
	n := 0
	for _, r := range rows {
		n += r.Connections
	}
	return n
}

// TestPresence: a friend's connections come and go; his friends see him go
// online with his first connection and offline, with lastSeenAt, after his
// last. Other connections, strangers, anonymous and refused connections
// change nothing.
func TestPresence(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := start(t, apptest.Config(t, b.DatabaseURL(t)), shortPresence)
		alice, bob, carol, dave := s.Register("alice", nil), s.Register("bob", nil), s.Register("carol", nil), s.Register("dave", nil)
		s.friends(alice, bob)
		s.friends(dave, bob)

		ws := s.MustDial(bob.Token)
		ws.Subscribe("1", presenceSubscription, nil)
		s.WaitSubscriptions(1)

		// Strangers, anonymous and refused connections say nothing to bob.
		s.MustDial(carol.Token)
		anon, err := s.Dial(apptest.TransportWS, nil)
		require.NoError(t, err)
		anon.Close()
		_, err = s.Dial(apptest.TransportWS, map[string]any{"Authorization": "Bearer forged.token.here"})
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce)

		require.False(t, s.presenceOf(bob, alice).Online)
		a1 := s.MustDial(alice.Token)
		ev := expectPresence(ws, alice, true)
		require.Equal(t, "alice", ev.User.Username)
		require.Nil(t, ev.LastSeenAt)
		require.True(t, s.presenceOf(bob, alice).Online)
		require.True(t, s.presenceOf(carol, alice).Online, "the field is public, like lastSeenAt")

		// A second connection, then closing the first: no event. Dave going
		// online afterwards proves nothing came in between.
		a2 := s.replaceConnection(s, a1, ws, alice, dave)
		require.True(t, s.presenceOf(bob, alice).Online)

		before := time.Now()
		a2.Close()
		ev = expectPresence(ws, alice, false)
		require.NotNil(t, ev.LastSeenAt)
		require.WithinDuration(t, before, *ev.LastSeenAt, 5*time.Second)
		got := s.presenceOf(bob, alice)
		require.False(t, got.Online)
		require.NotNil(t, got.LastSeenAt)
		require.True(t, ev.LastSeenAt.Equal(*got.LastSeenAt), "%v != %v", ev.LastSeenAt, got.LastSeenAt)
		require.Zero(t, s.connections(alice))

		// Anonymous subscribers are refused.
		anon, err = s.Dial(apptest.TransportWS, nil)
		require.NoError(t, err)
		anon.Subscribe("1", presenceSubscription, nil)
		require.Equal(t, "UNAUTHENTICATED", anon.ErrorCode())
	})
}

// TestPresenceFollowsFriendships: a friendship made while bob is subscribed
// adds the new friend's presence to his stream, starting with the friend's
// current state; an ended one removes it.
func TestPresenceFollowsFriendships(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := start(t, apptest.Config(t, b.DatabaseURL(t)), shortPresence)
		alice, bob, dave := s.Register("alice", nil), s.Register("bob", nil), s.Register("dave", nil)
		s.friends(dave, bob)
		ws := s.MustDial(bob.Token)
		ws.Subscribe("1", presenceSubscription, nil)
		s.WaitSubscriptions(1)

		a1 := s.MustDial(alice.Token) // a stranger still: nothing
		s.friends(alice, bob)
		expectPresence(ws, alice, true) // her state when she became a friend
		a1.Close()
		expectPresence(ws, alice, false)
		a1 = s.MustDial(alice.Token)
		expectPresence(ws, alice, true)

		// Unfriended: her going offline no longer reaches bob. Dave's
		// online, after it, proves that nothing came in between.
		s.OK(bob.Token, `mutation($id: ID!) { deleteFriend(userId: $id) }`, map[string]any{"id": alice.ID}, nil)
		a1.Close()
		require.Eventually(t, func() bool { return s.connections(alice) == 0 }, 5*time.Second, 10*time.Millisecond)
		s.MustDial(dave.Token)
		expectPresence(ws, dave, true)
	})
}

// TestPresenceCrashedInstance: the rows of an instance that stopped without
// closing go stale after the TTL; a running instance sweeps them and tells
// the users' friends they went offline at the last heartbeat.
func TestPresenceCrashedInstance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := start(t, apptest.Config(t, b.DatabaseURL(t)), shortPresence)
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		s.friends(alice, bob)
		ws := s.MustDial(bob.Token)
		ws.Subscribe("1", presenceSubscription, nil)
		s.WaitSubscriptions(1)

		id := intID(alice.ID)
		seen := time.Now().UTC().Truncate(time.Millisecond)
		require.NoError(t, s.App.Client.Presence.Create().SetUserID(id).SetInstance("crashed").
			SetConnections(1).SetSeenAt(seen).Exec(viewer.SystemContext(context.Background())))
		require.True(t, s.presenceOf(bob, alice).Online)

		ev := expectPresence(ws, alice, false)
		require.True(t, seen.Equal(*ev.LastSeenAt), "%v != %v", seen, ev.LastSeenAt)
		require.GreaterOrEqual(t, time.Since(seen), time.Second, "not before the TTL")
		got := s.presenceOf(bob, alice)
		require.False(t, got.Online)
		require.True(t, seen.Equal(*got.LastSeenAt))
		require.Zero(t, s.connections(alice))
	})
}

// TestPresenceTwoInstances: two instances on one PostgreSQL database share
// presence: a user connected to one is online as seen from the other, his
// friend subscribed on the other hears of him, and a connection on each
// counts once.
func TestPresenceTwoInstances(t *testing.T) {
	one, two := twoInstances(t, dbtest.Database, shortPresence) // only a NOTIFY can wake instance two in time

	alice, bob, dave := one.Register("alice", nil), one.Register("bob", nil), one.Register("dave", nil)
	one.friends(alice, bob)
	one.friends(dave, bob)
	ws := two.MustDial(bob.Token)
	ws.Subscribe("1", presenceSubscription, nil)
	two.WaitSubscriptions(1)

	a1 := one.MustDial(alice.Token)
	expectPresence(ws, alice, true)
	require.True(t, two.presenceOf(bob, alice).Online, "seen from instance two")

	// One connection on each instance: closing either alone says nothing.
	a2 := one.replaceConnection(two, a1, ws, alice, dave)
	require.True(t, one.presenceOf(bob, alice).Online)

	a2.Close()
	ev := expectPresence(ws, alice, false)
	require.NotNil(t, ev.LastSeenAt)
	require.False(t, one.presenceOf(bob, alice).Online)

	// Instance one shuts down: its users go offline at once, not after the TTL.
	one.App.Close()
	expectPresence(ws, dave, false)
}

// TestOfflineComesWithLastSeen: online and lastSeenAt are read together, so
// a reader never sees a user offline without the last-seen time of the
// connection that just closed, however close to the close he reads: not
// the time before it (none, the first time), nor an older one.
func TestOfflineComesWithLastSeen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := start(t, apptest.Config(t, b.DatabaseURL(t)))
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		const rounds = 30
		for round := range rounds {
			c := s.MustDial(alice.Token)
			require.Eventually(t, func() bool { return s.presenceOf(bob, alice).Online }, 5*time.Second, time.Millisecond)
			opened := time.Now()
			c.Close()
			for {
				p := s.presenceOf(bob, alice)
				if p.Online {
					continue
				}
				require.NotNil(t, p.LastSeenAt, "round %d: offline without lastSeenAt", round)
				require.False(t, p.LastSeenAt.Before(opened.Add(-time.Millisecond)), "round %d: offline with the last-seen time of an earlier connection: %v, opened at %v", round, p.LastSeenAt, opened)
				break
			}
		}
	})
}
