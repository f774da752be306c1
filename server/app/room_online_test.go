package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
)

// onlineEvent reads roomEvents on c until a room.online event arrives and
// returns it.
func onlineEvent(t *testing.T, c *apptest.Conn, r roomView) grpEvent {
	t.Helper()
	ev, _ := until(c, "roomEvents", "ROOM_ONLINE")
	require.Equal(t, r.ID, *ev.SubjectID)
	return ev
}

// untilOnline reads room.online events on c until one says n are online.
func untilOnline(t *testing.T, c *apptest.Conn, r roomView, n int) grpEvent {
	t.Helper()
	for {
		if ev := onlineEvent(t, c, r); ev.Data["onlineCount"] == float64(n) {
			return ev
		}
	}
}

// storedOnline returns the room.online events of room r in the log, oldest
// first.
func storedOnline(t *testing.T, k grpKit, r roomView) []*ent.Event {
	t.Helper()
	evs, err := k.App.Client.Event.Query().
		Where(event.Topic("room:"+r.ID), event.Kind("room.online")).
		Order(ent.Asc(event.FieldID)).All(viewer.SystemContext(context.Background()))
	require.NoError(t, err)
	return evs
}

// TestRoomOnlineCount: watchers of a room are told its online count when a
// member's first connection opens and when his last one closes, through
// the event log; a burst of changes is coalesced to one event a second at
// most, and the last count always arrives.
func TestRoomOnlineCount(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, carol := k.Register("ann", nil), k.Register("bob", nil), k.Register("carol", nil)
		r := k.room(ann, "lobby", "") // ann owns it and never connects
		k.OK(carol.Token, rmJoin, roomVars(r), nil)

		// Bob, not a member, watches.
		bws := k.MustDial(bob.Token)
		bws.Subscribe("r", rmEvents, roomVars(r))
		k.WaitSubscriptions(1)

		// Carol connects: the count goes up.
		cws := k.MustDial(carol.Token)
		ev := onlineEvent(t, bws, r)
		require.EqualValues(t, 1, ev.Data["onlineCount"])
		require.EqualValues(t, 2, ev.Data["memberCount"])
		require.Equal(t, "lobby", ev.Node.Name, "the node is the room")
		require.Equal(t, 1, k.roomInfo("", r.ID).OnlineCount)

		// A second connection of hers changes nothing; closing it neither.
		second := k.MustDial(carol.Token)
		second.Close()

		// Her last socket closes: the count goes down, though she neither
		// left nor signed out.
		cws.Close()
		ev = onlineEvent(t, bws, r)
		require.EqualValues(t, 0, ev.Data["onlineCount"])
		require.Equal(t, 0, k.roomInfo("", r.ID).OnlineCount)

		// A flapping connection: many changes, few events, the last count last.
		before := len(storedOnline(t, k, r))
		burst := time.Now()
		for range 4 {
			c := k.MustDial(carol.Token)
			c.Close()
			require.Eventually(t, func() bool { return k.roomInfo("", r.ID).OnlineCount == 0 }, 5*time.Second, 5*time.Millisecond)
		}
		last := k.MustDial(carol.Token)
		k.online(carol)
		untilOnline(t, bws, r, 1)
		elapsed := time.Since(burst)
		time.Sleep(1500 * time.Millisecond) // nothing more is pending
		stored := storedOnline(t, k, r)
		require.LessOrEqual(t, len(stored)-before, int(elapsed/time.Second)+2,
			"nine changes in %v are coalesced to one event a second", elapsed)
		for i := 1; i < len(stored); i++ {
			gap := stored[i].CreatedAt.Sub(stored[i-1].CreatedAt)
			require.GreaterOrEqual(t, gap, 900*time.Millisecond, "events %d and %d of a room are a second apart at least", i-1, i)
		}
		var data struct{ OnlineCount int }
		var p struct{ Data json.RawMessage }
		require.NoError(t, json.Unmarshal(stored[len(stored)-1].Payload, &p))
		require.NoError(t, json.Unmarshal(p.Data, &data))
		require.Equal(t, 1, data.OnlineCount, "the last event has the count as it stands")

		// The owner connects, carol leaves; members' own events streams do
		// not carry the room's traffic of people.
		ews := k.MustDial(ann.Token)
		ews.Subscribe("e", `subscription { events { `+grpEventFields+` } }`, nil)
		k.WaitSubscriptions(2)
		untilOnline(t, bws, r, 2)
		last.Close()
		untilOnline(t, bws, r, 1)
		res := k.Do(carol.Token, `mutation($in: SendInput!) { send(input: $in) { id } }`, map[string]any{"in": map[string]any{"roomId": r.ID, "text": "hi"}})
		require.Empty(t, res.Errors)
		_, skipped := until(ews, "events", "MESSAGE_CREATED")
		require.NotContains(t, skipped, "ROOM_ONLINE")
	})
}

// TestRoomOnlineCountAcrossInstances: a member connecting to one instance
// and leaving it is told to the room's watchers on another, through the
// event log (PostgreSQL only: SQLite is one instance).
func TestRoomOnlineCountAcrossInstances(t *testing.T) {
	one, two := twoInstances(t, dbtest.Schema)
	ann, bob, carol := one.Register("ann", nil), one.Register("bob", nil), one.Register("carol", nil)
	var out struct{ CreateRoom roomView }
	one.OK(ann.Token, rmCreate, map[string]any{"in": map[string]any{"name": "lobby"}}, &out)
	r := out.CreateRoom
	one.OK(carol.Token, rmJoin, roomVars(r), nil)

	watcher := two.MustDial(bob.Token)
	watcher.Subscribe("r", rmEvents, roomVars(r))
	two.WaitSubscriptions(1)
	cws := one.MustDial(carol.Token)
	ev := untilOnline(t, watcher, r, 1)
	require.EqualValues(t, 2, ev.Data["memberCount"])
	cws.Close()
	untilOnline(t, watcher, r, 0)
}
