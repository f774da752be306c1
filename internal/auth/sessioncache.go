package auth

// This file is the per-instance session cache: a request's authentication
// is answered from memory for a session this instance read recently, so
// that most requests cost no statement before their own.
//
// An entry stays true because every end of a session and every change of
// what a viewer is goes through the event log on SessionsTopic (live.go):
// session.ended on logout, a replayed refresh token, a password change or
// reset, an account disabled or deleted; user.role_changed on a role
// change. The instance that commits one drops the entries at once, after
// its commit and before it answers (announce); every other instance drops
// them when its hub passes the event (WatchSessions), which is the same
// moment its WebSockets of those sessions close. An entry also lasts no
// longer than the cache's TTL, nor past the session's own expiry, so that
// an instance whose hub fell behind or stopped refuses a revoked session
// within the TTL all the same.
//
// A read of the database that began before a drop must not put back what
// the drop removed: each drop moves a generation on, and a read stores its
// answer only if no drop came between its start and its end.

import (
	"sync"
	"time"

	"github.com/parley-im/parley/ent/viewer"
)

// DefaultSessionCacheTTL is how long an instance trusts a session it read
// without reading it again, when nothing told it the session ended: the
// bound on a revocation that no event brought.
const DefaultSessionCacheTTL = 10 * time.Second

// sessionCache remembers the viewers of recently read sessions. The zero
// value caches nothing (ttl 0).
type sessionCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	gen   uint64 // moves on at every drop
	byID  map[int]cachedSession
	sweep int // prune expired entries when the map reaches this size
}

type cachedSession struct {
	v     viewer.Viewer
	until time.Time
}

// enable makes c cache entries for ttl; ttl ≤ 0 caches nothing.
func (c *sessionCache) enable(ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ttl = max(ttl, 0)
	c.byID = nil
}

// get returns the viewer of session sid if c holds it and it is still due,
// at now.
func (c *sessionCache) get(sid int, now time.Time) (viewer.Viewer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[sid]
	if !ok {
		return viewer.Viewer{}, false
	}
	if !now.Before(e.until) {
		delete(c.byID, sid)
		return viewer.Viewer{}, false
	}
	return e.v, true
}

// begin is called before the database is read for a session: put stores
// the answer only if no drop came in between.
func (c *sessionCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put remembers v for its session until the sooner of the TTL from now and
// expires (the session's own expiry), unless a drop came after begin
// returned gen.
func (c *sessionCache) put(gen uint64, v viewer.Viewer, now, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ttl <= 0 || c.gen != gen {
		return
	}
	if c.byID == nil {
		c.byID = make(map[int]cachedSession)
		c.sweep = 1024
	}
	if len(c.byID) >= c.sweep {
		for id, e := range c.byID {
			if !now.Before(e.until) {
				delete(c.byID, id)
			}
		}
		c.sweep = max(1024, 2*len(c.byID))
	}
	until := now.Add(c.ttl)
	if expires.Before(until) {
		until = expires
	}
	c.byID[v.SessionID] = cachedSession{v: v, until: until}
}

// drop forgets what change makes untrue: the sessions that ended, and every
// session of a user whose role changed.
func (c *sessionCache) drop(change SessionChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, sid := range change.Sessions {
		delete(c.byID, sid)
	}
	if change.Admin != nil || (change.Reason != "" && len(change.Sessions) == 0) {
		for sid, e := range c.byID {
			if e.v.UserID == change.User {
				delete(c.byID, sid)
			}
		}
	}
}

// caches are the session caches of the services of this process, for a
// change committed in this process by code that has no Service (SetRole,
// which the admin subcommand and tests call with a client and an event
// log): it drops the entries of every one of them at once, before the
// caller goes on. Dropping an entry of another database's service only
// costs it a read.
var caches sync.Map // *sessionCache → struct{}

// dropEverywhere applies change to every session cache of the process.
func dropEverywhere(change SessionChange) {
	caches.Range(func(k, _ any) bool {
		k.(*sessionCache).drop(change)
		return true
	})
}
