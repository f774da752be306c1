package rule

// The rows that hang off a message, its earlier versions and its reactions,
// are seen exactly when the message is: their filters are VisibleMessage
// (visibility.go) applied to the message they belong to, never a rule of
// their own.

import (
	"context"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/messageedit"
	"github.com/parley-im/parley/ent/messagereaction"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/viewer"
)

// VisibleMessageEdits is the MessageEdit policy's read filter: the earlier
// versions of the messages the viewer sees.
func VisibleMessageEdits() privacy.QueryRule {
	return privacy.MessageEditQueryRuleFunc(func(ctx context.Context, q *ent.MessageEditQuery) error {
		q.Where(messageedit.HasMessageWith(VisibleMessage(viewer.UserID(ctx))))
		return privacy.Skip
	})
}

// VisibleMessageReactions is the MessageReaction policy's read filter: the
// reactions to the messages the viewer sees.
func VisibleMessageReactions() privacy.QueryRule {
	return privacy.MessageReactionQueryRuleFunc(func(ctx context.Context, q *ent.MessageReactionQuery) error {
		q.Where(messagereaction.HasMessageWith(VisibleMessage(viewer.UserID(ctx))))
		return privacy.Skip
	})
}

// IsOwnVisibleMessage approves keeping an earlier version of a message: the
// viewer sent it and sees it.
func IsOwnVisibleMessage(ctx context.Context, m ent.Mutation, uid, messageID int) (bool, error) {
	return clientOf(m).Message.Query().
		Where(message.ID(messageID), message.SenderID(uid), VisibleMessage(uid)).
		Exist(ctx)
}

// IsOwnReactionToVisibleMessage approves a reaction: the viewer reacts as
// himself, to a message he sees.
func IsOwnReactionToVisibleMessage(ctx context.Context, m ent.Mutation, uid, messageID int) (bool, error) {
	if who, ok := Field("user_id")(m); !ok || who != uid {
		return false, nil
	}
	return clientOf(m).Message.Query().Where(message.ID(messageID), VisibleMessage(uid)).Exist(ctx)
}
