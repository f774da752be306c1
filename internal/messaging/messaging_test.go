package messaging_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/messaging/chattest"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// TestSendNumbering: messages of a conversation are numbered 1, 2, 3…; a
// retry with the same client id, even many at once, returns the first
// send's message and leaves no gap.
func TestSendNumbering(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		ann, bob := e.User(t, "ann"), e.User(t, "bob")
		e.People.Befriend(ann, bob)
		first := e.Send(t, ann, messaging.Request{To: bob, Text: "one", ClientID: "c1"})
		again := e.Send(t, ann, messaging.Request{To: bob, Text: "one", ClientID: "c1"})
		require.Equal(t, first.ID, again.ID, "a retry returns the message already sent")
		var wg sync.WaitGroup
		ids := make([]int, 6)
		errs := make([]error, 6)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = e.In(bob, func(ctx context.Context) error {
					m, err := e.Messaging.Send(ctx, messaging.Request{To: ann, Text: "two", ClientID: "c2"})
					if m != nil {
						ids[i] = m.ID
					}
					return err
				})
			}()
		}
		wg.Wait()
		for i := range ids {
			require.NoError(t, errs[i])
			require.Equal(t, ids[0], ids[i], "concurrent retries make one message")
		}
		e.Send(t, ann, messaging.Request{To: bob, Text: "three"})
		require.Equal(t, []int64{1, 2, 3}, e.History(t, bob, first.ConversationID), "no gap, no duplicate")

		_, err := e.Messaging.Send(chattest.As(0), messaging.Request{To: bob, Text: "x"})
		chattest.Refused(t, apperr.ReasonSignInRequired, err)
		chattest.Refused(t, apperr.ReasonInvalid, e.In(ann, func(ctx context.Context) error {
			_, err := e.Messaging.Send(ctx, messaging.Request{To: ann, Text: "me"})
			return err
		}), "no message to oneself")
		chattest.Refused(t, messaging.ReasonTargetRequired, e.In(ann, func(ctx context.Context) error {
			_, err := e.Messaging.Send(ctx, messaging.Request{To: bob, GroupID: 1, Text: "x"})
			return err
		}))
	})
}

// TestRevokeAndDelete: the sender revokes within the window, a group's
// managers at any time; delete for me hides a message from me only, delete
// for everyone takes it out of every history, and the list's last message
// falls back to the one before.
func TestRevokeAndDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		e := chattest.New(t, b, messaging.Options{RevokeWindow: time.Hour})
		owner, mem := e.User(t, "owner"), e.User(t, "mem")
		g := e.Group(t, owner, group.CreateInput{MemberIDs: []int{mem}})
		fresh := e.Send(t, mem, messaging.Request{GroupID: g.ID, Text: "fresh"})
		revoke := func(e *chattest.Env, uid int, m *ent.Message) error {
			return e.In(uid, func(ctx context.Context) error { _, err := e.Messaging.Revoke(ctx, m.ID); return err })
		}
		require.NoError(t, revoke(e, mem, fresh))

		// A window that is over as soon as a message is sent.
		closed := chattest.New(t, b, messaging.Options{RevokeWindow: time.Nanosecond})
		closedOwner, closedMem := closed.User(t, "owner"), closed.User(t, "mem")
		closedGroup := closed.Group(t, closedOwner, group.CreateInput{MemberIDs: []int{closedMem}})
		old := closed.Send(t, closedMem, messaging.Request{GroupID: closedGroup.ID, Text: "old"})
		chattest.Refused(t, messaging.ReasonRevokeWindow, revoke(closed, closedMem, old), "past the window")
		require.NoError(t, revoke(closed, closedOwner, old), "the group's owner revokes at any time")
		ownPost := e.Send(t, owner, messaging.Request{GroupID: g.ID, Text: "mine"})
		chattest.Refused(t, messaging.ReasonNotSender, revoke(e, mem, ownPost), "a member revokes only his own")
		revoked, err := e.Client.Message.Get(chattest.As(mem), fresh.ID)
		require.NoError(t, err)
		require.Empty(t, messaging.VisibleParts(revoked))
		require.Equal(t, "[revoked]", messaging.Preview(revoked))

		del := func(uid int, m *ent.Message, everyone bool) error {
			return e.In(uid, func(ctx context.Context) error { return e.Messaging.Delete(ctx, m.ID, everyone) })
		}
		last := e.Send(t, mem, messaging.Request{GroupID: g.ID, Text: "last"})
		require.NoError(t, del(owner, last, false))
		convID := g.ConversationID
		lastMessage := func(uid int) int64 {
			found, err := e.Messaging.LastMessages(chattest.As(uid), []int{convID})
			require.NoError(t, err)
			return found[convID].Seq
		}
		require.Equal(t, ownPost.Seq, lastMessage(owner), "what I deleted for me is not my last message")
		require.Equal(t, last.Seq, lastMessage(mem), "it still is his")
		require.NotContains(t, e.History(t, owner, convID), last.Seq)
		require.Contains(t, e.History(t, mem, convID), last.Seq)

		chattest.Refused(t, messaging.ReasonNotSender, del(mem, ownPost, true))
		require.NoError(t, del(mem, last, true))
		require.NotContains(t, e.History(t, mem, convID), last.Seq, "deleted for everyone leaves every history")
		require.Equal(t, ownPost.Seq, lastMessage(mem))
		chattest.Refused(t, apperr.ReasonNotFound, del(mem, last, true), "it is gone")
	})
}

