package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/files/filestest"
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
