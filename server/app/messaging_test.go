package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

const sendInput = `mutation($in: SendInput!) { send(input: $in) { id seq kind type text preview mine conversation { id } quote { id text } parts { category content url name size } } }`

type sentMessage struct {
	ID, Kind, Type, Text, Preview string
	Seq                           int
	Mine                          bool
	Conversation                  struct{ ID string }
	Quote                         *struct{ ID, Text string }
	Parts                         []struct {
		Category, Content string
		URL, Name         *string
		Size              *int
	}
}

func (s *server) sendIn(from account, in map[string]any) sentMessage {
	s.T.Helper()
	var out struct{ Send sentMessage }
	s.OK(from.Token, sendInput, map[string]any{"in": in}, &out)
	return out.Send
}

type listEntry struct {
	UnreadCount  int
	Title        string
	Pinned       bool
	State        string
	Conversation struct{ ID, Kind string }
	LastMessage  *struct{ Text string }
	Peer         *struct{ ID string }
}

func (s *server) conversationList(a account, extra string) []listEntry {
	s.T.Helper()
	const fields = `unreadCount title pinned state conversation { id kind } lastMessage { text } peer { id }`
	return apptest.Field[apptest.Connection[listEntry]](s.Server, a.Token, `{ conversations(first: 20`+extra+`) { edges { node { `+fields+` } } } }`, nil).Nodes()
}

func titles(l []listEntry) []string {
	return apptest.Map(l, func(e listEntry) string { return e.Title })
}

// TestHomeListsTheConversationList: the home screen's conversations are the
// head of the conversation list, in its order (last activity, not the last
// change of a member's settings).
func TestHomeListsTheConversationList(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		ann := s.Register("ann", nil)
		ben := s.Register("ben", nil)
		cat := s.Register("cat", nil)
		toBen := s.sendIn(ann, map[string]any{"to": ben.ID, "text": "one"})
		time.Sleep(5 * time.Millisecond)
		s.sendIn(cat, map[string]any{"to": ann.ID, "text": "two"})
		time.Sleep(5 * time.Millisecond)
		// An update of ann's membership of the older conversation.
		s.OK(ann.Token, `mutation($c: ID!) { updateConversation(conversationId: $c, input: {state: chatting}) { id } }`, map[string]any{"c": toBen.Conversation.ID}, nil)
		var home struct {
			Home struct{ Conversations []struct{ ID string } }
		}
		s.OK(ann.Token, `{ home { conversations { id } } }`, nil, &home)
		list := apptest.Map(s.conversationList(ann, ""), func(e listEntry) string { return e.Conversation.ID })
		require.Len(t, list, 2)
		require.Equal(t, list, apptest.Map(home.Home.Conversations, func(c struct{ ID string }) string { return c.ID }))
	})
}

