package app_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

const (
	reactionFields = `id reactions { emoji count mine users(first: 10) { totalCount edges { node { id } } } }`
	addReaction    = `mutation($m: ID!, $e: String!) { addReaction(messageId: $m, emoji: $e) { ` + reactionFields + ` } }`
	removeReaction = `mutation($m: ID!, $e: String!) { removeReaction(messageId: $m, emoji: $e) { ` + reactionFields + ` } }`
)

// reactionView is one emoji's reactions as a test selects them.
type reactionView struct {
	Emoji string
	Count int
	Mine  bool
	Users *apptest.Connection[struct{ ID string }]
}

// react adds (or, with remove, takes back) a's reaction emoji to message m
// and returns the message's reactions.
func (s *server) react(a account, m, emoji string, remove bool) []reactionView {
	s.T.Helper()
	query, field := addReaction, "addReaction"
	if remove {
		query, field = removeReaction, "removeReaction"
	}
	var out map[string]struct{ Reactions []reactionView }
	s.OK(a.Token, query, map[string]any{"m": m, "e": emoji}, &out)
	return out[field].Reactions
}

// reactionsOf reads message m's reactions as a through node(id:).
func (s *server) reactionsOf(a account, m string) []reactionView {
	s.T.Helper()
	var out struct {
		Node *struct{ Reactions []reactionView }
	}
	s.OK(a.Token, `query($id: ID!) { node(id: $id) { ... on Message { `+reactionFields+` } } }`, map[string]any{"id": m}, &out)
	require.NotNil(s.T, out.Node)
	return out.Node.Reactions
}

// counts is the emoji and counts of reactions, in order.
func counts(rs []reactionView) []string {
	return apptest.Map(rs, func(r reactionView) string { return fmt.Sprintf("%s%d", r.Emoji, r.Count) })
}

func userIDs(r reactionView) []string {
	return apptest.Map(r.Users.Nodes(), func(u struct{ ID string }) string { return u.ID })
}

