package rule

import (
	"context"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/privacy"
)

// ActiveConversationMember selects uid's active memberships: he has not left
// and was not removed.
func ActiveConversationMember(uid int) predicate.ConversationMember {
	return conversationmember.And(conversationmember.UserID(uid), conversationmember.Active(true))
}

// VisibleConversation selects the conversations uid may read: the rooms
// (public to the signed-in) and those he is an active member of.
func VisibleConversation(uid int) predicate.Conversation {
	return conversation.Or(
		conversation.KindEQ(conversation.KindRoom),
		conversation.HasMembersWith(ActiveConversationMember(uid)),
	)
}

// VisibleConversations is the Conversation policy's filter: reads see
// VisibleConversation; updates and deletes reach the conversations the viewer
// is an active member of (rooms are readable by everyone, but only their
// members' domain code, and the system for numbering, changes one).
func VisibleConversations() privacy.QueryMutationRule {
	return viewerFilter[*ent.ConversationQuery, *ent.ConversationMutation]{
		onQuery: func(q *ent.ConversationQuery, uid int) { q.Where(VisibleConversation(uid)) },
		onChange: func(m *ent.ConversationMutation, uid int) {
			m.Where(conversation.HasMembersWith(ActiveConversationMember(uid)))
		},
	}
}

// MembersOfVisibleConversations is the ConversationMember policy's filter:
// the member rows of the conversations the viewer may read
// (VisibleConversation), for reads, updates and deletes.
func MembersOfVisibleConversations() privacy.QueryMutationRule {
	return FilterBy(func(f *ent.ConversationMemberFilter, uid int) {
		f.WhereHasConversationWith(VisibleConversation(uid))
	})
}

// IsActiveConversationMember approves the viewer's writes into a conversation
// he may read: one he belongs to, or any room.
func IsActiveConversationMember(ctx context.Context, m ent.Mutation, uid, conversationID int) (bool, error) {
	return clientOf(m).Conversation.Query().
		Where(conversation.ID(conversationID), VisibleConversation(uid)).
		Exist(ctx)
}

// IsConversationMemberOrJoining approves adding a member to a conversation:
// active members add others; a user adds himself to a room, to a group's
// conversation once he is in the group, or to a conversation he just opened.
func IsConversationMemberOrJoining(ctx context.Context, m ent.Mutation, uid, conversationID int) (bool, error) {
	c := clientOf(m)
	if member, _ := Field("user_id")(m); member != uid {
		return IsActiveConversationMember(ctx, m, uid, conversationID)
	}
	return c.Conversation.Query().Where(conversation.ID(conversationID), conversation.Or(
		conversation.KindEQ(conversation.KindRoom),
		conversation.HasGroupWith(group.HasMembersWith(groupmember.UserID(uid))),
		conversation.Not(conversation.HasMembers()),
	)).Exist(ctx)
}

// IsNewRoom approves creating a room: the viewer owns it, and its
// conversation is a room conversation no room has yet.
func IsNewRoom(ctx context.Context, m ent.Mutation, uid, ownerID int) (bool, error) {
	return isFreshConversation(ctx, m, uid, ownerID, conversation.KindRoom, conversation.Not(conversation.HasRoom()))
}

// isFreshConversation reports whether the viewer uid creates, as its owner,
// the group or room whose conversation_id names a conversation of kind that
// nobody has joined yet and that free says nothing else holds.
func isFreshConversation(ctx context.Context, m ent.Mutation, uid, ownerID int, kind conversation.Kind, free predicate.Conversation) (bool, error) {
	convID, ok := Field("conversation_id")(m)
	if uid != ownerID || !ok {
		return false, nil
	}
	return clientOf(m).Conversation.Query().Where(
		conversation.ID(convID), conversation.KindEQ(kind), conversation.Not(conversation.HasMembers()), free,
	).Exist(ctx)
}
