package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

const rmFields = `id name detail avatar url onlineCount memberCount joined conversationId createdAt owner { username }`

// roomView is a room as the tests select it.
type roomView struct {
	ID, Name, Detail, Avatar, URL, ConversationID string
	OnlineCount, MemberCount                      int
	Joined                                        bool
	CreatedAt                                     time.Time
	Owner                                         struct{ Username string }
}

const (
	rmCreate = `mutation($in: CreateRoomInput!) { createRoom(input: $in) { ` + rmFields + ` } }`
	rmUpdate = `mutation($r: ID!, $in: UpdateRoomInput!) { updateRoom(id: $r, input: $in) { ` + rmFields + ` } }`
	rmDelete = `mutation($r: ID!) { deleteRoom(id: $r) }`
	rmJoin   = `mutation($r: ID!) { joinRoom(id: $r) { ` + rmFields + ` } }`
	rmLeave  = `mutation($r: ID!) { leaveRoom(id: $r) { ` + rmFields + ` } }`
	rmEvents = `subscription($r: ID!, $after: String) { roomEvents(roomId: $r, after: $after) { ` + grpEventFields + ` } }`
)

func (k grpKit) room(owner account, name, detail string) roomView {
	k.T.Helper()
	var out struct{ CreateRoom roomView }
	k.OK(owner.Token, rmCreate, map[string]any{"in": map[string]any{"name": name, "detail": detail}}, &out)
	return out.CreateRoom
}

// roomInfo reads a room by id as token (empty: anonymously).
func (k grpKit) roomInfo(token, id string) *roomView {
	k.T.Helper()
	var out struct{ Room *roomView }
	k.OK(token, `query($r: ID) { room(id: $r) { `+rmFields+` } }`, map[string]any{"r": id}, &out)
	return out.Room
}

// online waits until a's presence reads online.
func (k grpKit) online(a account) {
	k.T.Helper()
	require.Eventually(k.T, func() bool {
		var out struct{ Node struct{ Online bool } }
		k.OK(a.Token, `query($id: ID!) { node(id: $id) { ... on User { online } } }`, map[string]any{"id": a.ID}, &out)
		return out.Node.Online
	}, 5*time.Second, 10*time.Millisecond)
}

// roomVars are the variables of an operation on room r ($r) and kv.
func roomVars(r roomView, kv ...any) map[string]any {
	return apptest.Vars(append([]any{"r", r.ID}, kv...)...)
}

