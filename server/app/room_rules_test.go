package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/viewer"
)

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
