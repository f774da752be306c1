package main

import (
	"context"
	"strconv"
	"testing"
)

// historyWithReactionsQuery is historyQuery with what an edited, reacted-to
// message adds to a chat window: when it was edited and its reactions.
const historyWithReactionsQuery = `query($c: ID!) {
  messages(conversationId: $c, last: 50) {
    edges { node {
      id seq createdAt text editedAt
      sender { id username nickname avatar }
      quote { id seq text sender { id username nickname } }
      reactions { emoji count mine }
    } }
  }
}`

// BenchmarkHistoryPageReactions: the history page of BenchmarkHistoryPage
// on messages that each carry three reactions with two emoji and one
// edit, read without (plain, the baseline) and with editedAt and reactions,
// in the same run, from parallel readers. The reactions are one grouped
// query per page (graph/loaders.go), so the ratio stays near 1 whatever
// the page's length.
func BenchmarkHistoryPageReactions(b *testing.B) {
	be := newBenchEnv(b)
	ctx := context.Background()
	us := be.users(b, "breact", 2)
	for i := 0; i < 60; i++ {
		m, err := be.cli.sendQuote(ctx, us[i%2], us[(i+1)%2].ID, "history "+strconv.Itoa(i), "")
		if err != nil {
			b.Fatal(err)
		}
		if err := be.cli.Query(ctx, us[i%2].Token, `mutation($id: ID!) { editMessage(id: $id, text: "edited") { id } }`, map[string]any{"id": m.ID}, nil); err != nil {
			b.Fatal(err)
		}
		for _, r := range []struct {
			u     user
			emoji string
		}{{us[0], "👍"}, {us[1], "👍"}, {us[0], "❤️"}} {
			if err := be.cli.Query(ctx, r.u.Token, `mutation($m: ID!, $e: String!) { addReaction(messageId: $m, emoji: $e) { id } }`, map[string]any{"m": m.ID, "e": r.emoji}, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	conv, err := directConversation(ctx, be.cli, us[0], us[1].ID)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, query string }{{"plain", historyQuery}, {"reactions", historyWithReactionsQuery}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var out historyResult
					if err := be.cli.Query(ctx, us[0].Token, c.query, map[string]any{"c": conv}, &out); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
