package room_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/presence"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/messaging/chattest"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/room"
)

// TestRooms: names are unique whatever their case; the owner alone changes
// and deletes his room; anyone signed in joins, reads and posts once in;
// the counts follow.
func TestRooms(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		owner, guest, other := e.User(t, "owner"), e.User(t, "guest"), e.User(t, "other")
		create := func(uid int, name string) (*ent.Room, error) {
			var r *ent.Room
			err := e.In(uid, func(ctx context.Context) (err error) {
				r, err = e.Rooms.Create(ctx, room.Input{Name: name, Detail: "about"})
				return err
			})
			return r, err
		}
		r, err := create(owner, "Lobby")
		require.NoError(t, err)
		_, err = create(guest, "  lobby ")
		chattest.Refused(t, room.ReasonNameTaken, err)
		_, err = create(guest, strings.Repeat("x", room.NameMax+1))
		chattest.Refused(t, apperr.ReasonTooLong, err)
		_, err = create(guest, "bad\nname")
		chattest.Refused(t, apperr.ReasonInvalid, err)
		_, err = create(guest, " ")
		chattest.Refused(t, apperr.ReasonRequired, err)

		rename := "Hall"
		chattest.Refused(t, room.ReasonNotOwner, e.In(guest, func(ctx context.Context) error {
			_, err := e.Rooms.Update(ctx, r.ID, room.Patch{Name: &rename})
			return err
		}))
		fileID := 7
		chattest.Refused(t, apperr.ReasonInvalid, e.In(owner, func(ctx context.Context) error {
			_, err := e.Rooms.Update(ctx, r.ID, room.Patch{AvatarFileID: &fileID, ClearAvatar: true})
			return err
		}), "an avatar and no avatar at once")
		e.Must(t, owner, func(ctx context.Context) error {
			updated, err := e.Rooms.Update(ctx, r.ID, room.Patch{Name: &rename, AvatarFileID: &fileID})
			require.Equal(t, "/files/7/avatar.png", updated.Avatar)
			return err
		})

		post := func(uid int) error {
			return e.In(uid, func(ctx context.Context) error {
				_, err := e.Messaging.Send(ctx, messaging.Request{RoomID: r.ID, Text: "hello"})
				return err
			})
		}
		chattest.Refused(t, messaging.ReasonNotMember, post(guest), "join first")
		chattest.Refused(t, room.ReasonNotMember, e.In(guest, func(ctx context.Context) error { _, err := e.Rooms.Leave(ctx, r.ID); return err }))
		e.Must(t, guest, func(ctx context.Context) error { _, err := e.Rooms.Join(ctx, r.ID); return err })
		e.Must(t, guest, func(ctx context.Context) error { _, err := e.Rooms.Join(ctx, r.ID); return err }) // a visit
		chattest.Refused(t, room.ReasonOwnerCannotLeave, e.In(owner, func(ctx context.Context) error { _, err := e.Rooms.Leave(ctx, r.ID); return err }))
		require.NoError(t, post(guest))
		require.Equal(t, []int64{1}, e.History(t, other, r.ConversationID), "any signed-in user reads a room")
		count, err := e.Rooms.MemberCount(chattest.As(0), r)
		require.NoError(t, err)
		require.Equal(t, 2, count, "the owner joined his room")
		joined, err := e.Rooms.Joined(chattest.As(other), r)
		require.NoError(t, err)
		require.False(t, joined)

		_, err = e.Rooms.Watch(chattest.As(0), r.ID)
		chattest.Refused(t, apperr.ReasonSignInRequired, err, "watching needs sign-in")
		_, err = e.Rooms.Watch(chattest.As(other), r.ID+1000)
		chattest.Refused(t, apperr.ReasonNotFound, err)
		watched, err := e.Rooms.Watch(chattest.As(other), r.ID)
		require.NoError(t, err)
		require.Equal(t, r.ID, watched.ID)

		chattest.Refused(t, room.ReasonNotOwner, e.In(guest, func(ctx context.Context) error { return e.Rooms.Delete(ctx, r.ID) }))
		e.Must(t, owner, func(ctx context.Context) error { return e.Rooms.Delete(ctx, r.ID) })
		sys := chattest.System()
		require.Zero(t, e.Client.Conversation.Query().Where(conversation.ID(r.ConversationID)).CountX(sys), "its conversation goes")
		require.Zero(t, e.Client.Message.Query().Where(message.ConversationID(r.ConversationID)).CountX(sys), "with its messages")
		require.ErrorContains(t, e.Rooms.Watching(chattest.As(other), r.ID), "not found")
		require.NoError(t, e.Rooms.Following(chattest.As(other), r), "its deletion is in the log: a running stream reaches it")
		var silent *ent.Room
		e.Must(t, owner, func(ctx context.Context) (err error) {
			silent, err = e.Rooms.Create(ctx, room.Input{Name: "Silent"})
			return err
		})
		require.NoError(t, e.Client.Room.DeleteOneID(silent.ID).Exec(sys))
		chattest.Refused(t, apperr.ReasonNotFound, e.Rooms.Following(chattest.As(other), silent), "gone without its event")
	})
}