func TestConversationListAndReceipts(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		ann := s.Register("ann", map[string]any{"nickname": "Ann"})
		ben := s.Register("ben", map[string]any{"nickname": "Ben"})
		cat := s.Register("cat", map[string]any{"nickname": "Cat"})
		s.befriend(ann, ben)

		toBen := s.sendIn(ann, map[string]any{"to": ben.ID, "text": "one"})
		s.sendIn(ann, map[string]any{"to": ben.ID, "text": "two"})
		time.Sleep(5 * time.Millisecond)
		toCat := s.sendIn(ann, map[string]any{"to": cat.ID, "text": "hello cat"})
		require.True(t, toBen.Mine)

		// Last activity first; unread counts are per member; my own
		// messages are read.
		list := s.conversationList(ann, "")
		require.Equal(t, []string{"Cat", "Ben"}, titles(list))
		require.Zero(t, list[0].UnreadCount)
		benList := s.conversationList(ben, "")
		require.Equal(t, []string{"Ann"}, titles(benList))
		require.Equal(t, 2, benList[0].UnreadCount)
		require.Equal(t, "two", benList[0].LastMessage.Text)
		require.Equal(t, ann.ID, benList[0].Peer.ID)

		// A remark names the conversation; pinned ones come first.
		s.OK(ann.Token, `mutation($id: ID!) { updateFriend(userId: $id, input: {remark: "Benny"}) { id } }`, map[string]any{"id": ben.ID}, nil)
		s.OK(ann.Token, `mutation($c: ID!) { updateConversation(conversationId: $c, input: {pinned: true}) { pinned } }`, map[string]any{"c": toBen.Conversation.ID}, nil)
		require.Equal(t, []string{"Benny", "Cat"}, titles(s.conversationList(ann, "")))

		// Receipts: delivered, then read, visible to the sender only.
		receipt := func() (delivered, read *bool) {
			var out struct {
				Node struct{ Delivered, Read *bool }
			}
			s.OK(ann.Token, `query($id: ID!) { node(id: $id) { ... on Message { delivered read } } }`, map[string]any{"id": toBen.ID}, &out)
			return out.Node.Delivered, out.Node.Read
		}
		d, r := receipt()
		require.False(t, *d)
		require.False(t, *r)
		s.OK(ben.Token, `mutation($c: ID!) { markDelivered(conversationId: $c, seq: 2) { deliveredSeq } }`, map[string]any{"c": toBen.Conversation.ID}, nil)
		d, r = receipt()
		require.True(t, *d)
		require.False(t, *r)
		var marked struct {
			MarkRead struct{ ReadSeq, UnreadCount int }
		}
		s.OK(ben.Token, `mutation($c: ID!) { markRead(conversationId: $c) { readSeq unreadCount } }`, map[string]any{"c": toBen.Conversation.ID}, &marked)
		require.Equal(t, 2, marked.MarkRead.ReadSeq)
		require.Zero(t, marked.MarkRead.UnreadCount)
		_, r = receipt()
		require.True(t, *r)
		var theirs struct{ Node struct{ Delivered *bool } }
		s.OK(ben.Token, `query($id: ID!) { node(id: $id) { ... on Message { delivered } } }`, map[string]any{"id": toBen.ID}, &theirs)
		require.Nil(t, theirs.Node.Delivered, "receipts are the sender's")

		for _, tc := range []struct {
			name, query string
			vars        map[string]any
			reason      string
		}{
			{"seq beyond", `mutation($c: ID!) { markRead(conversationId: $c, seq: 99) { id } }`, map[string]any{"c": toBen.Conversation.ID}, "SEQ_INVALID"},
			{"delivered zero", `mutation($c: ID!) { markDelivered(conversationId: $c, seq: 0) { id } }`, map[string]any{"c": toBen.Conversation.ID}, "SEQ_INVALID"},
			{"not mine", `mutation($c: ID!) { markRead(conversationId: $c) { id } }`, map[string]any{"c": toCat.Conversation.ID}, "NOT_FOUND"},
			{"not mine to pin", `mutation($c: ID!) { updateConversation(conversationId: $c, input: {pinned: true}) { id } }`, map[string]any{"c": toCat.Conversation.ID}, "NOT_FOUND"},
		} {
			res := s.Do(ben.Token, tc.query, tc.vars)
			require.Equal(t, tc.reason, res.Reason(), tc.name)
		}

		// Removing from the list lasts until the next message.
		s.OK(cat.Token, `mutation($c: ID!) { removeConversation(conversationId: $c) }`, map[string]any{"c": toCat.Conversation.ID}, nil)
		require.Empty(t, s.conversationList(cat, ""))
		s.sendIn(ann, map[string]any{"to": cat.ID, "text": "still there?"})
		require.Equal(t, []string{"Ann"}, titles(s.conversationList(cat, "")))

		// Hidden conversations are filtered by state.
		s.OK(cat.Token, `mutation($c: ID!) { updateConversation(conversationId: $c, input: {state: hidden}) { state } }`, map[string]any{"c": toCat.Conversation.ID}, nil)
		require.Empty(t, s.conversationList(cat, ", state: chatting"))
		require.Len(t, s.conversationList(cat, ", state: hidden"), 1)

		// Clearing history hides what came before from me only.
		s.OK(cat.Token, `mutation($c: ID!) { clearHistory(conversationId: $c) { clearedSeq } }`, map[string]any{"c": toCat.Conversation.ID}, nil)
		require.Empty(t, s.history(cat, toCat.Conversation.ID, "last: 10"))
		require.Len(t, s.history(ann, toCat.Conversation.ID, "last: 10"), 2)

		var direct struct{ DirectConversation *struct{ ID string } }
		s.OK(ben.Token, `query($u: ID!) { directConversation(userId: $u) { id } }`, map[string]any{"u": ann.ID}, &direct)
		require.Equal(t, toBen.Conversation.ID, direct.DirectConversation.ID)
		s.OK(ben.Token, `query($u: ID!) { directConversation(userId: $u) { id } }`, map[string]any{"u": cat.ID}, &direct)
		require.Nil(t, direct.DirectConversation)
	})
}

