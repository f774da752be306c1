package messaging

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/realtime"
)

// loadInHistory returns a message the viewer can see that keeps its place
// in its conversation (InHistory), with its conversation.
func loadInHistory(ctx context.Context, db *ent.Client, id int) (*ent.Message, error) {
	m, err := db.Message.Query().Where(message.ID(id), InHistory()).WithConversation().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("message")
	}
	if err != nil {
		return nil, fmt.Errorf("messaging: load message: %w", err)
	}
	return m, nil
}

// managesGroupOf reports whether uid manages the group whose conversation m
// belongs to (GroupRules.Manages); no other conversation has managers.
func (s *Service) managesGroupOf(ctx context.Context, db *ent.Client, m *ent.Message, uid int) (bool, error) {
	if m.Edges.Conversation.Kind != conversation.KindGroup {
		return false, nil
	}
	return s.opts.Groups.Manages(ctx, db, m.ConversationID, uid)
}

// Revoke withdraws a message: its sender within the revoke window,
// or the owner or a manager of its group at any time. The message keeps its
// place, with its content gone, so every device shows "revoked".
func (s *Service) Revoke(ctx context.Context, id int) (*ent.Message, error) {
	db, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	me := viewer.UserID(ctx)
	m, err := loadInHistory(ctx, db, id)
	if err != nil {
		return nil, err
	}
	if m.RevokedAt != nil {
		return m, nil
	}
	manager, err := s.managesGroupOf(ctx, db, m, me)
	if err != nil {
		return nil, err
	}
	switch mine := SentByViewer(ctx, m); {
	case !mine && !manager:
		return nil, apperr.Deny(ReasonNotSender, "only the sender or a group manager may revoke a message")
	case !manager && time.Since(m.CreatedAt) > s.opts.RevokeWindow:
		return nil, apperr.Deny(ReasonRevokeWindow, "messages can be revoked within %s of sending", s.opts.RevokeWindow)
	}
	m, err = m.Update().SetRevokedAt(time.Now()).SetParts([]schematype.MessagePart{}).Save(viewer.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("messaging: revoke: %w", err)
	}
	if err := forgetContent(ctx, db, message.ID(m.ID)); err != nil {
		return nil, err
	}
	return m, s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(m.ConversationID), Kind: KindMessageRevoked, Actor: me, Subject: m.ID,
	})
}

// Delete removes a message from the viewer's history only, or, forEveryone,
// from every member's: allowed to its sender at any time and to the owner
// and managers of its group. Both are events (message.deleted), on
// the viewer's stream or the conversation's, so every device converges.
func (s *Service) Delete(ctx context.Context, id int, forEveryone bool) error {
	db, err := writer(ctx)
	if err != nil {
		return err
	}
	me := viewer.UserID(ctx)
	m, err := loadInHistory(ctx, db, id)
	if err != nil {
		return err
	}
	data := map[string]any{"conversationId": m.ConversationID, "seq": m.Seq, "forEveryone": forEveryone}
	if !forEveryone {
		if err := m.Update().AddHiddenForIDs(me).Exec(viewer.SystemContext(ctx)); err != nil {
			return fmt.Errorf("messaging: delete for me: %w", err)
		}
		return s.log.Append(ctx, eventlog.Record{
			Topic: eventlog.UserTopic(me), Kind: KindMessageDeleted, Actor: me, Subject: m.ID, Data: data,
		})
	}
	manager, err := s.managesGroupOf(ctx, db, m, me)
	if err != nil {
		return err
	}
	if !SentByViewer(ctx, m) && !manager {
		return apperr.Deny(ReasonNotSender, "only the sender or a group manager may delete a message for everyone")
	}
	if err := m.Update().SetDeletedAt(time.Now()).SetParts([]schematype.MessagePart{}).Exec(viewer.SystemContext(ctx)); err != nil {
		return fmt.Errorf("messaging: delete: %w", err)
	}
	if err := forgetContent(ctx, db, message.ID(m.ID)); err != nil {
		return err
	}
	return s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(m.ConversationID), Kind: KindMessageDeleted, Actor: me, Subject: m.ID, Data: data,
	})
}

// MarkRead moves the viewer's read position up to seq (the latest when 0)
// and tells the conversation: the sender of a direct chat
// sees his messages read. Positions never move back.
func (s *Service) MarkRead(ctx context.Context, convID int, seq int64) (*ent.ConversationMember, error) {
	return s.mark(ctx, convID, seq, KindRead)
}

