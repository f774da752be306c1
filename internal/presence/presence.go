// Package presence tracks who is online: a user is online while he holds an
// authenticated WebSocket connection to any server instance.
//
// Each instance runs one Tracker. It counts its own connections per user in
// memory and keeps one Presence row per user it serves (user_id, instance,
// connections, seen_at), refreshed by a heartbeat every TTL/3. A user is
// online while any instance holds a fresh row (seen_at within the TTL), so
// the rows of an instance that crashed go stale, and the other instances'
// heartbeats sweep them and tell the users' friends.
//
// A user's transitions (first connection anywhere: online; last one gone:
// offline) are decided in one transaction that, on PostgreSQL, holds an
// advisory lock per user, so that two instances never both miss or both
// announce a change. They are published as ephemeral events (never stored) on
// the user's presence topic, after the transaction commits: on PostgreSQL
// with a NOTIFY inside the transaction, which delivers them in commit order,
// on SQLite (one instance) through the hub under the user's local mutex.
//
// Presence is best effort: database errors are logged and retried by the
// next heartbeat, and never break a connection.
package presence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/presence"
	entuser "github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/realtime"
)

// Event kinds on a user's presence topic (eventlog.PresenceTopic).
const (
	KindOnline  = "presence.online"
	KindOffline = "presence.offline"
)

// DefaultTTL is how long a row stays fresh without a heartbeat: a crashed
// instance's users fall offline between TTL and 4/3 TTL after the crash.
const DefaultTTL = 45 * time.Second

const (
	writeTimeout = 5 * time.Second  // one transition or heartbeat step
	closeTimeout = 10 * time.Second // Close's offline writes, all users together
	sweepBatch   = 500
	maxSweeps    = 20 // batches per heartbeat; the rest waits for the next one
	// lockSpace is the first key of the per-user advisory lock
	// (pg_advisory_xact_lock(int, int)); the second is the user id's low 32
	// bits. A collision only serialises two users' transitions.
	lockSpace = 0x50726573 // "Pres"
)

// now is the time stamped on rows and events, to the microsecond that
// PostgreSQL keeps, so that an event's lastSeenAt equals the stored one.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Data is the payload data of a presence event.
type Data struct {
	Online bool `json:"online"`
	// LastSeenAt is when the user's last connection closed; set on offline.
	LastSeenAt *time.Time `json:"lastSeenAt"`
}

// Publisher sends ephemeral events to every instance (realtime.Hub).
type Publisher interface {
	PublishEphemeral(ctx context.Context, e realtime.Event) error
}

// Options tunes a Tracker; zero values take the defaults.
type Options struct {
	// TTL: rows not refreshed for this long are stale. Default DefaultTTL.
	// The heartbeat runs every TTL/3.
	TTL time.Duration
	// Instance names this server instance's rows; default random.
	Instance string
	// Postgres serialises each user's transitions across instances with an
	// advisory lock.
	Postgres bool
	// NotifyChannel is the realtime.PGBus channel. With Postgres, events
	// are sent with pg_notify inside the transition's transaction, so they
	// go out only if it commits, and in commit order. Otherwise (or when
	// empty) they are published through the Publisher after the commit.
	NotifyChannel string
	// BatchWait is how long Online waits to batch look-ups. Default 1ms.
	BatchWait time.Duration
	// Logger receives database errors. Default: discard.
	Logger *slog.Logger
}

// Tracker is one instance's presence bookkeeping. Connect, Online and Close
// are safe for concurrent use.
type Tracker struct {
	client *ent.Client
	pub    Publisher
	opts   Options
	log    *slog.Logger
	loader loader

	mu      sync.Mutex
	users   map[int]*user
	closed  bool
	changed []func(uid int, online bool)
	ops     sync.WaitGroup // Connect and release calls in flight
	stop    context.CancelFunc
	done    chan struct{} // closed when the heartbeat has returned

	startOnce, closeOnce sync.Once
}

// user is one user's local state.
type user struct {
	// mu serialises the user's database writes on this instance, so that
	// they happen, and their events go out, in order.
	mu sync.Mutex
	// Guarded by Tracker.mu.
	conns  int // live connections here
	stored int // connections written in this instance's row; 0: no row
	refs   int // goroutines using this entry; it is dropped at 0 when idle
}

