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
	mentionFields = `id text mentionAll mentionsMe mentions { id }`
	mentionSend   = `mutation($in: SendInput!) { send(input: $in) { ` + mentionFields + ` } }`
	mentionNode   = `query($id: ID!) { node(id: $id) { ... on Message { ` + mentionFields + ` } } }`
	mineQuery     = `query($c: ID!) { node(id: $c) { ... on Conversation { lastMessage { id } mine { mentionCount unreadCount notificationLevel } } } }`
	setLevel      = `mutation($c: ID!, $l: NotificationLevel!) { setNotificationLevel(conversationId: $c, level: $l) { notificationLevel mentionCount } }`
)

// mentioned is a message with what it mentions, as a test selects it.
type mentioned struct {
	ID, Text   string
	MentionAll bool
	MentionsMe bool
	Mentions   []struct{ ID string }
}

func (m mentioned) ids() []string {
	return apptest.Map(m.Mentions, func(u struct{ ID string }) string { return u.ID })
}

// mentionIn sends in as a and returns the message's mentions.
func (s *server) mentionIn(a account, in map[string]any) mentioned {
	s.T.Helper()
	var out struct{ Send mentioned }
	s.OK(a.Token, mentionSend, map[string]any{"in": in}, &out)
	return out.Send
}

// mentionsSeen reads message id's mentions as a through node(id:).
func (s *server) mentionsSeen(a account, id string) mentioned {
	s.T.Helper()
	var out struct{ Node *mentioned }
	s.OK(a.Token, mentionNode, map[string]any{"id": id}, &out)
	require.NotNil(s.T, out.Node)
	return *out.Node
}

type mineView struct {
	LastMessage *struct{ ID string }
	Mine        *struct {
		MentionCount, UnreadCount int
		NotificationLevel         string
	}
}

// mine reads a's membership of conversation c.
func (s *server) mine(a account, c string) mineView {
	s.T.Helper()
	var out struct{ Node mineView }
	s.OK(a.Token, mineQuery, map[string]any{"c": c}, &out)
	return out.Node
}

func (s *server) mentionCount(a account, c string) int {
	s.T.Helper()
	v := s.mine(a, c)
	require.NotNil(s.T, v.Mine)
	return v.Mine.MentionCount
}

