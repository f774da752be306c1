package presence

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/presence"
	_ "github.com/parley-im/parley/ent/runtime"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/realtime"
)

func init() { sql.Register("sqlite3", &sqlite.Driver{}) }

var sys = viewer.SystemContext(context.Background())

// queries counts the statements that touch the presences table.
type env struct {
	client  *ent.Client
	queries atomic.Int64
	users   []int
}

// tracker is a Tracker on the env's database, closed when the test ends.
func (e *env) tracker(t *testing.T, rec *recorder, opts Options) *Tracker {
	tr := New(e.client, rec, opts)
	t.Cleanup(tr.Close)
	return tr
}

func newEnv(t *testing.T, users int) *env {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "p.db") +
		"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	require.NoError(t, err)
	e := &env{}
	drv := dialect.DebugWithContext(entsql.OpenDB(dialect.SQLite, db), func(_ context.Context, args ...any) {
		if strings.Contains(fmt.Sprint(args...), "presences") {
			e.queries.Add(1)
		}
	})
	e.client = ent.NewClient(ent.Driver(drv))
	t.Cleanup(func() { e.client.Close() })
	require.NoError(t, e.client.Schema.Create(context.Background()))
	for i := range users {
		u, err := e.client.User.Create().SetUsername(fmt.Sprint("user", i)).SetPasswordHash("x").
			SetPublicID(int64(10_000_000 + i)).Save(sys)
		require.NoError(t, err)
		e.users = append(e.users, u.ID)
	}
	return e
}

// recorder is a Publisher that keeps what it is sent.
type recorder struct {
	mu     sync.Mutex
	events []realtime.Event
	signal chan struct{}
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{}, 1000)} }

func (r *recorder) PublishEphemeral(_ context.Context, e realtime.Event) error {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.signal <- struct{}{}
	return nil
}

func (r *recorder) all() []realtime.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]realtime.Event(nil), r.events...)
}

// next waits for the next event.
func (r *recorder) next(t *testing.T) (int, Data, string) {
	t.Helper()
	select {
	case <-r.signal:
	case <-time.After(5 * time.Second):
		t.Fatal("no presence event")
	}
	r.mu.Lock()
	e := r.events[0]
	r.events = r.events[1:]
	r.mu.Unlock()
	return decode(t, e)
}

func (r *recorder) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case <-r.signal:
		t.Fatalf("unexpected presence event %v", r.all())
	case <-time.After(wait):
	}
}

func decode(t *testing.T, e realtime.Event) (int, Data, string) {
	t.Helper()
	p, err := eventlog.Decode(e)
	require.NoError(t, err)
	var d Data
	require.NoError(t, json.Unmarshal(p.Data, &d))
	require.Equal(t, eventlog.PresenceTopic(p.Subject), e.Topic)
	require.Equal(t, d.Online, e.Kind == KindOnline)
	return p.Subject, d, e.Kind
}

func rows(t *testing.T, c *ent.Client) []*ent.Presence {
	t.Helper()
	all, err := c.Presence.Query().All(sys)
	require.NoError(t, err)
	return all
}

// TestConnectRelease: the first connection announces online, the last
// release offline with lastSeenAt; counts in between stay quiet.
func TestConnectRelease(t *testing.T) {
	e := newEnv(t, 1)
	rec := newRecorder()
	tr := e.tracker(t, rec, Options{TTL: time.Minute})
	tr.Start()
	uid := e.users[0]

	first := tr.Connect(uid)
	id, d, kind := rec.next(t)
	require.Equal(t, uid, id)
	require.Equal(t, KindOnline, kind)
	require.Nil(t, d.LastSeenAt)
	online, err := tr.Online(context.Background(), uid)
	require.NoError(t, err)
	require.True(t, online)

	second := tr.Connect(uid)
	require.Equal(t, 2, rows(t, e.client)[0].Connections)
	first()
	first() // idempotent
	rec.none(t, 50*time.Millisecond)
	require.Equal(t, 1, rows(t, e.client)[0].Connections)

	before := time.Now()
	second()
	id, d, kind = rec.next(t)
	require.Equal(t, uid, id)
	require.Equal(t, KindOffline, kind)
	require.NotNil(t, d.LastSeenAt)
	require.WithinDuration(t, before, *d.LastSeenAt, time.Second)
	require.Empty(t, rows(t, e.client))
	u := e.client.User.GetX(sys, uid)
	require.NotNil(t, u.LastSeenAt)
	require.True(t, u.LastSeenAt.Equal(*d.LastSeenAt))
	online, err = tr.Online(context.Background(), uid)
	require.NoError(t, err)
	require.False(t, online)

	tr.mu.Lock()
	require.Empty(t, tr.users, "idle users are forgotten")
	tr.mu.Unlock()
}