// TestReadModel: the list, titles, peers, unread counts and receipts as a
// viewer reads them.
func TestReadModel(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		me, friend, stranger, plain := e.User(t, "me"), e.User(t, "friend", "Fred"), e.User(t, "stranger", "Stan"), e.User(t, "plain", "")
		e.People.Befriend(me, friend)
		e.People.Befriend(me, plain)
		e.Must(t, me, func(ctx context.Context) error {
			return ent.FromContext(ctx).Friendship.Create().SetUserID(me).SetFriendID(friend).SetRemark("Freddy").Exec(chattest.System())
		})
		toFriend := e.Send(t, me, messaging.Request{To: friend, Text: "hi"})
		fromStranger := e.Send(t, stranger, messaging.Request{To: me, Text: "hey"})
		e.Send(t, stranger, messaging.Request{To: me, Text: "there"})
		toPlain := e.Send(t, me, messaging.Request{To: plain, Text: "yo"})
		name := "Club"
		g := e.Group(t, me, group.CreateInput{Name: &name, MemberIDs: []int{plain}})

		convs := []int{toFriend.ConversationID, fromStranger.ConversationID, toPlain.ConversationID, g.ConversationID}
		faces, err := e.Messaging.Headings(chattest.As(me), convs)
		require.NoError(t, err)
		require.Equal(t, "Freddy", faces[toFriend.ConversationID].Title, "my remark for a friend")
		require.Equal(t, "Stan", faces[fromStranger.ConversationID].Title, "else his nickname")
		require.Equal(t, "plain", faces[toPlain.ConversationID].Title, "else his username")
		require.Equal(t, "Club", faces[g.ConversationID].Title, "a group's name")

		peers, err := e.Messaging.Peers(chattest.As(me), convs)
		require.NoError(t, err)
		require.Equal(t, friend, peers[toFriend.ConversationID].ID)
		require.NotContains(t, peers, g.ConversationID, "a group has no peer")

		first := 10
		list, err := e.Messaging.List(chattest.As(me), nil, nil, &first, nil, nil)
		require.NoError(t, err)
		require.Len(t, list.Edges, 4)
		require.Equal(t, g.ConversationID, list.Edges[0].Node.ConversationID, "the latest activity first")
		pinned := true
		e.Must(t, me, func(ctx context.Context) error {
			_, err := e.Messaging.UpdateMember(ctx, toFriend.ConversationID, messaging.MemberPatch{Pinned: &pinned})
			return err
		})
		list, err = e.Messaging.List(chattest.As(me), nil, nil, &first, nil, nil)
		require.NoError(t, err)
		require.Equal(t, toFriend.ConversationID, list.Edges[0].Node.ConversationID, "pinned first")

		mine := func(convID int) *ent.ConversationMember {
			m, err := e.Messaging.MyMembership(chattest.As(me), convID)
			require.NoError(t, err)
			return m
		}
		unread := func(convID int) int {
			m := mine(convID)
			counts, err := e.Messaging.UnreadCounts(chattest.As(me), []int{m.ID})
			require.NoError(t, err)
			return counts[m.ID]
		}
		require.Equal(t, 2, unread(fromStranger.ConversationID))
		require.Equal(t, 0, unread(toFriend.ConversationID), "my own messages are read")
		e.Must(t, me, func(ctx context.Context) error {
			_, err := e.Messaging.MarkRead(ctx, fromStranger.ConversationID, 1)
			return err
		})
		require.Equal(t, 1, unread(fromStranger.ConversationID))
		e.Must(t, me, func(ctx context.Context) error {
			_, err := e.Messaging.Clear(ctx, fromStranger.ConversationID)
			return err
		})
		require.Equal(t, 0, unread(fromStranger.ConversationID))
		require.Empty(t, e.History(t, me, fromStranger.ConversationID), "clearing raises my floor")

		receipt := func(uid int, m *ent.Message) (delivered, read *bool) {
			var err error
			delivered, err = e.Messaging.Delivered(chattest.As(uid), m)
			require.NoError(t, err)
			read, err = e.Messaging.Read(chattest.As(uid), m)
			require.NoError(t, err)
			return delivered, read
		}
		delivered, read := receipt(me, toFriend)
		require.False(t, *delivered)
		require.False(t, *read)
		delivered, _ = receipt(friend, toFriend)
		require.Nil(t, delivered, "receipts are the sender's")
		e.Must(t, friend, func(ctx context.Context) error {
			_, err := e.Messaging.MarkDelivered(ctx, toFriend.ConversationID, 1)
			return err
		})
		delivered, read = receipt(me, toFriend)
		require.True(t, *delivered)
		require.False(t, *read)
		e.Must(t, friend, func(ctx context.Context) error {
			_, err := e.Messaging.MarkRead(ctx, toFriend.ConversationID, 0)
			return err
		})
		_, read = receipt(me, toFriend)
		require.True(t, *read)

		direct, err := e.Messaging.DirectWith(chattest.As(me), friend)
		require.NoError(t, err)
		require.Equal(t, toFriend.ConversationID, direct.ID)
		none, err := e.Messaging.DirectWith(chattest.As(friend), stranger)
		require.NoError(t, err)
		require.Nil(t, none)
		_, err = e.Messaging.History(chattest.As(stranger), toFriend.ConversationID, nil, nil, nil, nil)
		chattest.Refused(t, apperr.ReasonNotFound, err, "others' conversations are not found")
		chattest.Refused(t, apperr.ReasonNotFound, e.Messaging.Watching(chattest.As(stranger), toFriend.ConversationID))
		require.NoError(t, e.Messaging.Watching(chattest.As(friend), toFriend.ConversationID))

		hidden := conversationmember.StateHidden
		e.Must(t, me, func(ctx context.Context) error {
			_, err := e.Messaging.UpdateMember(ctx, toPlain.ConversationID, messaging.MemberPatch{State: &hidden})
			return err
		})
		list, err = e.Messaging.List(chattest.As(me), &hidden, nil, &first, nil, nil)
		require.NoError(t, err)
		require.Len(t, list.Edges, 1)

		e.Must(t, me, func(ctx context.Context) error { return e.Messaging.Typing(ctx, toFriend.ConversationID) })
		require.Len(t, e.Typing.Events, 1, "typing is published, never stored")
		chattest.Refused(t, apperr.ReasonNotFound, e.Messaging.Typing(chattest.As(stranger), toFriend.ConversationID))
	})
}

