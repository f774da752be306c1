package app_test

// Tests of what live events carry besides their node: the ids in their
// data and the subject of deletions.

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/apptest"
)

// eventsWithData is the events stream with the fields grpEvent reads.
const eventsWithData = `subscription { events { ` + grpEventFields + ` } }`

// idKey reports whether a key of event data names an id (or a list of ids).
func idKey(k string) bool {
	return k == "id" || strings.HasSuffix(k, "Id") || strings.HasSuffix(k, "Ids")
}

// collect reads events of field until one of kind last arrives, and returns
// them all by kind.
func collect(c *apptest.Conn, field, last string) map[string][]grpEvent {
	c.T.Helper()
	got := map[string][]grpEvent{}
	for {
		ev, typ := nextOf(c, field)
		require.Equal(c.T, "next", typ, "stream ended while waiting for %s after %v", last, got)
		got[ev.Kind] = append(got[ev.Kind], ev)
		if ev.Kind == last {
			return got
		}
	}
}

// TestEventDataIDs: every id in a live event's data is a global id string,
// the one node(id:) accepts and the nodes' ids are, never a number, on
// every kind that carries one: friends, conversation members, receipts,
// deletions, group roles, typing, rooms and groups going away.
func TestEventDataIDs(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		bws := k.MustDial(bob.Token)
		bws.Subscribe("e", eventsWithData, nil)
		k.WaitSubscriptions(1)

		g := k.group(ann, "approval", bob)
		m := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "hello"})
		k.OK(bob.Token, `mutation($c: ID!) { markRead(conversationId: $c) { readSeq } }`, map[string]any{"c": g.ConversationID}, nil)
		k.OK(ann.Token, `mutation($m: ID!) { deleteMessage(id: $m, forEveryone: true) }`, map[string]any{"m": m.ID}, nil)
		k.OK(ann.Token, grpManager, map[string]any{"g": g.ID, "u": bob.ID, "m": true}, nil)
		k.OK(ann.Token, `mutation($c: ID!) { typing(conversationId: $c) }`, map[string]any{"c": g.ConversationID}, nil)
		r := k.room(ann, "lobby", "")
		k.OK(bob.Token, rmJoin, roomVars(r), nil)
		k.OK(ann.Token, rmDelete, roomVars(r), nil)
		k.OK(ann.Token, grpDissolve, map[string]any{"g": g.ID}, nil)
		k.befriend(cat, bob)
		k.OK(cat.Token, `mutation($u: ID!) { deleteFriend(userId: $u) }`, map[string]any{"u": bob.ID}, nil)
		got := collect(bws, "events", "friend.deleted")

		// Each kind names what it should; the ids are those of the nodes.
		want := map[string]map[string]string{
			"member.joined":        {"userId": ""},
			"conversation.read":    {"userId": bob.ID},
			"message.deleted":      {"conversationId": g.ConversationID},
			"group_member.updated": {"userId": bob.ID},
			"typing":               {"userId": ann.ID},
			"room.deleted":         {"roomId": r.ID},
			"group.deleted":        {"groupId": g.ID},
			"friend.added":         {"userId": cat.ID},
			"friend.deleted":       {"userId": cat.ID},
		}
		users := map[string]bool{ann.ID: true, bob.ID: true, cat.ID: true}
		for kind, keys := range want {
			require.NotEmpty(t, got[kind], "no %s among %v", kind, got)
			for key, id := range keys {
				found := false
				for _, ev := range got[kind] {
					v, ok := ev.Data[key]
					if !ok {
						continue
					}
					s, isString := v.(string)
					require.True(t, isString, "%s data %s is %T %v, not an id string", kind, key, v, v)
					if id == "" {
						require.True(t, users[s], "%s data %s = %q", kind, key, s)
					} else if s == id {
						found = true
					}
				}
				require.True(t, found || id == "", "%s: no data %s = %s in %+v", kind, key, id, got[kind])
			}
		}
		// Whatever the kind, an id-like key holds a string.
		for kind, evs := range got {
			for _, ev := range evs {
				for key, v := range ev.Data {
					if !idKey(key) {
						continue
					}
					if list, ok := v.([]any); ok {
						for _, x := range list {
							require.IsType(t, "", x, "%s data %s", kind, key)
						}
						continue
					}
					require.IsType(t, "", v, "%s data %s", kind, key)
				}
			}
		}
		// A user id of the data is a node id.
		var out struct{ Node struct{ Username string } }
		k.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on User { username } } }`,
			map[string]any{"id": got["friend.deleted"][0].Data["userId"]}, &out)
		require.Equal(t, "cat", out.Node.Username)
	})
}
