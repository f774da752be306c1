package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/eventlog"
)

// KindMessagesDeleted tells a conversation that many of its messages were
// deleted for everyone at once (an account's, when it is deleted). Its
// subject and node are the conversation as it now is (its last message
// included); its data names the messages: conversationId, senderId,
// messageIds and seqs (in seq order), forEveryone true. A client applies it
// as one message.deleted per message.
const KindMessagesDeleted = "conversation.messages_deleted"

// erasedPerEvent bounds the messages one KindMessagesDeleted names, so that
// an event stays small however much a user wrote. A variable for the tests.
var erasedPerEvent = 500

// Depart erases the viewer's messages everywhere before his account is
// deleted: deleted for everyone (content gone, deleted_at set), each
// keeping its place so that conversations keep their numbering. The other
// members' open streams are told per conversation (KindMessagesDeleted, at
// most erasedPerEvent messages an event), on the conversation's topic. It
// writes as the system: the messages are the user's own, in conversations
// he may already have left.
func (s *Service) Depart(ctx context.Context) error {
	db, me, err := SignedInWriter(ctx)
	if err != nil {
		return err
	}
	sys := viewer.SystemContext(ctx)
	mine, err := db.Message.Query().Where(message.SenderID(me), message.DeletedAtIsNil()).
		Order(ent.Asc(message.FieldConversationID), ent.Asc(message.FieldSeq)).
		Select(message.FieldID, message.FieldConversationID, message.FieldSeq).All(sys)
	if err != nil {
		return fmt.Errorf("messaging: depart: %w", err)
	}
	if len(mine) == 0 {
		return nil
	}
	if _, err := db.Message.Update().Where(message.SenderID(me), message.DeletedAtIsNil()).
		SetDeletedAt(time.Now()).SetParts([]schematype.MessagePart{}).Save(sys); err != nil {
		return fmt.Errorf("messaging: depart: erase: %w", err)
	}
	if err := forgetContent(ctx, db, message.SenderID(me)); err != nil {
		return err
	}
	var records []eventlog.Record
	for start := 0; start < len(mine); {
		conv := mine[start].ConversationID
		end := start
		for end < len(mine) && end-start < erasedPerEvent && mine[end].ConversationID == conv {
			end++
		}
		ids, seqs := make([]int, 0, end-start), make([]int64, 0, end-start)
		for _, m := range mine[start:end] {
			ids, seqs = append(ids, m.ID), append(seqs, m.Seq)
		}
		records = append(records, eventlog.Record{
			Topic: eventlog.ConversationTopic(conv), Kind: KindMessagesDeleted, Actor: me, Subject: conv,
			Data: map[string]any{"conversationId": conv, "senderId": me, "messageIds": ids, "seqs": seqs, "forEveryone": true},
		})
		start = end
	}
	return s.log.Append(ctx, records...)
}