// TestNewMessageUnhides: a new message brings a hidden conversation back
// into the chatting list, as it brings back a removed one, for every member
// (the sender too: he is chatting in it); one without a new message stays
// hidden.
func TestNewMessageUnhides(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		ann := s.Register("ann", map[string]any{"nickname": "Ann"})
		ben := s.Register("ben", map[string]any{"nickname": "Ben"})
		cat := s.Register("cat", map[string]any{"nickname": "Cat"})
		toBen := s.sendIn(ann, map[string]any{"to": ben.ID, "text": "one"})
		toCat := s.sendIn(ann, map[string]any{"to": cat.ID, "text": "one"})
		hide := func(a account, conv string) {
			s.OK(a.Token, `mutation($c: ID!) { updateConversation(conversationId: $c, input: {state: hidden}) { state } }`, map[string]any{"c": conv}, nil)
		}
		hide(ben, toBen.Conversation.ID)
		hide(ann, toBen.Conversation.ID)
		hide(ann, toCat.Conversation.ID)
		require.Empty(t, s.conversationList(ben, ", state: chatting"))
		require.Empty(t, s.conversationList(ann, ", state: chatting"))

		// Ben's answer brings it back for both: he receives, Ann sent.
		s.sendIn(ben, map[string]any{"to": ann.ID, "text": "two"})
		for _, a := range []account{ann, ben} {
			list := s.conversationList(a, ", state: chatting")
			require.Len(t, list, 1, a.Name)
			require.Equal(t, toBen.Conversation.ID, list[0].Conversation.ID, a.Name)
			require.Equal(t, "chatting", list[0].State, a.Name)
			require.Equal(t, "two", list[0].LastMessage.Text, a.Name)
		}
		hidden := s.conversationList(ann, ", state: hidden")
		require.Len(t, hidden, 1, "the conversation with no new message stays hidden")
		require.Equal(t, toCat.Conversation.ID, hidden[0].Conversation.ID)
	})
}

// lastMessages returns a conversation's last 100 messages as a sees them,
// oldest first.
func (s *server) lastMessages(a account, conv string) []apptest.Message {
	s.T.Helper()
	const query = `query($c: ID!) { messages(conversationId: $c, last: 100) { edges { node { id seq text } } } }`
	return apptest.Field[apptest.Connection[apptest.Message]](s.Server, a.Token, query, map[string]any{"c": conv}).Nodes()
}

type historyItem struct {
	ID, Text string
	Seq      int
	Sender   struct{ ID string }
}

func (s *server) history(a account, conv, args string) []historyItem {
	s.T.Helper()
	query := `query($c: ID!) { messages(conversationId: $c, ` + args + `) { edges { node { id seq text sender { id } } } } }`
	return apptest.Field[apptest.Connection[historyItem]](s.Server, a.Token, query, map[string]any{"c": conv}).Nodes()
}

func seqs(items []historyItem) []int {
	return apptest.Map(items, func(i historyItem) int { return i.Seq })
}

