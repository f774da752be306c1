package rule

// This file is the one rule of who sees a message, and the files sent with
// it. Every path to a message or a file applies it through the Message and
// File policies (ent/schema/policy.go): history, node and nodes, nested
// edges, a subscription's reload and replay, downloads. The one other form of
// it, MessageReaders, answers the same question for many users at once, for
// the live streams that share a new message; a test holds the two together.
//
// A user sees a message of a conversation
//   - when he is an active member of it and the message is above his
//     visibility floor (conversation_members.cleared_seq: a group's new
//     member starts at the conversation's last seq when he joins, so he sees
//     the history from his joining on; one who left or was removed and came
//     back starts again where he came back; clearing the history raises it);
//   - or when the conversation is a room (rooms are public) and the message
//     is not at or below the floor of a membership of his;
//   - and never when he deleted it for himself.
//
// A file sent in a conversation is seen by the same members, from the same
// floor: its seq is that of the first message that sent it there.

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
)

// seqAboveFloor selects the rows of s (messages or files, each with a
// conversation_id and a seq column) above uid's floor in their
// conversation: an active membership below them, or a room where no
// membership of his reaches them. nullSeqVisible admits rows without a seq
// (files stored before files had one) to every member.
func seqAboveFloor(s *sql.Selector, uid int, nullSeqVisible bool) *sql.Predicate {
	conv, seq := s.C("conversation_id"), s.C("seq")
	below := func(cm *sql.SelectTable) *sql.Predicate { // the floor is below the row
		p := sql.ColumnsLT(cm.C(conversationmember.FieldClearedSeq), seq)
		if nullSeqVisible {
			p = sql.Or(sql.IsNull(seq), p)
		}
		return p
	}
	member := sql.Table(conversationmember.Table).As("floor_member")
	room := sql.Table(conversation.Table).As("floor_room")
	reached := sql.Table(conversationmember.Table).As("floor_reached")
	reaches := sql.ColumnsGTE(reached.C(conversationmember.FieldClearedSeq), seq)
	if nullSeqVisible {
		reaches = sql.And(sql.NotNull(seq), reaches)
	}
	return sql.Or(
		sql.Exists(sql.Select(member.C(conversationmember.FieldID)).From(member).Where(sql.And(
			sql.ColumnsEQ(member.C(conversationmember.FieldConversationID), conv),
			sql.EQ(member.C(conversationmember.FieldUserID), uid),
			sql.EQ(member.C(conversationmember.FieldActive), true),
			below(member),
		))),
		sql.And(
			sql.Exists(sql.Select(room.C(conversation.FieldID)).From(room).Where(sql.And(
				sql.ColumnsEQ(room.C(conversation.FieldID), conv),
				sql.EQ(room.C(conversation.FieldKind), conversation.KindRoom.String()),
			))),
			sql.Not(sql.Exists(sql.Select(reached.C(conversationmember.FieldID)).From(reached).Where(sql.And(
				sql.ColumnsEQ(reached.C(conversationmember.FieldConversationID), conv),
				sql.EQ(reached.C(conversationmember.FieldUserID), uid),
				reaches,
			)))),
		),
	)
}

// MessageInReach selects the messages of conversations uid may read, above
// his floor: those he may act on (revoke, delete), hidden for him or not.
func MessageInReach(uid int) predicate.Message {
	return func(s *sql.Selector) { s.Where(seqAboveFloor(s, uid, false)) }
}

// VisibleMessage selects the messages uid sees: in reach, and not deleted
// by him for himself. Each of them is in a conversation VisibleConversation
// admits for uid (an active membership, or a room): a history page with a
// message needs no check of its conversation (messaging.Service.History).
func VisibleMessage(uid int) predicate.Message {
	return message.And(MessageInReach(uid), message.Not(message.HasHiddenForWith(user.ID(uid))))
}

// VisibleFile selects the files uid sees: public ones (avatars), his own
// uploads, and the files of the conversations he reads, above his floor.
// Anonymous readers see public files only.
func VisibleFile(uid int) predicate.File {
	if uid == 0 {
		return file.Public(true) // conversations, rooms included, are for the signed-in
	}
	return file.Or(
		file.Public(true),
		file.OwnerID(uid),
		file.And(file.ConversationIDNotNil(), func(s *sql.Selector) { s.Where(seqAboveFloor(s, uid, true)) }),
	)
}

// MessageReaders is VisibleMessage for one message and many users: which of
// uids see m. It reads as the system, in two queries whatever the number of
// users.
func MessageReaders(ctx context.Context, c *ent.Client, m *ent.Message, uids []int) (map[int]bool, error) {
	sys := viewer.SystemContext(ctx)
	conv, err := c.Conversation.Get(sys, m.ConversationID)
	if err != nil {
		return nil, fmt.Errorf("rule: message readers: %w", err)
	}
	readers := make(map[int]bool, len(uids))
	if conv.Kind == conversation.KindRoom {
		reached, err := c.ConversationMember.Query().Where(
			conversationmember.ConversationID(m.ConversationID), conversationmember.UserIDIn(uids...),
			conversationmember.ClearedSeqGTE(m.Seq),
		).Select(conversationmember.FieldUserID).Ints(sys)
		if err != nil {
			return nil, fmt.Errorf("rule: message readers: %w", err)
		}
		for _, uid := range uids {
			readers[uid] = true
		}
		for _, uid := range reached {
			delete(readers, uid)
		}
	} else {
		members, err := c.ConversationMember.Query().Where(
			conversationmember.ConversationID(m.ConversationID), conversationmember.UserIDIn(uids...),
			SeesMessage(m.Seq),
		).Select(conversationmember.FieldUserID).Ints(sys)
		if err != nil {
			return nil, fmt.Errorf("rule: message readers: %w", err)
		}
		for _, uid := range members {
			readers[uid] = true
		}
	}
	hidden, err := c.Message.QueryHiddenFor(m).Where(user.IDIn(uids...)).IDs(sys)
	if err != nil {
		return nil, fmt.Errorf("rule: message readers: %w", err)
	}
	for _, uid := range hidden {
		delete(readers, uid)
	}
	return readers, nil
}

// SeesMessage selects the memberships whose user sees the message at seq
// of their conversation (not a room): active ones whose floor is below it.
// Read receipts count the readers among them (messaging.Receipts).
func SeesMessage(seq int64) predicate.ConversationMember {
	return conversationmember.And(conversationmember.Active(true), conversationmember.ClearedSeqLT(seq))
}

// VisibleMessages is the Message policy's filter: VisibleMessage on reads,
// MessageInReach on updates and deletes.
func VisibleMessages() privacy.QueryMutationRule {
	return viewerFilter[*ent.MessageQuery, *ent.MessageMutation]{
		onQuery:  func(q *ent.MessageQuery, uid int) { q.Where(VisibleMessage(uid)) },
		onChange: func(m *ent.MessageMutation, uid int) { m.Where(MessageInReach(uid)) },
	}
}

// VisibleFiles is the File policy's read filter (VisibleFile).
func VisibleFiles() privacy.QueryRule {
	return privacy.FileQueryRuleFunc(func(ctx context.Context, q *ent.FileQuery) error {
		q.Where(VisibleFile(viewer.UserID(ctx)))
		return privacy.Skip
	})
}