// MarkDelivered acknowledges that the viewer's device received messages up
// to seq.
func (s *Service) MarkDelivered(ctx context.Context, convID int, seq int64) (*ent.ConversationMember, error) {
	if seq <= 0 {
		return nil, apperr.Input(ReasonSeqInvalid, "seq", "seq must be positive")
	}
	return s.mark(ctx, convID, seq, KindDelivered)
}

// mark moves the viewer's read (kind KindRead) or delivered position up to
// seq and tells the conversation.
func (s *Service) mark(ctx context.Context, convID int, seq int64, kind string) (*ent.ConversationMember, error) {
	m, err := myActiveMembership(ctx, convID)
	if err != nil {
		return nil, err
	}
	me := m.UserID
	last := m.Edges.Conversation.LastSeq
	switch {
	case seq < 0 || seq > last:
		return nil, apperr.Input(ReasonSeqInvalid, "seq", "seq must be between 1 and %d", last)
	case seq == 0:
		seq = last
	}
	upd := m.Update()
	if kind == KindRead {
		if seq <= m.ReadSeq {
			return m, nil
		}
		upd.SetReadSeq(seq).SetLastReadAt(time.Now())
		if seq > m.DeliveredSeq {
			upd.SetDeliveredSeq(seq)
		}
	} else {
		if seq <= m.DeliveredSeq {
			return m, nil
		}
		upd.SetDeliveredSeq(seq)
	}
	m, err = upd.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: %s: %w", kind, err)
	}
	return m, s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(convID), Kind: kind, Actor: me, Subject: m.ID,
		Data: map[string]any{"userId": me, "seq": seq},
	})
}

// myActiveMembership returns the viewer's active membership of a
// conversation for a write in the request's transaction.
func myActiveMembership(ctx context.Context, convID int) (*ent.ConversationMember, error) {
	db, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	return activeMembership(ctx, db, convID, viewer.UserID(ctx))
}

// MemberPatch changes the viewer's own view of a conversation.
type MemberPatch struct {
	Pinned *bool
	State  *conversationmember.State
}

// UpdateMember pins, hides or shows a conversation in the viewer's list.
func (s *Service) UpdateMember(ctx context.Context, convID int, p MemberPatch) (*ent.ConversationMember, error) {
	m, err := myActiveMembership(ctx, convID)
	if err != nil {
		return nil, err
	}
	m, err = m.Update().SetNillablePinned(p.Pinned).SetNillableState(p.State).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: update conversation: %w", err)
	}
	return m, nil
}

// Remove takes a conversation off the viewer's list until its next message;
// nothing else changes.
func (s *Service) Remove(ctx context.Context, convID int) error {
	m, err := myActiveMembership(ctx, convID)
	if err != nil {
		return err
	}
	if err := m.Update().SetRemoved(true).SetPinned(false).Exec(ctx); err != nil {
		return fmt.Errorf("messaging: remove conversation: %w", err)
	}
	return nil
}

// Clear hides the conversation's history up to now from the viewer.
func (s *Service) Clear(ctx context.Context, convID int) (*ent.ConversationMember, error) {
	m, err := myActiveMembership(ctx, convID)
	if err != nil {
		return nil, err
	}
	last := m.Edges.Conversation.LastSeq
	m, err = m.Update().SetClearedSeq(last).SetReadSeq(max(last, m.ReadSeq)).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: clear history: %w", err)
	}
	return m, nil
}

// Typing tells the conversation's live subscribers that the viewer is
// typing. It is never stored: a client that misses it loses nothing.
func (s *Service) Typing(ctx context.Context, convID int) error {
	me := viewer.UserID(ctx)
	if me == 0 {
		return apperr.SignIn()
	}
	if _, err := activeMembership(ctx, s.reader(ctx), convID, me); err != nil {
		return err
	}
	payload := []byte(`{"actor":` + strconv.Itoa(me) + `,"subject":` + strconv.Itoa(me) + `,"data":{"userId":` + strconv.Itoa(me) + `}}`)
	return s.ephemeral.PublishEphemeral(ctx, realtime.Event{
		Topic: eventlog.ConversationTopic(convID), Kind: KindTyping, Payload: payload,
	})
}
