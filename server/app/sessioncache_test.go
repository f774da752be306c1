package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/session"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// This file tests the per-instance session cache (internal/auth,
// sessioncache.go): a request's authentication is answered from memory,
// and a session that ends on one instance is refused on the other as soon
// as the event that records its end reaches it, well before the cache's
// TTL; without any event, the TTL alone bounds it.

// sessionReads counts the statements of requests that read the sessions
// table, as a TraceSQL of cfg.
func sessionReads(n *atomic.Int64) func(*app.Config) {
	return func(c *app.Config) {
		c.TraceSQL = func(ctx context.Context, args ...any) {
			if middleware.GetReqID(ctx) == "" {
				return
			}
			if q := fmt.Sprint(args...); strings.Contains(q, `FROM "sessions"`) || strings.Contains(q, "FROM `sessions`") {
				n.Add(1)
			}
		}
	}
}

// TestSessionCacheAnswersRequests: a session read once is not read again
// for the next requests of the same instance.
func TestSessionCacheAnswersRequests(t *testing.T) {
	var reads atomic.Int64
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := newServer(t, b, sessionReads(&reads))
		alice := s.Register("alice", nil)
		s.OK(alice.Token, `{ me { id } }`, nil, nil)
		reads.Store(0)
		for range 3 {
			s.OK(alice.Token, `{ me { id } }`, nil, nil)
		}
		require.Zero(t, reads.Load(), "the cached session answers")
	})
}

// TestSessionCacheTTL: a session revoked with no event (straight in the
// database) is still answered from the cache until its TTL passes, and
// refused after; with the cache off it is refused at once.
func TestSessionCacheTTL(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		for _, ttl := range []time.Duration{0, 2 * time.Second} {
			t.Run(ttl.String(), func(t *testing.T) {
				s := newServer(t, b, func(c *app.Config) { c.SessionCacheTTL = ttl })
				alice := s.Register("alice", nil)
				filled := time.Now() // the entry lasts from a moment after this
				s.OK(alice.Token, `{ me { id } }`, nil, nil)
				ctx := viewer.SystemContext(context.Background())
				require.NoError(t, s.App.Client.Session.Update().Where(session.RevokedAtIsNil()).SetRevokedAt(time.Now()).Exec(ctx))
				if ttl > 0 {
					s.OK(alice.Token, `{ me { id } }`, nil, nil) // no event told this instance
				}
				require.Eventually(t, func() bool {
					return s.Do(alice.Token, `{ me { id } }`, nil).Reason() == "SESSION_REVOKED"
				}, 10*time.Second, 20*time.Millisecond)
				require.GreaterOrEqual(t, time.Since(filled), ttl, "refused once the TTL passed, not before")
			})
		}
	})
}

// TestSessionCacheAcrossInstances: two instances with an hour-long cache,
// on PostgreSQL's bus and on NATS. A session that ends on one instance
// (logout, a password change, an account disabled by an admin, a replayed
// refresh token) is refused at once on that instance, and on the other the moment the event reaches
// it, which is when that instance closes the session's socket: no request
// is answered from a stale cache after that. A user's other session
// outlives a logout on both.
func TestSessionCacheAcrossInstances(t *testing.T) {
	buses := map[string]func(*testing.T) func(*app.Config){
		"notify": func(*testing.T) func(*app.Config) { return func(*app.Config) {} },
		"nats": func(t *testing.T) func(*app.Config) {
			url := natsURL(t)
			return func(c *app.Config) { c.BusURL = url }
		},
	}
	for name, bus := range buses {
		t.Run(name, func(t *testing.T) {
			var reads atomic.Int64
			one, two := twoInstances(t, dbtest.Schema, bus(t), sessionReads(&reads),
				func(c *app.Config) { c.SessionCacheTTL = time.Hour })
			alice := one.Register("alice", nil)
			root := one.Register("root", nil)
			one.admin(root)
			ways := []struct {
				name, reason string
				otherStays   bool
				end          func(t *testing.T, victim account)
			}{
				{"logout", "SESSION_REVOKED", true, func(t *testing.T, v account) { one.OK(v.Token, `mutation { logout }`, nil, nil) }},
				{"password change", "SESSION_REVOKED", false, func(t *testing.T, v account) {
					one.OK(v.Token, `mutation { changePassword(input: {oldPassword: "password1", newPassword: "password2"}) { accessToken } }`, nil, nil)
				}},
				{"disabled by an admin", "SESSION_REVOKED", false, func(t *testing.T, v account) {
					one.OK(root.Token, `mutation($id: ID!) { updateUser(id: $id, input: {accountState: disabled}) { id } }`, map[string]any{"id": v.ID}, nil)
				}},
				{"refresh token replayed", "SESSION_REVOKED", true, func(t *testing.T, v account) {
					// Two rotations on, the first token is a replay even within
					// the reuse interval; the rotations keep the session.
					const refresh = `mutation($r: String!) { refreshToken(refreshToken: $r) { refreshToken } }`
					var out struct{ RefreshToken struct{ RefreshToken string } }
					one.OK("", refresh, map[string]any{"r": v.Refresh}, &out)
					one.OK("", refresh, map[string]any{"r": out.RefreshToken.RefreshToken}, nil)
					require.Empty(t, two.Do(v.Token, `{ me { id } }`, nil).Errors, "rotation keeps the session")
					require.Equal(t, "SESSION_REVOKED", one.Do("", refresh, map[string]any{"r": v.Refresh}).Reason())
				}},
			}
			for i, way := range ways {
				// In this test, not a subtest: the servers belong to it.
				victim := one.Register(fmt.Sprintf("victim%d", i), nil)
				other := one.Login(victim.Name, "password1").Token
				one.Send(alice, victim, "open")
				for _, s := range []*server{one, two} {
					s.OK(victim.Token, `{ me { id } }`, nil, nil)
					s.OK(other, `{ me { id } }`, nil, nil)
				}
				reads.Store(0)
				for _, s := range []*server{one, two} {
					s.OK(victim.Token, `{ me { id } }`, nil, nil)
				}
				require.Zero(t, reads.Load(), "%s: both instances answer from their caches", way.name)

				c := two.MustDialWith("graphql-transport-ws", victim.Token)
				c.Subscribe("e", apptest.EventsSubscription, nil)
				two.WaitSubscriptions(1)
				way.end(t, victim)
				require.Equal(t, way.reason, one.Do(victim.Token, `{ me { id } }`, nil).Reason(), "%s: refused at once where it ended", way.name)
				_, _, closed := c.Ending() // the event has reached instance two
				require.Equal(t, 4403, closed.Code, way.name)
				require.Equal(t, way.reason, two.Do(victim.Token, `{ me { id } }`, nil).Reason(), "%s: refused on the other instance once the event is there", way.name)
				for _, s := range []*server{one, two} {
					r := s.Do(other, `{ me { id } }`, nil)
					if way.otherStays {
						require.Empty(t, r.Errors, "%s: the other session stays", way.name)
					} else {
						require.NotEmpty(t, r.Errors, "%s: every session ended", way.name)
					}
				}
			}
		})
	}
}
