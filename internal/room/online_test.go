package room_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/presence"
	"github.com/parley-im/parley/internal/messaging/chattest"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/room"
)

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
