package rule_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/messageedit"
	"github.com/parley-im/parley/ent/messagereaction"
	"github.com/parley-im/parley/ent/rule"
	_ "github.com/parley-im/parley/ent/runtime"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// TestMessageVisibilityForms: for random conversations, memberships, floors
// and hidden messages, the policy (each user reading as himself) and
// MessageReaders (one question for all users) give the same readers, and
// the policy's answer is the rule written out in Go; a user who sees a
// message may read its conversation; and a message's versions and
// reactions are seen exactly when it is.
func TestMessageVisibilityForms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		c := dbtest.Open(t, b).Client
		{
			ctx := context.Background()
			sys := viewer.SystemContext(ctx)
			rnd := rand.New(rand.NewPCG(1, 2))
			var users []int
			for i := range 6 {
				u := c.User.Create().SetUsername(fmt.Sprintf("u%d", i)).SetNickname("u").SetPasswordHash("!").SetPublicID(int64(10_000_000 + i)).SaveX(sys)
				users = append(users, u.ID)
			}
			type membership struct {
				active bool
				floor  int64
			}
			type seen struct{ msg, uid int }
			want := map[seen]bool{}
			var msgs []*ent.Message
			for ci, kind := range []conversation.Kind{conversation.KindDirect, conversation.KindGroup, conversation.KindRoom, conversation.KindGroup} {
				conv := c.Conversation.Create().SetKind(kind).SaveX(sys)
				members := map[int]membership{}
				for _, uid := range users {
					if rnd.IntN(3) == 0 {
						continue // not a member
					}
					m := membership{active: rnd.IntN(4) != 0, floor: int64(rnd.IntN(6))}
					members[uid] = m
					c.ConversationMember.Create().SetConversationID(conv.ID).SetUserID(uid).
						SetActive(m.active).SetClearedSeq(m.floor).ExecX(sys)
				}
				for seq := int64(1); seq <= 6; seq++ {
					msg := c.Message.Create().SetConversationID(conv.ID).SetSeq(seq).SetKind(message.KindText).
						SetParts([]schematype.MessagePart{{Category: "text", Content: fmt.Sprint(ci, seq)}}).SaveX(sys)
					// A version and a reaction of it, seen exactly when it is.
					c.MessageEdit.Create().SetMessageID(msg.ID).SetKind(messageedit.KindText).SetParts(msg.Parts).
						SetWrittenAt(msg.CreatedAt).SetReplacedAt(msg.CreatedAt).ExecX(sys)
					c.MessageReaction.Create().SetMessageID(msg.ID).SetUserID(users[0]).SetEmoji("👍").ExecX(sys)
					hidden := map[int]bool{}
					for _, uid := range users {
						if rnd.IntN(5) == 0 {
							hidden[uid] = true
							c.Message.UpdateOne(msg).AddHiddenForIDs(uid).ExecX(sys)
						}
					}
					for _, uid := range users {
						m, member := members[uid]
						var sees bool
						if kind == conversation.KindRoom {
							sees = !member || m.floor < seq
						} else {
							sees = member && m.active && m.floor < seq
						}
						want[seen{msg.ID, uid}] = sees && !hidden[uid]
					}
					msgs = append(msgs, msg)
				}
			}
			for _, msg := range msgs {
				readers, err := rule.MessageReaders(ctx, c, msg, users)
				require.NoError(t, err)
				for _, uid := range users {
					asHim := viewer.NewContext(ctx, &viewer.Viewer{UserID: uid})
					policy, err := c.Message.Query().Where(message.ID(msg.ID)).Exist(asHim)
					require.NoError(t, err)
					require.Equal(t, want[seen{msg.ID, uid}], policy, "policy: user %d, message %d", uid, msg.ID)
					require.Equal(t, policy, readers[uid], "MessageReaders: user %d, message %d", uid, msg.ID)
					edits, err := c.MessageEdit.Query().Where(messageedit.MessageID(msg.ID)).Exist(asHim)
					require.NoError(t, err)
					require.Equal(t, policy, edits, "MessageEdit policy: user %d, message %d", uid, msg.ID)
					reactions, err := c.MessageReaction.Query().Where(messagereaction.MessageID(msg.ID)).Count(asHim)
					require.NoError(t, err)
					require.Equal(t, policy, reactions == 1, "MessageReaction policy: user %d, message %d", uid, msg.ID)
					if policy { // messaging.History skips the conversation check on a page with a message
						conv, err := c.Conversation.Query().Where(conversation.ID(msg.ConversationID)).Exist(asHim)
						require.NoError(t, err)
						require.True(t, conv, "a visible message's conversation is visible: user %d, message %d", uid, msg.ID)
					}
				}
			}
		}
	})
}