// New returns the tracker of one instance; Start starts its heartbeat.
func New(client *ent.Client, pub Publisher, opts Options) *Tracker {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Instance == "" {
		b := make([]byte, 8)
		rand.Read(b)
		opts.Instance = hex.EncodeToString(b)
	}
	if opts.BatchWait <= 0 {
		opts.BatchWait = time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{
		client: client, pub: pub, opts: opts,
		log:   opts.Logger.With("component", "presence", "instance", opts.Instance),
		users: make(map[int]*user),
		done:  make(chan struct{}),
	}
	t.loader = loader{wait: opts.BatchWait, max: 100, fetch: t.fetchStates}
	return t
}

// Instance returns the name of this instance's rows.
func (t *Tracker) Instance() string { return t.opts.Instance }

// TTL returns how long a row stays fresh.
func (t *Tracker) TTL() time.Duration { return t.opts.TTL }

// Start starts the heartbeat: every TTL/3 it refreshes this instance's rows
// and sweeps the stale rows of instances that stopped without Close.
func (t *Tracker) Start() {
	t.startOnce.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			stop()
			return
		}
		t.stop = stop
		t.mu.Unlock()
		go t.run(ctx)
	})
}

// OnChange has f told every transition this instance decides, once its
// transaction has committed: uid came online (his first connection
// anywhere) or went offline (his last one closed, or his rows were swept).
// Each transition is decided by exactly one instance, so across instances
// every one is told once; what depends on who is online (the rooms' online
// counts) follows it without polling. f is called while the user's
// transitions are serialised, so it must not block; register it before
// Start.
func (t *Tracker) OnChange(f func(uid int, online bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.changed = append(t.changed, f)
}

// Connect counts one authenticated connection of uid. The user's first
// connection on this instance writes its row and, when he was offline
// everywhere, announces him online. Call the returned release when the
// connection closes; it is idempotent. After Close, Connect does nothing.
func (t *Tracker) Connect(uid int) (release func()) {
	if uid == 0 || !t.change(uid, +1) {
		return func() {}
	}
	var once sync.Once
	return func() { once.Do(func() { t.change(uid, -1) }) }
}

// change adds delta to uid's connections and brings the database in line.
func (t *Tracker) change(uid, delta int) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return false
	}
	u := t.holdLocked(uid)
	u.conns += delta
	t.ops.Add(1)
	t.mu.Unlock()
	defer t.ops.Done()

	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	t.sync(ctx, uid, u)
	t.release(uid, u)
	return true
}

// holdLocked returns uid's entry, created if needed, and keeps it alive
// until release.
func (t *Tracker) holdLocked(uid int) *user {
	u := t.users[uid]
	if u == nil {
		u = &user{}
		t.users[uid] = u
	}
	u.refs++
	return u
}

// hold is holdLocked for a caller without the lock.
func (t *Tracker) hold(uid int) *user {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.holdLocked(uid)
}

// release undoes a hold: the entry is forgotten once no goroutine holds it
// and nothing of uid is left to sync.
func (t *Tracker) release(uid int, u *user) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u.refs--
	if u.refs == 0 && u.conns == 0 && u.stored == 0 && t.users[uid] == u {
		delete(t.users, uid)
	}
}

// sync makes this instance's row of uid match his local connections: it
// writes the row on his first connection, deletes it after his last, and
// keeps the count in between. A failed write leaves stored as it was, so the
// next heartbeat retries.
func (t *Tracker) sync(ctx context.Context, uid int, u *user) {
	u.mu.Lock()
	defer u.mu.Unlock()
	t.mu.Lock()
	want, have := u.conns, u.stored
	t.mu.Unlock()
	var err error
	switch {
	case want == have:
		return
	case have == 0:
		err = t.goOnline(ctx, uid, want)
	case want == 0:
		err = t.goOffline(ctx, uid)
	default:
		err = t.client.Presence.Update().
			Where(presence.UserID(uid), presence.Instance(t.opts.Instance)).
			SetConnections(want).Exec(viewer.SystemContext(ctx))
	}
	if err != nil {
		t.log.Warn("presence write failed; the heartbeat retries", "user", uid, "connections", want, "err", err)
		return
	}
	t.mu.Lock()
	u.stored = want
	t.mu.Unlock()
}

// goOnline writes this instance's row of uid and announces him online if no
// other instance holds a fresh row.
func (t *Tracker) goOnline(ctx context.Context, uid, conns int) error {
	return t.transition(ctx, uid, func(ctx context.Context, tx *ent.Tx) (*Data, error) {
		at := now()
		elsewhere, err := t.fresh(ctx, tx, uid, t.opts.Instance, at)
		if err != nil {
			return nil, err
		}
		err = tx.Presence.Create().
			SetUserID(uid).SetInstance(t.opts.Instance).SetConnections(conns).SetSeenAt(at).
			OnConflictColumns(presence.FieldUserID, presence.FieldInstance).UpdateNewValues().
			Exec(ctx)
		if err != nil || elsewhere {
			return nil, err
		}
		return &Data{Online: true}, nil
	})
}

