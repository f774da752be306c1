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
		// friend.added is read before the friendship ends: a stream presents
		// an event with its node as it is then, and skips one whose node is gone.
		got := collect(bws, "events", "FRIEND_ADDED")
		k.OK(cat.Token, `mutation($u: ID!) { deleteFriend(userId: $u) }`, map[string]any{"u": bob.ID}, nil)
		for kind, evs := range collect(bws, "events", "FRIEND_DELETED") {
			got[kind] = append(got[kind], evs...)
		}

		// Each kind names what it should; the ids are those of the nodes.
		want := map[string]map[string]string{
			"MEMBER_JOINED":        {"userId": ""},
			"CONVERSATION_READ":    {"userId": bob.ID},
			"MESSAGE_DELETED":      {"conversationId": g.ConversationID},
			"GROUP_MEMBER_UPDATED": {"userId": bob.ID},
			"TYPING":               {"userId": ann.ID},
			"ROOM_DELETED":         {"roomId": r.ID},
			"GROUP_DELETED":        {"groupId": g.ID},
			"FRIEND_ADDED":         {"userId": cat.ID},
			"FRIEND_DELETED":       {"userId": cat.ID},
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
			map[string]any{"id": got["FRIEND_DELETED"][0].Data["userId"]}, &out)
		require.Equal(t, "cat", out.Node.Username)
	})
}

// TestDeletionsCarrySubject: every deletion event (kinds ending in .deleted)
// arrives with the id of what went as its subjectId and no node, whatever
// deleted it: messages, friendships (by either side or by a deleted
// account), notices, groups, rooms, and everything of a project. (user.deleted goes
// to the deleted user's own topic only, whose streams his sessions' end
// closes first.)
func TestDeletionsCarrySubject(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		dave := k.Register("dave", nil)
		applied := k.apply(dave, bob, "hi")
		k.OK(bob.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`, map[string]any{"id": applied.ID}, nil)
		k.befriend(cat, bob)
		bws := k.MustDial(bob.Token)
		bws.Subscribe("e", eventsWithData, nil)
		k.WaitSubscriptions(1)

		// want is the subject each deletion must name, by kind.
		want := map[string][]string{}
		g := k.group(ann, "approval", bob)
		m := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "for everyone"})
		k.OK(ann.Token, `mutation($m: ID!) { deleteMessage(id: $m, forEveryone: true) }`, map[string]any{"m": m.ID}, nil)
		mine := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "for bob"})
		k.OK(bob.Token, `mutation($m: ID!) { deleteMessage(id: $m) }`, map[string]any{"m": mine.ID}, nil)
		want["MESSAGE_DELETED"] = []string{m.ID, mine.ID}
		r := k.room(ann, "lobby", "")
		k.OK(bob.Token, rmJoin, roomVars(r), nil)
		k.OK(ann.Token, rmDelete, roomVars(r), nil)
		want["ROOM_DELETED"] = []string{r.ID}
		k.OK(ann.Token, grpDissolve, map[string]any{"g": g.ID}, nil)
		want["GROUP_DELETED"] = []string{g.ID}
		k.OK(bob.Token, `mutation($u: ID!) { deleteFriend(userId: $u) }`, map[string]any{"u": cat.ID}, nil)
		k.OK(dave.Token, `mutation { deleteAccount(password: "password1") }`, nil, nil)
		want["FRIEND_DELETED"] = []string{cat.ID, dave.ID}
		want["NOTICE_DELETED"] = []string{applied.ID} // what dave sent bob goes with him
		got := collect(bws, "events", "NOTICE_DELETED")

		// A project's deletions, on a member's projectChanges.
		a := annKit{k.server}
		p := a.project(ann, "KG")
		a.join(ann, p, bob, "annotator")
		a.join(ann, p, cat, "viewer")
		pws := k.MustDial(bob.Token)
		pws.Subscribe("p", annChanges, map[string]any{"p": p})
		k.WaitSubscriptions(1)
		doc := a.text(ann, p, "doc", "张三和李四")
		zhang, li := a.entity(ann, p, "张三", ""), a.entity(ann, p, "李四", "")
		knows := a.relationType(ann, p, "knows", nil, nil, false)
		rel := a.relation(ann, knows, zhang, li)
		mention := a.id(ann.Token, annAddMention, map[string]any{"t": doc, "e": li, "start": 3, "end": 5})
		a.id(ann.Token, annDeleteMention, map[string]any{"id": mention})
		a.id(ann.Token, annDeleteRelation, map[string]any{"id": rel})
		a.id(ann.Token, annDeleteType, map[string]any{"id": knows})
		a.id(ann.Token, annDeleteEntity, map[string]any{"id": zhang})
		a.id(ann.Token, annDeleteText, map[string]any{"id": doc})
		a.id(ann.Token, annRemoveMember, map[string]any{"p": p, "u": cat.ID})
		a.id(ann.Token, annDeleteProject, map[string]any{"id": p})
		want["MENTION_DELETED"] = []string{mention}
		want["RELATION_DELETED"] = []string{rel}
		want["RELATION_TYPE_DELETED"] = []string{knows}
		want["ENTITY_DELETED"] = []string{zhang}
		want["TEXT_DELETED"] = []string{doc}
		want["PROJECT_DELETED"] = []string{p}
		for {
			ev, typ := a.change(pws)
			require.Equal(t, "next", typ)
			if strings.HasSuffix(ev.Kind, "_DELETED") {
				require.Nil(t, ev.Node, "%s has no node", ev.Kind)
				require.NotNil(t, ev.SubjectID, "%s carries its subject", ev.Kind)
				got[ev.Kind] = append(got[ev.Kind], grpEvent{Kind: ev.Kind, SubjectID: ev.SubjectID})
			}
			if ev.Kind == "PROJECT_DELETED" {
				break
			}
		}
		require.Len(t, got["PROJECT_MEMBER_DELETED"], 1)

		for kind, evs := range got {
			if !strings.HasSuffix(kind, "_DELETED") {
				continue
			}
			for _, ev := range evs {
				require.NotNil(t, ev.SubjectID, "%s carries its subject: %+v", kind, ev)
				require.Nil(t, ev.Node, "%s has no node", kind)
			}
		}
		for kind, ids := range want {
			var subjects []string
			for _, ev := range got[kind] {
				subjects = append(subjects, *ev.SubjectID)
			}
			require.Subset(t, subjects, ids, kind)
		}
	})
}
