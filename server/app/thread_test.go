package app_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

const (
	threadFields   = `thread { root { id } replyCount lastReplyAt participants { id } unreadCount }`
	threadMessages = `query($r: ID!, $first: Int, $after: Cursor, $last: Int, $before: Cursor) {
		threadMessages(rootId: $r, first: $first, after: $after, last: $last, before: $before) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id text threadID } } } }`
	markThreadRead = `mutation($r: ID!, $s: Int!) { markThreadRead(rootId: $r, seq: $s) { id ` + threadFields + ` } }`
	threadLive     = `cursor kind subjectId data node { id ... on Message { text threadID ` + threadFields + ` } }`
)

// threadView is Message.thread as a test selects it.
type threadView struct {
	Root         struct{ ID string }
	ReplyCount   int
	LastReplyAt  time.Time
	Participants []struct{ ID string }
	UnreadCount  int
}

type threadEvent struct {
	Cursor, Kind string
	SubjectID    *string
	Data         map[string]any
	Node         *struct {
		ID, Text string
		ThreadID *string
		Thread   *threadView
	}
}

type threadReply struct{ ID, Text string }

// threadOf reads message m's thread as a through node(id:); nil when a
// sees no thread, or not the message (NOT_FOUND).
func (s *server) threadOf(a account, m string) *threadView {
	s.T.Helper()
	var out struct {
		Node *struct{ Thread *threadView }
	}
	r := s.Do(a.Token, `query($id: ID!) { node(id: $id) { ... on Message { `+threadFields+` } } }`, map[string]any{"id": m})
	if r.Code() == "NOT_FOUND" {
		return nil
	}
	require.Empty(s.T, r.Errors)
	require.NoError(s.T, json.Unmarshal(r.Data, &out))
	if out.Node == nil {
		return nil
	}
	return out.Node.Thread
}

// replies pages the thread of root as a with the paging variables vars.
func (s *server) replies(a account, root string, vars map[string]any) apptest.Connection[threadReply] {
	s.T.Helper()
	if vars == nil {
		vars = map[string]any{}
	}
	vars["r"] = root
	var out struct {
		ThreadMessages apptest.Connection[threadReply]
	}
	s.OK(a.Token, threadMessages, vars, &out)
	return out.ThreadMessages
}

func replyTexts(c apptest.Connection[threadReply]) []string {
	return apptest.Map(c.Nodes(), func(r threadReply) string { return r.Text })
}

// groupUnread is a's unread count of conversation conv, from his list.
func (s *server) groupUnread(a account, conv string) int {
	s.T.Helper()
	var out struct {
		Conversations apptest.Connection[struct {
			UnreadCount  int
			Conversation struct{ ID string }
		}]
	}
	s.OK(a.Token, `{ conversations(first: 50) { edges { node { unreadCount conversation { id } } } } }`, nil, &out)
	for _, n := range out.Conversations.Nodes() {
		if n.Conversation.ID == conv {
			return n.UnreadCount
		}
	}
	s.T.Fatalf("conversation %s is not in %s's list", conv, a.ID)
	return 0
}