// TestRoomDepart: a user who deletes his account deletes the rooms he owns
// and leaves the others.
func TestRoomDepart(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		owner, guest := e.User(t, "owner"), e.User(t, "guest")
		var mine, theirs *ent.Room
		e.Must(t, owner, func(ctx context.Context) (err error) {
			mine, err = e.Rooms.Create(ctx, room.Input{Name: "mine"})
			return err
		})
		e.Must(t, guest, func(ctx context.Context) (err error) {
			theirs, err = e.Rooms.Create(ctx, room.Input{Name: "theirs"})
			return err
		})
		e.Must(t, owner, func(ctx context.Context) error { _, err := e.Rooms.Join(ctx, theirs.ID); return err })
		e.Must(t, owner, func(ctx context.Context) error { return e.Rooms.Depart(ctx) })
		gone, err := e.Rooms.Get(chattest.As(0), mine.ID, "")
		require.NoError(t, err)
		require.Nil(t, gone)
		in, err := e.Rooms.Joined(chattest.As(owner), theirs)
		require.NoError(t, err)
		require.False(t, in)
	})
}

// TestAnnouncer: a member's change is announced at once in a quiet room;
// changes within the window wait for its end and go out as one event with
// the count as it is then; strangers' changes are not the room's; Close
// announces what is pending at once.
func TestAnnouncer(t *testing.T) {
	chattest.Each(t, func(t *testing.T, e *chattest.Env) {
		owner, guest, stranger := e.User(t, "owner"), e.User(t, "guest"), e.User(t, "stranger")
		var r *ent.Room
		e.Must(t, owner, func(ctx context.Context) (err error) {
			r, err = e.Rooms.Create(ctx, room.Input{Name: "Lobby"})
			return err
		})
		e.Must(t, guest, func(ctx context.Context) error { _, err := e.Rooms.Join(ctx, r.ID); return err })
		sys := chattest.System()
		connect := func(uid int) {
			require.NoError(t, e.Client.Presence.Create().SetUserID(uid).SetInstance("test").SetSeenAt(time.Now().UTC()).Exec(sys))
		}
		disconnect := func(uid int) {
			_, err := e.Client.Presence.Delete().Where(presence.UserID(uid)).Exec(sys)
			require.NoError(t, err)
		}
		type counted struct {
			OnlineCount, MemberCount int
			At                       time.Time
		}
		announced := func() []counted {
			rows, err := e.Client.Event.Query().Where(event.Topic(eventlog.RoomTopic(r.ID)), event.Kind(room.KindOnline)).
				Order(ent.Asc(event.FieldID)).All(sys)
			require.NoError(t, err)
			out := make([]counted, len(rows))
			for i, row := range rows {
				var p eventlog.Payload
				require.NoError(t, json.Unmarshal(row.Payload, &p))
				require.Equal(t, r.ID, p.Subject)
				require.NoError(t, json.Unmarshal(p.Data, &out[i]))
				out[i].At = row.CreatedAt
			}
			return out
		}
		const every = 400 * time.Millisecond
		a := room.NewAnnouncer(e.Rooms, room.AnnouncerOptions{Every: every})
		a.Start()

		connect(guest)
		a.Changed(guest, true)
		require.Eventually(t, func() bool { return len(announced()) == 1 }, 5*time.Second, 5*time.Millisecond)
		require.Equal(t, 1, announced()[0].OnlineCount)
		require.Equal(t, 2, announced()[0].MemberCount)

		// Within the window: the owner comes, the guest goes, a stranger
		// comes. One event, after the window, with the count then.
		connect(owner)
		a.Changed(owner, true)
		disconnect(guest)
		a.Changed(guest, false)
		connect(stranger)
		a.Changed(stranger, true)
		require.Eventually(t, func() bool { return len(announced()) == 2 }, 5*time.Second, 5*time.Millisecond)
		time.Sleep(2 * every)
		got := announced()
		require.Len(t, got, 2, "coalesced")
		require.Equal(t, 1, got[1].OnlineCount, "the owner")
		require.GreaterOrEqual(t, got[1].At.Sub(got[0].At), every-50*time.Millisecond)

		// A stranger alone is not the room's.
		disconnect(stranger)
		a.Changed(stranger, false)
		time.Sleep(2 * every)
		require.Len(t, announced(), 2)

		// Close announces what is pending at once, window or not.
		disconnect(owner)
		a.Changed(owner, false)
		require.Eventually(t, func() bool { return len(announced()) == 3 }, 5*time.Second, 5*time.Millisecond)
		connect(guest)
		a.Changed(guest, true)
		a.Close()
		got = announced()
		require.Len(t, got, 4)
		require.Equal(t, 1, got[3].OnlineCount)
		a.Changed(owner, true) // after Close: ignored
		time.Sleep(every / 4)
		require.Len(t, announced(), 4)
	})
}
