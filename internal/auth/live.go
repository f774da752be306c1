package auth

// This file is the live half of sessions: the connections that outlive a
// request (WebSockets) act for a session only while that session lasts.
//
// A session ends in a transaction (logout, a password change or reset, an
// admin disabling the account, account deletion, a replayed refresh token),
// which also appends a session.ended event on SessionsTopic. Every instance
// observes that topic on its hub (WatchSessions), and the instance that
// committed applies the change as soon as the commit succeeds, before the
// request answers. Either way the Live of every connection of those sessions
// ends: its operations are refused from then on, its streams close with the
// reason, and the transport closes the socket (OnEnd). A connection is
// tracked before its session row is read (Connect), so an end committed at
// any moment is either seen by that read or applied to the Live afterwards.
//
// Token expiry does not end a connection: the token only opens it. The
// session's own expiry does, when it passes without a refresh.

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/session"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/realtime"
	"github.com/parley-im/parley/internal/platform/txn"
)

// SessionsTopic carries the changes of sessions that live connections must
// follow; every instance observes it, and no stream subscribes to it.
const SessionsTopic = "sessions"

// Kinds of the events on SessionsTopic.
const (
	// KindSessionEnded: the listed sessions of a user ended.
	KindSessionEnded = "session.ended"
	// KindRoleChanged: a user's role changed; his live connections act with
	// the new one from then on.
	KindRoleChanged = "user.role_changed"
)

// Why a live session ended, as connections and streams report it.
const (
	// EndSignedOut: the session was signed out or revoked (logout, a new
	// password, a replayed refresh token, the account deleted) or expired.
	EndSignedOut = "SIGNED_OUT"
	// EndAccountDisabled: an admin disabled the account.
	EndAccountDisabled = "ACCOUNT_DISABLED"
)

// SessionChange is the data of an event on SessionsTopic.
type SessionChange struct {
	User     int   `json:"userId"`
	Sessions []int `json:"sessionIds,omitempty"`
	// Reason is set when the sessions ended (EndSignedOut,
	// EndAccountDisabled).
	Reason string `json:"reason,omitempty"`
	// Admin is set when the user's role changed.
	Admin *bool `json:"admin,omitempty"`
}

// expiryRetry is how soon a connection whose session expiry could not be
// checked (the database unreachable) tries again.
const expiryRetry = time.Minute

// Live is the session one long-lived connection acts for. It is safe for
// concurrent use.
type Live struct {
	svc       *Service
	userID    int
	sessionID int
	viewer    atomic.Pointer[viewer.Viewer]
	done      chan struct{} // closed when the session ends
	ended     context.Context
	endCtx    context.CancelFunc // cancels ended

	mu       sync.Mutex
	reason   string // why it ended; "" while it lasts
	onEnd    func(reason string)
	expiry   *time.Timer
	released bool
}

// Viewer returns who the connection acts as now: its role follows role
// changes.
func (l *Live) Viewer() *viewer.Viewer { return l.viewer.Load() }

// Done is closed when the session ends.
func (l *Live) Done() <-chan struct{} { return l.done }

// Ended is a context cancelled when the session ends, for
// context.AfterFunc: a stream that waits without a goroutine (graph's
// driven streams) wakes by it. It carries no values.
func (l *Live) Ended() context.Context { return l.ended }

// Reason says why the session ended (EndSignedOut, EndAccountDisabled), or
// "" while it lasts.
func (l *Live) Reason() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason
}

// Err is nil while the session lasts, and afterwards the error a request of
// that session gets.
func (l *Live) Err() error {
	switch l.Reason() {
	case "":
		return nil
	case EndAccountDisabled:
		return disabled()
	}
	return sessionEnded()
}

// OnEnd sets what to do when the session ends: the transport closes the
// connection. fn runs in its own goroutine, at once if the session has
// already ended.
func (l *Live) OnEnd(fn func(reason string)) {
	l.mu.Lock()
	l.onEnd = fn
	reason := l.reason
	l.mu.Unlock()
	if reason != "" {
		go fn(reason)
	}
}

