package app_test

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// TestTwoInstances: two server processes on one PostgreSQL database deliver
// each other's events through LISTEN/NOTIFY.
func TestTwoInstances(t *testing.T) {
	one, two := twoInstances(t, dbtest.Schema) // only a NOTIFY can wake instance two in time
	deliverEachOthers(t, one, two)
}

// TestTwoInstancesOverNATS: the same over a NATS bus, and the bus's health
// is part of readiness.
func TestTwoInstancesOverNATS(t *testing.T) {
	nats := natsURL(t)
	one, two := twoInstances(t, dbtest.Schema, func(c *app.Config) { c.BusURL = nats })
	deliverEachOthers(t, one, two)
	require.NoError(t, one.App.Ready(t.Context()))

	// A bus that cannot connect stops the server from starting.
	cfg := apptest.Config(t, "")
	cfg.BusURL = "nats://127.0.0.1:1"
	_, err := app.New(t.Context(), cfg, nil)
	require.Error(t, err)
}

// natsURL is TEST_NATS_URL or the local NATS server; the test is skipped
// when none answers and TEST_NATS_URL is not set (CI sets it).
func natsURL(t *testing.T) string {
	url := os.Getenv("TEST_NATS_URL")
	if url != "" {
		return url
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second)
	if err != nil {
		t.Skip("needs NATS: set TEST_NATS_URL (CI does)")
	}
	c.Close()
	return "nats://127.0.0.1:4222"
}

// deliverEachOthers: a message sent on one instance reaches a subscriber on
// the other, both ways.
func deliverEachOthers(t *testing.T, one, two *server) {
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

// twoInstances starts two servers on one fresh PostgreSQL database, made by
// database (dbtest.Schema; dbtest.Database where NOTIFY's payloads must
// not mix with other tests'), each with configure applied. The second polls
// the event log once an hour, so that only the bus can wake it in time.
// Without TEST_DATABASE_URL the test is skipped.
func twoInstances(t *testing.T, database func(testing.TB, string) string, configure ...func(*app.Config)) (one, two *server) {
	t.Parallel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
	}
	url := database(t, base)
	config := func(extra ...func(*app.Config)) app.Config {
		cfg := apptest.Config(t, url)
		for _, c := range append(configure, extra...) {
			c(&cfg)
		}
		return cfg
	}
	return start(t, config()), start(t, config(func(c *app.Config) { c.HubPollInterval = time.Hour }))
}
