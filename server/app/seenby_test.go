package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

const (
	seenFields = `id readCount read delivered readBy(first: 10) { totalCount edges { node { id } } }`
	seenNode   = `query($id: ID!) { node(id: $id) { ... on Message { ` + seenFields + ` } } }`
	markReadTo = `mutation($c: ID!, $s: Int) { markRead(conversationId: $c, seq: $s) { id } }`
)

// seenView is a message's receipts as the tests select them (seenFields).
type seenView struct {
	ID              string
	ReadCount       *int
	Read, Delivered *bool
	ReadBy          *apptest.Connection[struct{ ID string }]
}

// readers is who readBy lists.
func (v seenView) readers() []string {
	if v.ReadBy == nil {
		return nil
	}
	return apptest.Map(v.ReadBy.Nodes(), func(u struct{ ID string }) string { return u.ID })
}

// seen reads message id's receipts as a, through node(id:).
func (s *server) seen(a account, id string) seenView {
	s.T.Helper()
	var out struct{ Node *seenView }
	s.OK(a.Token, seenNode, map[string]any{"id": id}, &out)
	require.NotNil(s.T, out.Node)
	return *out.Node
}

// readTo marks conv read up to seq (0: the latest) as a.
func (s *server) readTo(a account, conv string, seq int) {
	s.T.Helper()
	vars := map[string]any{"c": conv}
	if seq > 0 {
		vars["s"] = seq
	}
	s.OK(a.Token, markReadTo, vars, nil)
}

func intp(n int) *int { return &n }

// count is v's readCount, -1 for null.
func count(v seenView) int {
	if v.ReadCount == nil {
		return -1
	}
	return *v.ReadCount
}

