package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

const (
	editFields = `id text preview editedAt quote { id text } edits(first: 10) { totalCount edges { node { id text kind writtenAt replacedAt parts { category content } } } }`
	editQuery  = `mutation($id: ID!, $text: String, $parts: [MessagePartInput!]) { editMessage(id: $id, text: $text, parts: $parts) { ` + editFields + ` } }`
	nodeQuery  = `query($id: ID!) { node(id: $id) { id ... on Message { ` + editFields + ` } ... on MessageEdit { text message { id } } } }`
)

// editedMessage is a message as editFields selects it.
type editedMessage struct {
	ID, Text, Preview string
	EditedAt          *time.Time
	Quote             *struct{ ID, Text string }
	Edits             apptest.Connection[struct {
		ID, Text, Kind        string
		WrittenAt, ReplacedAt time.Time
		Parts                 []struct{ Category, Content string }
	}]
}

// edit edits message id as a with vars (text or parts) and returns it.
func (s *server) edit(a account, id string, vars map[string]any) editedMessage {
	s.T.Helper()
	vars["id"] = id
	var out struct{ EditMessage editedMessage }
	s.OK(a.Token, editQuery, vars, &out)
	return out.EditMessage
}

// messageNode reads message id through node(id:) as a; nil when he may not
// see it.
func (s *server) messageNode(a account, id string) *editedMessage {
	s.T.Helper()
	var out struct{ Node *editedMessage }
	s.OK(a.Token, nodeQuery, map[string]any{"id": id}, &out)
	return out.Node
}

// hiddenNode requires node(id:) of id to be NOT_FOUND for a.
func (s *server) hiddenNode(a account, id string) {
	s.T.Helper()
	r := s.Do(a.Token, nodeQuery, map[string]any{"id": id})
	require.Equal(s.T, "NOT_FOUND", r.Code(), "node %s", id)
}

// liveEvent is a LiveEvent of a message stream with its data.
type liveEvent struct {
	Cursor, Kind string
	SubjectID    *string
	Data         map[string]any
	Node         *struct {
		ID, Text  string
		EditedAt  *time.Time
		Reactions []reactionView
	}
}

const liveEventFields = `cursor kind subjectId data node { id ... on Message { text editedAt reactions { emoji count mine } } }`

// nextLive reads the next event of subscription field on ws.
func nextLive(t *testing.T, ws *apptest.Conn, field string) liveEvent {
	t.Helper()
	ev, typ := apptest.Next[liveEvent](ws, field)
	require.Equal(t, "next", typ)
	return ev
}

