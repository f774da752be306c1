package messaging

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/eventlog"
)

// Open creates the conversation of a new group or room; the caller then
// Joins its members.
func (s *Service) Open(ctx context.Context, kind conversation.Kind) (*ent.Conversation, error) {
	db, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	conv, err := db.Conversation.Create().SetKind(kind).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: open %s conversation: %w", kind, err)
	}
	return conv, nil
}

// Join adds users to a conversation. Each user's stream carries
// member.joined with the conversation's topic as its join, so his live
// subscriptions follow the conversation from this event on; the
// conversation's stream tells the other members. A group's new member sees
// the history from his joining on (cleared_seq), a room's all of it. The
// ConversationMember policy decides who may add whom: the group and room
// code calls Join only after its own rules (an approval, an invitation).
func (s *Service) Join(ctx context.Context, convID int, users ...int) error {
	db, err := writer(ctx)
	if err != nil {
		return err
	}
	conv, err := db.Conversation.Get(viewer.SystemContext(ctx), convID)
	if err != nil {
		return fmt.Errorf("messaging: join: %w", err)
	}
	actor := viewer.UserID(ctx)
	topic := eventlog.ConversationTopic(convID)
	var records []eventlog.Record
	for _, uid := range users {
		exists, err := db.ConversationMember.Query().
			Where(conversationmember.ConversationID(convID), conversationmember.UserID(uid)).Exist(viewer.SystemContext(ctx))
		if err != nil {
			return fmt.Errorf("messaging: join: %w", err)
		}
		if exists {
			continue
		}
		create := db.ConversationMember.Create().SetConversationID(convID).SetUserID(uid)
		if conv.Kind == conversation.KindGroup {
			create.SetClearedSeq(conv.LastSeq).SetReadSeq(conv.LastSeq).SetDeliveredSeq(conv.LastSeq)
		}
		if conv.Kind != conversation.KindRoom {
			create.SetLastActivityAt(conv.UpdatedAt)
		}
		m, err := create.Save(ctx)
		if err != nil {
			return fmt.Errorf("messaging: add member: %w", err)
		}
		records = append(records,
			eventlog.Record{Topic: eventlog.UserTopic(uid), Kind: KindMemberJoined, Actor: actor, Subject: convID, Join: topic},
			eventlog.Record{Topic: topic, Kind: KindMemberJoined, Actor: actor, Subject: m.ID, Data: map[string]int{"userId": uid}},
		)
	}
	return s.log.Append(ctx, records...)
}

// Leave takes a user out of a conversation (he left, was kicked, or the
// group was dissolved): his membership row goes, so privacy stops every
// read and live event of the conversation for him at once. His stream
// carries member.left with the conversation's topic as its leave, so his
// live subscriptions stop following the conversation at this event, in log
// order with a join that may follow at once.
func (s *Service) Leave(ctx context.Context, convID, uid int) error {
	db, err := writer(ctx)
	if err != nil {
		return err
	}
	n, err := db.ConversationMember.Delete().
		Where(conversationmember.ConversationID(convID), conversationmember.UserID(uid)).Exec(viewer.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("messaging: leave: %w", err)
	}
	if n == 0 {
		return nil
	}
	actor := viewer.UserID(ctx)
	data := map[string]int{"userId": uid, "conversationId": convID}
	return s.log.Append(ctx,
		eventlog.Record{Topic: eventlog.ConversationTopic(convID), Kind: KindMemberLeft, Actor: actor, Subject: convID, Data: data},
		eventlog.Record{Topic: eventlog.UserTopic(uid), Kind: KindMemberLeft, Actor: actor, Subject: convID, Data: data,
			Leave: eventlog.ConversationTopic(convID)},
	)
}

// Close deletes a conversation whose group was dissolved or whose room was
// deleted, with all its messages and memberships (ON DELETE CASCADE), in the
// request's transaction. The caller's policy already allowed removing the
// group or room; the conversation goes as the system, since no viewer may
// delete one.
func (s *Service) Close(ctx context.Context, convID int) error {
	db, err := writer(ctx)
	if err != nil {
		return err
	}
	if err := db.Conversation.DeleteOneID(convID).Exec(viewer.SystemContext(ctx)); err != nil {
		return fmt.Errorf("messaging: close conversation: %w", err)
	}
	return nil
}
