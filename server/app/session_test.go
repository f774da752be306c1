package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// This file tests that a WebSocket is only as good as its session: when
// the session ends, for any reason and on any instance, the socket's
// streams end with the reason and the socket closes with 4403; until then
// its operations (mutations included) work in both protocols.

// protocols are the two WebSocket protocols the server speaks.
var protocols = []string{"graphql-transport-ws", "graphql-ws"}

// liveConn is a raw WebSocket client of either protocol that records every
// frame it reads.
type liveConn struct {
	t        *testing.T
	conn     *websocket.Conn
	protocol string
}

// frame is one message from the server.
type frame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// dialLive opens a WebSocket with protocol and initialises it with token.
func (s *server) dialLive(protocol, token string) (*liveConn, error) {
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/query"
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}).Dial(u, nil)
	if err != nil {
		return nil, err
	}
	s.t.Cleanup(func() { conn.Close() })
	c := &liveConn{t: s.t, conn: conn, protocol: protocol}
	init := map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}
	if err := conn.WriteJSON(init); err != nil {
		return nil, err
	}
	for {
		f, err := c.read()
		if err != nil {
			return nil, err
		}
		switch f.Type {
		case "connection_ack":
			return c, nil
		case "ka", "ping", "pong", "connection_error":
			continue // the legacy protocol says why before it closes
		}
		return nil, errors.New("unexpected " + f.Type)
	}
}

func (s *server) mustDialLive(protocol, token string) *liveConn {
	s.t.Helper()
	c, err := s.dialLive(protocol, token)
	require.NoError(s.t, err)
	return c
}

// read returns the next frame other than keepalives.
func (c *liveConn) read() (frame, error) {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, raw, err := c.conn.ReadMessage()
		if err != nil {
			return frame{}, err
		}
		var f frame
		if err := json.Unmarshal(raw, &f); err != nil {
			return frame{}, err
		}
		switch f.Type {
		case "ka", "pong":
			continue
		case "ping":
			c.conn.WriteJSON(map[string]any{"type": "pong"})
			continue
		}
		return f, nil
	}
}

// start sends an operation under id.
func (c *liveConn) start(id, query string, vars map[string]any) {
	c.t.Helper()
	typ := "subscribe"
	if c.protocol == "graphql-ws" {
		typ = "start"
	}
	require.NoError(c.t, c.conn.WriteJSON(map[string]any{
		"id": id, "type": typ, "payload": map[string]any{"query": query, "variables": vars},
	}))
}

// result reads the answer of a query or mutation started under id: its
// data or errors, then its complete.
func (c *liveConn) result(id string) response {
	c.t.Helper()
	var r response
	for {
		f, err := c.read()
		require.NoError(c.t, err)
		require.Equal(c.t, id, f.ID, "frame %s %s", f.Type, f.Payload)
		switch f.Type {
		case "next", "data":
			require.NoError(c.t, json.Unmarshal(f.Payload, &r))
		case "error":
			require.NoError(c.t, json.Unmarshal(f.Payload, &r.Errors))
		case "complete":
			return r
		default:
			c.t.Fatalf("unexpected frame %s", f.Type)
		}
	}
}

// streamEvent is one event of a stream.
type streamEvent struct {
	Cursor, Kind string
	Reason       *string
	Node         *struct{ ID, Text string }
}

// ending reads until the server closes the socket. It returns the events
// each stream got, which streams completed, and the close frame.
func (c *liveConn) ending() (events map[string][]streamEvent, completed map[string]bool, closed *websocket.CloseError) {
	c.t.Helper()
	events, completed = map[string][]streamEvent{}, map[string]bool{}
	for {
		f, err := c.read()
		if err != nil {
			require.ErrorAs(c.t, err, &closed, "the server closes the socket")
			return events, completed, closed
		}
		switch f.Type {
		case "next", "data":
			var p struct {
				Data   map[string]streamEvent
				Errors []gqlError
			}
			require.NoError(c.t, json.Unmarshal(f.Payload, &p))
			require.Empty(c.t, p.Errors)
			for _, ev := range p.Data {
				events[f.ID] = append(events[f.ID], ev)
			}
		case "complete":
			completed[f.ID] = true
		default:
			c.t.Fatalf("unexpected frame %s %s", f.Type, f.Payload)
		}
	}
}