// TestEditMessage: the sender edits his message; it keeps its place with
// the new text everywhere (the edit's answer, node(id:), quotes, the
// conversation list), its earlier versions are listed with their times for
// whoever sees the message, and the conversation is told live and on
// resume. Others may not edit it; revoked and deleted messages cannot be
// edited, and their versions go with their content.
func TestEditMessage(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		outsider := k.Register("outsider", nil)
		m1 := s.sendIn(ann, map[string]any{"to": bob.ID, "text": "helo"})
		conv := m1.Conversation.ID
		m2 := s.sendIn(bob, map[string]any{"to": ann.ID, "text": "you mean hello?", "quoteId": m1.ID})

		ws := k.MustDial(bob.Token)
		ws.Subscribe("e", `subscription { events { `+liveEventFields+` } }`, nil)
		k.WaitSubscriptions(1)
		m3 := s.sendIn(ann, map[string]any{"to": bob.ID, "text": "typo"})
		created := nextLive(t, ws, "events")
		require.Equal(t, "MESSAGE_CREATED", created.Kind)

		edited := s.edit(ann, m1.ID, map[string]any{"text": "hello"})
		require.Equal(t, "hello", edited.Text)
		require.NotNil(t, edited.EditedAt)
		require.Equal(t, 1, edited.Edits.TotalCount)
		first := edited.Edits.Nodes()[0]
		require.Equal(t, "helo", first.Text)
		require.Equal(t, "text", first.Kind)
		require.True(t, first.ReplacedAt.Equal(*edited.EditedAt))
		require.False(t, first.WrittenAt.After(first.ReplacedAt))

		ev := nextLive(t, ws, "events")
		require.Equal(t, "MESSAGE_EDITED", ev.Kind)
		require.Equal(t, m1.ID, *ev.SubjectID)
		require.Equal(t, "hello", ev.Node.Text)
		require.NotNil(t, ev.Node.EditedAt)
		require.Equal(t, conv, ev.Data["conversationId"])
		require.EqualValues(t, 1, ev.Data["seq"])

		// A second edit, to parts: the versions read oldest first, each
		// written when the one before it was replaced.
		edited = s.edit(ann, m1.ID, map[string]any{"parts": []map[string]any{
			{"category": "text", "content": "hello "}, {"category": "link", "url": "https://example.com", "content": "there"},
		}})
		require.Equal(t, "hello ", edited.Text)
		require.Equal(t, 2, edited.Edits.TotalCount)
		versions := edited.Edits.Nodes()
		require.Equal(t, []string{"helo", "hello"}, apptest.Map(versions, func(v struct {
			ID, Text, Kind        string
			WrittenAt, ReplacedAt time.Time
			Parts                 []struct{ Category, Content string }
		}) string {
			return v.Text
		}))
		require.True(t, versions[1].WrittenAt.Equal(versions[0].ReplacedAt))
		require.Equal(t, "mixed", k.messageKind(ann, m1.ID))
		// The same content again changes nothing.
		again := s.edit(ann, m1.ID, map[string]any{"parts": []map[string]any{
			{"category": "text", "content": "hello "}, {"category": "link", "url": "https://example.com", "content": "there"},
		}})
		require.Equal(t, 2, again.Edits.TotalCount)
		require.True(t, again.EditedAt.Equal(*edited.EditedAt))
		nextLive(t, ws, "events") // the second edit's

		// Whoever sees the message sees the current text and the versions:
		// through node(id:), the history, and a quote of it.
		seen := s.messageNode(bob, m1.ID)
		require.Equal(t, "hello ", seen.Text)
		require.Equal(t, 2, seen.Edits.TotalCount)
		var versionNode struct {
			Node *struct {
				Text    string
				Message struct{ ID string }
			}
		}
		s.OK(bob.Token, nodeQuery, map[string]any{"id": versions[0].ID}, &versionNode)
		require.Equal(t, "helo", versionNode.Node.Text)
		require.Equal(t, m1.ID, versionNode.Node.Message.ID)
		require.Equal(t, "you mean hello?", s.messageNode(ann, m2.ID).Text)
		require.Equal(t, "hello ", s.messageNode(ann, m2.ID).Quote.Text, "a quote shows the current text")
		require.Equal(t, "hello ", s.history(bob, conv, "first: 1")[0].Text)
		// Nobody else does.
		s.hiddenNode(outsider, m1.ID)
		s.hiddenNode(outsider, versions[0].ID)

		// The conversation list shows the last message as it now is.
		s.edit(ann, m3.ID, map[string]any{"text": "no typo"})
		ev = nextLive(t, ws, "events")
		require.Equal(t, "MESSAGE_EDITED", ev.Kind)
		require.Equal(t, m3.ID, *ev.SubjectID)
		require.Equal(t, "no typo", ev.Node.Text)
		var list struct {
			Conversations apptest.Connection[struct {
				LastMessage struct{ Text, Preview string }
			}]
		}
		s.OK(bob.Token, `{ conversations(first: 5) { edges { node { lastMessage { text preview } } } } }`, nil, &list)
		require.Equal(t, "no typo", list.Conversations.Nodes()[0].LastMessage.Text)
		require.Equal(t, "no typo", list.Conversations.Nodes()[0].LastMessage.Preview)

		// Resume: the edits come again after the cursor of the event before
		// them, on events and on conversationEvents.
		for _, field := range []string{"events", "conversationEvents"} {
			again := k.MustDial(bob.Token)
			if field == "events" {
				again.Subscribe("r", `subscription($after: String) { events(after: $after) { `+liveEventFields+` } }`, map[string]any{"after": created.Cursor})
			} else {
				again.Subscribe("r", `subscription($c: ID!, $after: String) { conversationEvents(conversationId: $c, after: $after) { `+liveEventFields+` } }`, map[string]any{"c": conv, "after": created.Cursor})
			}
			for _, want := range []string{m1.ID, m1.ID, m3.ID} {
				ev := nextLive(t, again, field)
				require.Equal(t, "MESSAGE_EDITED", ev.Kind, field)
				require.Equal(t, want, *ev.SubjectID, field)
			}
			again.Close()
		}

		// Deleted for me: its versions go with it, for me.
		s.OK(bob.Token, `mutation($id: ID!) { deleteMessage(id: $id) }`, map[string]any{"id": m1.ID}, nil)
		s.hiddenNode(bob, versions[0].ID)
		s.OK(ann.Token, nodeQuery, map[string]any{"id": versions[0].ID}, &versionNode)
		require.NotNil(t, versionNode.Node)

		// Refusals.
		s.refuse(t, editQuery, []refusal{
			{name: "anonymous", vars: map[string]any{"id": m3.ID, "text": "x"}, code: "UNAUTHENTICATED", reason: "SIGN_IN_REQUIRED"},
			{name: "not the sender", as: bob, vars: map[string]any{"id": m3.ID, "text": "mine now"}, code: "FORBIDDEN", reason: "NOT_SENDER"},
			{name: "an outsider", as: outsider, vars: map[string]any{"id": m3.ID, "text": "x"}, code: "NOT_FOUND", reason: "NOT_FOUND"},
			{name: "no content", as: ann, vars: map[string]any{"id": m3.ID, "text": ""}, code: "BAD_USER_INPUT", reason: "REQUIRED", field: "text"},
			{name: "text and parts", as: ann, vars: map[string]any{"id": m3.ID, "text": "a", "parts": []map[string]any{{"category": "text", "content": "b"}}}, code: "BAD_USER_INPUT", reason: "INVALID", field: "text"},
			{name: "a bad part", as: ann, vars: map[string]any{"id": m3.ID, "parts": []map[string]any{{"category": "link", "url": "ftp://x"}}}, code: "BAD_USER_INPUT", reason: "LINK_INVALID", field: "parts.0"},
		})

		// Revoked and deleted messages cannot be edited, and their earlier
		// versions are gone with their content.
		s.OK(ann.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": m3.ID}, nil)
		k.Fails(ann.Token, editQuery, map[string]any{"id": m3.ID, "text": "back"}, "FORBIDDEN", "MESSAGE_REVOKED")
		require.Zero(t, s.messageNode(ann, m3.ID).Edits.TotalCount)
		s.OK(ann.Token, `mutation($id: ID!) { deleteMessage(id: $id, forEveryone: true) }`, map[string]any{"id": m1.ID}, nil)
		k.Fails(ann.Token, editQuery, map[string]any{"id": m1.ID, "text": "back"}, "FORBIDDEN", "MESSAGE_DELETED")
		s.hiddenNode(ann, versions[0].ID)
	})
}