// Release stops following the session: the connection has closed.
func (l *Live) Release() {
	l.mu.Lock()
	l.released = true
	if l.expiry != nil {
		l.expiry.Stop()
	}
	l.mu.Unlock()
	l.svc.live.remove(l)
}

// end ends the session of l once, for reason.
func (l *Live) end(reason string) {
	l.mu.Lock()
	if l.reason != "" {
		l.mu.Unlock()
		return
	}
	l.reason = reason
	close(l.done)
	l.endCtx()
	if l.expiry != nil {
		l.expiry.Stop()
	}
	fn := l.onEnd
	l.mu.Unlock()
	if fn != nil {
		go fn(reason)
	}
}

// armExpiry makes l recheck its session when it expires at.
func (l *Live) armExpiry(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reason != "" || l.released {
		return
	}
	if l.expiry != nil {
		l.expiry.Stop()
	}
	l.expiry = time.AfterFunc(time.Until(at), l.recheckExpiry)
}

// recheckExpiry runs when the session's expiry passes: a refresh may have
// extended it since the connection opened.
func (l *Live) recheckExpiry() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := l.svc.readSession(ctx, l.sessionID)
	if err == nil {
		err = sessionUsable(sess)
	}
	switch {
	case err == nil:
		l.armExpiry(sess.ExpiresAt)
	case SignedOut(err):
		l.end(endReason(err))
	default:
		l.armExpiry(time.Now().Add(expiryRetry))
	}
}

// endReason names the end that err, a SignedOut error, stands for.
func endReason(err error) string {
	if e, ok := apperr.As(err); ok && e.Reason == apperr.ReasonAccountDisabled {
		return EndAccountDisabled
	}
	return EndSignedOut
}

// liveSessions indexes the live connections of this instance.
type liveSessions struct {
	mu        sync.Mutex
	bySession map[int]map[*Live]struct{}
	byUser    map[int]map[*Live]struct{}
}

func (r *liveSessions) add(l *Live) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bySession == nil {
		r.bySession = make(map[int]map[*Live]struct{})
		r.byUser = make(map[int]map[*Live]struct{})
	}
	addTo(r.bySession, l.sessionID, l)
	addTo(r.byUser, l.userID, l)
}

func (r *liveSessions) remove(l *Live) {
	r.mu.Lock()
	defer r.mu.Unlock()
	removeFrom(r.bySession, l.sessionID, l)
	removeFrom(r.byUser, l.userID, l)
}

func addTo(m map[int]map[*Live]struct{}, k int, l *Live) {
	if m[k] == nil {
		m[k] = make(map[*Live]struct{})
	}
	m[k][l] = struct{}{}
}

func removeFrom(m map[int]map[*Live]struct{}, k int, l *Live) {
	delete(m[k], l)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// apply brings the live connections of this instance in line with c.
// Applying a change twice (the committing instance applies it, then
// observes it) does nothing more.
func (r *liveSessions) apply(c SessionChange) {
	r.mu.Lock()
	var ended []*Live
	for _, sid := range c.Sessions {
		for l := range r.bySession[sid] {
			if l.userID == c.User {
				ended = append(ended, l)
			}
		}
	}
	var promoted []*Live
	if c.Admin != nil {
		for l := range r.byUser[c.User] {
			promoted = append(promoted, l)
		}
	}
	r.mu.Unlock()
	if c.Reason != "" {
		for _, l := range ended {
			l.end(c.Reason)
		}
	}
	for _, l := range promoted {
		v := *l.Viewer()
		v.Admin = *c.Admin
		l.viewer.Store(&v)
	}
}

// Count returns how many live connections this instance tracks.
func (r *liveSessions) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, set := range r.bySession {
		n += len(set)
	}
	return n
}

// LiveConnections returns how many live connections this instance tracks.
func (s *Service) LiveConnections() int { return s.live.count() }