// TestRoomCreateAndModify: any signed-in user creates a room with a
// unique name; its info is public; only its owner modifies it
// and sets its avatar.
func TestRoomCreateAndModify(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob := k.Register("ann", nil), k.Register("bob", nil)

		r := k.room(ann, " testroom ", "哈哈哈")
		require.Equal(t, "testroom", r.Name)
		require.Equal(t, "哈哈哈", r.Detail)
		require.Equal(t, "/rooms/"+r.ID, r.URL)
		require.Equal(t, "ann", r.Owner.Username)
		require.True(t, r.Joined, "the creator is in his room")
		require.Equal(t, 1, r.MemberCount)

		// Public info, by id or by name.
		info := k.roomInfo("", r.ID)
		require.Equal(t, "testroom", info.Name)
		require.False(t, info.Joined)
		var byName struct{ Room *struct{ ID string } }
		k.OK("", `{ room(name: "TESTROOM") { id } }`, nil, &byName)
		require.Equal(t, r.ID, byName.Room.ID)
		k.OK("", `{ room(name: "nothing") { id } }`, nil, &byName)
		require.Nil(t, byName.Room)
		k.Fails("", `{ room { id } }`, nil, "BAD_USER_INPUT", "ROOM_REQUIRED")
		k.Fails("", `query($r: ID) { room(id: $r, name: "x") { id } }`, map[string]any{"r": r.ID}, "BAD_USER_INPUT", "ROOM_REQUIRED")
		require.Nil(t, k.roomInfo("", "999999"))

		// The name is unique, whatever its case; a long Chinese name fits.
		k.room(bob, "second", "")
		k.room(bob, strings.Repeat("房", 64), "")
		k.refuse(t, rmCreate, []refusal{
			{"taken", bob, input(map[string]any{"name": "TestRoom"}), "CONFLICT", "ROOM_NAME_TAKEN", "input.name"},
			{"blank", bob, input(map[string]any{"name": "  "}), "BAD_USER_INPUT", "REQUIRED", "input.name"},
			{"too long", bob, input(map[string]any{"name": strings.Repeat("房", 65)}), "BAD_USER_INPUT", "TOO_LONG", "input.name"},
			{"control characters", bob, input(map[string]any{"name": "a\tb"}), "BAD_USER_INPUT", "INVALID", "input.name"},
			{"detail too long", bob, input(map[string]any{"name": "ok", "detail": strings.Repeat("x", 1025)}), "BAD_USER_INPUT", "TOO_LONG", "input.detail"},
			{"bad avatar", bob, input(map[string]any{"name": "ok", "avatarFileId": "4294967999"}), "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
			{"anonymous", account{}, input(map[string]any{"name": "ok"}), "UNAUTHENTICATED", "SIGN_IN_REQUIRED", ""},
		})

		// The owner modifies his room; the avatar is an upload of his.
		avatar := k.upload(ann.Token, "avatar", "ROOM_PNG", filestest.PNG(16, 16))
		var up struct{ UpdateRoom roomView }
		k.OK(ann.Token, rmUpdate, roomVars(r, "in", map[string]any{"name": "TestRoom", "detail": "new", "avatarFileId": avatar.ID}), &up)
		require.Equal(t, "TestRoom", up.UpdateRoom.Name)
		require.Equal(t, "new", up.UpdateRoom.Detail)
		require.Equal(t, avatar.URL, up.UpdateRoom.Avatar)
		res, body := k.Get(up.UpdateRoom.Avatar, "", nil)
		require.Equal(t, 200, res.StatusCode, string(body))
		require.Equal(t, "image/png", res.Header.Get("Content-Type"))
		k.OK(ann.Token, rmUpdate, roomVars(r, "in", map[string]any{"clearAvatar": true}), &up)
		require.Equal(t, "", up.UpdateRoom.Avatar)

		k.refuse(t, rmUpdate, []refusal{
			{"not the owner", bob, roomVars(r, "in", map[string]any{"detail": "mine"}), "FORBIDDEN", "NOT_ROOM_OWNER", ""},
			{"anonymous", account{}, roomVars(r, "in", map[string]any{"detail": "mine"}), "UNAUTHENTICATED", "SIGN_IN_REQUIRED", ""},
			{"taken name", ann, roomVars(r, "in", map[string]any{"name": "SECOND"}), "CONFLICT", "ROOM_NAME_TAKEN", "input.name"},
			{"blank name", ann, roomVars(r, "in", map[string]any{"name": ""}), "BAD_USER_INPUT", "REQUIRED", "input.name"},
			{"someone else's avatar", ann, roomVars(r, "in", map[string]any{"avatarFileId": k.upload(bob.Token, "avatar", "b.png", filestest.PNG(7, 7)).ID}), "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
			{"avatar and clear", ann, roomVars(r, "in", map[string]any{"avatarFileId": avatar.ID, "clearAvatar": true}), "BAD_USER_INPUT", "INVALID", "input.clearAvatar"},
		})
		k.Fails(ann.Token, rmUpdate, map[string]any{"r": "999999", "in": map[string]any{"detail": "x"}}, "NOT_FOUND", "NOT_FOUND")
		k.Fails(bob.Token, rmDelete, roomVars(r), "FORBIDDEN", "NOT_ROOM_OWNER")
		require.Equal(t, "TestRoom", k.roomInfo("", r.ID).Name)

		// Listing, with a filter.
		var list struct {
			Rooms struct {
				TotalCount int
				Edges      []struct{ Node struct{ Name string } }
			}
		}
		k.OK("", `{ rooms(first: 10) { totalCount edges { node { name } } } }`, nil, &list)
		require.Equal(t, 3, list.Rooms.TotalCount)
		k.OK("", `{ rooms(query: "SEC", first: 10) { totalCount edges { node { name } } } }`, nil, &list)
		require.Equal(t, 1, list.Rooms.TotalCount)
		require.Equal(t, "second", list.Rooms.Edges[0].Node.Name)
	})
}