// TestTwoTrackers: a user connected to two instances is online until his
// last connection anywhere closes; each change is announced once.
func TestTwoTrackers(t *testing.T) {
	e := newEnv(t, 1)
	rec := newRecorder()
	one, two := e.tracker(t, rec, Options{TTL: time.Minute}), e.tracker(t, rec, Options{TTL: time.Minute})
	uid := e.users[0]

	r1 := one.Connect(uid)
	_, _, kind := rec.next(t)
	require.Equal(t, KindOnline, kind)
	r2 := two.Connect(uid)
	r1()
	rec.none(t, 50*time.Millisecond)
	online, err := one.Online(context.Background(), uid)
	require.NoError(t, err)
	require.True(t, online, "instance one sees instance two's row")
	r2()
	_, _, kind = rec.next(t)
	require.Equal(t, KindOffline, kind)
}

// TestSweep: a crashed instance's rows go stale; the sweeper deletes them
// and announces the users offline, last seen at the last heartbeat.
func TestSweep(t *testing.T) {
	e := newEnv(t, 2)
	rec := newRecorder()
	ttl := 300 * time.Millisecond
	seen := time.Now().UTC().Add(-time.Millisecond).Truncate(time.Microsecond)
	for _, uid := range e.users {
		e.client.Presence.Create().SetUserID(uid).SetInstance("crashed").SetConnections(1).SetSeenAt(seen).ExecX(sys)
	}
	tr := New(e.client, rec, Options{TTL: ttl})
	online, err := tr.Online(context.Background(), e.users[0])
	require.NoError(t, err)
	require.True(t, online, "fresh until the TTL")
	// The second user also has a live connection here: only the first goes offline.
	release := tr.Connect(e.users[1])
	defer release()
	tr.Start()
	defer tr.Close()

	id, d, kind := rec.next(t)
	require.Equal(t, e.users[0], id)
	require.Equal(t, KindOffline, kind)
	require.True(t, seen.Equal(*d.LastSeenAt), "%v != %v", seen, *d.LastSeenAt)
	require.Eventually(t, func() bool {
		all := rows(t, e.client)
		return len(all) == 1 && all[0].Instance == tr.Instance()
	}, 5*time.Second, 10*time.Millisecond)
	require.True(t, e.client.User.GetX(sys, e.users[0]).LastSeenAt.Equal(seen))
	require.Nil(t, e.client.User.GetX(sys, e.users[1]).LastSeenAt)
	rec.none(t, ttl)
}

// TestRestore: an instance whose row was swept while its user is still
// connected (it paused longer than the TTL) writes it again and announces
// him online again.
func TestRestore(t *testing.T) {
	e := newEnv(t, 1)
	rec := newRecorder()
	tr := New(e.client, rec, Options{TTL: 300 * time.Millisecond})
	uid := e.users[0]
	release := tr.Connect(uid)
	defer release()
	_, _, kind := rec.next(t)
	require.Equal(t, KindOnline, kind)
	e.client.Presence.Delete().ExecX(sys) // what another instance's sweep does
	tr.Start()
	defer tr.Close()
	_, _, kind = rec.next(t)
	require.Equal(t, KindOnline, kind)
	require.Len(t, rows(t, e.client), 1)
}

// TestClose: Close deletes the instance's rows and announces its users
// offline; later connections are not counted.
func TestClose(t *testing.T) {
	e := newEnv(t, 2)
	rec := newRecorder()
	tr := New(e.client, rec, Options{TTL: time.Minute})
	tr.Start()
	tr.Connect(e.users[0])
	tr.Connect(e.users[1])
	rec.next(t)
	rec.next(t)
	tr.Close()
	got := map[int]string{}
	for range 2 {
		id, _, kind := rec.next(t)
		got[id] = kind
	}
	require.Equal(t, map[int]string{e.users[0]: KindOffline, e.users[1]: KindOffline}, got)
	require.Empty(t, rows(t, e.client))
	tr.Connect(e.users[0])()
	rec.none(t, 50*time.Millisecond)
}

