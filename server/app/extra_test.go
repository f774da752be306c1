package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// TestEventsResumeAcrossJoin: a conversation opened while the client was
// offline is part of the replay: the join, then its messages, in order.
func TestEventsResumeAcrossJoin(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice, bob, carol := s.Register("alice", nil), s.Register("bob", nil), s.Register("carol", nil)
		s.Send(alice, bob, "hello")
		ws := s.MustDial(bob.Token)
		ws.Subscribe("1", apptest.EventsSubscription, nil)
		s.WaitSubscriptions(1)
		cursor := s.Send(alice, bob, "last seen").ID
		ev := ws.NextMessage()
		require.Equal(t, cursor, ev.Node.ID)
		ws.Close()

		// While bob is away, carol opens a conversation with him.
		var want []string
		for i := 0; i < 3; i++ {
			want = append(want, s.Send(carol, bob, fmt.Sprint("from carol ", i)).ID)
		}
		ws = s.MustDial(bob.Token)
		ws.Subscribe("2", apptest.EventsSubscription, map[string]any{"after": ev.Cursor})
		first, _ := ws.NextEvent()
		require.Equal(t, "MEMBER_JOINED", first.Kind)
		for _, id := range want {
			require.Equal(t, id, ws.NextMessage().Node.ID)
		}
	})
}

// TestRegisterProfile: the profile fields registration takes are kept.
func TestRegisterProfile(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		u := s.Register("dora", map[string]any{"nickname": "朵拉", "sign": "explorer", "location": "Shanghai", "phone": "13800000009"})
		var me struct {
			Me struct {
				Username, Nickname, Sign, Location, Phone string
				PublicID                                  int
			}
		}
		s.OK(u.Token, `{ me { username nickname sign location phone publicID } }`, nil, &me)
		require.Equal(t, "朵拉", me.Me.Nickname)
		require.Equal(t, "explorer", me.Me.Sign)
		require.Equal(t, "Shanghai", me.Me.Location)
		require.Equal(t, "+8613800000009", me.Me.Phone, "stored in E.164 form")
		require.Greater(t, me.Me.PublicID, 9_999_999)
	})
}

// TestKeepalive: the server pings idle WebSocket clients.
func TestKeepalive(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.KeepAlive = 100 * time.Millisecond }, func(t *testing.T, s *server) {
		u := s.Register("erin", nil)
		ws := s.MustDial(u.Token)
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, raw, err := ws.ReadMessage()
			require.NoError(t, err)
			var msg struct{ Type string }
			require.NoError(t, json.Unmarshal(raw, &msg))
			if msg.Type == "ping" {
				break
			}
		}
	})
}

// TestQueryLimits: depth, cost and token limits refuse a request with a
// code, and the server keeps serving.
func TestQueryLimits(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		u := s.Register("fred", nil)
		costly := `query($id: ID!) { node(id: $id) { ... on Message { conversation { messages(first: 100) { edges { node { conversation { messages(first: 100) { edges { node { conversation { members(first: 100) { totalCount } } } } } } } } } } } } }`
		r := s.Do(u.Token, costly, map[string]any{"id": u.ID})
		require.Equal(t, "QUERY_TOO_COMPLEX", r.Code())
		require.Equal(t, "COST_LIMIT", r.Reason())

		deep := `{ me { id } node(id: 1) { ... on Message { conversation { messages { edges { node { conversation { messages { edges { node { conversation { messages { edges { node { id } } } } } } } } } } } } } } }`
		r = s.Do(u.Token, deep, nil)
		require.Equal(t, "QUERY_TOO_COMPLEX", r.Code())
		require.Equal(t, "DEPTH_LIMIT", r.Reason())

		huge := "{ " + strings.Repeat("me { id } ", 20000) + "}"
		r = s.Do(u.Token, huge, nil)
		require.Equal(t, "GRAPHQL_PARSE_FAILED", r.Code())

		s.OK(u.Token, `{ me { id } }`, nil, nil)
	})
}