// TestSeenBy: a group message's readCount counts the members other than
// the sender whose read position reached it, and readBy lists them, for
// every member who sees the message (node, nodes and the history page
// agree); the count is right once the reader's CONVERSATION_READ arrives
// live; members who left, who joined after the message or who cleared
// their history past it are not counted; outsiders see nothing.
func TestSeenBy(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		p := k.people("Ann", "Bob", "Cat", "Dan", "Eve")
		ann, bob, cat, dan, eve := p[0], p[1], p[2], p[3], p[4]
		outsider := k.Register("outsider", nil)
		g := k.create(ann, map[string]any{"name": "team", "memberIds": []string{bob.ID, cat.ID, dan.ID}})
		conv := g.ConversationID
		m1 := s.sendIn(ann, map[string]any{"groupId": g.ID, "text": "one"})
		m2 := s.sendIn(ann, map[string]any{"groupId": g.ID, "text": "two"})

		v := s.seen(ann, m1.ID)
		require.Equal(t, 0, count(v), "the sender's own position does not count")
		require.Empty(t, v.readers())
		require.Nil(t, v.Read, "read and delivered are the direct chat's")
		require.Nil(t, v.Delivered)

		ws := k.MustDial(ann.Token)
		const convEvents = `subscription($c: ID!, $after: String) { conversationEvents(conversationId: $c, after: $after) { cursor kind data } }`
		ws.Subscribe("c", convEvents, map[string]any{"c": conv})
		k.WaitSubscriptions(1)
		s.readTo(bob, conv, m1.Seq)
		ev := nextLive(t, ws, "conversationEvents")
		require.Equal(t, "CONVERSATION_READ", ev.Kind)
		require.Equal(t, map[string]any{"userId": bob.ID, "seq": float64(m1.Seq)}, ev.Data)
		require.Equal(t, intp(1), s.seen(ann, m1.ID).ReadCount, "right once the event arrived")
		require.Equal(t, []string{bob.ID}, s.seen(ann, m1.ID).readers())
		require.Equal(t, intp(0), s.seen(ann, m2.ID).ReadCount, "bob read up to m1")

		s.readTo(cat, conv, 0)
		require.Equal(t, "CONVERSATION_READ", nextLive(t, ws, "conversationEvents").Kind)
		s.readTo(dan, conv, 0)
		require.Equal(t, "CONVERSATION_READ", nextLive(t, ws, "conversationEvents").Kind)
		live := k.MustDial(ann.Token)
		live.Subscribe("l", `subscription($c: ID!) { conversationEvents(conversationId: $c) { kind node { id ... on Message { readCount } } } }`, map[string]any{"c": conv})
		k.WaitSubscriptions(2)
		// A client that resumes after bob's read replays the others'.
		resumed := k.MustDial(ann.Token)
		resumed.Subscribe("r", convEvents, map[string]any{"c": conv, "after": ev.Cursor})
		for _, who := range []account{cat, dan} {
			re := nextLive(t, resumed, "conversationEvents")
			require.Equal(t, "CONVERSATION_READ", re.Kind)
			require.Equal(t, who.ID, re.Data["userId"])
		}
		v = s.seen(ann, m1.ID)
		require.Equal(t, 3, count(v))
		require.Equal(t, 3, v.ReadBy.TotalCount)
		require.ElementsMatch(t, []string{bob.ID, cat.ID, dan.ID}, v.readers())
		require.Equal(t, intp(2), s.seen(ann, m2.ID).ReadCount)
		// Every member who sees the message sees its receipts, the same
		// on every path.
		require.Equal(t, v, s.seen(bob, m1.ID))
		var nodes struct{ Nodes []*seenView }
		s.OK(cat.Token, `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Message { `+seenFields+` } } }`, map[string]any{"ids": []string{m1.ID, m2.ID}}, &nodes)
		require.Equal(t, []*int{intp(3), intp(2)}, []*int{nodes.Nodes[0].ReadCount, nodes.Nodes[1].ReadCount})
		page := apptest.Field[apptest.Connection[seenView]](s.Server, dan.Token,
			`query($c: ID!) { messages(conversationId: $c, first: 10) { edges { node { `+seenFields+` } } } }`, map[string]any{"c": conv}).Nodes()
		byID := map[string]int{}
		for _, m := range page {
			byID[m.ID] = count(m)
		}
		require.Equal(t, 3, byID[m1.ID])
		require.Equal(t, 2, byID[m2.ID])
		require.Len(t, page, 3, "the group's creation notice, m1 and m2")

		// A reply's sender is not among its readers; his position counts
		// for the earlier messages it already did.
		m3 := s.sendIn(bob, map[string]any{"groupId": g.ID, "text": "three"})
		// The live node (no request loaders there) counts as a query does.
		created, typ := apptest.Next[struct {
			Kind string
			Node struct {
				ID        string
				ReadCount *int
			}
		}](live, "conversationEvents")
		require.Equal(t, "next", typ)
		require.Equal(t, "MESSAGE_CREATED", created.Kind)
		require.Equal(t, m3.ID, created.Node.ID)
		require.Equal(t, intp(0), created.Node.ReadCount)
		require.Equal(t, intp(0), s.seen(ann, m3.ID).ReadCount, "ann has not read bob's reply")
		s.readTo(ann, conv, 0)
		v = s.seen(bob, m3.ID)
		require.Equal(t, 1, count(v))
		require.Equal(t, []string{ann.ID}, v.readers())

		// Who left no longer counts; who joined after a message never
		// counted for it, even once he marks everything read.
		k.OK(dan.Token, grpLeave, map[string]any{"g": g.ID}, nil)
		require.Equal(t, intp(2), s.seen(ann, m1.ID).ReadCount)
		require.NotContains(t, s.seen(ann, m1.ID).readers(), dan.ID)
		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) { inviteToGroup(groupId: $g, userIds: $u) { id } }`, map[string]any{"g": g.ID, "u": []string{eve.ID}}, nil)
		s.readTo(eve, conv, 0)
		require.Equal(t, intp(2), s.seen(ann, m1.ID).ReadCount, "eve joined after it")
		m4 := s.sendIn(ann, map[string]any{"groupId": g.ID, "text": "welcome"})
		s.readTo(eve, conv, 0)
		require.Equal(t, []string{eve.ID}, s.seen(ann, m4.ID).readers())

		// Clearing one's history past a message takes one out of its
		// readers: he no longer sees it.
		k.OK(cat.Token, `mutation($c: ID!) { clearHistory(conversationId: $c) { clearedSeq } }`, map[string]any{"c": conv}, nil)
		require.Equal(t, []string{bob.ID}, s.seen(ann, m1.ID).readers())

		// Outsiders and those who left see nothing of it.
		s.hiddenNode(outsider, m1.ID)
		s.hiddenNode(dan, m1.ID)
	})
}

// TestSeenByThreshold: above the configured group size only readCount is
// kept; readBy is null with READ_RECEIPTS_COUNT_ONLY, without failing the
// rest of the page, and lists again once the group is small enough.
func TestSeenByThreshold(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		k := grpKit{newSocialServer(t, b, func(c *app.Config) { c.ReceiptsMaxMembers = 3 })}
		s := k.server
		p := k.people("Ann", "Bob", "Cat", "Dan")
		ann, bob, cat, dan := p[0], p[1], p[2], p[3]
		g := k.create(ann, map[string]any{"name": "team", "memberIds": []string{bob.ID, cat.ID}})
		m := s.sendIn(ann, map[string]any{"groupId": g.ID, "text": "hi"})
		s.readTo(bob, g.ConversationID, 0)
		require.Equal(t, []string{bob.ID}, s.seen(ann, m.ID).readers(), "3 members: listed")

		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) { inviteToGroup(groupId: $g, userIds: $u) { id } }`, map[string]any{"g": g.ID, "u": []string{dan.ID}}, nil)
		s.readTo(cat, g.ConversationID, 0)
		r := s.Do(ann.Token, seenNode, map[string]any{"id": m.ID})
		require.Equal(t, "FORBIDDEN", r.Code())
		require.Equal(t, "READ_RECEIPTS_COUNT_ONLY", r.Reason())
		var out struct{ Node seenView }
		require.NoError(t, jsonUnmarshal(r.Data, &out))
		require.Equal(t, m.ID, out.Node.ID, "the message itself still answers")
		require.Equal(t, 2, count(out.Node), "the count is kept")
		require.Nil(t, out.Node.ReadBy)

		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) { removeGroupMembers(groupId: $g, userIds: $u) { id } }`, map[string]any{"g": g.ID, "u": []string{dan.ID}}, nil)
		require.ElementsMatch(t, []string{bob.ID, cat.ID}, s.seen(ann, m.ID).readers())

		// A direct chat lists whatever the threshold.
		d := s.sendIn(ann, map[string]any{"to": bob.ID, "text": "psst"})
		s.readTo(bob, d.Conversation.ID, 0)
		require.Equal(t, []string{bob.ID}, s.seen(ann, d.ID).readers())
	})
}

// TestSeenByDirectAndRooms: in a direct chat readCount is 0 or 1, as read
// tells the sender; a room keeps no receipts; readBy checks its paging
// arguments.
func TestSeenByDirectAndRooms(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		m := s.sendIn(ann, map[string]any{"to": bob.ID, "text": "hello"})
		v := s.seen(ann, m.ID)
		require.Equal(t, 0, count(v))
		require.Equal(t, false, *v.Read)
		require.Equal(t, false, *v.Delivered)
		k.OK(bob.Token, `mutation($c: ID!) { markDelivered(conversationId: $c, seq: 1) { id } }`, map[string]any{"c": m.Conversation.ID}, nil)
		v = s.seen(ann, m.ID)
		require.Equal(t, true, *v.Delivered)
		require.Equal(t, false, *v.Read)
		require.Equal(t, 0, count(v))
		s.readTo(bob, m.Conversation.ID, 0)
		v = s.seen(ann, m.ID)
		require.Equal(t, true, *v.Read)
		require.Equal(t, 1, count(v))
		require.Equal(t, []string{bob.ID}, v.readers())
		v = s.seen(bob, m.ID)
		require.Nil(t, v.Read, "read is for the sender")
		require.Equal(t, 1, count(v))

		k.Fails(ann.Token, `query($id: ID!) { node(id: $id) { ... on Message { readBy(first: 1, last: 1) { totalCount } } } }`, map[string]any{"id": m.ID}, "BAD_USER_INPUT", "INVALID")
		k.Fails(ann.Token, `query($id: ID!) { node(id: $id) { ... on Message { readBy(first: 101) { totalCount } } } }`, map[string]any{"id": m.ID}, "BAD_USER_INPUT", "INVALID")

		room := k.room(ann, "hall", "a hall")
		var sent struct{ Send struct{ ID string } }
		k.OK(ann.Token, `mutation($r: ID!) { send(input: {roomId: $r, text: "hi all"}) { id } }`, map[string]any{"r": room.ID}, &sent)
		v = s.seen(ann, sent.Send.ID)
		require.Nil(t, v.ReadCount, "rooms keep no receipts")
		require.Nil(t, v.ReadBy)
	})
}

// TestReceiptsStatements: a history page's read, delivered and readCount
// cost one SQL statement together, however many messages the page holds
// (the request's receipts loader), not one per message.
func TestReceiptsStatements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		// 50 ms, as TestConversationListQueryCount waits: a split batch
		// under -race would look like a statement per message.
		s := newSocialServer(t, b, func(c *app.Config) { c.LoaderWait = 50 * time.Millisecond })
		ann := s.Register("ann", nil)
		bob := s.Register("bob", nil)
		s.befriend(ann, bob)
		const page = `query($c: ID!) { messages(conversationId: $c, last: 50) { edges { node { id text %s } } } }`
		var conv string
		measure := func(fields string) int64 {
			s.statements.Store(0)
			s.OK(ann.Token, fmt.Sprintf(page, fields), map[string]any{"c": conv}, nil)
			return s.statements.Load()
		}
		send := func(n int) {
			for i := 0; i < n; i++ {
				conv = s.sendIn(ann, map[string]any{"to": bob.ID, "text": fmt.Sprintf("m%d", i)}).Conversation.ID
			}
		}
		send(2)
		plain, few := measure(""), measure("read delivered readCount")
		require.Equal(t, plain+1, few, "the receipts of a page are one statement")
		send(48)
		require.Equal(t, few, measure("read delivered readCount"), "the receipts must not cost a statement per message")
		t.Logf("history page of 50: %d statements without receipts, %d with", measure(""), measure("read delivered readCount"))
	})
}
