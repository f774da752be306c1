package app_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
)

// TestIdleEventsSubscriptionGoroutines: an authenticated connection with
// an idle events subscription holds one goroutine on the server (its
// reader), in either protocol: no keep-alive goroutine, none waiting for
// the connection's context, none per stream. Events still arrive, and
// once the clients have gone, so have their goroutines (the leak check of
// gqlgen's chat example, by count, since the server's own goroutines run
// on).
func TestIdleEventsSubscriptionGoroutines(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		for _, protocol := range apptest.Protocols {
			t.Run(protocol, func(t *testing.T) { idleEventsGoroutines(t, b, protocol) })
		}
	})
}

// idleEventsGoroutines counts the goroutines of one server, by a profiler
// label that every goroutine it starts inherits, since other tests run
// beside it.
func idleEventsGoroutines(t *testing.T, b dbtest.Backend, protocol string) {
	label := pprof.Labels("ws-goroutines-test", t.Name())
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), label))
	defer pprof.SetGoroutineLabels(context.Background())
	settledGoroutines := func() int { return settledLabeled(t.Name()) }
	s := newServer(t, b)
	{
		const conns = 8
		alice := s.Register("alice", nil)
		bobs := make([]apptest.Account, conns)
		for i := range bobs {
			bobs[i] = s.Register(fmt.Sprint("bob", i), nil)
		}
		// One connection's whole life first, so that what the server
		// starts lazily (the database pool's cleaner) is there before.
		warm := s.MustDialWith(protocol, alice.Token)
		warm.Subscribe("1", apptest.EventsSubscription, nil)
		s.WaitSubscriptions(1)
		s.Send(bobs[0], alice, "warm-up")
		warm.NextEvent()
		warm.Close()
		require.Eventually(t, func() bool { return s.App.Hub.Stats().Subscriptions == 0 }, 5*time.Second, 10*time.Millisecond)
		before := settledGoroutines()
		clients := make([]*apptest.Conn, conns)
		for i, b := range bobs {
			clients[i] = s.MustDialWith(protocol, b.Token)
			clients[i].Subscribe("1", apptest.EventsSubscription, nil)
		}
		s.WaitSubscriptions(conns)
		idle := settledGoroutines()
		t.Logf("%d goroutines before, %d with %d idle subscriptions", before, idle, conns)
		assert.LessOrEqual(t, idle-before, conns+2, "goroutines per idle subscription")

		for i, b := range bobs {
			sent := s.Send(alice, b, fmt.Sprint("hello ", i))
			for {
				ev, typ := clients[i].NextEvent()
				require.Contains(t, []string{"next", "data"}, typ)
				if ev.Kind == "MESSAGE_CREATED" {
					require.Equal(t, sent.ID, ev.Node.ID)
					break
				}
			}
		}
		for _, c := range clients {
			c.Close()
		}
		require.Eventually(t, func() bool { return s.App.Hub.Stats().Subscriptions == 0 }, 5*time.Second, 10*time.Millisecond)
		// Some of the server's own work ends a little later (presence going
		// offline): wait for the count to come down, rather than read it once.
		after := settledGoroutines()
		for deadline := time.Now().Add(10 * time.Second); after > before+2 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			after = settledGoroutines()
		}
		t.Logf("%d goroutines after the clients closed", after)
		if after > before+2 {
			var buf bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Log(buf.String())
		}
		assert.LessOrEqual(t, after, before+2, "goroutines left behind by closed connections")
	}
}

// settledLabeled returns the number of goroutines labelled
// ws-goroutines-test=value once it has not changed for 50 ms.
func settledLabeled(value string) int {
	count := func() int {
		var buf bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&buf, 1)
		want := fmt.Sprintf("%q:%q", "ws-goroutines-test", value)
		n, group := 0, 0
		for _, line := range strings.Split(buf.String(), "\n") {
			if c, _, ok := strings.Cut(line, " @ "); ok {
				group, _ = strconv.Atoi(c)
				continue
			}
			if strings.HasPrefix(line, "# labels:") && strings.Contains(line, want) {
				n += group
			}
		}
		return n
	}
	last := count()
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		n := count()
		if n == last {
			return n
		}
		last = n
	}
	return last
}