// TestReactions: members react to the messages they see; each emoji is
// counted once per user, with whether the viewer is one of them and who
// reacted, first to react first; adding twice and removing what one does
// not have are no-ops; the conversation is told live and on resume;
// outsiders, non-members of a room and revoked messages are refused.
func TestReactions(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		s := k.server
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		outsider := k.Register("outsider", nil)
		m := s.sendIn(ann, map[string]any{"to": bob.ID, "text": "news"})
		conv := m.Conversation.ID

		ws := k.MustDial(ann.Token)
		ws.Subscribe("c", `subscription($c: ID!) { conversationEvents(conversationId: $c) { `+liveEventFields+` } }`, map[string]any{"c": conv})
		k.WaitSubscriptions(1)

		rs := s.react(bob, m.ID, "👍", false)
		require.Equal(t, []string{"👍1"}, counts(rs))
		require.True(t, rs[0].Mine)
		ev := nextLive(t, ws, "conversationEvents")
		require.Equal(t, "MESSAGE_REACTED", ev.Kind)
		require.Equal(t, m.ID, *ev.SubjectID)
		require.Equal(t, map[string]any{"conversationId": conv, "seq": float64(1), "userId": bob.ID, "emoji": "👍", "added": true}, ev.Data)
		require.Equal(t, []string{"👍"}, apptest.Map(ev.Node.Reactions, func(r reactionView) string { return r.Emoji }))
		require.False(t, ev.Node.Reactions[0].Mine, "the node is ann's view")
		cursor := ev.Cursor

		// Twice is once, and tells nobody.
		require.Equal(t, []string{"👍1"}, counts(s.react(bob, m.ID, "👍", false)))
		rs = s.react(ann, m.ID, "👍", false)
		require.Equal(t, []string{"👍2"}, counts(rs))
		require.Equal(t, []string{bob.ID, ann.ID}, userIDs(rs[0]), "first to react first")
		require.True(t, nextLive(t, ws, "conversationEvents").Node.Reactions[0].Mine)
		rs = s.react(ann, m.ID, "❤️", false)
		require.Equal(t, []string{"👍2", "❤️1"}, counts(rs), "emoji in the order first used")
		nextLive(t, ws, "conversationEvents")
		seen := s.reactionsOf(bob, m.ID)
		require.Equal(t, []string{"👍2", "❤️1"}, counts(seen))
		require.True(t, seen[0].Mine)
		require.False(t, seen[1].Mine)

		// The users page by their reactions' cursors.
		var page struct {
			Node struct {
				Reactions []struct {
					Users apptest.Connection[struct{ ID string }]
				}
			}
		}
		const usersPage = `query($id: ID!, $after: Cursor) { node(id: $id) { ... on Message { reactions { users(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } } } }`
		s.OK(bob.Token, usersPage, map[string]any{"id": m.ID}, &page)
		users := page.Node.Reactions[0].Users
		require.Equal(t, 2, users.TotalCount)
		require.True(t, users.PageInfo.HasNextPage)
		require.Equal(t, bob.ID, users.Nodes()[0].ID)
		s.OK(bob.Token, usersPage, map[string]any{"id": m.ID, "after": *users.PageInfo.EndCursor}, &page)
		users = page.Node.Reactions[0].Users
		require.False(t, users.PageInfo.HasNextPage)
		require.Equal(t, ann.ID, users.Nodes()[0].ID)

		// Removing: once counts, twice is a no-op.
		require.Equal(t, []string{"👍1", "❤️1"}, counts(s.react(bob, m.ID, "👍", true)))
		ev = nextLive(t, ws, "conversationEvents")
		require.Equal(t, false, ev.Data["added"])
		require.Equal(t, []string{"👍1", "❤️1"}, counts(s.react(bob, m.ID, "👍", true)))
		require.Equal(t, []string{"❤️1"}, counts(s.react(ann, m.ID, "👍", true)))
		nextLive(t, ws, "conversationEvents")

		// Resume from the first reaction's event: the later ones, in order.
		for _, field := range []string{"events", "conversationEvents"} {
			again := k.MustDial(ann.Token)
			if field == "events" {
				again.Subscribe("r", `subscription($after: String) { events(after: $after) { `+liveEventFields+` } }`, map[string]any{"after": cursor})
			} else {
				again.Subscribe("r", `subscription($c: ID!, $after: String) { conversationEvents(conversationId: $c, after: $after) { `+liveEventFields+` } }`, map[string]any{"c": conv, "after": cursor})
			}
			var got []string
			for range 4 {
				ev := nextLive(t, again, field)
				require.Equal(t, "MESSAGE_REACTED", ev.Kind)
				got = append(got, fmt.Sprintf("%v %v", ev.Data["emoji"], ev.Data["added"]))
			}
			require.Equal(t, []string{"👍 true", "❤️ true", "👍 false", "👍 false"}, got, field)
			again.Close()
		}

		// Refusals.
		s.refuse(t, addReaction, []refusal{
			{name: "anonymous", vars: map[string]any{"m": m.ID, "e": "👍"}, code: "UNAUTHENTICATED", reason: "SIGN_IN_REQUIRED"},
			{name: "an outsider", as: outsider, vars: map[string]any{"m": m.ID, "e": "👍"}, code: "NOT_FOUND", reason: "NOT_FOUND"},
			{name: "not an emoji", as: bob, vars: map[string]any{"m": m.ID, "e": "+1"}, code: "BAD_USER_INPUT", reason: "EMOJI_INVALID", field: "emoji"},
			{name: "two emoji", as: bob, vars: map[string]any{"m": m.ID, "e": "👍👍"}, code: "BAD_USER_INPUT", reason: "EMOJI_INVALID", field: "emoji"},
		})
		k.Fails(outsider.Token, removeReaction, map[string]any{"m": m.ID, "e": "❤️"}, "NOT_FOUND", "NOT_FOUND")
		require.Equal(t, []string{"❤️1"}, counts(s.reactionsOf(bob, m.ID)))

		// A room's messages are public, but only its members react.
		room := k.room(ann, "lobby", "")
		k.OK(ann.Token, rmJoin, map[string]any{"r": room.ID}, nil)
		rm := s.sendIn(ann, map[string]any{"roomId": room.ID, "text": "welcome"})
		k.Fails(outsider.Token, addReaction, map[string]any{"m": rm.ID, "e": "🎉"}, "FORBIDDEN", "NOT_A_MEMBER")
		watcher := k.MustDial(ann.Token)
		watcher.Subscribe("w", `subscription($r: ID!) { roomEvents(roomId: $r) { `+liveEventFields+` } }`, map[string]any{"r": room.ID})
		k.WaitSubscriptions(2)
		k.OK(outsider.Token, rmJoin, map[string]any{"r": room.ID}, nil)
		require.Equal(t, []string{"🎉1"}, counts(s.react(outsider, rm.ID, "🎉", false)))
		for {
			ev := nextLive(t, watcher, "roomEvents")
			if ev.Kind == "MESSAGE_REACTED" {
				require.Equal(t, rm.ID, *ev.SubjectID)
				require.Equal(t, []string{"🎉"}, apptest.Map(ev.Node.Reactions, func(r reactionView) string { return r.Emoji }))
				break
			}
		}
		s.edit(ann, rm.ID, map[string]any{"text": "welcome all"})
		ev = nextLive(t, watcher, "roomEvents")
		require.Equal(t, "MESSAGE_EDITED", ev.Kind)
		require.Equal(t, "welcome all", ev.Node.Text)

		// A revoked message loses its reactions and takes no more.
		s.OK(ann.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": m.ID}, nil)
		require.Empty(t, s.reactionsOf(bob, m.ID))
		k.Fails(bob.Token, addReaction, map[string]any{"m": m.ID, "e": "👍"}, "FORBIDDEN", "MESSAGE_REVOKED")
	})
}