// TestRoomEvents: watchers see joins and leaves with the online count, and
// messages; members post, others are refused; the history pages
// with senders.
func TestRoomEvents(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.Register("ann", nil), k.Register("bob", map[string]any{"nickname": "Bob"}), k.Register("cat", nil)
		r := k.room(ann, "lobby", "")

		// Ann watches her room; her connection makes her online.
		aws := k.MustDial(ann.Token)
		aws.Subscribe("r", rmEvents, roomVars(r))
		k.WaitSubscriptions(1)
		k.online(ann)
		require.Equal(t, 1, k.roomInfo("", r.ID).OnlineCount)

		// Bob, online, joins; cat, offline, joins.
		bws := k.MustDial(bob.Token)
		k.online(bob)
		var joined struct{ JoinRoom roomView }
		k.OK(bob.Token, rmJoin, roomVars(r), &joined)
		require.True(t, joined.JoinRoom.Joined)
		require.Equal(t, 2, joined.JoinRoom.MemberCount)
		ev, skipped := until(aws, "roomEvents", "ROOM_JOINED")
		for _, kind := range skipped {
			require.Equal(t, "ROOM_ONLINE", kind, "ann's own connection at most")
		}
		require.Equal(t, "bob", ev.Node.Username)
		require.Equal(t, "in", ev.Data["action"])
		require.EqualValues(t, 2, ev.Data["onlineCount"])
		require.EqualValues(t, 2, ev.Data["memberCount"])
		k.OK(cat.Token, rmJoin, roomVars(r), nil)
		ev, _ = until(aws, "roomEvents", "ROOM_JOINED")
		require.Equal(t, "cat", ev.Node.Username)
		require.EqualValues(t, 2, ev.Data["onlineCount"], "cat is not connected")
		require.EqualValues(t, 3, ev.Data["memberCount"])
		k.OK(cat.Token, rmJoin, roomVars(r), nil) // a visit: no event (TestRoomJoinAgainIsAVisit)
		k.Fails(cat.Token, rmJoin, map[string]any{"r": "999999"}, "NOT_FOUND", "NOT_FOUND")
		k.Fails("", rmJoin, roomVars(r), "UNAUTHENTICATED", "SIGN_IN_REQUIRED")

		// Messages reach watchers; outsiders may watch and read, not post.
		dan := k.Register("dan", nil)
		res := k.Do(dan.Token, `mutation($in: SendInput!) { send(input: $in) { id } }`, map[string]any{"in": map[string]any{"roomId": r.ID, "text": "hi"}})
		require.Equal(t, "FORBIDDEN", res.Code())
		require.Equal(t, "NOT_A_MEMBER", res.Reason())
		for _, text := range []string{"666", "hello"} {
			res := k.Do(bob.Token, `mutation($in: SendInput!) { send(input: $in) { id } }`, map[string]any{"in": map[string]any{"roomId": r.ID, "text": text}})
			require.Empty(t, res.Errors)
			ev, _ := until(aws, "roomEvents", "MESSAGE_CREATED")
			require.Equal(t, text, ev.Node.Text)
		}

		// The history: sender and time, with the online count.
		var hist struct {
			Room struct {
				OnlineCount int
				Messages    struct {
					Edges []struct {
						Node struct {
							Text      string
							CreatedAt time.Time
							Sender    struct{ Username, Avatar string }
						}
					}
				}
			}
		}
		k.OK(dan.Token, `query($r: ID) { room(id: $r) { onlineCount messages(last: 10) { edges { node { text createdAt sender { username avatar } } } } } }`, roomVars(r), &hist)
		require.Equal(t, 2, hist.Room.OnlineCount)
		require.Len(t, hist.Room.Messages.Edges, 2)
		require.Equal(t, "666", hist.Room.Messages.Edges[0].Node.Text)
		require.Equal(t, "bob", hist.Room.Messages.Edges[0].Node.Sender.Username)
		var viaConv struct {
			Messages struct{ TotalCount int }
		}
		k.OK(dan.Token, `query($c: ID!) { messages(conversationId: $c, last: 10) { totalCount } }`, map[string]any{"c": r.ConversationID}, &viaConv)
		require.Equal(t, 2, viaConv.Messages.TotalCount)
		res = k.Do("", `query($r: ID) { room(id: $r) { messages(last: 10) { totalCount } } }`, roomVars(r))
		require.Equal(t, "UNAUTHENTICATED", res.Code())

		// Bob goes offline: watchers are told, and the count follows on the
		// next read.
		bws.Close()
		ev = untilOnline(t, aws, r, 1)
		require.EqualValues(t, 3, ev.Data["memberCount"])
		require.Equal(t, 1, k.roomInfo("", r.ID).OnlineCount)

		// Leaving: the event carries the new counts; leaving twice is refused.
		var left struct{ LeaveRoom roomView }
		k.OK(cat.Token, rmLeave, roomVars(r), &left)
		require.False(t, left.LeaveRoom.Joined)
		ev, _ = until(aws, "roomEvents", "ROOM_LEFT")
		require.Equal(t, "cat", ev.Node.Username)
		require.Equal(t, "out", ev.Data["action"])
		require.EqualValues(t, 1, ev.Data["onlineCount"])
		require.EqualValues(t, 2, ev.Data["memberCount"])
		k.Fails(cat.Token, rmLeave, roomVars(r), "FORBIDDEN", "NOT_ROOM_MEMBER")

		// A renamed room tells its watchers.
		k.OK(ann.Token, rmUpdate, roomVars(r, "in", map[string]any{"name": "Lobby 2"}), nil)
		ev, _ = until(aws, "roomEvents", "ROOM_UPDATED")
		require.Equal(t, "Lobby 2", ev.Node.Name)

		// Resume from a cursor replays what was missed.
		cursor := ev.Cursor
		k.OK(cat.Token, rmJoin, roomVars(r), nil)
		again := k.MustDial(ann.Token)
		again.Subscribe("r", rmEvents, roomVars(r, "after", cursor))
		ev, _ = until(again, "roomEvents", "ROOM_JOINED")
		require.Equal(t, "cat", ev.Node.Username)

		// Watching needs sign-in and an existing room.
		anon, err := k.Dial(apptest.TransportWS, map[string]any{})
		require.NoError(t, err)
		anon.Subscribe("r", rmEvents, roomVars(r))
		require.Equal(t, "UNAUTHENTICATED", anon.ErrorCode())
		none := k.MustDial(dan.Token)
		none.Subscribe("r", rmEvents, map[string]any{"r": "999999"})
		require.Equal(t, "NOT_FOUND", none.ErrorCode())
	})
}

