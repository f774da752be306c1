package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/server/app"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/server/apptest"
)

// TestPrivacyThroughNode: whatever path reads a private object, a stranger
// gets nothing and cannot tell it exists (node, nodes, nested edges, contact
// fields).
func TestPrivacyThroughNode(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", map[string]any{"email": "alice@example.com", "phone": "13800000003"})
		bob := s.Register("bob", nil)
		carol := s.Register("carol", nil)
		var out struct {
			SendMessage struct {
				ID           string
				Conversation struct{ ID string }
			}
		}
		s.OK(alice.Token, apptest.SendMessageMutation, map[string]any{"to": bob.ID, "text": "secret"}, &out)
		msgID, convID := out.SendMessage.ID, out.SendMessage.Conversation.ID

		const nodeQuery = `query($id: ID!) { node(id: $id) { id ... on Message { text } ... on Conversation { members { totalCount } } } }`
		for _, who := range []account{alice, bob} {
			var got struct{ Node *struct{ ID, Text string } }
			s.OK(who.Token, nodeQuery, map[string]any{"id": msgID}, &got)
			require.NotNil(t, got.Node)
			require.Equal(t, "secret", got.Node.Text)
		}
		for _, id := range []string{msgID, convID} {
			r := s.Do(carol.Token, nodeQuery, map[string]any{"id": id})
			require.Equal(t, "NOT_FOUND", r.Code(), "carol must not see %s", id)
			r = s.Do("", nodeQuery, map[string]any{"id": id})
			require.Equal(t, "UNAUTHENTICATED", r.Code(), "anonymous must not see %s", id)
		}
		// An id that never existed answers exactly like a hidden one.
		missing := s.Do(carol.Token, nodeQuery, map[string]any{"id": "42949672999"})
		hidden := s.Do(carol.Token, nodeQuery, map[string]any{"id": msgID})
		require.Equal(t, missing.Code(), hidden.Code())
		require.Equal(t,
			strings.ReplaceAll(missing.Errors[0].Message, "42949672999", "ID"),
			strings.ReplaceAll(hidden.Errors[0].Message, msgID, "ID"))

		// nodes() drops what the viewer may not see, without erroring the rest.
		r := s.Do(carol.Token, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{msgID, carol.ID}})
		require.Contains(t, string(r.Data), carol.ID)
		require.NotContains(t, string(r.Data), msgID)

		// Contact fields: hidden from strangers, shown to the user himself.
		const userQuery = `query($id: ID!) { node(id: $id) { ... on User { username email phone } } }`
		var seen struct {
			Node struct {
				Username     string
				Email, Phone *string
			}
		}
		s.OK(carol.Token, userQuery, map[string]any{"id": alice.ID}, &seen)
		require.Equal(t, "alice", seen.Node.Username)
		require.Nil(t, seen.Node.Email)
		require.Nil(t, seen.Node.Phone)
		s.OK(alice.Token, userQuery, map[string]any{"id": alice.ID}, &seen)
		require.Equal(t, "alice@example.com", *seen.Node.Email)

		// Nested: the message's conversation is reachable only through a visible message.
		var nested struct {
			Node struct {
				Conversation struct{ Messages struct{ TotalCount int } }
			}
		}
		s.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on Message { conversation { messages { totalCount } } } } }`, map[string]any{"id": msgID}, &nested)
		require.Equal(t, 1, nested.Node.Conversation.Messages.TotalCount)
	})
}

// TestSendMessage: numbering, idempotent retries, input rules.
func TestSendMessage(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		for i := 1; i <= 3; i++ {
			require.Equal(t, i, s.Send(alice, bob, fmt.Sprint("hi ", i)).Seq)
		}
		require.Equal(t, 4, s.Send(bob, alice, "hello").Seq, "both directions share one conversation")

		var first, retry struct{ SendMessage apptest.Message }
		vars := map[string]any{"to": bob.ID, "text": "once", "cid": "c-1"}
		s.OK(alice.Token, apptest.SendMessageMutation, vars, &first)
		s.OK(alice.Token, apptest.SendMessageMutation, vars, &retry)
		require.Equal(t, first.SendMessage.ID, retry.SendMessage.ID, "a retried send returns the same message")

		cases := []struct {
			vars         map[string]any
			token        string
			code, reason string
		}{
			{map[string]any{"to": bob.ID, "text": ""}, alice.Token, "BAD_USER_INPUT", "REQUIRED"},
			{map[string]any{"to": bob.ID, "text": string(make([]rune, 4001))}, alice.Token, "BAD_USER_INPUT", "TOO_LONG"},
			{map[string]any{"to": alice.ID, "text": "me"}, alice.Token, "BAD_USER_INPUT", "INVALID"},
			{map[string]any{"to": "90194313999", "text": "ghost"}, alice.Token, "NOT_FOUND", "NOT_FOUND"},
			{map[string]any{"to": bob.ID, "text": "anon"}, "", "UNAUTHENTICATED", "SIGN_IN_REQUIRED"},
		}
		for _, c := range cases {
			r := s.Do(c.token, apptest.SendMessageMutation, c.vars)
			require.Equal(t, c.code, r.Code(), "%v", c.vars)
			require.Equal(t, c.reason, r.Reason(), "%v", c.vars)
		}
	})
}

// TestWebsocketBadToken: a bad token at connection_init closes with 4403.
func TestWebsocketBadToken(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		_, err := s.Dial(apptest.TransportWS, map[string]any{"Authorization": "Bearer forged.token.here"})
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, 4403, ce.Code)
	})
}

// TestEventsResume: messages arrive live; after a disconnect, resuming from
// the last cursor replays exactly what was missed, then goes live.
func TestEventsResume(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		s.Send(alice, bob, "before") // opens the conversation

		ws := s.MustDial(bob.Token)
		ws.Subscribe("1", apptest.EventsSubscription, nil)
		s.WaitSubscriptions(1)
		var cursor string
		for i := 1; i <= 3; i++ {
			sent := s.Send(alice, bob, fmt.Sprint("live ", i))
			ev := ws.NextMessage()
			require.Equal(t, sent.ID, ev.Node.ID)
			require.Equal(t, fmt.Sprint("live ", i), ev.Node.Text)
			cursor = ev.Cursor
		}
		ws.Close()

		var missed []string
		for i := 1; i <= 4; i++ {
			missed = append(missed, s.Send(alice, bob, fmt.Sprint("offline ", i)).ID)
		}
		ws = s.MustDial(bob.Token)
		ws.Subscribe("2", apptest.EventsSubscription, map[string]any{"after": cursor})
		last, _ := strconv.ParseInt(cursor, 10, 64)
		for _, id := range missed {
			ev := ws.NextMessage()
			require.Equal(t, id, ev.Node.ID, "replayed in order, none skipped")
			c, _ := strconv.ParseInt(ev.Cursor, 10, 64)
			require.Greater(t, c, last)
			last = c
		}
		after := s.Send(alice, bob, "live again")
		require.Equal(t, after.ID, ws.NextMessage().Node.ID, "live after the replay, no duplicate")

		// Garbage cursors are refused with a reason.
		ws.Subscribe("3", apptest.EventsSubscription, map[string]any{"after": "nope"})
		require.Equal(t, "BAD_USER_INPUT", ws.ErrorCode())
	})
}

// TestEventsPrivacy: a stranger's subscription never carries other people's
// messages, and an anonymous one is refused.
func TestEventsPrivacy(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice, bob, carol := s.Register("alice", nil), s.Register("bob", nil), s.Register("carol", nil)
		ws := s.MustDial(carol.Token)
		ws.Subscribe("1", apptest.EventsSubscription, nil)
		s.WaitSubscriptions(1)
		s.Send(alice, bob, "not for carol")
		s.Send(bob, carol, "for carol")
		ev := ws.NextMessage()
		require.Equal(t, "for carol", ev.Node.Text)

		anon, err := s.Dial(apptest.TransportWS, nil)
		require.NoError(t, err)
		anon.Subscribe("1", apptest.EventsSubscription, nil)
		require.Equal(t, "UNAUTHENTICATED", anon.ErrorCode())
	})
}

// TestShutdownClosesStreams: stopping the server ends every stream with a
// reason the client can act on, then closes the connection.
func TestShutdownClosesStreams(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
		ws := s.MustDial(bob.Token)
		ws.Subscribe("1", apptest.EventsSubscription, nil)
		s.WaitSubscriptions(1)
		s.Send(alice, bob, "hi")
		ws.NextMessage()
		s.App.Close()
		for {
			ev, typ := ws.NextEvent()
			if typ == "next" && ev.Kind == "STREAM_CLOSED" {
				require.Equal(t, "SHUTDOWN", *ev.Reason)
				break
			}
			require.Equal(t, "next", typ)
		}
	})
}

// TestAnonymousPolicies: policies whose reads are partly public filter an
// anonymous viewer instead of failing: only public settings and files.
func TestAnonymousPolicies(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		sys := viewer.SystemContext(context.Background())
		require.NoError(t, s.App.Client.Setting.Create().SetKey("app_name").SetValue("Parley").Exec(sys))
		require.NoError(t, s.App.Client.Setting.Create().SetKey("sms_secret").SetValue("x").SetPublic(false).Exec(sys))
		settings, err := s.App.Client.Setting.Query().All(context.Background())
		require.NoError(t, err)
		require.Len(t, settings, 1)
		require.Equal(t, "app_name", settings[0].Key)
		files, err := s.App.Client.File.Query().All(context.Background())
		require.NoError(t, err)
		require.Empty(t, files)
	})
}

// TestResumeCursorUnknown: a resume cursor beyond the log's head (one from
// a restored database or another deployment) is refused on every resumable
// stream, so that the client refetches instead of waiting forever; the
// head itself is still a good cursor.
func TestResumeCursorUnknown(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		msg := k.Send(ann, bob, "hi")
		room := k.room(ann, "hall", "a hall")
		project := annKit{k.server}.project(ann, "KG")
		var conv struct {
			Node struct{ Conversation struct{ ID string } }
		}
		k.OK(ann.Token, `query($id: ID!) { node(id: $id) { ... on Message { conversation { id } } } }`, map[string]any{"id": msg.ID}, &conv)

		streams := map[string]string{
			"events":             apptest.EventsSubscription,
			"notices":            `subscription($after: String) { notices(after: $after) { cursor } }`,
			"conversationEvents": fmt.Sprintf(`subscription($after: String) { conversationEvents(conversationId: %q, after: $after) { cursor } }`, conv.Node.Conversation.ID),
			"roomEvents":         fmt.Sprintf(`subscription($after: String) { roomEvents(roomId: %q, after: $after) { cursor } }`, room.ID),
			"projectChanges":     fmt.Sprintf(`subscription($after: String) { projectChanges(projectId: %q, after: $after) { cursor } }`, project),
		}
		ws := k.MustDial(ann.Token)
		// Ann's connection is announced to her room's watchers
		// (room.online): let it land before the head is read.
		require.Eventually(t, func() bool { return len(storedOnline(t, k, room)) > 0 }, 5*time.Second, 5*time.Millisecond)
		beyond := strconv.FormatInt(k.head()+1, 10)
		for name, sub := range streams {
			ws.Subscribe(name, sub, map[string]any{"after": beyond})
			e := ws.ReadError()
			require.Equal(t, "BAD_USER_INPUT", e.Extensions["code"], name)
			require.Equal(t, "CURSOR_UNKNOWN", e.Extensions["reason"], name)
		}
		// The head itself resumes.
		live := k.MustDial(ann.Token)
		live.Subscribe("head", streams["events"], map[string]any{"after": strconv.FormatInt(k.head(), 10)})
		k.WaitSubscriptions(1)
		k.Send(bob, ann, "again")
		require.Equal(t, "again", live.NextMessage().Node.Text)
	})
}

// head is the id of the last committed event.
func (k grpKit) head() int64 {
	k.T.Helper()
	h, err := k.App.Events.Source().Head(context.Background())
	require.NoError(k.T, err)
	return h
}

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