// goOffline deletes this instance's row of uid and, if no other instance
// holds a fresh row, records when he was last seen and announces him
// offline. A row already gone was swept by another instance, which told.
func (t *Tracker) goOffline(ctx context.Context, uid int) error {
	return t.transition(ctx, uid, func(ctx context.Context, tx *ent.Tx) (*Data, error) {
		at := now()
		n, err := tx.Presence.Delete().
			Where(presence.UserID(uid), presence.Instance(t.opts.Instance)).Exec(ctx)
		if err != nil || n == 0 {
			return nil, err
		}
		elsewhere, err := t.fresh(ctx, tx, uid, t.opts.Instance, at)
		if err != nil || elsewhere {
			return nil, err
		}
		return lastSeen(ctx, tx, uid, at)
	})
}

// fresh reports whether uid has a fresh row on an instance other than
// except (empty: any instance).
func (t *Tracker) fresh(ctx context.Context, tx *ent.Tx, uid int, except string, at time.Time) (bool, error) {
	q := tx.Presence.Query().Where(presence.UserID(uid), presence.SeenAtGT(at.Add(-t.opts.TTL)))
	if except != "" {
		q.Where(presence.InstanceNEQ(except))
	}
	return q.Exist(ctx)
}

// lastSeen sets the user's last_seen_at and returns the offline event's data.
func lastSeen(ctx context.Context, tx *ent.Tx, uid int, at time.Time) (*Data, error) {
	err := tx.User.UpdateOneID(uid).SetLastSeenAt(at).Exec(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	return &Data{Online: false, LastSeenAt: &at}, nil
}

// transition runs fn as the system in a transaction that holds uid's
// advisory lock on PostgreSQL, and publishes the event fn returns, if any,
// once the transaction has committed.
func (t *Tracker) transition(ctx context.Context, uid int, fn func(context.Context, *ent.Tx) (*Data, error)) error {
	ctx = viewer.SystemContext(ctx)
	tx, err := t.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("presence: begin: %w", err)
	}
	rollback := func(err error) error {
		tx.Rollback()
		return err
	}
	if t.opts.Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockSpace, int32(uid)); err != nil {
			return rollback(fmt.Errorf("presence: lock: %w", err))
		}
	}
	d, err := fn(ctx, tx)
	if err != nil {
		return rollback(fmt.Errorf("presence: %w", err))
	}
	var ev *realtime.Event
	if d != nil {
		if ev, err = event(uid, *d); err != nil {
			return rollback(err)
		}
	}
	if ev != nil && t.opts.Postgres && t.opts.NotifyChannel != "" {
		// Delivered by PostgreSQL at commit, in commit order: the advisory
		// lock orders the user's transitions, so his events arrive in the
		// order they happened, on every instance.
		payload, err := json.Marshal(realtime.Signal{Ephemeral: ev})
		if err == nil {
			_, err = tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", t.opts.NotifyChannel, string(payload))
		}
		if err != nil {
			return rollback(fmt.Errorf("presence: notify: %w", err))
		}
		ev = nil
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("presence: commit: %w", err)
	}
	if ev != nil && t.pub != nil {
		if err := t.pub.PublishEphemeral(ctx, *ev); err != nil {
			t.log.Warn("presence event lost", "user", uid, "kind", ev.Kind, "err", err)
		}
	}
	if d != nil {
		t.mu.Lock()
		changed := t.changed
		t.mu.Unlock()
		for _, f := range changed {
			f(uid, d.Online)
		}
	}
	return nil
}

// event builds the ephemeral event of d on uid's presence topic, with a
// payload that eventlog.Decode reads (Subject is the user).
func event(uid int, d Data) (*realtime.Event, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("presence: encode: %w", err)
	}
	payload, err := json.Marshal(eventlog.Payload{Subject: uid, Data: data})
	if err != nil {
		return nil, fmt.Errorf("presence: encode: %w", err)
	}
	kind := KindOffline
	if d.Online {
		kind = KindOnline
	}
	return &realtime.Event{Topic: eventlog.PresenceTopic(uid), Kind: kind, Payload: payload}, nil
}