// TestRoomDelete: only the owner deletes a room; watchers get
// room.deleted and their stream ends; its messages and
// memberships are gone.
func TestRoomDelete(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.Register("ann", nil), k.Register("bob", nil), k.Register("cat", nil)
		r := k.room(ann, "doomed", "")
		k.OK(bob.Token, rmJoin, roomVars(r), nil)
		res := k.Do(bob.Token, `mutation($in: SendInput!) { send(input: $in) { id } }`, map[string]any{"in": map[string]any{"roomId": r.ID, "text": "bye"}})
		require.Empty(t, res.Errors)

		watcher := k.MustDial(cat.Token) // not a member: watching only
		watcher.Subscribe("r", rmEvents, roomVars(r))
		member := k.MustDial(bob.Token)
		member.Subscribe("e", `subscription { events { `+grpEventFields+` } }`, nil)
		k.WaitSubscriptions(2)

		k.Fails(bob.Token, rmDelete, roomVars(r), "FORBIDDEN", "NOT_ROOM_OWNER")
		var out struct{ DeleteRoom string }
		k.OK(ann.Token, rmDelete, roomVars(r), &out)
		require.Equal(t, r.ID, out.DeleteRoom)

		ev, skipped := until(watcher, "roomEvents", "ROOM_DELETED")
		for _, kind := range skipped {
			require.Equal(t, "ROOM_ONLINE", kind, "bob's connection at most")
		}
		require.Equal(t, r.ID, *ev.SubjectID)
		require.Equal(t, "close", ev.Data["action"])
		require.Equal(t, "doomed", ev.Data["name"])
		_, typ := nextOf(watcher, "roomEvents")
		require.Equal(t, "complete", typ, "the stream ends after room.deleted")
		ev, _ = until(member, "events", "ROOM_DELETED")
		require.Equal(t, r.ID, *ev.SubjectID)

		require.Nil(t, k.roomInfo("", r.ID))
		res = k.Do(bob.Token, `query($c: ID!) { messages(conversationId: $c, last: 5) { totalCount } }`, map[string]any{"c": r.ConversationID})
		require.Equal(t, "NOT_FOUND", res.Code())
		sys := viewer.SystemContext(context.Background())
		n, err := k.App.Client.Message.Query().Count(sys)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = k.App.Client.ConversationMember.Query().Count(sys)
		require.NoError(t, err)
		require.Zero(t, n)
		k.Fails(ann.Token, rmDelete, roomVars(r), "NOT_FOUND", "NOT_FOUND")
		// The name is free again.
		k.room(bob, "doomed", "")
	})
}