// TestMentions: a send mentions members of its conversation, once each;
// every viewer sees who was mentioned and whether he was; unread mentions
// count from read positions and clear on read; the owner and managers
// mention everyone, plain members may not; non-members cannot be
// mentioned and nothing is written then; mentioned members get a notice
// live; outsiders see nothing.
func TestMentions(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		p := k.people("Ann", "Bob", "Cat", "Dan")
		ann, bob, cat, dan := p[0], p[1], p[2], p[3]
		outsider := k.Register("outsider", nil)
		g := k.create(ann, map[string]any{"name": "club", "memberIds": []string{bob.ID, cat.ID, dan.ID}})
		k.OK(ann.Token, grpManager, groupVars(g, "u", bob.ID, "m", true), nil)
		conv := g.ConversationID

		ws := k.MustDial(cat.Token)
		ws.Subscribe("n", noticesSubscription, nil)
		live := k.MustDial(dan.Token)
		live.Subscribe("c", `subscription($c: ID!) { conversationEvents(conversationId: $c) { kind node { ... on Message { `+mentionFields+` } } } }`, map[string]any{"c": conv})
		k.WaitSubscriptions(2)

		m := s.mentionIn(ann, map[string]any{"groupId": g.ID, "text": "@Cat @Dan look", "mentions": []string{cat.ID, dan.ID, cat.ID}})
		require.Equal(t, []string{cat.ID, dan.ID}, m.ids(), "repeats count once")
		require.False(t, m.MentionsMe)
		require.False(t, m.MentionAll)
		ev := nextNotice(ws)
		require.Equal(t, "NOTICE_CREATED", ev.Kind)
		require.Equal(t, "mention", ev.Node.Type)
		require.Len(t, s.noticeOperations(dan.Token, "mention"), 1)
		require.Empty(t, s.noticeOperations(ann.Token, "mention"), "the sender is not told")
		created, typ := apptest.Next[struct {
			Kind string
			Node mentioned
		}](live, "conversationEvents")
		require.Equal(t, "next", typ)
		require.Equal(t, "MESSAGE_CREATED", created.Kind)
		require.True(t, created.Node.MentionsMe, "live, as dan sees it")
		require.Equal(t, []string{cat.ID, dan.ID}, created.Node.ids())

		seen := s.mentionsSeen(cat, m.ID)
		require.True(t, seen.MentionsMe)
		require.Equal(t, []string{cat.ID, dan.ID}, seen.ids())
		require.False(t, s.mentionsSeen(bob, m.ID).MentionsMe)
		require.Equal(t, 1, s.mentionCount(cat, conv))
		require.Equal(t, 1, s.mentionCount(dan, conv))
		require.Equal(t, 0, s.mentionCount(bob, conv))
		require.Equal(t, 0, s.mentionCount(ann, conv))

		// A manager mentions everyone: it counts for all but him, and
		// notifies nobody by notice.
		all := s.mentionIn(bob, map[string]any{"groupId": g.ID, "text": "all hands", "mentionAll": true})
		require.True(t, all.MentionAll)
		require.False(t, all.MentionsMe, "not in his own message")
		require.Empty(t, all.ids())
		require.True(t, s.mentionsSeen(cat, all.ID).MentionsMe)
		require.Equal(t, 2, s.mentionCount(cat, conv))
		require.Equal(t, 1, s.mentionCount(ann, conv))
		require.Equal(t, 0, s.mentionCount(bob, conv))
		require.Len(t, s.noticeOperations(dan.Token, "mention"), 1)
		owner := s.mentionIn(ann, map[string]any{"conversationId": conv, "text": "me too", "mentionAll": true, "mentions": []string{bob.ID}})
		require.True(t, owner.MentionAll)
		require.Equal(t, []string{bob.ID}, owner.ids())
		require.Equal(t, 1, s.mentionCount(bob, conv))

		// Refusals write nothing.
		last := s.mine(ann, conv).LastMessage.ID
		for _, c := range []struct {
			name         string
			who          account
			in           map[string]any
			code, reason string
		}{
			{"member mentions all", cat, map[string]any{"groupId": g.ID, "text": "hey all", "mentionAll": true}, "FORBIDDEN", "MENTION_ALL_FORBIDDEN"},
			{"mention an outsider", ann, map[string]any{"groupId": g.ID, "text": "hey", "mentions": []string{cat.ID, outsider.ID}}, "BAD_USER_INPUT", "MENTION_NOT_MEMBER"},
			{"mention nobody real", ann, map[string]any{"groupId": g.ID, "text": "hey", "mentions": []string{"999999"}}, "BAD_USER_INPUT", "MENTION_NOT_MEMBER"},
			{"too many", ann, map[string]any{"groupId": g.ID, "text": "hey", "mentions": mentionIDs(51)}, "BAD_USER_INPUT", "TOO_MANY_MENTIONS"},
			{"all in a direct chat", ann, map[string]any{"to": cat.ID, "text": "hey", "mentionAll": true}, "FORBIDDEN", "MENTION_ALL_FORBIDDEN"},
		} {
			t.Run(c.name, func(t *testing.T) {
				k.Fails(c.who.Token, mentionSend, map[string]any{"in": c.in}, c.code, c.reason)
			})
		}
		require.Equal(t, last, s.mine(ann, conv).LastMessage.ID, "no message was written")
		require.Len(t, s.noticeOperations(cat.Token, "mention"), 1)

		// Reading clears the count.
		k.OK(cat.Token, `mutation($c: ID!) { markRead(conversationId: $c) { readSeq } }`, map[string]any{"c": conv}, nil)
		require.Equal(t, 0, s.mentionCount(cat, conv))
		require.Equal(t, 3, s.mentionCount(dan, conv), "his own read position alone")

		// Privacy: outsiders see neither the message nor its mentions; a
		// revoked message mentions nobody and counts no more.
		s.hiddenNode(outsider, m.ID)
		require.Equal(t, "NOT_FOUND", s.Do(outsider.Token, mineQuery, map[string]any{"c": conv}).Code())
		k.OK(ann.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": m.ID}, nil)
		require.Empty(t, s.mentionsSeen(dan, m.ID).ids())
		require.False(t, s.mentionsSeen(dan, m.ID).MentionsMe)
		require.Equal(t, 2, s.mentionCount(dan, conv), "the revoked message counts no more")
	})
}

func mentionIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(1000000 + i)
	}
	return out
}

// TestNotificationLevels: a member sets what a conversation notifies him
// of and reads it back; at NONE a mention sends him no notice, at MENTIONS
// it still does; outsiders set nothing.
func TestNotificationLevels(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		p := k.people("Ann", "Bob", "Cat")
		ann, bob, cat := p[0], p[1], p[2]
		outsider := k.Register("outsider", nil)
		g := k.create(ann, map[string]any{"name": "club", "memberIds": []string{bob.ID, cat.ID}})
		conv := g.ConversationID
		require.Equal(t, "ALL", s.mine(bob, conv).Mine.NotificationLevel)

		var out struct {
			SetNotificationLevel struct{ NotificationLevel string }
		}
		k.OK(bob.Token, setLevel, map[string]any{"c": conv, "l": "MENTIONS"}, &out)
		require.Equal(t, "MENTIONS", out.SetNotificationLevel.NotificationLevel)
		k.OK(cat.Token, setLevel, map[string]any{"c": conv, "l": "NONE"}, nil)
		require.Equal(t, "MENTIONS", s.mine(bob, conv).Mine.NotificationLevel)
		require.Equal(t, "NONE", s.mine(cat, conv).Mine.NotificationLevel)

		s.mentionIn(ann, map[string]any{"groupId": g.ID, "text": "you two", "mentions": []string{bob.ID, cat.ID}})
		require.Len(t, s.noticeOperations(bob.Token, "mention"), 1, "MENTIONS still notifies a mention")
		require.Empty(t, s.noticeOperations(cat.Token, "mention"), "NONE notifies nothing")
		require.Equal(t, 1, s.mentionCount(cat, conv), "but the mention still counts")

		k.Fails(outsider.Token, setLevel, map[string]any{"c": conv, "l": "NONE"}, "NOT_FOUND", "NOT_FOUND")
		r := k.Do(bob.Token, setLevel, map[string]any{"c": conv, "l": "LOUD"})
		require.NotEmpty(t, r.Errors)
	})
}

