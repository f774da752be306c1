package realtime

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const defaultTestDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testDB connects to TEST_DATABASE_URL (or the local default) and skips the
// test when no database answers.
func testDB(t *testing.T) (*sql.DB, string) {
	t.Helper()
	dsn := os.Getenv("TEST_DATABASE_URL")
	if dsn == "" {
		dsn = defaultTestDatabaseURL
	}
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		if os.Getenv("TEST_DATABASE_URL") != "" {
			t.Fatalf("TEST_DATABASE_URL is set but PostgreSQL does not answer: %v", err)
		}
		t.Skipf("no PostgreSQL at %s: %v", dsn, err)
	}
	return db, dsn
}

var channelSeq atomic.Int64

// uniqueName returns a channel or role name no other test run uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixNano(), channelSeq.Add(1))
}

// withUser returns dsn (a URL or key=value connection string) connecting as
// user.
func withUser(t *testing.T, dsn, user string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " user=" + user // the last setting wins
	}
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.User = url.User(user)
	return u.String()
}

func newTestPGBus(t *testing.T, db *sql.DB, dsn, channel string) *PGBus {
	t.Helper()
	bus, err := NewPGBus(db, dsn, channel, nil)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, bus.Close()) })
	return bus
}

// next returns the next signal on bus, failing after a timeout.
func next(t *testing.T, bus Bus) Signal {
	t.Helper()
	select {
	case s, ok := <-bus.Signals():
		require.True(t, ok, "bus closed")
		return s
	case <-time.After(5 * time.Second):
		require.FailNow(t, "no signal")
		return Signal{}
	}
}

func TestPGBusBetweenInstances(t *testing.T) {
	db, dsn := testDB(t)
	busesBetweenInstances(t, func(channel string) Bus { return newTestPGBus(t, db, dsn, channel) })
}

// busesBetweenInstances: two buses on one channel, as two server processes
// would hold, both hear every signal, the publisher's own included, and a
// bus on another channel hears none of them.
func busesBetweenInstances(t *testing.T, newBus func(channel string) Bus) {
	channel := uniqueName("rt_test")
	a := newBus(channel)
	b := newBus(channel)
	assert.True(t, a.Healthy())
	assert.True(t, b.Healthy())

	ctx := context.Background()
	require.NoError(t, a.Publish(ctx, Signal{Head: 42}))
	assert.Equal(t, Signal{Head: 42}, next(t, a), "the publisher hears itself")
	assert.Equal(t, Signal{Head: 42}, next(t, b))

	typing := &Event{Topic: "conversation:1", Kind: "typing", Payload: json.RawMessage(`{"user":7}`)}
	require.NoError(t, b.Publish(ctx, Signal{Ephemeral: typing}))
	assert.Equal(t, Signal{Ephemeral: typing}, next(t, a))
	assert.Equal(t, Signal{Ephemeral: typing}, next(t, b))

	other := newBus(uniqueName("rt_test"))
	require.NoError(t, a.Publish(ctx, Signal{Head: 43}))
	assert.Equal(t, Signal{Head: 43}, next(t, b))
	select {
	case s := <-other.Signals():
		assert.Failf(t, "signal leaked across channels", "%+v", s)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestPGBusRejectsOversizedPayload(t *testing.T) {
	db, dsn := testDB(t)
	bus := newTestPGBus(t, db, dsn, uniqueName("rt_test"))
	big := &Event{Topic: "conversation:1", Kind: "typing", Payload: json.RawMessage(`"` + strings.Repeat("x", maxNotifyPayload) + `"`)}
	assert.ErrorIs(t, bus.Publish(context.Background(), Signal{Ephemeral: big}), ErrPayloadTooLarge)
}

func TestPGBusConstruction(t *testing.T) {
	db, dsn := testDB(t)
	_, err := NewPGBus(db, dsn, strings.Repeat("c", 64), nil)
	assert.Error(t, err, "channel name too long")

	_, err = NewPGBus(db, withUser(t, dsn, uniqueName("no_such_role")), "rt_test", nil)
	assert.Error(t, err, "the first connection attempt fails")

	bus, err := NewPGBus(db, dsn, uniqueName("rt_test"), nil)
	require.NoError(t, err)
	require.NoError(t, bus.Close())
	require.NoError(t, bus.Close())
	assert.False(t, bus.Healthy())
	assert.ErrorIs(t, bus.Publish(context.Background(), Signal{Head: 1}), ErrBusClosed)
}

// TestPGBusReconnects kills the listener's connection while its role cannot
// log in, so the outage lasts until the test lifts it: Healthy must report
// it, and after the reconnect the hub is told to re-poll and signals flow
// again.
func TestPGBusReconnects(t *testing.T) {
	db, dsn := testDB(t)
	role := uniqueName("rt_listener")
	if _, err := db.Exec(`CREATE ROLE ` + role + ` LOGIN`); err != nil {
		if os.Getenv("TEST_DATABASE_URL") != "" {
			t.Fatalf("cannot create a role for the listener (CI connects as a superuser): %v", err)
		}
		t.Skipf("cannot create a role for the listener: %v", err)
	}
	t.Cleanup(func() {
		_, err := db.Exec(`DROP ROLE ` + role)
		assert.NoError(t, err)
	})
	channel := uniqueName("rt_test")
	listener := newTestPGBus(t, db, withUser(t, dsn, role), channel)
	publisher := newTestPGBus(t, db, dsn, channel)
	require.True(t, listener.Healthy())

	_, err := db.Exec(`ALTER ROLE ` + role + ` NOLOGIN`)
	require.NoError(t, err)
	var killed int
	require.NoError(t, db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1`, role).Scan(&killed))
	require.Equal(t, 1, killed)
	require.Eventually(t, func() bool { return !listener.Healthy() }, 5*time.Second, 5*time.Millisecond)
	assert.True(t, publisher.Healthy())

	_, err = db.Exec(`ALTER ROLE ` + role + ` LOGIN`)
	require.NoError(t, err)
	require.Eventually(t, listener.Healthy, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, Signal{Head: -1}, next(t, listener))

	require.NoError(t, publisher.Publish(context.Background(), Signal{Head: 7}))
	assert.Equal(t, Signal{Head: 7}, next(t, listener))
}

// TestHubsAcrossInstances runs two hubs, as two server processes would, over
// one log and one bus channel (hubsAcrossInstances, for every bus): a write notified on hub A reaches a
// subscriber on hub B without polling, and so does an ephemeral event.
func TestHubsAcrossInstances(t *testing.T) {
	db, dsn := testDB(t)
	hubsAcrossInstances(t, func(channel string) Bus { return newTestPGBus(t, db, dsn, channel) })
}

func hubsAcrossInstances(t *testing.T, newBus func(channel string) Bus) {
	channel := uniqueName("rt_test")
	src := &fakeSource{}
	a := NewHub(src, newBus(channel), HubOptions{PollInterval: time.Hour})
	b := NewHub(src, newBus(channel), HubOptions{PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	go func() { errc <- a.Run(ctx) }()
	go func() { errc <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-errc)
		assert.NoError(t, <-errc)
	})

	sub := subscribe(t, b, []string{"conversation:42"}, 0)
	src.Append("conversation:1")
	ev := src.Append("conversation:42")
	require.NoError(t, a.Notify(ctx, ev.ID))
	assert.Equal(t, []Event{ev}, receive(t, sub, 1))

	typing := Event{Topic: "conversation:42", Kind: "typing", Payload: json.RawMessage(`{"user":7}`)}
	require.NoError(t, a.PublishEphemeral(ctx, typing))
	assert.Equal(t, []Event{typing}, receive(t, sub, 1))
}
