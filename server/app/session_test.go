package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// This file tests that a WebSocket is only as good as its session: when
// the session ends, for any reason and on any instance, the socket's
// streams end with the reason and the socket closes with 4403; until then
// its operations (mutations included) work in both apptest.Protocols.

// requireClosed checks that err is the server's closing of the socket
// because the session ended: 4403, with reason as the text.
func requireClosed(t *testing.T, err error, reason string, msgAndArgs ...any) {
	t.Helper()
	var closed *websocket.CloseError
	require.ErrorAs(t, err, &closed, msgAndArgs...)
	require.Equal(t, 4403, closed.Code, msgAndArgs...)
	require.Equal(t, reason, closed.Text, msgAndArgs...)
}

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
			s.OK(bob.Token, `mutation { logout }`, nil, nil)
		}},
		{"password change", "SIGNED_OUT", false, func(s *socialServer, bob, _ account) {
			s.OK(bob.Token, `mutation { changePassword(input: {oldPassword: "password1", newPassword: "password2"}) { accessToken } }`, nil, nil)
		}},
		{"password reset", "SIGNED_OUT", false, func(s *socialServer, bob, _ account) {
			s.OK("", `mutation { sendVerificationCode(input: {phone: "13900000001", purpose: forget}) { expiresAt } }`, nil, nil)
			code := s.codes.Last("+8613900000001") // the SMS goes to the E.164 form
			s.OK("", `mutation($c: String!) { resetPassword(input: {phone: "13900000001", code: $c, username: "bob", newPassword: "password2"}) }`, map[string]any{"c": code}, nil)
		}},
		{"disabled by an admin", "ACCOUNT_DISABLED", false, func(s *socialServer, bob, admin account) {
			s.OK(admin.Token, `mutation($id: ID!) { updateUser(id: $id, input: {accountState: disabled}) { id } }`, map[string]any{"id": bob.ID}, nil)
		}},
		{"refresh token replayed", "SIGNED_OUT", true, func(s *socialServer, bob, _ account) {
			// Two rotations on, the first token is a replay even within the
			// reuse interval, which answers only the token just used.
			const refresh = `mutation($r: String!) { refreshToken(refreshToken: $r) { refreshToken } }`
			var out struct{ RefreshToken struct{ RefreshToken string } }
			s.OK("", refresh, map[string]any{"r": bob.Refresh}, &out)
			s.OK("", refresh, map[string]any{"r": out.RefreshToken.RefreshToken}, nil)
			require.Equal(t, "SESSION_REVOKED", s.Do("", refresh, map[string]any{"r": bob.Refresh}).Reason())
		}},
		{"account deleted", "SIGNED_OUT", false, func(s *socialServer, bob, _ account) {
			s.OK(bob.Token, `mutation { deleteAccount(password: "password1") }`, nil, nil)
		}},
	}
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		for _, way := range ways {
			for _, protocol := range apptest.Protocols {
				t.Run(way.name+"/"+protocol, func(t *testing.T) {
					s := newSocialServer(t, b)
					alice := s.Register("alice", nil)
					bob := s.Register("bob", map[string]any{"phone": "13900000001"})
					admin := s.Register("root", nil)
					s.admin(admin)
					s.Send(alice, bob, "before")
					other := s.Login("bob", "password1").Token

					c := s.MustDialWith(protocol, bob.Token)
					c.Subscribe("e1", apptest.EventsSubscription, nil)
					c.Subscribe("e2", apptest.EventsSubscription, nil)
					stays := s.MustDialWith(protocol, other)
					stays.Subscribe("e", apptest.EventsSubscription, nil)
					s.WaitSubscriptions(3)

					began := time.Now()
					way.end(s, bob, admin)
					// Sent after the end: must never reach the ended socket (a
					// deleted account takes no more messages).
					s.Do(alice.Token, apptest.SendMessageMutation, map[string]any{"to": bob.ID, "text": "after"})

					events, completed, closed := c.Ending()
					require.Less(t, time.Since(began), time.Second+500*time.Millisecond, "the socket closes within a second of the end")
					require.Equal(t, 4403, closed.Code)
					require.Equal(t, way.reason, closed.Text)
					for _, id := range []string{"e1", "e2"} {
						evs := events[id]
						require.NotEmpty(t, evs, "stream %s", id)
						last := evs[len(evs)-1]
						require.Equal(t, "STREAM_CLOSED", last.Kind, "stream %s ends with stream.closed", id)
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
						s.Send(alice, bob, "still")
						for {
							f, err := stays.Read()
							require.NoError(t, err, "the other session's socket stays open")
							if strings.Contains(string(f.Payload), `"still"`) {
								break
							}
						}
					} else {
						_, _, closed := stays.Ending()
						require.Equal(t, 4403, closed.Code, "every session of the user ends")
						require.Equal(t, way.reason, closed.Text)
					}
				})
			}
		}
	})
}