// TestMentionsFollowTheSendRules: a send with mentions is checked as any
// send: the dirty-word filter masks it and a switched-off group chat
// refuses it.
func TestMentionsFollowTheSendRules(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		root := k.newAdmin("root")
		k.settings(root, map[string]any{"dirtyWords": []string{"heck"}})
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		g := k.create(ann, map[string]any{"name": "club", "memberIds": []string{bob.ID}})
		m := s.mentionIn(ann, map[string]any{"groupId": g.ID, "text": "@Bob what the heck", "mentions": []string{bob.ID}})
		require.Equal(t, "@Bob what the ****", m.Text)
		require.Equal(t, []string{bob.ID}, m.ids())
		k.settings(root, map[string]any{"groupChat": false})
		k.Fails(ann.Token, mentionSend, map[string]any{"in": map[string]any{"groupId": g.ID, "text": "hi", "mentions": []string{bob.ID}}}, "FORBIDDEN", "FEATURE_DISABLED")
	})
}

// TestMentionStatements: a send without mentions costs what any send
// costs; mentions add one statement (the rows, checked against the
// members as they are written), and the notices they send their own two
// writes (rows, events) whatever their number; mentionAll adds its role
// check and no notice. Lists and history pages read mentions in a fixed
// number of statements however long they are (loaders).
func TestMentionStatements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		k := grpKit{newSocialServer(t, b, func(c *app.Config) { c.LoaderWait = 50 * time.Millisecond })}
		s := k.server
		p := k.people("Ann", "Bob", "Cat", "Dan")
		ann, bob, cat, dan := p[0], p[1], p[2], p[3]
		g := k.create(ann, map[string]any{"name": "club", "memberIds": []string{bob.ID, cat.ID, dan.ID}})
		conv := g.ConversationID
		for _, who := range []account{bob, cat, dan} {
			k.OK(who.Token, setLevel, map[string]any{"c": conv, "l": "NONE"}, nil)
		}
		k.OK(dan.Token, setLevel, map[string]any{"c": conv, "l": "ALL"}, nil)
		send := func(in map[string]any) int64 {
			in["groupId"] = g.ID
			k.statements.Store(0)
			s.OK(ann.Token, `mutation($in: SendInput!) { send(input: $in) { id } }`, map[string]any{"in": in}, nil)
			return k.statements.Load()
		}
		send(map[string]any{"text": "warm up"})
		plain := send(map[string]any{"text": "plain"})
		require.Equal(t, plain, send(map[string]any{"text": "empty", "mentions": []string{}, "mentionAll": false}), "no mentions, no statements")
		quiet := send(map[string]any{"text": "quiet", "mentions": []string{bob.ID, cat.ID}})
		require.Equal(t, plain+1, quiet, "mentions that notify nobody: one statement")
		told := send(map[string]any{"text": "told", "mentions": []string{bob.ID, dan.ID}})
		require.Equal(t, plain+3, told, "and the notice's row and event")
		all := send(map[string]any{"text": "all", "mentionAll": true})
		require.Equal(t, plain+2, all, "mentionAll: the role check and the row")
		t.Logf("%s: statements per group send: plain %d, mentions notifying nobody %d, mentions with a notice %d, mentionAll %d", b.Name, plain, quiet, told, all)

		list := func() int64 {
			k.statements.Store(0)
			s.OK(cat.Token, `{ conversations(first: 50) { edges { node { mentionCount unreadCount } } } }`, nil, nil)
			return k.statements.Load()
		}
		history := func() int64 {
			k.statements.Store(0)
			s.OK(cat.Token, `query($c: ID!) { node(id: $c) { ... on Conversation { messages(last: 50) { edges { node { mentionAll mentionsMe mentions { id } } } } } } }`, map[string]any{"c": conv}, nil)
			return k.statements.Load()
		}
		few, page := list(), history()
		for i := 0; i < 5; i++ {
			k2 := k.create(ann, map[string]any{"name": fmt.Sprintf("club%d", i), "memberIds": []string{cat.ID}})
			s.mentionIn(ann, map[string]any{"groupId": k2.ID, "text": "hey", "mentions": []string{cat.ID}})
			s.mentionIn(ann, map[string]any{"groupId": g.ID, "text": "again", "mentions": []string{cat.ID, dan.ID}})
		}
		require.Equal(t, few, list(), "mentionCount costs no statement per conversation")
		require.Equal(t, page, history(), "mentions cost no statement per message")
	})
}
