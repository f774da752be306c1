package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/apptest"
)

// activityEntry is a conversation list entry with what it sorts on.
type activityEntry struct {
	ID             string
	Title          string
	LastActivityAt *time.Time
	Conversation   struct {
		ID            string
		LastMessageAt *time.Time
	}
}

const activityFields = `id title lastActivityAt conversation { id lastMessageAt }`

func (k grpKit) activityList(a account, args string) apptest.Connection[activityEntry] {
	k.T.Helper()
	return apptest.Field[apptest.Connection[activityEntry]](k.Server, a.Token,
		`{ conversations(`+args+`) { edges { node { `+activityFields+` } } pageInfo { hasNextPage endCursor } } }`, nil)
}

// TestListFollowsOthersMessages: a message moves its conversation up in the
// list of every member, not only the sender's, although a send writes the
// sender's member row only (the list sorts on the conversation's last
// message). lastActivityAt shows what the list sorts on, the same through
// the list and node(id:), and cursors page the list in that order.
func TestListFollowsOthersMessages(t *testing.T) {
	eachKit(t, newGrpKit, func(t *testing.T, k grpKit) {
		p := k.people("Ann", "Ben", "Cat")
		ann, ben, cat := p[0], p[1], p[2]
		k.befriend(ben, cat)
		team := k.group(ann, "open", ben, cat)
		time.Sleep(5 * time.Millisecond)
		k.Send(ann, ben, "hi ben")
		time.Sleep(5 * time.Millisecond)
		k.Send(cat, ben, "hi from cat")

		order := func(a account) []string {
			return apptest.Map(k.activityList(a, "first: 20").Nodes(), func(e activityEntry) string { return e.Title })
		}
		require.Equal(t, []string{"Cat", "Ann", "team"}, order(ben))

		// Others' messages move Ben's list, in the group and in a direct chat,
		// without writing his row (the fan-out stays out of the send).
		updated := func() string {
			for _, e := range k.activityList(ben, "first: 20").Nodes() {
				if e.Title == "team" {
					var node struct{ Node struct{ UpdatedAt string } }
					k.OK(ben.Token, `query($id: ID!) { node(id: $id) { ... on ConversationMember { updatedAt } } }`, map[string]any{"id": e.ID}, &node)
					return node.Node.UpdatedAt
				}
			}
			t.Fatal("no team in Ben's list")
			return ""
		}
		before := updated()
		time.Sleep(5 * time.Millisecond)
		require.Empty(t, k.sendGroup(cat, team.ID, "in the team").Errors)
		require.Equal(t, []string{"team", "Cat", "Ann"}, order(ben))
		require.Equal(t, before, updated(), "a message into the group writes no other member's row")
		time.Sleep(5 * time.Millisecond)
		k.Send(ann, ben, "again")
		require.Equal(t, []string{"Ann", "team", "Cat"}, order(ben))
		require.Equal(t, []string{"Ann", "team", "Cat"}, order(ben), "reading the list changes nothing")
		// Ann's own list: she sent last to Ben, before that to the team only
		// through Cat.
		require.Equal(t, []string{"Ben", "team"}, order(ann))

		// lastActivityAt is the conversation's last message, newest first,
		// and node(id:) shows the same as the list.
		list := k.activityList(ben, "first: 20").Nodes()
		for i, e := range list {
			require.NotNil(t, e.LastActivityAt, e.Title)
			require.True(t, e.LastActivityAt.Equal(*e.Conversation.LastMessageAt), "%s: %v against %v", e.Title, e.LastActivityAt, e.Conversation.LastMessageAt)
			if i > 0 {
				require.False(t, e.LastActivityAt.After(*list[i-1].LastActivityAt), e.Title)
			}
			var node struct{ Node activityEntry }
			k.OK(ben.Token, `query($id: ID!) { node(id: $id) { ... on ConversationMember { `+activityFields+` } } }`, map[string]any{"id": e.ID}, &node)
			require.True(t, node.Node.LastActivityAt.Equal(*e.LastActivityAt), e.Title)
		}

		// Cursors page in the same order, forwards and backwards.
		var paged []string
		after := ""
		for range 4 {
			args := "first: 1"
			if after != "" {
				args += `, after: "` + after + `"`
			}
			page := k.activityList(ben, args)
			for _, e := range page.Edges {
				paged = append(paged, e.Node.Title)
			}
			if !page.PageInfo.HasNextPage {
				break
			}
			after = *page.PageInfo.EndCursor
		}
		require.Equal(t, []string{"Ann", "team", "Cat"}, paged)
		last := k.activityList(ben, "last: 2").Nodes()
		require.Equal(t, []string{"team", "Cat"}, apptest.Map(last, func(e activityEntry) string { return e.Title }))

		// A pinned conversation still comes first, then by activity.
		k.OK(ben.Token, `mutation($c: ID!) { updateConversation(conversationId: $c, input: {pinned: true}) { pinned } }`,
			map[string]any{"c": list[2].Conversation.ID}, nil)
		require.Equal(t, []string{"Cat", "Ann", "team"}, order(ben))
	})
}