// TestRoomJoinAgainIsAVisit: joining a room one is in already answers the
// room, as a visit: no second membership, no second room.joined or
// member.joined, the counts unchanged.
func TestRoomJoinAgainIsAVisit(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, cat, dan := k.Register("ann", nil), k.Register("cat", nil), k.Register("dan", nil)
		r := k.room(ann, "lobby", "")

		// Dan, not a member, watches; ann and cat never connect, so no
		// online count changes interleave.
		watcher := k.MustDial(dan.Token)
		watcher.Subscribe("r", rmEvents, roomVars(r))
		k.WaitSubscriptions(1)

		var first, again struct{ JoinRoom roomView }
		k.OK(cat.Token, rmJoin, roomVars(r), &first)
		require.True(t, first.JoinRoom.Joined)
		require.Equal(t, 2, first.JoinRoom.MemberCount)
		k.OK(cat.Token, rmJoin, roomVars(r), &again)
		require.Equal(t, first.JoinRoom.ID, again.JoinRoom.ID)
		require.True(t, again.JoinRoom.Joined)
		require.Equal(t, 2, again.JoinRoom.MemberCount, "no second membership")
		k.OK(ann.Token, rmJoin, roomVars(r), &again) // the owner visits his own room
		require.Equal(t, 2, again.JoinRoom.MemberCount)

		// The next event after cat's join is the rename: the visits said nothing.
		k.OK(ann.Token, rmUpdate, roomVars(r, "in", map[string]any{"detail": "after the visits"}), nil)
		ev, skipped := until(watcher, "roomEvents", "ROOM_JOINED")
		require.Empty(t, skipped)
		require.Equal(t, "cat", ev.Node.Username)
		ev, skipped = until(watcher, "roomEvents", "ROOM_UPDATED")
		require.Empty(t, skipped, "a visit appends no event")

		sys := viewer.SystemContext(context.Background())
		rows, err := k.App.Client.ConversationMember.Query().Where(
			conversationmember.ConversationID(intID(r.ConversationID)), conversationmember.UserID(intID(cat.ID)),
		).Count(sys)
		require.NoError(t, err)
		require.Equal(t, 1, rows)
		joins, err := k.App.Client.Event.Query().Where(
			event.KindIn("room.joined", "member.joined"), event.TopicIn("room:"+r.ID, "conversation:"+r.ConversationID),
		).Count(sys)
		require.NoError(t, err)
		require.Equal(t, 4, joins, "room.joined and member.joined of ann's create and of cat's first join only")
	})
}