func TestHistoryPaging(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		a := s.Register("alpha", nil)
		z := s.Register("zulu", nil)
		stranger := s.Register("xray", nil)
		var conv string
		for i := 1; i <= 7; i++ {
			conv = s.sendIn(a, map[string]any{"to": z.ID, "text": fmt.Sprintf("m%d", i)}).Conversation.ID
		}
		var page struct {
			Messages struct {
				Edges []struct {
					Cursor string
					Node   historyItem
				}
				PageInfo struct {
					HasPreviousPage bool
					StartCursor     string
				}
			}
		}
		s.OK(z.Token, `query($c: ID!) { messages(conversationId: $c, last: 3) { edges { cursor node { id seq text } } pageInfo { hasPreviousPage startCursor } } }`, map[string]any{"c": conv}, &page)
		require.Len(t, page.Messages.Edges, 3)
		require.Equal(t, 5, page.Messages.Edges[0].Node.Seq)
		require.True(t, page.Messages.PageInfo.HasPreviousPage)
		older := s.history(z, conv, fmt.Sprintf("last: 3, before: %q", page.Messages.PageInfo.StartCursor))
		require.Equal(t, []int{2, 3, 4}, seqs(older))
		require.Equal(t, []int{1, 2}, seqs(s.history(z, conv, "first: 2")))

		r := s.Do(stranger.Token, `query($c: ID!) { messages(conversationId: $c, last: 3) { totalCount } }`, map[string]any{"c": conv})
		require.Equal(t, "NOT_FOUND", r.Code())
		r = s.Do("", `query($c: ID!) { messages(conversationId: $c, last: 3) { totalCount } }`, map[string]any{"c": conv})
		require.Equal(t, "UNAUTHENTICATED", r.Code())
		r = s.Do(stranger.Token, `query($c: ID!) { messages(conversationId: $c, last: 3) { totalCount } }`, map[string]any{"c": "abc"})
		require.Equal(t, "INVALID_ID", r.Reason())
		r = s.Do(stranger.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": page.Messages.Edges[0].Node.ID})
		require.Equal(t, "NOT_FOUND", r.Code(), "a hidden message is as missing as a deleted one")
	})
}

func TestSendForms(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		root := s.newAdmin("root")
		a := s.Register("sender", nil)
		z := s.Register("receiver", nil)
		other := s.Register("other", nil)

		first := s.sendIn(a, map[string]any{"to": z.ID, "text": "first"})
		otherConv := s.sendIn(a, map[string]any{"to": other.ID, "text": "elsewhere"})

		emoji := s.sendIn(a, map[string]any{"to": z.ID, "text": "[表情12][表情3]"})
		require.Equal(t, "emoji", emoji.Kind)
		mixed := s.sendIn(a, map[string]any{"to": z.ID, "type": "topic", "quoteId": first.ID, "parts": []map[string]any{
			{"category": "text", "content": "see"},
			{"category": "link", "content": "Parley", "url": "https://example.com/parley"},
		}})
		require.Equal(t, "mixed", mixed.Kind)
		require.Equal(t, "topic", mixed.Type)
		require.Equal(t, "see [link] Parley", mixed.Preview)
		require.Equal(t, first.ID, mixed.Quote.ID)
		require.Equal(t, "https://example.com/parley", *mixed.Parts[1].URL)

		img := s.upload(a.Token, "image", "猫.png", filestest.PNG(8, 8))
		pic := s.sendIn(a, map[string]any{"to": z.ID, "parts": []map[string]any{{"category": "image", "fileId": img.ID}}})
		require.Equal(t, "image", pic.Kind)
		require.Equal(t, "[image]", pic.Preview)
		require.Equal(t, "猫.png", *pic.Parts[0].Name)
		// The recipient may now fetch the image; a stranger may not.
		var seen struct {
			Node struct{ Parts []struct{ URL string } }
		}
		s.OK(z.Token, `query($id: ID!) { node(id: $id) { ... on Message { parts { url } } } }`, map[string]any{"id": pic.ID}, &seen)
		res, _ := s.Get(seen.Node.Parts[0].URL, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		res, _ = s.Get("/files/"+img.ID+"/x.png", other.Token, nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		doc := s.upload(a.Token, "file", "report.pdf", []byte("%PDF-1.4 hello"))
		s.sendIn(a, map[string]any{"to": z.ID, "parts": []map[string]any{{"category": "file", "fileId": doc.ID}}})
		theirs := s.upload(other.Token, "image", "x.png", filestest.PNG(4, 4))

		long := strings.Repeat("x", 4001)
		for _, tc := range []struct {
			name   string
			in     map[string]any
			reason string
		}{
			{"no target", map[string]any{"text": "hi"}, "TARGET_REQUIRED"},
			{"two targets", map[string]any{"to": z.ID, "conversationId": first.Conversation.ID, "text": "hi"}, "TARGET_REQUIRED"},
			{"no content", map[string]any{"to": z.ID}, "REQUIRED"},
			{"blank", map[string]any{"to": z.ID, "text": "   "}, "REQUIRED"},
			{"text and parts", map[string]any{"to": z.ID, "text": "a", "parts": []map[string]any{{"category": "text", "content": "b"}}}, "INVALID"},
			{"too long", map[string]any{"to": z.ID, "text": long}, "TOO_LONG"},
			{"system type", map[string]any{"to": z.ID, "text": "x", "type": "system"}, "SYSTEM_TYPE_RESERVED"},
			{"foreign quote", map[string]any{"to": z.ID, "text": "x", "quoteId": otherConv.ID}, "QUOTE_INVALID"},
			{"bad link", map[string]any{"to": z.ID, "parts": []map[string]any{{"category": "link", "url": "javascript:alert(1)"}}}, "LINK_INVALID"},
			{"image without file", map[string]any{"to": z.ID, "parts": []map[string]any{{"category": "image"}}}, "FILE_INVALID"},
			{"someone else's file", map[string]any{"to": z.ID, "parts": []map[string]any{{"category": "image", "fileId": theirs.ID}}}, "NOT_FOUND"},
			{"file as image", map[string]any{"to": z.ID, "parts": []map[string]any{{"category": "image", "fileId": doc.ID}}}, "FILE_INVALID"},
			{"bad emoji", map[string]any{"to": z.ID, "parts": []map[string]any{{"category": "emoji", "content": "smile"}}}, "INVALID"},
			{"too many parts", map[string]any{"to": z.ID, "parts": manyParts(11)}, "TOO_MANY_PARTS"},
			{"long client id", map[string]any{"to": z.ID, "text": "x", "clientId": strings.Repeat("c", 65)}, "TOO_LONG"},
			{"unknown user", map[string]any{"to": "987654", "text": "x"}, "NOT_FOUND"},
			{"not my conversation", map[string]any{"conversationId": otherConv.Conversation.ID, "text": "x"}, ""},
		} {
			token := a.Token
			if tc.reason == "" {
				token, tc.reason = z.Token, "NOT_FOUND"
			}
			r := s.Do(token, sendInput, map[string]any{"in": tc.in})
			require.Equal(t, tc.reason, r.Reason(), "%s: %+v", tc.name, r.Errors)
		}
		r := s.Do("", sendInput, map[string]any{"in": map[string]any{"to": z.ID, "text": "x"}})
		require.Equal(t, "UNAUTHENTICATED", r.Code())

		s.settings(root, map[string]any{"emoji": false, "voice": false})
		r = s.Do(a.Token, sendInput, map[string]any{"in": map[string]any{"to": z.ID, "text": "[表情1]"}})
		require.Equal(t, "FEATURE_DISABLED", r.Reason())
	})
}

