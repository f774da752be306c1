package rule_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// TestConversationVisibility: for random conversations and memberships,
// each user reading as himself sees the conversations the rule written out
// in Go admits (every room, and those he is an active member of), the same
// as rule.VisibleConversation read as the system; he sees the member rows
// of those conversations only, and changes only those he is an active
// member of, rooms included.
func TestConversationVisibility(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		rnd := rand.New(rand.NewPCG(3, 4))
		var users []int
		for range 5 {
			users = append(users, c.User.Create().SetUsername(fmt.Sprintf("cv%d", fixtureUsers.Add(1))).SetNickname("u").
				SetPasswordHash("!").SetPublicID(30_000_000+fixtureUsers.Add(1)).SaveX(sys).ID)
		}
		type key struct{ conv, uid int }
		active := map[key]bool{}
		kinds := map[int]conversation.Kind{}
		var convs []int
		for range 3 {
			for _, kind := range []conversation.Kind{conversation.KindDirect, conversation.KindGroup, conversation.KindRoom} {
				conv := c.Conversation.Create().SetKind(kind).SaveX(sys)
				kinds[conv.ID] = kind
				convs = append(convs, conv.ID)
				for _, uid := range users {
					switch rnd.IntN(3) {
					case 0: // not a member
					case 1:
						c.ConversationMember.Create().SetConversationID(conv.ID).SetUserID(uid).SetActive(false).ExecX(sys)
					default:
						c.ConversationMember.Create().SetConversationID(conv.ID).SetUserID(uid).ExecX(sys)
						active[key{conv.ID, uid}] = true
					}
				}
			}
		}
		for _, uid := range users {
			ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uid})
			var want, changeable []int
			for _, id := range convs {
				if kinds[id] == conversation.KindRoom || active[key{id, uid}] {
					want = append(want, id)
				}
				if active[key{id, uid}] {
					changeable = append(changeable, id)
				}
			}
			got := c.Conversation.Query().Order(ent.Asc(conversation.FieldID)).IDsX(ctx)
			require.Equal(t, want, got, "policy: user %d", uid)
			bySystem := c.Conversation.Query().Where(rule.VisibleConversation(uid)).Order(ent.Asc(conversation.FieldID)).IDsX(sys)
			require.Equal(t, want, bySystem, "VisibleConversation: user %d", uid)

			rows := c.ConversationMember.Query().AllX(ctx)
			all := c.ConversationMember.Query().Where(conversationmember.ConversationIDIn(want...)).CountX(sys)
			require.Len(t, rows, all, "member rows: user %d", uid)
			for _, r := range rows {
				require.Contains(t, want, r.ConversationID, "member row of a hidden conversation: user %d", uid)
			}

			for _, id := range convs {
				err := c.Conversation.UpdateOneID(id).AddLastSeq(0).Exec(ctx)
				if slices.Contains(changeable, id) {
					require.NoError(t, err, "user %d changes conversation %d", uid, id)
				} else {
					require.True(t, ent.IsNotFound(err), "user %d changes conversation %d: %v", uid, id, err)
				}
			}
		}
	})
}

// TestConversationJoining: a user adds himself to a room, to a group's
// conversation once he is in the group, or to a conversation nobody is in
// yet; he adds others only to a conversation he is an active member of.
func TestConversationJoining(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		f := newGroupFixture(t, dbtest.Open(t, b).Client, "open", "")
		c, sys := f.c, viewer.SystemContext(context.Background())
		var member int
		for uid := range f.members {
			member = uid
			c.ConversationMember.Create().SetConversationID(f.g.ConversationID).SetUserID(uid).ExecX(sys)
		}
		join := func(actor, uid, convID int) error {
			return f.as(t, actor, func(ctx context.Context, c *ent.Client) error {
				return c.ConversationMember.Create().SetConversationID(convID).SetUserID(uid).Exec(ctx)
			})
		}
		room := c.Conversation.Create().SetKind(conversation.KindRoom).SaveX(sys)
		fresh := c.Conversation.Create().SetKind(conversation.KindDirect).SaveX(sys)
		taken := c.Conversation.Create().SetKind(conversation.KindDirect).SaveX(sys)
		c.ConversationMember.Create().SetConversationID(taken.ID).SetUserID(member).ExecX(sys)

		require.NoError(t, join(f.outsider, f.outsider, room.ID), "anyone joins a room")
		require.NoError(t, join(f.outsider, f.outsider, fresh.ID), "one opens a conversation nobody is in")
		require.Error(t, join(f.outsider, f.outsider, taken.ID), "nobody joins another's direct chat")
		require.Error(t, join(f.outsider, f.outsider, f.g.ConversationID), "nobody joins a group's conversation from outside the group")
		require.NoError(t, join(member, f.outsider, f.g.ConversationID), "a member adds another")
		require.Error(t, join(f.outsider, member, taken.ID), "an outsider adds nobody")
	})
}