const liveEvents = `subscription($after: String) { events(after: $after) { cursor kind reason node { id ... on Message { text } } } }`

// TestSocketEndsWithSession: whichever way a session ends, every socket of
// that session ends its streams with stream.closed and the reason, then
// closes with 4403 and the reason as text, within a second; nothing sent
// after the end reaches it. Sockets of the user's other sessions stay.
func TestSocketEndsWithSession(t *testing.T) {
	ways := []struct {
		name, reason string
		otherStays   bool // a second session of the same user keeps its socket
		end          func(s *socialServer, bob account, admin account)
	}{
		{"logout", "SIGNED_OUT", true, func(s *socialServer, bob, _ account) {
			s.ok(bob.Token, `mutation { logout }`, nil, nil)
		}},
		{"password change", "SIGNED_OUT", false, func(s *socialServer, bob, _ account) {
			s.ok(bob.Token, `mutation { changePassword(input: {oldPassword: "password1", newPassword: "password2"}) { accessToken } }`, nil, nil)
		}},
		{"password reset", "SIGNED_OUT", false, func(s *socialServer, bob, _ account) {
			s.ok("", `mutation { sendVerificationCode(input: {phone: "13900000001", purpose: forget}) { expiresAt } }`, nil, nil)
			code := s.codes.Last("13900000001")
			s.ok("", `mutation($c: String!) { resetPassword(input: {phone: "13900000001", code: $c, username: "bob", newPassword: "password2"}) }`, map[string]any{"c": code}, nil)
		}},
		{"disabled by an admin", "ACCOUNT_DISABLED", false, func(s *socialServer, bob, admin account) {
			s.ok(admin.Token, `mutation($id: ID!) { updateUser(id: $id, input: {accountState: disabled}) { id } }`, map[string]any{"id": bob.ID}, nil)
		}},
		{"refresh token replayed", "SIGNED_OUT", true, func(s *socialServer, bob, _ account) {
			const refresh = `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`
			s.ok("", refresh, map[string]any{"r": bob.Refresh}, nil)
			require.Equal(t, "SESSION_REVOKED", s.do("", refresh, map[string]any{"r": bob.Refresh}).reason())
		}},
		{"account deleted", "SIGNED_OUT", false, func(s *socialServer, bob, _ account) {
			s.ok(bob.Token, `mutation { deleteAccount(password: "password1") }`, nil, nil)
		}},
	}
	eachBackend(t, func(t *testing.T, b backend) {
		for _, way := range ways {
			for _, protocol := range protocols {
				t.Run(way.name+"/"+protocol, func(t *testing.T) {
					s := newSocialServer(t, b)
					alice := s.register("alice", nil)
					bob := s.register("bob", map[string]any{"phone": "13900000001"})
					admin := s.register("root", nil)
					s.admin(admin)
					s.send(alice, bob, "before")
					other := s.login("bob", "password1")

					c := s.mustDialLive(protocol, bob.Token)
					c.start("e1", liveEvents, nil)
					c.start("e2", liveEvents, nil)
					stays := s.mustDialLive(protocol, other)
					stays.start("e", liveEvents, nil)
					s.waitSubscriptions(3)

					began := time.Now()
					way.end(s, bob, admin)
					// Sent after the end: must never reach the ended socket (a
					// deleted account takes no more messages).
					s.do(alice.Token, sendMutation, map[string]any{"to": bob.ID, "text": "after"})

					events, completed, closed := c.ending()
					require.Less(t, time.Since(began), time.Second+500*time.Millisecond, "the socket closes within a second of the end")
					require.Equal(t, 4403, closed.Code)
					require.Equal(t, way.reason, closed.Text)
					for _, id := range []string{"e1", "e2"} {
						evs := events[id]
						require.NotEmpty(t, evs, "stream %s", id)
						last := evs[len(evs)-1]
						require.Equal(t, "stream.closed", last.Kind, "stream %s ends with stream.closed", id)
						require.Equal(t, way.reason, *last.Reason)
						for _, ev := range evs {
							if ev.Node != nil {
								require.NotEqual(t, "after", ev.Node.Text, "a message sent after the end was delivered")
							}
						}
						require.True(t, completed[id], "stream %s completes", id)
					}

					if way.otherStays {
						// The other session's socket still runs and receives.
						s.send(alice, bob, "still")
						for {
							f, err := stays.read()
							require.NoError(t, err, "the other session's socket stays open")
							if strings.Contains(string(f.Payload), `"still"`) {
								break
							}
						}
					} else {
						_, _, closed := stays.ending()
						require.Equal(t, 4403, closed.Code, "every session of the user ends")
						require.Equal(t, way.reason, closed.Text)
					}
				})
			}
		}
	})
}