// TestUnread is the unread rule: messages after the higher of the read
// position and the floor, less those hidden from the reader, never below
// zero.
func TestUnread(t *testing.T) {
	for _, c := range []struct {
		last, read, cleared int64
		hidden, want        int
	}{{10, 3, 0, 0, 7}, {10, 3, 8, 0, 2}, {10, 10, 0, 0, 0}, {10, 12, 0, 0, 0}, {0, 0, 0, 0, 0}, {10, 3, 0, 2, 5}, {10, 3, 8, 3, 0}} {
		got := messaging.Unread(&ent.ConversationMember{ReadSeq: c.read, ClearedSeq: c.cleared}, &ent.Conversation{LastSeq: c.last}, c.hidden)
		require.Equal(t, c.want, got, "%+v", c)
	}
}

// TestWhatAViewerIsShown: revoked and deleted messages show no content.
func TestWhatAViewerIsShown(t *testing.T) {
	parts := []schematype.MessagePart{{Category: "text", Content: "hi "}, {Category: "emoji", Content: "[表情1]"}, {Category: "image", FileID: 3}}
	now := time.Now()
	shown := &ent.Message{Parts: parts}
	require.Equal(t, parts, messaging.VisibleParts(shown))
	require.Equal(t, "hi [表情1]", messaging.Text(shown))
	require.Equal(t, "hi [表情1] [image]", messaging.Preview(shown))
	for what, m := range map[string]*ent.Message{"revoked": {Parts: parts, RevokedAt: &now}, "deleted": {Parts: parts, DeletedAt: &now}} {
		require.False(t, messaging.ContentShown(m), what)
		require.Empty(t, messaging.VisibleParts(m), what)
		require.Empty(t, messaging.Text(m), what)
		require.Equal(t, "["+what+"]", messaging.Preview(m))
	}
}