// TestRoomOwnerCannotLeave: the owner of a room cannot leave it
// (OWNER_CANNOT_LEAVE, as for groups): he deletes it instead. He stays a
// member, and nothing is announced.
func TestRoomOwnerCannotLeave(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob := k.Register("ann", nil), k.Register("bob", nil)
		r := k.room(ann, "mine", "")
		k.OK(bob.Token, rmJoin, roomVars(r), nil)

		k.Fails(ann.Token, rmLeave, roomVars(r), "FORBIDDEN", "OWNER_CANNOT_LEAVE")
		mine := k.roomInfo(ann.Token, r.ID)
		require.True(t, mine.Joined, "the owner is still in his room")
		require.Equal(t, 2, mine.MemberCount)
		n, err := k.App.Client.Event.Query().Where(event.Kind("room.left")).Count(viewer.SystemContext(context.Background()))
		require.NoError(t, err)
		require.Zero(t, n)

		// Others leave as before; the owner deletes his room.
		k.OK(bob.Token, rmLeave, roomVars(r), nil)
		k.OK(ann.Token, rmDelete, roomVars(r), nil)
		require.Nil(t, k.roomInfo("", r.ID))
	})
}

// TestRoomMessagesNeedSignIn: an anonymous reader of a room gets its card,
// and an error on its messages alone (UNAUTHENTICATED, with the field's
// path), not a null room.
func TestRoomMessagesNeedSignIn(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann := k.Register("ann", nil)
		r := k.room(ann, "lobby", "about the lobby")
		res := k.Do(ann.Token, `mutation($in: SendInput!) { send(input: $in) { id } }`, map[string]any{"in": map[string]any{"roomId": r.ID, "text": "hi"}})
		require.Empty(t, res.Errors)

		res = k.Do("", `query($r: ID) { room(id: $r) { name detail memberCount onlineCount url messages(last: 10) { totalCount } } }`, roomVars(r))
		require.Len(t, res.Errors, 1, "%+v", res.Errors)
		require.Equal(t, "UNAUTHENTICATED", res.Code())
		require.Equal(t, "SIGN_IN_REQUIRED", res.Reason())
		require.Equal(t, []any{"room", "messages"}, res.Errors[0].Path)
		var out struct {
			Room *struct {
				Name, Detail, URL        string
				MemberCount, OnlineCount int
				Messages                 *json.RawMessage
			}
		}
		require.NoError(t, json.Unmarshal(res.Data, &out))
		require.NotNil(t, out.Room, "the room card resolves for anonymous readers")
		require.Equal(t, "lobby", out.Room.Name)
		require.Equal(t, "about the lobby", out.Room.Detail)
		require.Equal(t, 1, out.Room.MemberCount)
		require.Equal(t, "/rooms/"+r.ID, out.Room.URL)
		require.Nil(t, out.Room.Messages)

		// Signed in, the history is there.
		var signed struct {
			Room struct{ Messages struct{ TotalCount int } }
		}
		k.OK(ann.Token, `query($r: ID) { room(id: $r) { messages(last: 10) { totalCount } } }`, roomVars(r), &signed)
		require.Equal(t, 1, signed.Room.Messages.TotalCount)
	})
}

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

// roomCard is the JSON of GET /rooms/{id}.
type roomCard struct {
	ID, Name, Detail, Avatar, URL string
	MemberCount, OnlineCount      int
	Owner                         struct{ ID, Username string }
}