// login signs in and returns the access token.
func (s *server) login(name, password string) string {
	s.t.Helper()
	var out struct{ Login struct{ AccessToken string } }
	s.ok("", loginMutation, login(name, password), &out)
	return out.Login.AccessToken
}

// TestNothingRunsAfterLogout: once the session has ended, an operation
// sent on its socket, or a stream resumed on it, gets nothing of the user's:
// the socket is closed or the operation refused, never answered.
func TestNothingRunsAfterLogout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, protocol := range protocols {
			t.Run(protocol, func(t *testing.T) {
				s := newServer(t, b)
				alice, bob := s.register("alice", nil), s.register("bob", nil)
				s.send(alice, bob, "before")
				c := s.mustDialLive(protocol, bob.Token)
				s.ok(bob.Token, `mutation { logout }`, nil, nil)
				s.send(alice, bob, "after logout")
				// The socket may not have closed yet: whatever it answers
				// must not be the user's data.
				ops := map[string]string{
					"q": `{ me { id username } }`,
					"m": `mutation($to: ID!) { sendMessage(input: {to: $to, text: "from a dead session"}) { id } }`,
					"r": liveEvents,
				}
				for id, q := range ops {
					if c.conn.WriteJSON(map[string]any{"id": id, "type": map[string]string{"graphql-ws": "start"}[protocol] + map[string]string{"graphql-transport-ws": "subscribe"}[protocol],
						"payload": map[string]any{"query": q, "variables": map[string]any{"to": alice.ID, "after": "0"}}}) != nil {
						break
					}
				}
				for {
					f, err := c.read()
					if err != nil {
						var closed *websocket.CloseError
						require.ErrorAs(t, err, &closed)
						require.Equal(t, 4403, closed.Code)
						require.Equal(t, "SIGNED_OUT", closed.Text)
						break
					}
					payload := string(f.Payload)
					require.NotContains(t, payload, `"username":"bob"`, "a query ran after logout")
					require.NotContains(t, payload, `"sendMessage":{`, "a mutation ran after logout")
					require.NotContains(t, payload, "after logout", "a replay delivered a message sent after logout")
					require.NotContains(t, payload, `"text":"before"`, "a replay ran after logout")
				}
				var history struct {
					Messages struct{ TotalCount int }
				}
				convs := s.conversationOf(alice)
				s.ok(alice.Token, `query($c: ID!) { messages(conversationId: $c) { totalCount } }`, map[string]any{"c": convs}, &history)
				require.Equal(t, 2, history.Messages.TotalCount, "nothing was sent from the dead session")
			})
		}
	})
}

// conversationOf returns the id of a's first conversation.
func (s *server) conversationOf(a account) string {
	s.t.Helper()
	var out struct {
		Conversations struct {
			Edges []struct {
				Node struct{ Conversation struct{ ID string } }
			}
		}
	}
	s.ok(a.Token, `{ conversations(first: 1) { edges { node { conversation { id } } } } }`, nil, &out)
	require.NotEmpty(s.t, out.Conversations.Edges)
	return out.Conversations.Edges[0].Node.Conversation.ID
}

