package rule

// A thread's read positions are a user's own, and only in threads whose
// root he sees: the filter on the root is VisibleMessage (visibility.go),
// never a rule of its own.

import (
	"context"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/message"
)

// IsOwnThreadReadOfVisibleRoot approves a thread read position: the viewer
// keeps his own, in a thread whose root he sees.
func IsOwnThreadReadOfVisibleRoot(ctx context.Context, m ent.Mutation, uid, rootID int) (bool, error) {
	if who, ok := Field("user_id")(m); !ok || who != uid {
		return false, nil
	}
	return clientOf(m).Message.Query().Where(message.ID(rootID), message.ThreadIDIsNil(), VisibleMessage(uid)).Exist(ctx)
}