// messageKind reads the kind of message id as a.
func (k grpKit) messageKind(a account, id string) string {
	k.T.Helper()
	var out struct{ Node struct{ Kind string } }
	k.OK(a.Token, `query($id: ID!) { node(id: $id) { ... on Message { kind } } }`, map[string]any{"id": id}, &out)
	return out.Node.Kind
}

// TestEditFollowsTheSendRules: an edit's new text is checked as a send's
// is: the dirty-word filter masks it, and a member muted in a group may not
// edit there.
func TestEditFollowsTheSendRules(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		root := k.newAdmin("root")
		k.settings(root, map[string]any{"dirtyWords": []string{"heck"}})
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		g := k.create(ann, map[string]any{"name": "club", "memberIds": []string{bob.ID}})
		m := s.sendIn(bob, map[string]any{"groupId": g.ID, "text": "fine"})
		require.Equal(t, "what the ****", s.edit(bob, m.ID, map[string]any{"text": "what the heck"}).Text)
		require.Equal(t, "what the ****", s.messageNode(ann, m.ID).Text)

		k.OK(ann.Token, grpMute, groupVars(g, "u", bob.ID, "until", time.Now().Add(time.Hour).Format(time.RFC3339)), nil)
		k.Fails(bob.Token, editQuery, map[string]any{"id": m.ID, "text": "let me"}, "FORBIDDEN", "MUTED")
	})
}

// TestEditWindow: past the edit window an edit is refused.
func TestEditWindow(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.EditWindow = time.Millisecond }, func(t *testing.T, s *server) {
		a := s.Register("slowpoke", nil)
		z := s.Register("reader", nil)
		m := s.sendIn(a, map[string]any{"to": z.ID, "text": "too late"})
		time.Sleep(10 * time.Millisecond)
		s.Fails(a.Token, editQuery, map[string]any{"id": m.ID, "text": "fixed"}, "FORBIDDEN", "EDIT_WINDOW_PASSED")
	})
}

// TestEditWindowZero: a window of 0 allows edits at any time.
func TestEditWindowZero(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.EditWindow = 0 }, func(t *testing.T, s *server) {
		a := s.Register("slowpoke", nil)
		z := s.Register("reader", nil)
		m := s.sendIn(a, map[string]any{"to": z.ID, "text": "late"})
		time.Sleep(10 * time.Millisecond)
		require.Equal(t, "still fine", s.edit(a, m.ID, map[string]any{"text": "still fine"}).Text)
	})
}