func manyParts(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"category": "text", "content": "p"}
	}
	return out
}

func TestRevokeAndDelete(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.RevokeWindow = time.Hour }, func(t *testing.T, s *server) {
		a := s.Register("writer", nil)
		z := s.Register("reader", nil)
		m1 := s.sendIn(a, map[string]any{"to": z.ID, "text": "oops"})
		conv := m1.Conversation.ID
		m2 := s.sendIn(a, map[string]any{"to": z.ID, "text": "keep"})
		m3 := s.sendIn(z, map[string]any{"to": a.ID, "text": "reply"})

		ws := s.MustDial(z.Token)
		ws.Subscribe("c", `subscription($c: ID!) { conversationEvents(conversationId: $c) { kind subjectId node { id ... on Message { text revokedAt } } } }`, map[string]any{"c": conv})
		s.WaitSubscriptions(1)

		r := s.Do(z.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": m1.ID})
		require.Equal(t, "NOT_SENDER", r.Reason())
		var rev struct {
			RevokeMessage struct {
				Text, Preview string
				RevokedAt     *string
			}
		}
		s.OK(a.Token, `mutation($id: ID!) { revokeMessage(id: $id) { text preview revokedAt } }`, map[string]any{"id": m1.ID}, &rev)
		require.Empty(t, rev.RevokeMessage.Text)
		require.Equal(t, "[revoked]", rev.RevokeMessage.Preview)
		require.NotNil(t, rev.RevokeMessage.RevokedAt)

		var ev struct {
			Kind      string
			SubjectID *string
			Node      *struct {
				ID, Text  string
				RevokedAt *string
			}
		}
		next := func() {
			var msg struct {
				Type    string
				Payload struct {
					Data struct {
						ConversationEvents struct {
							Kind      string
							SubjectID *string
							Node      *struct {
								ID, Text  string
								RevokedAt *string
							}
						}
					}
				}
			}
			require.NoError(t, ws.ReadInto(&msg))
			require.Equal(t, "next", msg.Type)
			ev = msg.Payload.Data.ConversationEvents
		}
		next()
		require.Equal(t, "MESSAGE_REVOKED", ev.Kind)
		require.Equal(t, m1.ID, ev.Node.ID)
		require.NotNil(t, ev.Node.RevokedAt)

		// Revoked messages keep their place in the history.
		require.Equal(t, []int{1, 2, 3}, seqs(s.history(z, conv, "last: 10")))

		// For me only: gone from my history, still in the other's.
		s.OK(z.Token, `mutation($id: ID!) { deleteMessage(id: $id) }`, map[string]any{"id": m2.ID}, nil)
		require.Equal(t, []int{1, 3}, seqs(s.history(z, conv, "last: 10")))
		require.Equal(t, []int{1, 2, 3}, seqs(s.history(a, conv, "last: 10")))
		// Each user hides his own set: a second message hidden for z keeps
		// the first hidden, and a message can be hidden for both of them.
		s.OK(z.Token, `mutation($id: ID!) { deleteMessage(id: $id) }`, map[string]any{"id": m1.ID}, nil)
		require.Equal(t, []int{3}, seqs(s.history(z, conv, "last: 10")))
		s.OK(a.Token, `mutation($id: ID!) { deleteMessage(id: $id) }`, map[string]any{"id": m1.ID}, nil)
		require.Equal(t, []int{2, 3}, seqs(s.history(a, conv, "last: 10")))
		require.Equal(t, []int{3}, seqs(s.history(z, conv, "last: 10")))

		// For everyone: the sender only.
		r = s.Do(z.Token, `mutation($id: ID!) { deleteMessage(id: $id, forEveryone: true) }`, map[string]any{"id": m2.ID})
		require.Equal(t, "NOT_FOUND", r.Code(), "deleted for me: it no longer exists for me")
		r = s.Do(a.Token, `mutation($id: ID!) { deleteMessage(id: $id, forEveryone: true) }`, map[string]any{"id": m3.ID})
		require.Equal(t, "NOT_SENDER", r.Reason())
		s.OK(z.Token, `mutation($id: ID!) { deleteMessage(id: $id, forEveryone: true) }`, map[string]any{"id": m3.ID}, nil)
		next()
		require.Equal(t, "MESSAGE_DELETED", ev.Kind)
		require.Equal(t, m3.ID, *ev.SubjectID)
		require.Nil(t, ev.Node)
		require.Equal(t, []int{2}, seqs(s.history(a, conv, "last: 10")))
		r = s.Do(a.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": m3.ID})
		require.Equal(t, "NOT_FOUND", r.Code())

		// Typing is live only.
		s.OK(a.Token, `mutation($c: ID!) { typing(conversationId: $c) }`, map[string]any{"c": conv}, nil)
		next()
		require.Equal(t, "TYPING", ev.Kind)
		require.Equal(t, a.ID, *ev.SubjectID)
		outsider := s.Register("outsider", nil)
		r = s.Do(outsider.Token, `mutation($c: ID!) { typing(conversationId: $c) }`, map[string]any{"c": conv})
		require.Equal(t, "NOT_FOUND", r.Code())
		ows := s.MustDial(outsider.Token)
		ows.Subscribe("c", `subscription($c: ID!) { conversationEvents(conversationId: $c) { kind } }`, map[string]any{"c": conv})
		require.Equal(t, "NOT_FOUND", ows.ErrorCode())
	})
}

