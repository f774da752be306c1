package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	entroom "github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/ent/throttle"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
)

// KindOnline is the event of a room's online count changing because a
// member came online or went offline (joins and leaves carry the count in
// room.joined and room.left). It goes on the room's topic: node the room,
// data onlineCount and memberCount.
const KindOnline = "room.online"

// DefaultOnlineEvery is the least time between two room.online events of
// one room: a member whose connection flaps costs his rooms' watchers one
// event a second at most.
const DefaultOnlineEvery = time.Second

const (
	onlineTimeout = 5 * time.Second // one look-up or announcement
	usersPerQuery = 500             // users whose rooms one query looks up
)

// AnnouncerOptions tune an Announcer; zero values take the defaults.
type AnnouncerOptions struct {
	// Every is the least time between two room.online events of a room,
	// across instances. Default DefaultOnlineEvery.
	Every time.Duration
	// Logger receives database errors. Default: discard.
	Logger *slog.Logger
}

// Announcer tells the watchers of a room its new online count when one of
// its members comes online or goes offline (presence.Tracker.OnChange), as
// room.online events appended to the event log, so that every instance's
// watchers get them.
//
// The events are coalesced per room: the first change of a quiet room is
// announced at once; changes within Every of an announcement wait for the
// window to end, and are then announced together, with the count as it is
// then, so the last count always arrives. The window is kept in the
// Throttle table (one row per room), so that it holds across instances:
// the instance that decided a transition announces it, and none announces
// a room twice within Every.
//
// Announcing is best effort, like presence: a database error is logged and
// the room tried again a window later; readers of Room.onlineCount get the
// count from the database in any case.
type Announcer struct {
	rooms *Service
	every time.Duration
	log   *slog.Logger

	mu     sync.Mutex
	users  map[int]struct{} // changed users whose rooms are not looked up yet
	closed bool

	due  map[int]time.Time // rooms to announce and when; the loop's own
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}

	startOnce, closeOnce sync.Once
}

// NewAnnouncer returns the online count announcer of the rooms of s; Start
// runs it.
func NewAnnouncer(s *Service, opts AnnouncerOptions) *Announcer {
	if opts.Every <= 0 {
		opts.Every = DefaultOnlineEvery
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Announcer{
		rooms: s, every: opts.Every, log: opts.Logger.With("component", "room online"),
		users: make(map[int]struct{}), due: make(map[int]time.Time),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
}

// Changed is told that uid came online or went offline
// (presence.Tracker.OnChange): his rooms are announced soon. It does not
// block.
func (a *Announcer) Changed(uid int, _ bool) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.users[uid] = struct{}{}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Start starts announcing.
func (a *Announcer) Start() {
	a.startOnce.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.closed {
			stop()
			close(a.done)
			return
		}
		a.stop = stop
		go a.run(ctx)
	})
}

// Close stops announcing. What is still to announce (the offline users of
// a tracker closed just before) is announced at once, without waiting for
// the rooms' windows: the instance will not be there when they end, and
// the other instances' watchers would keep a count that is too high. Call
// it after the presence tracker's Close, while the database and the hub
// are still open.
func (a *Announcer) Close() {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		stop := a.stop
		a.mu.Unlock()
		if stop == nil {
			return // never started
		}
		stop()
		<-a.done
		ctx, cancel := context.WithTimeout(context.Background(), onlineTimeout)
		defer cancel()
		a.step(ctx, true)
	})
}

// run is the announcing loop: it looks up the rooms of the users who
// changed and announces the rooms that are due, then sleeps until the next
// one is due or a user changes.
func (a *Announcer) run(ctx context.Context) {
	defer close(a.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := a.step(ctx, false)
		var tick <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		case <-tick:
		}
	}
}

