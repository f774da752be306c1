package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file tests message search through the API: Chinese by two
// characters, English by stems, the order (phrase first, then newest),
// pages, the conversation filter, input errors, and that search finds only
// what the one visibility rule lets the viewer see.

// searchHit is one edge of searchMessages.
type searchHit struct {
	Cursor  string
	Snippet string
	Node    struct {
		ID   string
		Text string
	}
}

// searchPage is a page of searchMessages.
type searchPage struct {
	Edges    []searchHit
	PageInfo struct {
		HasNextPage bool
		EndCursor   *string
	}
}

const searchQuery = `query($q: String!, $c: ID, $first: Int, $after: Cursor) {
  searchMessages(query: $q, conversationId: $c, first: $first, after: $after) {
    edges { cursor snippet node { id text sender { id } conversation { id } quote { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`

// search runs searchMessages as a with vars added to the query q.
func (k grpKit) search(a account, q string, vars map[string]any) searchPage {
	k.T.Helper()
	v := map[string]any{"q": q}
	for key, val := range vars {
		v[key] = val
	}
	var out struct{ SearchMessages searchPage }
	k.OK(a.Token, searchQuery, v, &out)
	return out.SearchMessages
}

// found returns the ids of the messages a finds with q.
func (k grpKit) found(a account, q string) []string {
	k.T.Helper()
	var ids []string
	for _, e := range k.search(a, q, nil).Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids
}

// TestSearchMessagesLanguages: Chinese by any two adjacent characters (and
// one), English by stems, case and width folded, with the match marked in
// an escaped snippet.
func TestSearchMessagesLanguages(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob := k.pair()
		tree := k.sendIn(ann, map[string]any{"to": bob.ID, "text": "今天讲二叉树的遍历"})
		run := k.sendIn(bob, map[string]any{"to": ann.ID, "text": "He runs <fast> & far"})
		ran := k.sendIn(ann, map[string]any{"to": bob.ID, "text": "I will RUN tomorrow"})
		k.sendIn(ann, map[string]any{"to": bob.ID, "text": "nothing here"})

		for _, q := range []string{"二叉", "叉树", "树的遍历", "遍历", "二", "历"} {
			require.Equal(t, []string{tree.ID}, k.found(bob, q), "query %q", q)
		}
		require.Empty(t, k.found(bob, "二树"), "two characters that are not adjacent")
		require.Empty(t, k.found(bob, "森林"))

		require.Equal(t, []string{ran.ID, run.ID}, k.found(bob, "running"), "stems: running finds run and runs, newest first")
		require.Equal(t, []string{ran.ID, run.ID}, k.found(ann, "ＲＵＮ"), "full-width and upper case fold")
		require.Empty(t, k.found(ann, "runner far"), "every word must match")

		p := k.search(bob, "二叉", nil)
		require.Equal(t, "今天讲<mark>二叉</mark>树的遍历", p.Edges[0].Snippet)
		require.Equal(t, tree.ID, p.Edges[0].Node.ID)
		require.Equal(t, "今天讲二叉树的遍历", p.Edges[0].Node.Text)
		p = k.search(ann, "run", nil)
		require.Equal(t, "He <mark>runs</mark> &lt;fast&gt; &amp; far", p.Edges[1].Snippet, "the text is escaped, the match marked")

		long := "start " + fmt.Sprintf("%0200d", 0) + " needle end"
		m := k.sendIn(ann, map[string]any{"to": bob.ID, "text": long})
		p = k.search(bob, "needle", nil)
		require.Equal(t, m.ID, p.Edges[0].Node.ID)
		require.Regexp(t, `^…0+ <mark>needle</mark> end$`, p.Edges[0].Snippet, "a long text is cut around its match")
	})
}

// TestSearchMessagesOrderAndPages: phrase matches first, then the newest;
// pages of first/after cover every match once, and a message sent between
// pages neither repeats nor shifts what follows.
func TestSearchMessagesOrderAndPages(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob := k.pair()
		send := func(text string) string { return k.sendIn(ann, map[string]any{"to": bob.ID, "text": text}).ID }
		phraseOld := send("the red apple pie")
		words1 := send("apple, then something red")
		phraseNew := send("a red apple")
		words2 := send("apple is not red")
		require.Equal(t, []string{phraseNew, phraseOld, words2, words1}, k.found(bob, "red apple"))
		require.Equal(t, []string{words2, phraseNew, words1, phraseOld}, k.found(bob, "apple"), "one word: newest first")

		var all []string
		for i := 0; i < 7; i++ {
			all = append(all, send(fmt.Sprintf("paging message %d", i)))
		}
		var got []string
		var after any
		for pages := 0; ; pages++ {
			require.Less(t, pages, 5)
			p := k.search(bob, "paging", map[string]any{"first": 3, "after": after})
			for _, e := range p.Edges {
				got = append(got, e.Node.ID)
			}
			if pages == 0 {
				send("paging message sent between pages") // newer: never in a later page
			}
			if !p.PageInfo.HasNextPage {
				break
			}
			after = *p.PageInfo.EndCursor
		}
		var want []string
		for i := len(all) - 1; i >= 0; i-- {
			want = append(want, all[i])
		}
		require.Equal(t, want, got)

		// Ranked pages: the cursor keeps the rank.
		var ranked []string
		after = nil
		for {
			p := k.search(bob, "red apple", map[string]any{"first": 1, "after": after})
			for _, e := range p.Edges {
				ranked = append(ranked, e.Node.ID)
			}
			if !p.PageInfo.HasNextPage {
				break
			}
			after = *p.PageInfo.EndCursor
		}
		require.Equal(t, []string{phraseNew, phraseOld, words2, words1}, ranked)
	})
}