// TestSocketSessionAcrossInstances: a session ended on one instance closes
// its socket on another within a second.
func TestSocketSessionAcrossInstances(t *testing.T) {
	t.Parallel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
	}
	url := dbtest.Schema(t, base)
	one := start(t, testConfig(t, url))
	cfg := testConfig(t, url)
	cfg.HubPollInterval = time.Hour // only the bus can tell instance two in time
	two := start(t, cfg)

	alice, bob := one.register("alice", nil), one.register("bob", nil)
	one.send(alice, bob, "open")
	c := two.mustDialLive("graphql-transport-ws", bob.Token)
	c.start("e", liveEvents, nil)
	two.waitSubscriptions(1)
	began := time.Now()
	one.ok(bob.Token, `mutation { logout }`, nil, nil)
	one.send(alice, bob, "after")
	events, _, closed := c.ending()
	require.Less(t, time.Since(began), time.Second+500*time.Millisecond)
	require.Equal(t, 4403, closed.Code)
	require.Equal(t, "SIGNED_OUT", closed.Text)
	evs := events["e"]
	require.NotEmpty(t, evs)
	require.Equal(t, "stream.closed", evs[len(evs)-1].Kind)
	for _, ev := range evs {
		if ev.Node != nil {
			require.NotEqual(t, "after", ev.Node.Text)
		}
	}
}

// TestSocketOutlivesToken: an access token's expiry does not end a socket
// opened with it; the session's does.
func TestSocketOutlivesToken(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig(t, b.url(t))
		cfg.AccessTTL = time.Second
		s := start(t, cfg)
		alice, bob := s.register("alice", nil), s.register("bob", nil)
		s.send(alice, bob, "open")
		c := s.mustDialLive("graphql-transport-ws", bob.Token)
		c.start("e", liveEvents, nil)
		s.waitSubscriptions(1)
		time.Sleep(1500 * time.Millisecond) // the token has expired
		require.Equal(t, "TOKEN_EXPIRED", s.do(bob.Token, `{ me { id } }`, nil).reason())
		fresh := s.login("alice", "password1")
		s.ok(fresh, sendMutation, map[string]any{"to": bob.ID, "text": "still here"}, nil)
		for {
			f, err := c.read()
			require.NoError(t, err)
			if strings.Contains(string(f.Payload), "still here") {
				break
			}
		}
		// Queries on the socket still run as bob.
		c.start("q", `{ me { username } }`, nil)
		r := c.result("q")
		require.Empty(t, r.Errors)
		require.JSONEq(t, `{"me":{"username":"bob"}}`, string(r.Data))
	})
}

// TestSocketEndsWithSessionExpiry: a session that expires unrefreshed ends
// its sockets.
func TestSocketEndsWithSessionExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig(t, b.url(t))
		cfg.RefreshTTL = time.Second // the session itself expires
		s := start(t, cfg)
		bob := s.register("bob", nil)
		c := s.mustDialLive("graphql-transport-ws", bob.Token)
		c.start("e", liveEvents, nil)
		s.waitSubscriptions(1)
		events, _, closed := c.ending()
		require.Equal(t, 4403, closed.Code)
		require.Equal(t, "SIGNED_OUT", closed.Text)
		require.Equal(t, "stream.closed", events["e"][len(events["e"])-1].Kind)
	})
}

// TestSocketRefusedAtInit: connection_init with a token that cannot open a
// session closes with 4403 and a reason a client can act on.
func TestSocketRefusedAtInit(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig(t, b.url(t))
		cfg.AccessTTL = 2 * time.Second
		s := start(t, cfg)
		alice := s.register("alice", nil)
		signedOut := s.login("alice", "password1")
		s.ok(signedOut, `mutation { logout }`, nil, nil)
		refuse := func(tokens map[string]string) {
			t.Helper()
			for _, protocol := range protocols {
				for token, reason := range tokens {
					_, err := s.dialLive(protocol, token)
					var closed *websocket.CloseError
					require.ErrorAs(t, err, &closed, "%s %s", protocol, reason)
					require.Equal(t, 4403, closed.Code)
					require.Equal(t, reason, closed.Text, protocol)
				}
			}
		}
		refuse(map[string]string{
			"not.a.token":   "TOKEN_INVALID",
			alice.Token[:9]: "TOKEN_INVALID",
			alice.Refresh:   "TOKEN_INVALID", // a refresh token is not an access token
			signedOut:       "SIGNED_OUT",
		})
		time.Sleep(2100 * time.Millisecond)
		refuse(map[string]string{alice.Token: "TOKEN_EXPIRED"})
	})
}