// Connect authenticates a long-lived connection from an access token and
// returns the Live it acts for. The Live is tracked before the session is
// read, so that no end of the session can fall between the two unseen.
// Call Release when the connection closes.
func (s *Service) Connect(ctx context.Context, raw string) (*Live, error) {
	c, err := s.tokens.Verify(raw, kindAccess)
	if err != nil {
		return nil, tokenError(err)
	}
	l := &Live{svc: s, userID: c.UserID, sessionID: c.SessionID, done: make(chan struct{})}
	l.ended, l.endCtx = context.WithCancel(context.Background())
	l.viewer.Store(&viewer.Viewer{UserID: c.UserID, SessionID: c.SessionID})
	s.live.add(l)
	sess, err := s.readSession(ctx, c.SessionID)
	if err == nil {
		err = sessionUsable(sess)
	}
	if err == nil && sess.UserID != c.UserID {
		err = sessionEnded()
	}
	if err == nil {
		err = l.Err() // ended since it was tracked
	}
	if err != nil {
		l.Release()
		return nil, err
	}
	l.viewer.Store(viewerOf(sess))
	l.armExpiry(sess.ExpiresAt)
	return l, nil
}

// readSession loads a session with its user, as the system; nil when it
// does not exist.
func (s *Service) readSession(ctx context.Context, id int) (*ent.Session, error) {
	sess, err := s.client.Session.Query().Where(session.ID(id)).WithUser().Only(viewer.SystemContext(ctx))
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("auth: read session: %w", err)
	}
	return sess, nil
}

// WatchSessions keeps the live connections and the session cache of this
// instance in step with the session changes every instance commits, as hub
// dispatches them; from then on Authenticate answers from the cache
// (sessioncache.go), since every end of a session reaches it. The returned
// func stops watching, and caching.
func (s *Service) WatchSessions(hub *realtime.Hub) (stop func()) {
	s.cache.enable(s.cacheTTL)
	caches.Store(&s.cache, struct{}{})
	unobserve := hub.Observe(SessionsTopic, func(ev realtime.Event) {
		p, err := eventlog.Decode(ev)
		if err != nil {
			return
		}
		var c SessionChange
		if json.Unmarshal(p.Data, &c) == nil {
			s.applyChange(c)
		}
	})
	return func() {
		unobserve()
		caches.Delete(&s.cache)
		s.cache.enable(0)
	}
}

// applyChange brings this instance in line with c: the cache forgets what c
// makes untrue, then the live connections of ended sessions end. Applying a
// change twice does nothing more.
func (s *Service) applyChange(c SessionChange) {
	s.cache.drop(c)
	s.live.apply(c)
}

// announce records c in the transaction of ctx (its own when ctx has none)
// for every instance, and applies it to this instance's session cache and
// connections once the transaction commits, before the caller answers.
func (s *Service) announce(ctx context.Context, kind string, c SessionChange) error {
	return txn.Run(ctx, s.client, func(ctx context.Context) error {
		tx := ent.TxFromContext(ctx)
		if s.events != nil {
			rec := eventlog.Record{Topic: SessionsTopic, Kind: kind, Actor: viewer.UserID(ctx), Data: c}
			if err := s.events.Append(ctx, rec); err != nil {
				return err
			}
		}
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				if err := next.Commit(ctx, tx); err != nil {
					return err
				}
				s.applyChange(c)
				return nil
			})
		})
		return nil
	})
}

// liveKey carries the Live of a connection.
type liveKey struct{}

// NewLiveContext returns ctx carrying l, for the operations of its
// connection.
func NewLiveContext(ctx context.Context, l *Live) context.Context {
	return context.WithValue(ctx, liveKey{}, l)
}

// LiveFromContext returns the Live of the connection ctx belongs to, or nil
// for a plain request.
func LiveFromContext(ctx context.Context) *Live {
	l, _ := ctx.Value(liveKey{}).(*Live)
	return l
}

// sessionEnded is the error of a request whose session has ended.
func sessionEnded() error {
	return apperr.New(apperr.Unauthenticated, apperr.ReasonSessionRevoked, "", "session ended: sign in again")
}
