package main

import (
	"context"
	"fmt"
)

// historyQuery is the page the history scenario reads: the last 50
// messages of a conversation with their sender and their quote (and the
// quote's sender), as a chat window opens.
const historyQuery = `query($c: ID!) {
  messages(conversationId: $c, last: 50) {
    edges { node {
      id seq createdAt text
      sender { id username nickname avatar }
      quote { id seq text sender { id username nickname } }
    } }
  }
}`

type historyResult struct {
	Messages struct {
		Edges []struct {
			Node struct {
				ID     string
				Seq    int
				Text   string
				Sender *struct{ ID, Username string }
				Quote  *struct {
					ID   string
					Text string
				}
			}
		}
	}
}

func historyPage(ctx context.Context, cli *api, u user, conv string) error {
	var out historyResult
	if err := cli.Query(ctx, u.Token, historyQuery, map[string]any{"c": conv}, &out); err != nil {
		return err
	}
	if len(out.Messages.Edges) == 0 {
		return fmt.Errorf("history page is empty")
	}
	return nil
}

func directConversation(ctx context.Context, cli *api, u user, peer string) (string, error) {
	var out struct{ DirectConversation *struct{ ID string } }
	if err := cli.Query(ctx, u.Token, `query($u: ID!) { directConversation(userId: $u) { id } }`, map[string]any{"u": peer}, &out); err != nil {
		return "", err
	}
	if out.DirectConversation == nil {
		return "", fmt.Errorf("no direct conversation")
	}
	return out.DirectConversation.ID, nil
}

const sendQuoteMutation = `mutation($to: ID!, $text: String!, $q: ID) { send(input: {to: $to, text: $text, quoteId: $q}) { id seq } }`

func (a *api) sendQuote(ctx context.Context, from user, to, text, quote string) (sentMessage, error) {
	vars := map[string]any{"to": to, "text": text}
	if quote != "" {
		vars["q"] = quote
	}
	return a.Sent(ctx, from, sendQuoteMutation, vars)
}
