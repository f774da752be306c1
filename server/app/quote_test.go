package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQuoteIsOneWay: quoting a message leaves the quoted message as it was
// (its own quote stays null), and a message may be quoted more than once.
func TestQuoteIsOneWay(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		p := k.people("Ann", "Bob")
		ann, bob := p[0], p[1]
		m := k.sendIn(ann, map[string]any{"to": bob.ID, "text": "original"})
		for _, text := range []string{"first quote", "second quote"} {
			q := k.sendIn(bob, map[string]any{"to": ann.ID, "text": text, "quoteId": m.ID})
			require.NotNil(t, q.Quote)
			require.Equal(t, m.ID, q.Quote.ID)
		}
		var out struct {
			Node struct{ Quote *struct{ ID string } }
		}
		k.OK(ann.Token, `query($id: ID!) { node(id: $id) { ... on Message { quote { id } } } }`, map[string]any{"id": m.ID}, &out)
		require.Nil(t, out.Node.Quote, "the quoted message quotes nothing")
	})
}