// TestDepartErasesInBatches: Depart erases every message of the viewer for
// everyone and tells each conversation in events of at most a batch of
// messages, in seq order; the others' messages stay.
func TestDepartErasesInBatches(t *testing.T) {
	t.Cleanup(messaging.SetErasedPerEvent(2)) // after the subtests, which may run in parallel
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		ann, bob := e.User(t, "ann"), e.User(t, "bob")
		e.People.Befriend(ann, bob)
		g := e.Group(t, bob, group.CreateInput{MemberIDs: []int{ann}})
		var direct []int
		for _, text := range []string{"one", "two", "three"} {
			direct = append(direct, e.Send(t, ann, messaging.Request{To: bob, Text: text}).ID)
		}
		reply := e.Send(t, bob, messaging.Request{To: ann, Text: "reply"})
		inGroup := e.Send(t, ann, messaging.Request{GroupID: g.ID, Text: "hi all"})
		e.Must(t, ann, e.Messaging.Depart)

		sys := chattest.System()
		events, err := e.Client.Event.Query().Where(event.Kind(messaging.KindMessagesDeleted)).
			Order(ent.Asc(event.FieldID)).All(sys)
		require.NoError(t, err)
		type data struct {
			ConversationID, SenderID int
			MessageIDs               []int `json:"messageIds"`
			Seqs                     []int64
			ForEveryone              bool
		}
		var got []data
		for _, ev := range events {
			var p struct {
				Subject int
				Data    data
			}
			require.NoError(t, json.Unmarshal(ev.Payload, &p))
			require.Equal(t, p.Data.ConversationID, p.Subject)
			require.Equal(t, ann, p.Data.SenderID)
			require.True(t, p.Data.ForEveryone)
			got = append(got, p.Data)
		}
		conv := reply.ConversationID
		byConv := map[int][]data{}
		for _, d := range got {
			byConv[d.ConversationID] = append(byConv[d.ConversationID], d)
		}
		require.Len(t, got, 3)
		require.Equal(t, []data{
			{conv, ann, direct[:2], []int64{1, 2}, true},
			{conv, ann, direct[2:], []int64{3}, true},
		}, byConv[conv])
		require.Len(t, byConv[inGroup.ConversationID], 1)
		require.Equal(t, []int{inGroup.ID}, byConv[inGroup.ConversationID][0].MessageIDs)

		require.Equal(t, []int64{4}, e.History(t, bob, conv), "his messages left the history, the reply stays")
		left, err := e.Client.Message.Query().Where(message.SenderID(ann), message.DeletedAtIsNil()).Count(sys)
		require.NoError(t, err)
		require.Zero(t, left)
	})
}
