package group

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	entgroup "github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/settings"
)

// Reasons of a refused post into a group conversation (FORBIDDEN).
const (
	ReasonMuted    = "MUTED"
	ReasonMutedAll = "MUTED_ALL"
)

// Posting is the group rules that the messaging service applies to a
// group's conversation (messaging.GroupRules): who may post in it (the
// group chat switch and mutes) and who manages it (revoking and deleting
// others' messages). Messaging does not know group roles or mutes; the
// server hands it a Posting (messaging.Options.Groups), so that these rules
// live here only.
type Posting struct{ settings *settings.Service }

// NewPosting returns the group rules for messaging.
func NewPosting(toggles *settings.Service) *Posting { return &Posting{settings: toggles} }

// MayPost checks that uid may post in the conversation of a group now: the
// group chat switch is on, he is a member (NOT_A_MEMBER), and he is not
// muted (MUTED, MUTED_ALL: mutedNow).
func (p *Posting) MayPost(ctx context.Context, db *ent.Client, conversationID, uid int) error {
	if err := p.settings.Require(ctx, settings.GroupChat); err != nil {
		return err
	}
	m, err := db.GroupMember.Query().Where(
		groupmember.UserID(uid), groupmember.HasGroupWith(entgroup.ConversationID(conversationID)),
	).WithGroup().Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return apperr.Deny(messaging.ReasonNotMember, "join the group first")
	} else if err != nil {
		return fmt.Errorf("group: membership: %w", err)
	}
	why, err := mutedNow(m, func() (bool, error) { return m.Edges.Group.MuteAll, nil })
	switch {
	case err != nil:
		return err
	case why == mutedSelf:
		return apperr.Deny(ReasonMuted, "you are muted in this group until %s", m.MutedUntil.UTC().Format(time.RFC3339))
	case why == mutedAll:
		return apperr.Deny(ReasonMutedAll, "only the owner and managers may post while the group is muted")
	}
	return nil
}

// Manages reports whether uid manages (rule.ManagedGroupMember) the group
// whose conversation is conversationID; false for any other conversation.
func (p *Posting) Manages(ctx context.Context, db *ent.Client, conversationID, uid int) (bool, error) {
	return db.GroupMember.Query().Where(
		rule.ManagedGroupMember(uid), groupmember.HasGroupWith(entgroup.ConversationID(conversationID)),
	).Exist(viewer.SystemContext(ctx))
}

// muting is why a member may not post.
type muting int

const (
	notMuted  muting = iota
	mutedSelf        // muted himself, until m.MutedUntil
	mutedAll         // a plain member while the whole group is muted
)

// mutedNow is the one mute rule: a member muted until a time later than
// now, or one who does not manage the group (rule.IsGroupManager) while it
// is muted as a whole. groupMutedAll reads the group's switch, only when the
// answer depends on it.
func mutedNow(m *ent.GroupMember, groupMutedAll func() (bool, error)) (muting, error) {
	switch {
	case m.MutedUntil != nil && m.MutedUntil.After(now()):
		return mutedSelf, nil
	case rule.IsGroupManager(m.Role):
		return notMuted, nil
	}
	all, err := groupMutedAll()
	if err != nil || !all {
		return notMuted, err
	}
	return mutedAll, nil
}

// Muted reports whether member m may not post now (mutedNow). It reads his
// group's switch itself: a group at hand may miss columns that a GraphQL
// query did not select.
func (s *Service) Muted(ctx context.Context, m *ent.GroupMember) (bool, error) {
	why, err := mutedNow(m, func() (bool, error) {
		return s.reader(ctx).Group.Query().Where(entgroup.ID(m.GroupID)).Select(entgroup.FieldMuteAll).Bool(ctx)
	})
	return why != notMuted, err
}