// openLink fetches path as a browser would (accept text/html) or as a
// script, without following redirects, and returns the response and body.
func openLink(t *testing.T, s *apptest.Server, path string, browser bool) (*http.Response, []byte) {
	t.Helper()
	c := s.Client
	c.HTTP = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(context.Background(), "GET", s.URL+path, nil)
	require.NoError(t, err)
	if browser {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	res, body, err := c.Exchange(req)
	require.NoError(t, err)
	return res, body
}

// missingRoom checks a 404 JSON answer of GET /rooms/{id}.
func missingRoom(t *testing.T, res *http.Response, body []byte) {
	t.Helper()
	require.Equal(t, http.StatusNotFound, res.StatusCode, "%s", body)
	require.Contains(t, res.Header.Get("Content-Type"), "application/json")
	var out apptest.Response
	require.NoError(t, json.Unmarshal(body, &out), "%s", body)
	require.Equal(t, "NOT_FOUND", out.Code())
}

// TestRoomLink: the room's url opens: GET /rooms/{id} answers its public
// card as JSON (what an anonymous reader sees, nothing else), 404 JSON for
// a room that does not exist or was deleted; with a web app configured, a
// browser is redirected to the app's room page instead.
func TestRoomLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		k := newGrpKit(t, b)
		ann, bob := k.Register("ann", nil), k.Register("bob", nil)
		r := k.room(ann, "lobby", "all welcome")
		k.OK(bob.Token, rmJoin, roomVars(r), nil)

		res, body := openLink(t, k.Server, r.URL, false)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
		require.Contains(t, res.Header.Get("Content-Type"), "application/json")
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(body, &fields))
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		require.Equal(t, []string{"avatar", "createdAt", "detail", "id", "memberCount", "name", "onlineCount", "owner", "url"}, keys,
			"the public card: no conversation, no viewer's state")
		var card roomCard
		require.NoError(t, json.Unmarshal(body, &card))
		require.Equal(t, roomCard{
			ID: r.ID, Name: "lobby", Detail: "all welcome", URL: r.URL, MemberCount: 2,
			Owner: struct{ ID, Username string }{ann.ID, "ann"},
		}, card)
		var owner map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(fields["owner"], &owner))
		require.Len(t, owner, 2, "the owner's id and username only")

		// The online count is live.
		k.MustDial(bob.Token)
		k.online(bob)
		_, body = openLink(t, k.Server, r.URL, false)
		require.NoError(t, json.Unmarshal(body, &card))
		require.Equal(t, 1, card.OnlineCount)

		// Without a web app there is nothing to redirect to: browsers get
		// the card too.
		res, _ = openLink(t, k.Server, r.URL, true)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, res.Header.Get("Content-Type"), "application/json")

		for _, path := range []string{"/rooms/999999", "/rooms/abc", "/rooms/" + ann.ID} {
			res, body := openLink(t, k.Server, path, false)
			missingRoom(t, res, body)
		}
		k.OK(ann.Token, rmDelete, roomVars(r), nil)
		res, body = openLink(t, k.Server, r.URL, false)
		missingRoom(t, res, body)

		// With a web app, a browser goes to its room page; scripts still
		// get JSON, and a missing room is a 404 either way.
		web := newServer(t, b, func(c *app.Config) { c.WebAppURL = "https://chat.example.com/app/" })
		host := web.Register("ann", nil)
		var out struct{ CreateRoom roomView }
		web.OK(host.Token, rmCreate, map[string]any{"in": map[string]any{"name": "hall"}}, &out)
		hall := out.CreateRoom
		res, body = openLink(t, web.Server, hall.URL, true)
		require.Equal(t, http.StatusFound, res.StatusCode, "%s", body)
		require.Equal(t, "https://chat.example.com/app/rooms/"+hall.ID, res.Header.Get("Location"))
		require.Contains(t, res.Header.Values("Vary"), "Accept")
		res, body = openLink(t, web.Server, hall.URL, false)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.NoError(t, json.Unmarshal(body, &card))
		require.Equal(t, "hall", card.Name)
		res, body = openLink(t, web.Server, "/rooms/999999", true)
		missingRoom(t, res, body)
	})
}

// TestRoomLinkSetting: the web app's URL must be an absolute http or https
// URL without query or fragment, or the server does not start.
func TestRoomLinkSetting(t *testing.T) {
	for _, bad := range []string{"chat.example.com", "ftp://chat.example.com", "https://", "https://chat.example.com/?a=1", "https://chat.example.com/#x"} {
		cfg := apptest.Config(t, "")
		cfg.WebAppURL = bad
		_, err := app.New(context.Background(), cfg, apptest.Logger())
		require.ErrorContains(t, err, "PARLEY_WEB_APP_URL", bad)
	}
}
