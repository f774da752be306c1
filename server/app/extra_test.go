package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEventsResumeAcrossJoin: a conversation opened while the client was
// offline is part of the replay: the join, then its messages, in order.
func TestEventsResumeAcrossJoin(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newServer(t, b)
		alice, bob, carol := s.register("alice", nil), s.register("bob", nil), s.register("carol", nil)
		s.send(alice, bob, "hello")
		ws := s.mustDial(bob.Token)
		ws.subscribe("1", eventsSubscription, nil)
		s.waitSubscriptions(1)
		cursor := s.send(alice, bob, "last seen").ID
		ev := ws.nextMessage()
		require.Equal(t, cursor, ev.Node.ID)
		ws.conn.Close()

		// While bob is away, carol opens a conversation with him.
		var want []string
		for i := 0; i < 3; i++ {
			want = append(want, s.send(carol, bob, fmt.Sprint("from carol ", i)).ID)
		}
		ws = s.mustDial(bob.Token)
		ws.subscribe("2", eventsSubscription, map[string]any{"after": ev.Cursor})
		first, _ := ws.next()
		require.Equal(t, "member.joined", first.Kind)
		for _, id := range want {
			require.Equal(t, id, ws.nextMessage().Node.ID)
		}
	})
}

// TestRegisterProfile: the seed 003 and 004 registration fields are kept
// (S3-01, S4-08).
func TestRegisterProfile(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newServer(t, b)
		u := s.register("dora", map[string]any{"nickname": "朵拉", "sign": "explorer", "location": "Shanghai", "phone": "13800000009"})
		var me struct {
			Me struct {
				Username, Nickname, Sign, Location, Phone string
				PublicID                                  int
			}
		}
		s.ok(u.Token, `{ me { username nickname sign location phone publicID } }`, nil, &me)
		require.Equal(t, "朵拉", me.Me.Nickname)
		require.Equal(t, "explorer", me.Me.Sign)
		require.Equal(t, "Shanghai", me.Me.Location)
		require.Equal(t, "13800000009", me.Me.Phone)
		require.Greater(t, me.Me.PublicID, 9_999_999)
	})
}

// TestKeepalive: the server pings idle WebSocket clients (S1-07's heartbeat).
func TestKeepalive(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig(t, b.url(t))
		cfg.KeepAlive = 100 * time.Millisecond
		s := start(t, cfg)
		u := s.register("erin", nil)
		ws := s.mustDial(u.Token)
		ws.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, raw, err := ws.conn.ReadMessage()
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
	eachBackend(t, func(t *testing.T, b backend) {
		s := newServer(t, b)
		u := s.register("fred", nil)
		costly := `query($id: ID!) { node(id: $id) { ... on Message { conversation { messages(first: 100) { edges { node { conversation { messages(first: 100) { edges { node { conversation { members(first: 100) { totalCount } } } } } } } } } } } } }`
		r := s.do(u.Token, costly, map[string]any{"id": u.ID})
		require.Equal(t, "QUERY_TOO_COMPLEX", r.code())
		require.Equal(t, "COST_LIMIT", r.reason())

		deep := `{ me { id } node(id: 1) { ... on Message { conversation { messages { edges { node { conversation { messages { edges { node { conversation { messages { edges { node { id } } } } } } } } } } } } } } }`
		r = s.do(u.Token, deep, nil)
		require.Equal(t, "QUERY_TOO_COMPLEX", r.code())
		require.Equal(t, "DEPTH_LIMIT", r.reason())

		huge := "{ " + strings.Repeat("me { id } ", 20000) + "}"
		r = s.do(u.Token, huge, nil)
		require.Equal(t, "GRAPHQL_PARSE_FAILED", r.code())

		s.ok(u.Token, `{ me { id } }`, nil, nil)
	})
}
