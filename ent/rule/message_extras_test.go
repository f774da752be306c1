package rule_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/messageedit"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// TestMessageEditAndReactionWrites: a version is kept only by the sender of
// a message he sees, and never changes or goes but by the system; a
// reaction is made by the viewer as himself on a message he sees, and only
// his own are removed.
func TestMessageEditAndReactionWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		c := dbtest.Open(t, b).Client
		sys := viewer.SystemContext(context.Background())
		var ann, bob, eve int
		for i, id := range []*int{&ann, &bob, &eve} {
			*id = c.User.Create().SetUsername(fmt.Sprintf("w%d", i)).SetNickname("w").SetPasswordHash("!").SetPublicID(int64(20_000_000 + i)).SaveX(sys).ID
		}
		conv := c.Conversation.Create().SetKind(conversation.KindDirect).SaveX(sys)
		for _, uid := range []int{ann, bob} {
			c.ConversationMember.Create().SetConversationID(conv.ID).SetUserID(uid).ExecX(sys)
		}
		parts := []schematype.MessagePart{{Category: "text", Content: "hi"}}
		m := c.Message.Create().SetConversationID(conv.ID).SetSeq(1).SetSenderID(ann).SetKind(message.KindText).SetParts(parts).SaveX(sys)
		version := c.MessageEdit.Create().SetMessageID(m.ID).SetKind(messageedit.KindText).SetParts(parts).
			SetWrittenAt(time.Now()).SetReplacedAt(time.Now()).SaveX(sys)
		bobs := c.MessageReaction.Create().SetMessageID(m.ID).SetUserID(bob).SetEmoji("👍").SaveX(sys)

		keep := func(ctx context.Context, c *ent.Client) error {
			return c.MessageEdit.Create().SetMessageID(m.ID).SetKind(messageedit.KindText).SetParts(parts).
				SetWrittenAt(time.Now()).SetReplacedAt(time.Now()).Exec(ctx)
		}
		react := func(as int) func(ctx context.Context, c *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.MessageReaction.Create().SetMessageID(m.ID).SetUserID(as).SetEmoji("🎉").Exec(ctx)
			}
		}
		dropVersion := func(ctx context.Context, c *ent.Client) error { return c.MessageEdit.DeleteOneID(version.ID).Exec(ctx) }
		dropReaction := func(ctx context.Context, c *ent.Client) error {
			return c.MessageReaction.DeleteOneID(bobs.ID).Exec(ctx)
		}
		runWrites(t, c, []writeCase{
			{"anonymous keeps a version", anonymous, keep, signIn},
			{"the sender keeps a version", signedIn(ann), keep, allowed},
			{"the other member keeps a version", signedIn(bob), keep, denied},
			{"an outsider keeps a version", signedIn(eve), keep, denied},
			{"the sender removes a version", signedIn(ann), dropVersion, denied},
			{"a member reacts as himself", signedIn(ann), react(ann), allowed},
			{"a member reacts as another", signedIn(ann), react(bob), denied},
			{"an outsider reacts", signedIn(eve), react(eve), denied},
			{"anonymous reacts", anonymous, react(ann), signIn},
			{"a member removes another's reaction", signedIn(ann), dropReaction, hidden},
			{"a member removes his own", signedIn(bob), dropReaction, allowed},
		})
	})
}