// TestThreads: members reply in the thread of a message; the root's thread
// counts its replies, names its participants (the root's sender, then the
// repliers) and keeps each participant's unread count, which markThreadRead
// and his own reply move, while the conversation's unread count and history
// leave replies out; threadMessages pages them both ways; the conversation
// is told live (the reply, then the root's new summary) and on resume.
func TestThreads(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		p := k.people("Ann", "Bob", "Cat", "Dan")
		ann, bob, cat, dan := p[0], p[1], p[2], p[3]
		outsider := k.Register("outsider", nil)
		g := k.create(ann, map[string]any{"name": "team", "memberIds": []string{bob.ID, cat.ID}})
		conv := g.ConversationID
		root := s.sendIn(ann, map[string]any{"groupId": g.ID, "text": "question"})
		require.Nil(t, s.threadOf(bob, root.ID), "no replies, no thread")
		bobUnread, catUnread := s.groupUnread(bob, conv), s.groupUnread(cat, conv)

		ws := k.MustDial(cat.Token)
		ws.Subscribe("c", `subscription($c: ID!) { conversationEvents(conversationId: $c) { `+threadLive+` } }`, map[string]any{"c": conv})
		own := k.MustDial(bob.Token)
		own.Subscribe("e", `subscription { events { `+threadLive+` } }`, nil)
		k.WaitSubscriptions(2)

		reply := func(a account, text string) threadEvent {
			t.Helper()
			var out struct {
				Send struct {
					ID, Text string
					Seq      int
					ThreadID *string
				}
			}
			s.OK(a.Token, `mutation($in: SendInput!) { send(input: $in) { id text seq threadID } }`,
				input(map[string]any{"groupId": g.ID, "text": text, "threadId": root.ID}), &out)
			require.NotNil(t, out.Send.ThreadID)
			require.Equal(t, root.ID, *out.Send.ThreadID)
			created := apptestNextThread(t, ws, "conversationEvents")
			for created.Kind != "MESSAGE_CREATED" || created.Node.ID != out.Send.ID { // a join's events
				created = apptestNextThread(t, ws, "conversationEvents")
			}
			require.Equal(t, root.ID, *created.Node.ThreadID)
			require.Nil(t, created.Node.Thread, "a reply has no thread of its own")
			updated := apptestNextThread(t, ws, "conversationEvents")
			require.Equal(t, "THREAD_UPDATED", updated.Kind)
			require.Equal(t, root.ID, *updated.SubjectID)
			require.Equal(t, map[string]any{"conversationId": conv, "rootId": root.ID, "seq": float64(out.Send.Seq)}, updated.Data)
			require.Equal(t, root.ID, updated.Node.ID)
			created.Data = map[string]any{"seq": float64(out.Send.Seq), "id": out.Send.ID}
			return created
		}
		first := reply(bob, "answer 1")
		second := reply(cat, "answer 2")
		third := reply(ann, "answer 3")
		seq := func(ev threadEvent) int { return int(ev.Data["seq"].(float64)) }

		// The summary, per viewer: participants in order, unread for each.
		for _, c := range []struct {
			who    account
			unread int
		}{{ann, 0}, {bob, 2}, {cat, 1}} {
			th := s.threadOf(c.who, root.ID)
			require.NotNil(t, th)
			require.Equal(t, root.ID, th.Root.ID)
			require.Equal(t, 3, th.ReplyCount)
			require.WithinDuration(t, time.Now(), th.LastReplyAt, time.Minute)
			require.Equal(t, []string{ann.ID, bob.ID, cat.ID}, apptest.Map(th.Participants, func(u struct{ ID string }) string { return u.ID }))
			require.Equal(t, c.unread, th.UnreadCount, "unread of %s", c.who.ID)
		}
		// Replies raise no conversation unread count, and stay out of the
		// main history and the list's last message.
		require.Equal(t, bobUnread, s.groupUnread(bob, conv))
		require.Equal(t, catUnread, s.groupUnread(cat, conv))
		require.Contains(t, k.texts(bob, conv), "question")
		require.NotContains(t, k.texts(bob, conv), "answer 1")
		var list struct {
			Node struct{ LastMessage struct{ Text string } }
		}
		s.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on Conversation { lastMessage { text } } } }`, map[string]any{"id": conv}, &list)
		require.Equal(t, "question", list.Node.LastMessage.Text)

		// threadMessages, both ways.
		all := s.replies(bob, root.ID, nil)
		require.Equal(t, []string{"answer 1", "answer 2", "answer 3"}, replyTexts(all))
		page := s.replies(bob, root.ID, map[string]any{"first": 2})
		require.Equal(t, []string{"answer 1", "answer 2"}, replyTexts(page))
		require.True(t, page.PageInfo.HasNextPage)
		page = s.replies(bob, root.ID, map[string]any{"first": 2, "after": *page.PageInfo.EndCursor})
		require.Equal(t, []string{"answer 3"}, replyTexts(page))
		require.False(t, page.PageInfo.HasNextPage)
		page = s.replies(bob, root.ID, map[string]any{"last": 2})
		require.Equal(t, []string{"answer 2", "answer 3"}, replyTexts(page))
		require.True(t, page.PageInfo.HasPreviousPage)
		page = s.replies(bob, root.ID, map[string]any{"last": 2, "before": *page.PageInfo.StartCursor})
		require.Equal(t, []string{"answer 1"}, replyTexts(page))

		// markThreadRead moves bob's position, never back, and tells his
		// devices.
		var marked struct {
			MarkThreadRead struct {
				ID     string
				Thread *threadView
			}
		}
		s.OK(bob.Token, markThreadRead, map[string]any{"r": root.ID, "s": seq(second)}, &marked)
		require.Equal(t, 1, marked.MarkThreadRead.Thread.UnreadCount)
		for {
			ev := apptestNextThread(t, own, "events")
			if ev.Kind == "THREAD_READ" {
				require.Equal(t, root.ID, *ev.SubjectID)
				require.Equal(t, map[string]any{"conversationId": conv, "rootId": root.ID, "seq": float64(seq(second))}, ev.Data)
				require.Equal(t, 1, ev.Node.Thread.UnreadCount)
				break
			}
		}
		s.OK(bob.Token, markThreadRead, map[string]any{"r": root.ID, "s": seq(third)}, &marked)
		require.Equal(t, 0, marked.MarkThreadRead.Thread.UnreadCount)
		s.OK(bob.Token, markThreadRead, map[string]any{"r": root.ID, "s": seq(first)}, &marked)
		require.Equal(t, 0, marked.MarkThreadRead.Thread.UnreadCount, "never back")
		require.Equal(t, 1, s.threadOf(cat, root.ID).UnreadCount, "positions are each participant's own")
		s.refuse(t, markThreadRead, []refusal{
			{name: "anonymous", vars: map[string]any{"r": root.ID, "s": seq(first)}, code: "UNAUTHENTICATED", reason: "SIGN_IN_REQUIRED"},
			{name: "an outsider", as: outsider, vars: map[string]any{"r": root.ID, "s": seq(first)}, code: "NOT_FOUND", reason: "NOT_FOUND"},
			{name: "a reply as root", as: bob, vars: map[string]any{"r": first.Node.ID, "s": seq(first)}, code: "NOT_FOUND", reason: "NOT_FOUND"},
			{name: "seq zero", as: bob, vars: map[string]any{"r": root.ID, "s": 0}, code: "BAD_USER_INPUT", reason: "SEQ_INVALID", field: "seq"},
			{name: "seq past the last reply", as: bob, vars: map[string]any{"r": root.ID, "s": seq(third) + 1}, code: "BAD_USER_INPUT", reason: "SEQ_INVALID", field: "seq"},
		})

		// Resume from the first reply: every later reply and summary, in
		// order, on both streams.
		for _, field := range []string{"events", "conversationEvents"} {
			again := k.MustDial(cat.Token)
			if field == "events" {
				again.Subscribe("r", `subscription($after: String) { events(after: $after) { `+threadLive+` } }`, map[string]any{"after": first.Cursor})
			} else {
				again.Subscribe("r", `subscription($c: ID!, $after: String) { conversationEvents(conversationId: $c, after: $after) { `+threadLive+` } }`, map[string]any{"c": conv, "after": first.Cursor})
			}
			var got []string
			for range 5 {
				ev := apptestNextThread(t, again, field)
				got = append(got, fmt.Sprintf("%s %s", ev.Kind, ev.Node.Text))
			}
			require.Equal(t, []string{
				"THREAD_UPDATED question", "MESSAGE_CREATED answer 2", "THREAD_UPDATED question",
				"MESSAGE_CREATED answer 3", "THREAD_UPDATED question",
			}, got, field)
			again.Close()
		}

		// A member who joins after the root sees the replies sent since,
		// not the root nor the earlier replies, and cannot reply to it.
		k.OK(ann.Token, grpInvite, groupVars(g, "u", []string{dan.ID}), nil)
		require.Empty(t, replyTexts(s.replies(dan, root.ID, nil)))
		reply(bob, "answer 4")
		require.Equal(t, []string{"answer 4"}, replyTexts(s.replies(dan, root.ID, nil)))
		require.Nil(t, s.threadOf(dan, root.ID), "dan does not see the root")
		require.Equal(t, 4, s.threadOf(ann, root.ID).ReplyCount)
		k.Fails(dan.Token, sendInput, input(map[string]any{"groupId": g.ID, "text": "me too", "threadId": root.ID}), "BAD_USER_INPUT", "THREAD_INVALID")

		// Outsiders see nothing of it.
		k.Fails(outsider.Token, threadMessages, map[string]any{"r": root.ID}, "NOT_FOUND", "NOT_FOUND")
		k.Fails(outsider.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": first.Node.ID}, "NOT_FOUND", "NOT_FOUND")
		require.Nil(t, s.threadOf(outsider, root.ID))
		k.Fails(bob.Token, threadMessages, map[string]any{"r": first.Node.ID}, "NOT_FOUND", "NOT_FOUND")

		// Refusals of a reply.
		other := s.sendIn(ann, map[string]any{"to": bob.ID, "text": "elsewhere"})
		revoked := s.sendIn(ann, map[string]any{"groupId": g.ID, "text": "oops"})
		s.OK(ann.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": revoked.ID}, nil)
		deleted := s.sendIn(ann, map[string]any{"groupId": g.ID, "text": "gone"})
		s.OK(ann.Token, `mutation($id: ID!) { deleteMessage(id: $id, forEveryone: true) }`, map[string]any{"id": deleted.ID}, nil)
		in := func(thread string) map[string]any {
			return input(map[string]any{"groupId": g.ID, "text": "re", "threadId": thread})
		}
		s.refuse(t, sendInput, []refusal{
			{name: "a reply as root", as: cat, vars: in(first.Node.ID), code: "BAD_USER_INPUT", reason: "THREAD_NOT_ROOT", field: "input.threadId"},
			{name: "another conversation's root", as: bob, vars: in(other.ID), code: "BAD_USER_INPUT", reason: "THREAD_INVALID", field: "input.threadId"},
			{name: "a revoked root", as: bob, vars: in(revoked.ID), code: "FORBIDDEN", reason: "MESSAGE_REVOKED"},
			{name: "a deleted root", as: bob, vars: in(deleted.ID), code: "FORBIDDEN", reason: "MESSAGE_DELETED"},
			{name: "an outsider", as: outsider, vars: in(root.ID), code: "FORBIDDEN", reason: "NOT_A_MEMBER"},
		})
		require.Equal(t, 4, s.threadOf(ann, root.ID).ReplyCount, "nothing half-written")

		// A revoked reply leaves the count.
		s.OK(cat.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": second.Node.ID}, nil)
		require.Equal(t, 3, s.threadOf(ann, root.ID).ReplyCount)
	})
}

// apptestNextThread reads the next event of subscription field on ws.
func apptestNextThread(t *testing.T, ws *apptest.Conn, field string) threadEvent {
	t.Helper()
	ev, typ := apptest.Next[threadEvent](ws, field)
	require.Equal(t, "next", typ)
	return ev
}

// TestThreadSummaryQueryCount: a history page's thread summaries cost a
// fixed number of SQL statements however many of its messages have
// threads: the request's loader batches them (messaging.Service.Threads).
func TestThreadSummaryQueryCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		// A wide loader wait, as in TestConversationListQueryCount.
		k := grpKit{newSocialServer(t, b, func(c *app.Config) { c.LoaderWait = 50 * time.Millisecond })}
		p := k.people("Ann", "Bob", "Cat")
		ann, bob, cat := p[0], p[1], p[2]
		g := k.create(ann, map[string]any{"name": "busy", "memberIds": []string{bob.ID, cat.ID}})
		const page = `query($c: ID!) { messages(conversationId: $c, last: 50) { edges { node { id ` + threadFields + ` } } } }`
		measure := func() int64 {
			k.statements.Store(0)
			k.OK(bob.Token, page, map[string]any{"c": g.ConversationID}, nil)
			return k.statements.Load()
		}
		thread := func(i int) {
			root := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": fmt.Sprintf("topic %d", i)})
			for _, a := range []account{bob, cat} {
				k.sendIn(a, map[string]any{"groupId": g.ID, "text": "re", "threadId": root.ID})
			}
		}
		thread(0)
		thread(1)
		few := measure()
		for i := 2; i < 8; i++ {
			thread(i)
		}
		require.Equal(t, few, measure(), "thread summaries must not cost statements per message")
	})
}