func TestRevokeWindow(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.RevokeWindow = time.Millisecond }, func(t *testing.T, s *server) {
		a := s.Register("slowpoke", nil)
		z := s.Register("reader", nil)
		m := s.sendIn(a, map[string]any{"to": z.ID, "text": "too late"})
		time.Sleep(10 * time.Millisecond)
		r := s.Do(a.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": m.ID})
		require.Equal(t, "REVOKE_WINDOW_PASSED", r.Reason())
	})
}

// TestConcurrentRetries sends one message several times at once with the
// same client id: one message, one seq, every caller gets it.
func TestConcurrentRetries(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		a := s.Register("eager", nil)
		z := s.Register("reader", nil)
		s.sendIn(a, map[string]any{"to": z.ID, "text": "open"})
		const n = 6
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var out struct{ Send sentMessage }
				r := s.Do(a.Token, sendInput, map[string]any{"in": map[string]any{"to": z.ID, "text": "once", "clientId": "retry-1"}})
				if len(r.Errors) == 0 {
					_ = jsonUnmarshal(r.Data, &out)
					ids[i] = out.Send.ID
				} else {
					ids[i] = r.Code() + " " + r.Errors[0].Message
				}
			}(i)
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id)
		}
		s.sendIn(a, map[string]any{"to": z.ID, "text": "after"})
		conv := s.sendIn(a, map[string]any{"to": z.ID, "text": "last"}).Conversation.ID
		require.Equal(t, []int{1, 2, 3, 4}, seqs(s.history(z, conv, "last: 10")), "no gap, no duplicate")
	})
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// TestConversationListQueryCount checks that a conversation list costs a
// fixed number of SQL statements however long it is: its per-item fields are
// batched by the request's loaders.
func TestConversationListQueryCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		// Loaders gather keys for 50 ms here, not 1: under -race on a busy
		// machine the list's fields can take longer than 1 ms to reach them,
		// and a split batch would look like a statement per item.
		s := newSocialServer(t, b, func(c *app.Config) { c.LoaderWait = 50 * time.Millisecond })
		me := s.Register("listener", nil)
		const list = `{ conversations(first: 50) { edges { node { title avatar unreadCount lastMessage { text preview } peer { id nickname isFriend remark } conversation { id kind } } } } }`
		measure := func() int64 {
			s.statements.Store(0)
			s.OK(me.Token, list, nil, nil)
			return s.statements.Load()
		}
		talk := func(i int) {
			u := s.Register(fmt.Sprintf("talker%d", i), nil)
			if i%2 == 0 {
				s.befriend(u, me)
			}
			s.sendIn(u, map[string]any{"to": me.ID, "text": fmt.Sprintf("hi %d", i)})
		}
		talk(0)
		talk(1)
		few := measure()
		for i := 2; i < 9; i++ {
			talk(i)
		}
		require.Equal(t, few, measure(), "the list must not cost statements per conversation")
		require.Len(t, s.conversationList(me, ""), 9)
	})
}