// TestOnlineBatched: concurrent look-ups share one query.
func TestOnlineBatched(t *testing.T) {
	e := newEnv(t, 30)
	rec := newRecorder()
	tr := e.tracker(t, rec, Options{TTL: time.Minute, BatchWait: 50 * time.Millisecond})
	other := e.tracker(t, rec, Options{TTL: time.Minute})
	for _, uid := range e.users[:10] {
		other.Connect(uid)
	}
	e.queries.Store(0)
	var wg sync.WaitGroup
	got := make([]bool, len(e.users))
	for i, uid := range e.users {
		wg.Go(func() {
			online, err := tr.Online(context.Background(), uid)
			require.NoError(t, err)
			got[i] = online
		})
	}
	wg.Wait()
	for i := range e.users {
		require.Equal(t, i < 10, got[i], "user %d", i)
	}
	require.EqualValues(t, 1, e.queries.Load())

	// A cancelled caller returns at once; the batch still answers the others.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tr.Online(ctx, e.users[0])
	require.ErrorIs(t, err, context.Canceled)
	online, err := tr.Online(context.Background(), e.users[0])
	require.NoError(t, err)
	require.True(t, online)
}

// TestConcurrentConnections: connections opening and closing at once leave
// no row behind and announce every change exactly once: on one instance, a
// user's events alternate online and offline, ending offline; across two
// (which SQLite does not serve, so only decisions are checked here; ordering
// across instances is PostgreSQL's, see server/app), they balance.
func TestConcurrentConnections(t *testing.T) {
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprint(n, " instances"), func(t *testing.T) {
			e := newEnv(t, 4)
			rec := newRecorder()
			var trackers []*Tracker
			for range n {
				trackers = append(trackers, New(e.client, rec, Options{TTL: time.Minute}))
			}
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					tr := trackers[i%n]
					uid := e.users[i%len(e.users)]
					for range 5 {
						release := tr.Connect(uid)
						time.Sleep(time.Millisecond)
						release()
					}
				})
			}
			wg.Wait()
			require.Empty(t, rows(t, e.client))
			last := map[int]string{}
			balance := map[int]int{}
			for _, ev := range rec.all() {
				id, _, kind := decode(t, ev)
				if n == 1 {
					require.NotEqual(t, last[id], kind, "user %d: %s twice in a row", id, kind)
				}
				last[id] = kind
				if kind == KindOnline {
					balance[id]++
				} else {
					balance[id]--
				}
			}
			for _, uid := range e.users {
				require.Zero(t, balance[uid], "user %d", uid)
				if n == 1 {
					require.Equal(t, KindOffline, last[uid])
				}
			}
			for _, tr := range trackers {
				tr.Close()
			}
			require.Zero(t, e.client.Presence.Query().Where(presence.ConnectionsGT(0)).CountX(sys))
		})
	}
}

// TestOnChange: OnChange's functions are told each transition the tracker
// decides, after it committed, once across two instances: a user's first
// connection anywhere and his last one, not those in between.
func TestOnChange(t *testing.T) {
	e := newEnv(t, 1)
	rec := newRecorder()
	one, two := e.tracker(t, rec, Options{TTL: time.Minute}), e.tracker(t, rec, Options{TTL: time.Minute})
	type change struct {
		uid    int
		online bool
		rows   int // presence rows when told
	}
	var mu sync.Mutex
	var changes []change
	record := func(uid int, online bool) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, change{uid, online, len(rows(t, e.client))})
	}
	one.OnChange(record)
	two.OnChange(record)
	told := func() []change {
		mu.Lock()
		defer mu.Unlock()
		return append([]change(nil), changes...)
	}
	uid := e.users[0]

	r1 := one.Connect(uid)
	require.Equal(t, []change{{uid, true, 1}}, told(), "told after the row committed")
	r2 := two.Connect(uid)
	r3 := one.Connect(uid)
	r1()
	r3()
	require.Len(t, told(), 1, "still online on instance two")
	r2()
	require.Equal(t, []change{{uid, true, 1}, {uid, false, 0}}, told())
}

// TestState: State answers online and last seen from one read: online with
// no last-seen time before the first close, offline with the time of the
// close that the offline event carried, and a user never seen offline with
// none.
func TestState(t *testing.T) {
	e := newEnv(t, 2)
	rec := newRecorder()
	tr := e.tracker(t, rec, Options{TTL: time.Minute})
	uid := e.users[0]
	ctx := context.Background()

	st, err := tr.State(ctx, uid)
	require.NoError(t, err)
	require.Equal(t, State{}, st, "never connected")
	release := tr.Connect(uid)
	rec.next(t)
	st, err = tr.State(ctx, uid)
	require.NoError(t, err)
	require.Equal(t, State{Online: true}, st)
	release()
	_, d, _ := rec.next(t)
	st, err = tr.State(ctx, uid)
	require.NoError(t, err)
	require.False(t, st.Online)
	require.NotNil(t, st.LastSeenAt)
	require.True(t, d.LastSeenAt.Equal(*st.LastSeenAt), "%v != %v", d.LastSeenAt, st.LastSeenAt)

	st, err = tr.State(ctx, e.users[1]+1000)
	require.NoError(t, err)
	require.Equal(t, State{}, st, "no such user")
}