// TestReactionCap: a message holds at most the configured number of
// distinct emoji; more of an emoji already there is always fine.
func TestReactionCap(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.ReactionCap = 2 }, func(t *testing.T, s *server) {
		a := s.Register("writer", nil)
		z := s.Register("reader", nil)
		m := s.sendIn(a, map[string]any{"to": z.ID, "text": "vote"})
		s.react(a, m.ID, "👍", false)
		s.react(a, m.ID, "👎", false)
		s.Fails(z.Token, addReaction, map[string]any{"m": m.ID, "e": "🤷"}, "FORBIDDEN", "TOO_MANY_REACTIONS")
		require.Equal(t, []string{"👍2", "👎1"}, counts(s.react(z, m.ID, "👍", false)))
	})
}

// TestConcurrentReactions: members reacting at once, each twice, are
// counted once each; new emoji racing for the last places of the cap get
// exactly the places there are.
func TestConcurrentReactions(t *testing.T) {
	eachKit(t, func(t *testing.T, b dbtest.Backend) grpKit {
		return grpKit{newSocialServer(t, b, func(c *app.Config) { c.ReactionCap = 3 })}
	}, func(t *testing.T, k grpKit) {
		s := k.server
		names := []string{"Ann", "Bob", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal"}
		p := k.people(names...)
		ids := apptest.Map(p[1:], func(a account) string { return a.ID })
		g := k.create(p[0], map[string]any{"name": "crowd", "memberIds": ids})
		m := s.sendIn(p[0], map[string]any{"groupId": g.ID, "text": "party?"})
		emoji := []string{"🎉", "🥳", "🎈", "🎂", "🍰", "🍾", "🎁", "🪅"}

		var wg sync.WaitGroup
		refused := make([]string, len(p))
		for i, a := range p {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2 {
					if r := k.Do(a.Token, addReaction, map[string]any{"m": m.ID, "e": "👍"}); len(r.Errors) > 0 {
						refused[i] = r.Code() + " " + r.Errors[0].Message
					}
				}
			}()
		}
		wg.Wait()
		require.Equal(t, make([]string, len(p)), refused)
		rs := s.reactionsOf(p[0], m.ID)
		require.Equal(t, []string{fmt.Sprintf("👍%d", len(p))}, counts(rs))
		require.Equal(t, len(p), rs[0].Users.TotalCount)

		reasons := make([]string, len(p))
		for i, a := range p {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reasons[i] = k.Do(a.Token, addReaction, map[string]any{"m": m.ID, "e": emoji[i]}).Reason()
			}()
		}
		wg.Wait()
		placed := 0
		for _, r := range reasons {
			if r == "" {
				placed++
			} else {
				require.Equal(t, "TOO_MANY_REACTIONS", r)
			}
		}
		require.Equal(t, 2, placed, "the cap of 3 had two places left")
		require.Len(t, s.reactionsOf(p[0], m.ID), 3)
	})
}
