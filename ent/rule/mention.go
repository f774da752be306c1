package rule

import (
	"context"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/messagemention"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/viewer"
)

// VisibleMessageMentions is the MessageMention policy's read filter: the
// mentions in the messages the viewer sees (VisibleMessage), as for the
// other rows that hang off a message (message_extras.go).
func VisibleMessageMentions() privacy.QueryRule {
	return privacy.MessageMentionQueryRuleFunc(func(ctx context.Context, q *ent.MessageMentionQuery) error {
		q.Where(messagemention.HasMessageWith(VisibleMessage(viewer.UserID(ctx))))
		return privacy.Skip
	})
}