// TestMutationsOverWebsocket: a mutation sent over a WebSocket, in either
// protocol, commits once and answers its result without an error.
func TestMutationsOverWebsocket(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, protocol := range protocols {
			t.Run(protocol, func(t *testing.T) {
				s := newServer(t, b)
				alice, bob := s.register("alice", nil), s.register("bob", nil)
				c := s.mustDialLive(protocol, alice.Token)
				c.start("m", `mutation($to: ID!) { sendMessage(input: {to: $to, text: "over ws"}) { id text seq } }`, map[string]any{"to": bob.ID})
				r := c.result("m")
				require.Empty(t, r.Errors)
				var out struct{ SendMessage sent }
				require.NoError(t, json.Unmarshal(r.Data, &out))
				require.Equal(t, "over ws", out.SendMessage.Text)
				require.Equal(t, 1, out.SendMessage.Seq)
				// A failing mutation answers its error and commits nothing.
				c.start("bad", `mutation($to: ID!) { sendMessage(input: {to: $to, text: ""}) { id } }`, map[string]any{"to": bob.ID})
				require.Equal(t, "BAD_USER_INPUT", c.result("bad").code())
				// The connection goes on: a second mutation works too.
				c.start("m2", `mutation($to: ID!) { sendMessage(input: {to: $to, text: "again"}) { seq } }`, map[string]any{"to": bob.ID})
				r = c.result("m2")
				require.Empty(t, r.Errors)
				require.JSONEq(t, `{"sendMessage":{"seq":2}}`, string(r.Data))
				var history struct{ Messages struct{ TotalCount int } }
				s.ok(bob.Token, `query($c: ID!) { messages(conversationId: $c) { totalCount } }`, map[string]any{"c": s.conversationOf(bob)}, &history)
				require.Equal(t, 2, history.Messages.TotalCount, "each mutation committed once")
			})
		}
	})
}

// TestSocketFollowsRole: a role granted or revoked applies to the open
// sockets of the user at once, not only to his next sign-in.
func TestSocketFollowsRole(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newServer(t, b)
		bob := s.register("bob", nil)
		c := s.mustDialLive("graphql-transport-ws", bob.Token)
		dirtyWords := func() bool {
			c.start("q", `{ settings { dirtyWords } }`, nil)
			r := c.result("q")
			require.Empty(t, r.Errors)
			return !strings.Contains(string(r.Data), `"dirtyWords":null`)
		}
		require.False(t, dirtyWords(), "only admins read the dirty words")
		ctx := context.Background()
		_, changed, err := auth.SetRole(ctx, s.app.Client, s.app.Events, "bob", true)
		require.NoError(t, err)
		require.True(t, changed)
		require.Eventually(t, dirtyWords, time.Second, 10*time.Millisecond, "the socket acts as an admin once granted")
		_, _, err = auth.SetRole(ctx, s.app.Client, s.app.Events, "bob", false)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return !dirtyWords() }, time.Second, 10*time.Millisecond, "and no more once revoked")
	})
}

// TestLogoutOverTheSocket: a logout sent over the socket itself gets its
// answer, then the socket's streams and the socket end as for any other
// end of the session.
func TestLogoutOverTheSocket(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, protocol := range protocols {
			t.Run(protocol, func(t *testing.T) {
				s := newServer(t, b)
				alice, bob := s.register("alice", nil), s.register("bob", nil)
				s.send(alice, bob, "open")
				c := s.mustDialLive(protocol, bob.Token)
				c.start("e", liveEvents, nil)
				s.waitSubscriptions(1)
				c.start("out", `mutation { logout }`, nil)
				var answered bool
				for {
					f, err := c.read()
					if err != nil {
						var closed *websocket.CloseError
						require.ErrorAs(t, err, &closed)
						require.Equal(t, 4403, closed.Code)
						require.Equal(t, "SIGNED_OUT", closed.Text)
						break
					}
					if f.ID == "out" && (f.Type == "next" || f.Type == "data") {
						require.JSONEq(t, `{"data":{"logout":true}}`, string(f.Payload))
						answered = true
					}
				}
				require.True(t, answered, "the logout is answered before the socket closes")
				require.Equal(t, "SESSION_REVOKED", s.do(bob.Token, `{ me { id } }`, nil).reason())
			})
		}
	})
}
