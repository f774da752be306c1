package app_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
)

// TestTwoInstances: two server processes on one PostgreSQL database deliver
// each other's events through LISTEN/NOTIFY.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
	}
	url := dbtest.Schema(t, base)
	one := start(t, testConfig(t, url))
	cfg := testConfig(t, url)
	cfg.HubPollInterval = time.Hour // only a NOTIFY can wake instance two in time
	two := start(t, cfg)

	alice, bob := one.register("alice", nil), one.register("bob", nil)
	one.send(alice, bob, "open")
	ws := two.mustDial(bob.Token)
	ws.subscribe("1", eventsSubscription, nil)
	two.waitSubscriptions(1)
	for _, text := range []string{"one", "two", "three"} {
		sent := one.send(alice, bob, text)
		ev := ws.nextMessage()
		require.Equal(t, sent.ID, ev.Node.ID)
		require.Equal(t, text, ev.Node.Text)
	}
	// And the other way round: sent on two, received on one.
	back := one.mustDial(alice.Token)
	back.subscribe("1", eventsSubscription, nil)
	one.waitSubscriptions(1)
	sent := two.send(bob, alice, "reply")
	require.Equal(t, sent.ID, back.nextMessage().Node.ID)
}