// TestNothingRunsAfterLogout: once the session has ended, an operation
// sent on its socket, or a stream resumed on it, gets nothing of the user's:
// the socket is closed or the operation refused, never answered.
func TestNothingRunsAfterLogout(t *testing.T) {
	eachProtocol(t, func(t *testing.T, s *server, protocol string) {
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		s.Send(alice, bob, "before")
		c := s.MustDialWith(protocol, bob.Token)
		s.OK(bob.Token, `mutation { logout }`, nil, nil)
		s.Send(alice, bob, "after logout")
		// The socket may not have closed yet: whatever it answers
		// must not be the user's data.
		ops := map[string]string{
			"q": `{ me { id username } }`,
			"m": `mutation($to: ID!) { sendMessage(input: {to: $to, text: "from a dead session"}) { id } }`,
			"r": apptest.EventsSubscription,
		}
		for id, q := range ops {
			if c.WriteJSON(map[string]any{"id": id, "type": map[string]string{"graphql-ws": "start"}[protocol] + map[string]string{"graphql-transport-ws": "subscribe"}[protocol],
				"payload": map[string]any{"query": q, "variables": map[string]any{"to": alice.ID, "after": "0"}}}) != nil {
				break
			}
		}
		for {
			f, err := c.Read()
			if err != nil {
				requireClosed(t, err, "SIGNED_OUT")
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
		s.OK(alice.Token, `query($c: ID!) { messages(conversationId: $c) { totalCount } }`, map[string]any{"c": convs}, &history)
		require.Equal(t, 2, history.Messages.TotalCount, "nothing was sent from the dead session")
	})
}

// conversationOf returns the id of a's first conversation.
func (s *server) conversationOf(a account) string {
	s.T.Helper()
	list := s.conversationList(a, "")
	require.NotEmpty(s.T, list)
	return list[0].Conversation.ID
}

// TestSocketSessionAcrossInstances: a session ended on one instance closes
// its socket on another within a second.
func TestSocketSessionAcrossInstances(t *testing.T) {
	one, two := twoInstances(t, dbtest.Schema) // only the bus can tell instance two in time

	alice, bob := one.Register("alice", nil), one.Register("bob", nil)
	one.Send(alice, bob, "open")
	c := two.MustDialWith("graphql-transport-ws", bob.Token)
	c.Subscribe("e", apptest.EventsSubscription, nil)
	two.WaitSubscriptions(1)
	began := time.Now()
	one.OK(bob.Token, `mutation { logout }`, nil, nil)
	one.Send(alice, bob, "after")
	events, _, closed := c.Ending()
	require.Less(t, time.Since(began), time.Second+500*time.Millisecond)
	require.Equal(t, 4403, closed.Code)
	require.Equal(t, "SIGNED_OUT", closed.Text)
	evs := events["e"]
	require.NotEmpty(t, evs)
	require.Equal(t, "STREAM_CLOSED", evs[len(evs)-1].Kind)
	for _, ev := range evs {
		if ev.Node != nil {
			require.NotEqual(t, "after", ev.Node.Text)
		}
	}
}

// TestSocketOutlivesToken: an access token's expiry does not end a socket
// opened with it; the session's does.
func TestSocketOutlivesToken(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.AccessTTL = 2 * time.Second }, func(t *testing.T, s *server) {
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		s.Send(alice, bob, "open")
		bob.Token = s.Login("bob", "password1").Token // fresh, so that a slow machine still dials in time
		c := s.MustDialWith("graphql-transport-ws", bob.Token)
		c.Subscribe("e", apptest.EventsSubscription, nil)
		s.WaitSubscriptions(1)
		time.Sleep(2500 * time.Millisecond) // the token has expired
		require.Equal(t, "TOKEN_EXPIRED", s.Do(bob.Token, `{ me { id } }`, nil).Reason())
		fresh := s.Login("alice", "password1").Token
		s.OK(fresh, apptest.SendMessageMutation, map[string]any{"to": bob.ID, "text": "still here"}, nil)
		for {
			f, err := c.Read()
			require.NoError(t, err)
			if strings.Contains(string(f.Payload), "still here") {
				break
			}
		}
		// Queries on the socket still run as bob.
		c.Subscribe("q", `{ me { username } }`, nil)
		r := c.Result("q")
		require.Empty(t, r.Errors)
		require.JSONEq(t, `{"me":{"username":"bob"}}`, string(r.Data))
	})
}

// TestSocketEndsWithSessionExpiry: a session that expires unrefreshed ends
// its sockets.
func TestSocketEndsWithSessionExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		cfg := apptest.Config(t, b.URL(t))
		cfg.RefreshTTL = time.Second // the session itself expires
		s := start(t, cfg)
		bob := s.Register("bob", nil)
		c := s.MustDialWith("graphql-transport-ws", bob.Token)
		c.Subscribe("e", apptest.EventsSubscription, nil)
		s.WaitSubscriptions(1)
		events, _, closed := c.Ending()
		require.Equal(t, 4403, closed.Code)
		require.Equal(t, "SIGNED_OUT", closed.Text)
		require.Equal(t, "STREAM_CLOSED", events["e"][len(events["e"])-1].Kind)
	})
}