// Online reports whether uid has a fresh row on any instance. Concurrent
// calls (a list of users, each resolved on its own) are batched into one
// query; users connected to this instance are answered from memory. A
// reader who shows when an offline user was last seen too reads State
// instead, which answers both at once.
func (t *Tracker) Online(ctx context.Context, uid int) (bool, error) {
	t.mu.Lock()
	u := t.users[uid]
	// Connected here and written: online. (A user whose last connection
	// here just closed has conns 0 while his row is being deleted: the
	// database answers, and it is what his offline event followed.)
	local := u != nil && u.conns > 0 && u.stored > 0
	t.mu.Unlock()
	if local {
		return true, nil
	}
	st, err := t.loader.load(ctx, uid)
	return st.Online, err
}

// State is a user's presence as one read saw it: whether he is online, and
// when his last connection closed (the user's last_seen_at).
type State struct {
	Online     bool
	LastSeenAt *time.Time
}

// State returns uid's presence, online and last seen read together by one
// statement. A user goes offline in one transaction that deletes his last
// fresh row and sets his last_seen_at, so one snapshot never shows him
// offline without the time of the connection that just closed, where
// reading the user row and his presence apart could (the row read just
// before the transaction commits, his rows just after). Concurrent calls
// are batched into one query, like Online's; a user who does not exist is
// offline, never seen.
func (t *Tracker) State(ctx context.Context, uid int) (State, error) {
	return t.loader.load(ctx, uid)
}

// fetchStates reads the State of uids in one statement: each user's
// last_seen_at and whether a fresh presence row of his exists.
func (t *Tracker) fetchStates(ctx context.Context, uids []int) (map[int]State, error) {
	var rows []struct {
		ID         int        `json:"id"`
		LastSeenAt *time.Time `json:"last_seen_at"`
		Online     bool       `json:"online"`
	}
	cutoff := now().Add(-t.opts.TTL)
	err := t.client.User.Query().Where(entuser.IDIn(uids...)).Modify(func(s *sql.Selector) {
		p := sql.Table(presence.Table)
		fresh := sql.Select(p.C(presence.FieldID)).From(p).Where(sql.And(
			sql.ColumnsEQ(p.C(presence.FieldUserID), s.C(entuser.FieldID)),
			sql.GT(p.C(presence.FieldSeenAt), cutoff),
		))
		s.Select(s.C(entuser.FieldID), s.C(entuser.FieldLastSeenAt)).AppendSelectExprAs(sql.Exists(fresh), "online")
	}).Scan(viewer.SystemContext(ctx), &rows)
	if err != nil {
		return nil, fmt.Errorf("presence: state: %w", err)
	}
	out := make(map[int]State, len(rows))
	for _, r := range rows {
		st := State{Online: r.Online, LastSeenAt: r.LastSeenAt}
		if st.LastSeenAt != nil {
			at := st.LastSeenAt.UTC()
			st.LastSeenAt = &at
		}
		out[r.ID] = st
	}
	return out, nil
}

// OnlineAmong returns which of uids are online, in one query.
func (t *Tracker) OnlineAmong(ctx context.Context, uids []int) (map[int]bool, error) {
	return t.fetchOnline(ctx, uids)
}

func (t *Tracker) fetchOnline(ctx context.Context, uids []int) (map[int]bool, error) {
	ids, err := t.client.Presence.Query().
		Where(presence.UserIDIn(uids...), presence.SeenAtGT(now().Add(-t.opts.TTL))).
		Select(presence.FieldUserID).Ints(viewer.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("presence: online: %w", err)
	}
	online := make(map[int]bool, len(ids))
	for _, id := range ids {
		online[id] = true
	}
	return online, nil
}

// run is the heartbeat.
func (t *Tracker) run(ctx context.Context) {
	defer close(t.done)
	tick := time.NewTicker(t.opts.TTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.retry(ctx)
			t.refresh(ctx)
			t.sweep(ctx)
		}
	}
}

// each runs f for every local user that match selects, holding his entry.
func (t *Tracker) each(match func(*user) bool, f func(uid int, u *user)) {
	type entry struct {
		uid int
		u   *user
	}
	var list []entry
	t.mu.Lock()
	for uid, u := range t.users {
		if match(u) {
			u.refs++
			list = append(list, entry{uid, u})
		}
	}
	t.mu.Unlock()
	for _, e := range list {
		f(e.uid, e.u)
		t.release(e.uid, e.u)
	}
}

// retry redoes the writes that failed: users whose row does not match their
// connections.
func (t *Tracker) retry(ctx context.Context) {
	t.each(func(u *user) bool { return u.conns != u.stored }, func(uid int, u *user) {
		if ctx.Err() == nil {
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			t.sync(wctx, uid, u)
			cancel()
		}
	})
}