// TestSearchMessagesVisibility: search finds only what the viewer may see
// in the history: not another's direct conversation, not a group's
// messages from before he joined, not what he or its sender deleted, not
// what was revoked, not what he cleared; conversationId narrows to one
// conversation, and one he may not read is NOT_FOUND.
func TestSearchMessagesVisibility(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		g := k.group(ann, "approval", bob)
		before := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "secret plan before cat"})
		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) { inviteToGroup(groupId: $g, userIds: $u) { id } }`, map[string]any{"g": g.ID, "u": []string{cat.ID}}, nil)
		after := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "secret plan after cat"})
		direct := k.sendIn(ann, map[string]any{"to": bob.ID, "text": "secret plan for bob only"})

		require.ElementsMatch(t, []string{before.ID, after.ID, direct.ID}, k.found(bob, "secret plan"))
		require.Equal(t, []string{after.ID}, k.found(cat, "secret plan"), "nothing from before he joined, nothing of another's direct chat")

		// conversationId narrows; a conversation he may not read is NOT_FOUND.
		p := k.search(bob, "secret", map[string]any{"c": g.ConversationID})
		require.Len(t, p.Edges, 2)
		var conv struct {
			Node struct{ Conversation struct{ ID string } }
		}
		k.OK(bob.Token, `query($id: ID!) { node(id: $id) { ... on Message { conversation { id } } } }`, map[string]any{"id": direct.ID}, &conv)
		k.Fails(cat.Token, searchQuery, map[string]any{"q": "secret", "c": conv.Node.Conversation.ID}, "NOT_FOUND", "NOT_FOUND")

		// Deleted for me: gone for him, not for the others.
		k.OK(bob.Token, `mutation($id: ID!) { deleteMessage(id: $id) }`, map[string]any{"id": after.ID}, nil)
		require.ElementsMatch(t, []string{before.ID, direct.ID}, k.found(bob, "secret"))
		require.Equal(t, []string{after.ID}, k.found(cat, "secret"))

		// Deleted for everyone and revoked: gone for all.
		k.OK(ann.Token, `mutation($id: ID!) { deleteMessage(id: $id, forEveryone: true) }`, map[string]any{"id": after.ID}, nil)
		require.Empty(t, k.found(cat, "secret"))
		k.OK(ann.Token, `mutation($id: ID!) { revokeMessage(id: $id) { id } }`, map[string]any{"id": direct.ID}, nil)
		require.Equal(t, []string{before.ID}, k.found(bob, "secret"))
		require.Empty(t, k.found(ann, "bob only"))

		// Cleared history: what he cleared is out of reach.
		k.OK(bob.Token, `mutation($c: ID!) { clearHistory(conversationId: $c) { clearedSeq } }`, map[string]any{"c": g.ConversationID}, nil)
		require.Empty(t, k.found(bob, "secret"))
		require.Equal(t, []string{before.ID}, k.found(ann, "secret"))

		// The index keeps no text of what was revoked or deleted for
		// everyone: their rows went with their content.
		require.Zero(t, k.indexed(after.ID, direct.ID))
		require.Equal(t, 1, k.indexed(before.ID), "deleting for oneself or clearing keeps the text for the others")

		// Removed from the group: nothing of it any more.
		fresh := k.sendIn(ann, map[string]any{"groupId": g.ID, "text": "secret again"})
		require.Equal(t, []string{fresh.ID}, k.found(bob, "secret"))
		k.OK(ann.Token, `mutation($g: ID!, $u: [ID!]!) { removeGroupMembers(groupId: $g, userIds: $u) { id } }`, map[string]any{"g": g.ID, "u": []string{bob.ID}}, nil)
		require.Empty(t, k.found(bob, "secret"))
		k.Fails(bob.Token, searchQuery, map[string]any{"q": "secret", "c": g.ConversationID}, "NOT_FOUND", "NOT_FOUND")

		// Rooms are public: a room's messages are found by its
		// conversationId, but a search of everything covers only the rooms
		// he joined.
		r := k.room(ann, "lobby", "")
		said := k.sendIn(ann, map[string]any{"roomId": r.ID, "text": "secret in the lobby"})
		require.Empty(t, k.found(cat, "lobby"))
		p = k.search(cat, "lobby", map[string]any{"c": r.ConversationID})
		require.Len(t, p.Edges, 1)
		require.Equal(t, said.ID, p.Edges[0].Node.ID)
		k.OK(cat.Token, rmJoin, map[string]any{"r": r.ID}, nil)
		require.Equal(t, []string{said.ID}, k.found(cat, "lobby"))

		// A room deleted takes its messages, and their index rows, along.
		k.OK(ann.Token, rmDelete, map[string]any{"r": r.ID}, nil)
		require.Empty(t, k.found(cat, "lobby"))
		require.Zero(t, k.indexed(said.ID))
	})
}

// indexed counts the full-text index rows of messages ids, in PostgreSQL's
// table or else SQLite's.
func (k grpKit) indexed(ids ...string) int {
	k.T.Helper()
	n := 0
	for _, id := range ids {
		ctx := context.Background()
		rows, err := k.App.Client.QueryContext(ctx, "SELECT count(*) FROM message_search WHERE message_id = $1", intID(id))
		if err != nil {
			rows, err = k.App.Client.QueryContext(ctx, "SELECT count(*) FROM message_fts WHERE rowid = $1", intID(id))
		}
		require.NoError(k.T, err)
		var c int
		require.True(k.T, rows.Next())
		require.NoError(k.T, rows.Scan(&c))
		require.NoError(k.T, rows.Close())
		n += c
	}
	return n
}

// TestSearchMessagesOverWebSocket: a search answers over both WebSocket
// protocols as over HTTP, with the same visibility, its hits' edges loaded.
func TestSearchMessagesOverWebSocket(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob, cat := k.trio()
		m := k.sendIn(ann, map[string]any{"to": bob.ID, "text": "二叉树的遍历 over the socket"})
		for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
			for _, c := range []struct {
				who  account
				hits int
			}{{bob, 1}, {cat, 0}} {
				conn := k.MustDialWith(protocol, c.who.Token)
				conn.Subscribe("s", searchQuery, map[string]any{"q": "二叉"})
				r := conn.Result("s")
				require.Empty(t, r.Errors, "%s", protocol)
				var out struct{ SearchMessages searchPage }
				require.NoError(t, jsonUnmarshal(r.Data, &out))
				require.Len(t, out.SearchMessages.Edges, c.hits, "%s", protocol)
				if c.hits > 0 {
					require.Equal(t, m.ID, out.SearchMessages.Edges[0].Node.ID)
					require.Equal(t, "<mark>二叉</mark>树的遍历 over the socket", out.SearchMessages.Edges[0].Snippet)
				}
				conn.Close()
			}
		}
	})
}

// TestSearchMessagesAfterAccountDeletion: a deleted account's messages are
// erased for everyone in one bulk update, and leave the index with their
// content.
func TestSearchMessagesAfterAccountDeletion(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob := k.pair()
		gone := k.sendIn(bob, map[string]any{"to": ann.ID, "text": "farewell message"})
		kept := k.sendIn(ann, map[string]any{"to": bob.ID, "text": "farewell reply"})
		require.ElementsMatch(t, []string{gone.ID, kept.ID}, k.found(ann, "farewell"))
		k.OK(bob.Token, `mutation { deleteAccount(password: "password1") }`, nil, nil)
		require.Equal(t, []string{kept.ID}, k.found(ann, "farewell"))
		require.Zero(t, k.indexed(gone.ID))
		require.Equal(t, 1, k.indexed(kept.ID))
	})
}

// TestSearchFindsTheEditedText: an edit reindexes its message, so search
// finds the current text and no longer the replaced one, whose versions
// stay out of the index.
func TestSearchFindsTheEditedText(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		ann, bob := k.pair()
		m := k.sendIn(ann, map[string]any{"to": bob.ID, "text": "meet at the library"})
		require.Equal(t, []string{m.ID}, k.found(bob, "library"))
		k.edit(ann, m.ID, map[string]any{"text": "meet at the 图书馆 instead"})
		require.Empty(t, k.found(bob, "library"), "the replaced text is no longer found")
		require.Equal(t, []string{m.ID}, k.found(bob, "图书"))
		p := k.search(bob, "instead", nil)
		require.Equal(t, "meet at the 图书馆 <mark>instead</mark>", p.Edges[0].Snippet)
		require.Equal(t, 1, k.indexed(m.ID))
	})
}