// TestUnreadCountsWhatIsShown: a message revoked or deleted for everyone,
// or deleted by the reader for himself, is no longer unread nor the
// conversation's last message.
func TestUnreadCountsWhatIsShown(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		ann := s.Register("ann", map[string]any{"nickname": "Ann"})
		ben := s.Register("ben", map[string]any{"nickname": "Ben"})
		s.befriend(ann, ben)
		a := s.sendIn(ann, map[string]any{"to": ben.ID, "text": "a"})
		b := s.sendIn(ann, map[string]any{"to": ben.ID, "text": "b"})
		c := s.sendIn(ann, map[string]any{"to": ben.ID, "text": "c"})
		check := func(unread int, last string) {
			t.Helper()
			l := s.conversationList(ben, "")
			require.Len(t, l, 1)
			require.Equal(t, unread, l[0].UnreadCount)
			if last == "" {
				require.Nil(t, l[0].LastMessage)
			} else {
				require.Equal(t, last, l[0].LastMessage.Text)
			}
		}
		check(3, "c")
		s.OK(ann.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": c.ID}, nil)
		check(2, "b")
		s.OK(ann.Token, `mutation($id: ID!) { deleteMessage(id: $id, forEveryone: true) }`, map[string]any{"id": b.ID}, nil)
		check(1, "a")
		s.OK(ben.Token, `mutation($id: ID!) { deleteMessage(id: $id) }`, map[string]any{"id": a.ID}, nil)
		check(0, "")
		d := s.sendIn(ann, map[string]any{"to": ben.ID, "text": "d"})
		check(1, "d")
		var marked struct{ MarkRead struct{ UnreadCount int } }
		s.OK(ben.Token, `mutation($c: ID!) { markRead(conversationId: $c) { unreadCount } }`, map[string]any{"c": d.Conversation.ID}, &marked)
		require.Zero(t, marked.MarkRead.UnreadCount)
		check(0, "d")
	})
}