// step does one round and returns when the next room is due (zero: none).
// A final round announces every room at once.
func (a *Announcer) step(ctx context.Context, final bool) time.Time {
	a.mu.Lock()
	users := make([]int, 0, len(a.users))
	for uid := range a.users {
		users = append(users, uid)
	}
	clear(a.users)
	a.mu.Unlock()
	if len(users) > 0 {
		ids, err := a.roomsOf(ctx, users)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("looking up the rooms of users who came online or went offline failed; trying again", "err", err)
			}
			a.mu.Lock()
			for _, uid := range users {
				a.users[uid] = struct{}{}
			}
			a.mu.Unlock()
			return time.Now().Add(a.every)
		}
		now := time.Now()
		for _, id := range ids {
			if _, ok := a.due[id]; !ok {
				a.due[id] = now // a room already due gets the count as it is then
			}
		}
	}
	var next time.Time
	for id, at := range a.due {
		if ctx.Err() != nil {
			break
		}
		if !final && at.After(time.Now()) {
			next = earliest(next, at)
			continue
		}
		retry, err := a.announce(ctx, id, final)
		if err != nil {
			if final {
				a.log.Warn("room online count not announced at shutdown", "room", id, "err", err)
				delete(a.due, id)
				continue
			}
			a.log.Warn("room online count not announced; trying again", "room", id, "err", err)
			retry = time.Now().Add(a.every)
		}
		if retry.IsZero() {
			delete(a.due, id)
			continue
		}
		a.due[id] = retry
		next = earliest(next, retry)
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// roomsOf returns the rooms that any of users is a member of.
func (a *Announcer) roomsOf(ctx context.Context, users []int) ([]int, error) {
	ctx, cancel := context.WithTimeout(viewer.SystemContext(ctx), onlineTimeout)
	defer cancel()
	var ids []int
	for len(users) > 0 {
		n := min(len(users), usersPerQuery)
		more, err := a.rooms.client.Room.Query().Where(entroom.HasConversationWith(conversation.HasMembersWith(
			conversationmember.UserIDIn(users[:n]...), conversationmember.Active(true),
		))).IDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("room: rooms of users: %w", err)
		}
		ids = append(ids, more...)
		users = users[n:]
	}
	return ids, nil
}

// errGone: the room was deleted before its count was announced.
var errGone = errors.New("room: gone")

// announce appends room id's room.online event with its counts as they are
// now, unless the room's window is not over: then it returns when it is.
// A final announcement ignores the window.
func (a *Announcer) announce(ctx context.Context, id int, final bool) (retry time.Time, err error) {
	ctx, cancel := context.WithTimeout(viewer.SystemContext(ctx), onlineTimeout)
	defer cancel()
	if !final {
		open, at, err := a.claim(ctx, id)
		if err != nil || !open {
			return at, err
		}
	}
	err = txn.Run(ctx, a.rooms.client, func(ctx context.Context) error {
		db := ent.FromContext(ctx)
		r, err := db.Room.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errGone
		} else if err != nil {
			return fmt.Errorf("room: online: %w", err)
		}
		online, err := a.rooms.onlineCount(ctx, db, r)
		if err != nil {
			return err
		}
		members, err := a.rooms.memberCount(ctx, db, r)
		if err != nil {
			return err
		}
		return a.rooms.log.Append(ctx, eventlog.Record{
			Topic: eventlog.RoomTopic(r.ID), Kind: KindOnline, Subject: r.ID,
			Data: map[string]any{"onlineCount": online, "memberCount": members},
		})
	})
	if errors.Is(err, errGone) {
		return time.Time{}, nil // its watchers got room.deleted
	}
	return time.Time{}, err
}

// onlineKey is room id's row in the Throttle table.
func onlineKey(id int) string { return "room.online:" + strconv.Itoa(id) }

// claim opens room id's next window if the last one is over, in one
// conditional UPDATE (or the INSERT of its first), so that concurrent
// instances cannot both open it; otherwise it returns when it is over.
func (a *Announcer) claim(ctx context.Context, id int) (bool, time.Time, error) {
	key, every := onlineKey(id), a.every.Milliseconds()
	throttles := a.rooms.client.Throttle
	for range 3 {
		now := time.Now().UnixMilli()
		n, err := throttles.Update().Where(throttle.Key(key), throttle.TatLTE(now)).SetTat(now + every).Save(ctx)
		if err != nil {
			return false, time.Time{}, fmt.Errorf("room: online window: %w", err)
		}
		if n == 1 {
			return true, time.Time{}, nil
		}
		row, err := throttles.Query().Where(throttle.Key(key)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			err := throttles.Create().SetKey(key).SetTat(now + every).Exec(ctx)
			if err == nil {
				return true, time.Time{}, nil
			}
			if !ent.IsConstraintError(err) {
				return false, time.Time{}, fmt.Errorf("room: online window: %w", err)
			}
			// Another instance opened it first.
		case err != nil:
			return false, time.Time{}, fmt.Errorf("room: online window: %w", err)
		case row.Tat > now:
			return false, time.UnixMilli(row.Tat), nil
		}
		// The row changed between the statements: try again.
	}
	return false, time.Now().Add(a.every), nil
}