// refresh marks this instance's rows fresh in one UPDATE. If fewer rows than
// expected remain, another instance swept them while this one could not
// refresh (a long pause, a database outage): they are written again, and
// their users announced online again if they had been announced offline.
func (t *Tracker) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(viewer.SystemContext(ctx), writeTimeout)
	defer cancel()
	t.mu.Lock()
	expected := 0
	for _, u := range t.users {
		if u.stored > 0 {
			expected++
		}
	}
	t.mu.Unlock()
	n, err := t.client.Presence.Update().Where(presence.Instance(t.opts.Instance)).
		SetSeenAt(now()).Save(ctx)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("presence heartbeat failed", "err", err)
		}
		return
	}
	if n >= expected {
		return
	}
	ids, err := t.client.Presence.Query().Where(presence.Instance(t.opts.Instance)).
		Select(presence.FieldUserID).Ints(ctx)
	if err != nil {
		t.log.Warn("presence heartbeat failed", "err", err)
		return
	}
	have := make(map[int]bool, len(ids))
	for _, id := range ids {
		have[id] = true
	}
	var lost []int
	t.mu.Lock()
	for uid, u := range t.users {
		if u.stored > 0 && !have[uid] {
			lost = append(lost, uid)
		}
	}
	t.mu.Unlock()
	for _, uid := range lost {
		u := t.hold(uid)
		t.restore(ctx, uid, u)
		t.release(uid, u)
	}
}

// restore rewrites uid's row if it is really gone.
func (t *Tracker) restore(ctx context.Context, uid int, u *user) {
	u.mu.Lock()
	exists, err := t.client.Presence.Query().
		Where(presence.UserID(uid), presence.Instance(t.opts.Instance)).Exist(ctx)
	if err == nil && !exists {
		t.log.Warn("presence row was swept while its user is connected; restoring it", "user", uid)
		t.mu.Lock()
		u.stored = 0
		t.mu.Unlock()
	}
	u.mu.Unlock()
	t.sync(ctx, uid, u)
}

// sweep deletes the stale rows of other instances (crashed, or stopped
// without Close) and announces offline the users left without a fresh row.
// Several instances may sweep at once: each row is deleted, and its user
// announced, by one of them only.
func (t *Tracker) sweep(ctx context.Context) {
	for range maxSweeps {
		if ctx.Err() != nil {
			return
		}
		cutoff := now().Add(-t.opts.TTL)
		qctx, cancel := context.WithTimeout(viewer.SystemContext(ctx), writeTimeout)
		rows, err := t.client.Presence.Query().
			Where(presence.InstanceNEQ(t.opts.Instance), presence.SeenAtLT(cutoff)).
			Order(ent.Asc(presence.FieldID)).Limit(sweepBatch).All(qctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				t.log.Warn("presence sweep failed", "err", err)
			}
			return
		}
		for _, row := range rows {
			if ctx.Err() != nil {
				return
			}
			t.sweepRow(ctx, row, cutoff)
		}
		if len(rows) < sweepBatch {
			return
		}
	}
}

func (t *Tracker) sweepRow(ctx context.Context, row *ent.Presence, cutoff time.Time) {
	uid := row.UserID
	u := t.hold(uid)
	defer t.release(uid, u)
	u.mu.Lock()
	defer u.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	err := t.transition(ctx, uid, func(ctx context.Context, tx *ent.Tx) (*Data, error) {
		n, err := tx.Presence.Delete().Where(presence.ID(row.ID), presence.SeenAtLT(cutoff)).Exec(ctx)
		if err != nil || n == 0 {
			return nil, err // refreshed meanwhile, or swept by another instance
		}
		if online, err := t.fresh(ctx, tx, uid, "", now()); err != nil || online {
			return nil, err
		}
		// The last moment the crashed instance vouched for the connection.
		return lastSeen(ctx, tx, uid, row.SeenAt.UTC())
	})
	if err != nil && ctx.Err() == nil {
		t.log.Warn("presence sweep failed", "user", uid, "instance", row.Instance, "err", err)
	}
}

// Close stops the tracker: it stops counting connections, stops the
// heartbeat, deletes this instance's rows and announces offline the users
// who are then connected nowhere. Call it while the database and the bus
// are still open. Rows it fails to delete go stale and are swept by the
// other instances (or by the next start, on SQLite).
func (t *Tracker) Close() {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		stop := t.stop
		t.mu.Unlock()
		t.ops.Wait()
		if stop != nil {
			stop()
			<-t.done
		}
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		t.mu.Lock()
		for _, u := range t.users {
			u.conns = 0
		}
		t.mu.Unlock()
		t.each(func(u *user) bool { return u.stored > 0 }, func(uid int, u *user) {
			if ctx.Err() == nil {
				t.sync(ctx, uid, u)
			}
		})
	})
}
