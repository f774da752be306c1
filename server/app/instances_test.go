package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
)

// TestTwoInstances: two server processes on one PostgreSQL database deliver
// each other's events through LISTEN/NOTIFY.
func TestTwoInstances(t *testing.T) {
	one, two := twoInstances(t, dbtest.Schema) // only a NOTIFY can wake instance two in time

	alice, bob := one.Register("alice", nil), one.Register("bob", nil)
	one.Send(alice, bob, "open")
	ws := two.MustDial(bob.Token)
	ws.Subscribe("1", apptest.EventsSubscription, nil)
	two.WaitSubscriptions(1)
	for _, text := range []string{"one", "two", "three"} {
		sent := one.Send(alice, bob, text)
		ev := ws.NextMessage()
		require.Equal(t, sent.ID, ev.Node.ID)
		require.Equal(t, text, ev.Node.Text)
	}
	// And the other way round: sent on two, received on one.
	back := one.MustDial(alice.Token)
	back.Subscribe("1", apptest.EventsSubscription, nil)
	one.WaitSubscriptions(1)
	sent := two.Send(bob, alice, "reply")
	require.Equal(t, sent.ID, back.NextMessage().Node.ID)
}