// TestSocketRefusedAtInit: connection_init with a token that cannot open a
// session closes with 4403 and a reason a client can act on.
func TestSocketRefusedAtInit(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.AccessTTL = 2 * time.Second }, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		signedOut := s.Login("alice", "password1").Token
		s.OK(signedOut, `mutation { logout }`, nil, nil)
		refuse := func(tokens map[string]string) {
			t.Helper()
			for _, protocol := range apptest.Protocols {
				for token, reason := range tokens {
					_, err := s.Dial(protocol, apptest.Bearer(token))
					requireClosed(t, err, reason, "%s %s", protocol, reason)
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
	eachProtocol(t, func(t *testing.T, s *server, protocol string) {
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		c := s.MustDialWith(protocol, alice.Token)
		c.Subscribe("m", `mutation($to: ID!) { sendMessage(input: {to: $to, text: "over ws"}) { id text seq } }`, map[string]any{"to": bob.ID})
		r := c.Result("m")
		require.Empty(t, r.Errors)
		var out struct{ SendMessage apptest.Message }
		require.NoError(t, json.Unmarshal(r.Data, &out))
		require.Equal(t, "over ws", out.SendMessage.Text)
		require.Equal(t, 1, out.SendMessage.Seq)
		// A failing mutation answers its error and commits nothing.
		c.Subscribe("bad", `mutation($to: ID!) { sendMessage(input: {to: $to, text: ""}) { id } }`, map[string]any{"to": bob.ID})
		require.Equal(t, "BAD_USER_INPUT", c.Result("bad").Code())
		// The connection goes on: a second mutation works too.
		c.Subscribe("m2", `mutation($to: ID!) { sendMessage(input: {to: $to, text: "again"}) { seq } }`, map[string]any{"to": bob.ID})
		r = c.Result("m2")
		require.Empty(t, r.Errors)
		require.JSONEq(t, `{"sendMessage":{"seq":2}}`, string(r.Data))
		var history struct{ Messages struct{ TotalCount int } }
		s.OK(bob.Token, `query($c: ID!) { messages(conversationId: $c) { totalCount } }`, map[string]any{"c": s.conversationOf(bob)}, &history)
		require.Equal(t, 2, history.Messages.TotalCount, "each mutation committed once")
	})
}

// TestSocketFollowsRole: a role granted or revoked applies to the open
// sockets of the user at once, not only to his next sign-in.
func TestSocketFollowsRole(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		bob := s.Register("bob", nil)
		c := s.MustDialWith("graphql-transport-ws", bob.Token)
		dirtyWords := func() bool {
			c.Subscribe("q", `{ settings { dirtyWords } }`, nil)
			r := c.Result("q")
			require.Empty(t, r.Errors)
			return !strings.Contains(string(r.Data), `"dirtyWords":null`)
		}
		require.False(t, dirtyWords(), "only admins read the dirty words")
		ctx := context.Background()
		_, changed, err := auth.SetRole(ctx, s.App.Client, s.App.Events, "bob", true)
		require.NoError(t, err)
		require.True(t, changed)
		require.Eventually(t, dirtyWords, time.Second, 10*time.Millisecond, "the socket acts as an admin once granted")
		_, _, err = auth.SetRole(ctx, s.App.Client, s.App.Events, "bob", false)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return !dirtyWords() }, time.Second, 10*time.Millisecond, "and no more once revoked")
	})
}

// TestLogoutOverTheSocket: a logout sent over the socket itself gets its
// answer, then the socket's streams and the socket end as for any other
// end of the session.
func TestLogoutOverTheSocket(t *testing.T) {
	eachProtocol(t, func(t *testing.T, s *server, protocol string) {
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		s.Send(alice, bob, "open")
		c := s.MustDialWith(protocol, bob.Token)
		c.Subscribe("e", apptest.EventsSubscription, nil)
		s.WaitSubscriptions(1)
		c.Subscribe("out", `mutation { logout }`, nil)
		var answered bool
		for {
			f, err := c.Read()
			if err != nil {
				requireClosed(t, err, "SIGNED_OUT")
				break
			}
			if f.ID == "out" && (f.Type == "next" || f.Type == "data") {
				require.JSONEq(t, `{"data":{"logout":true}}`, string(f.Payload))
				answered = true
			}
		}
		require.True(t, answered, "the logout is answered before the socket closes")
		require.Equal(t, "SESSION_REVOKED", s.Do(bob.Token, `{ me { id } }`, nil).Reason())
	})
}
