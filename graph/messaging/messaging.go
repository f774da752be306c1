// Package messaging holds the rules of conversations and messages: opening a
// direct conversation, numbering messages, idempotent sends, and the events
// that carry them to subscribers.
package messaging

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/graph/apperr"
	"github.com/parley-im/parley/graph/eventlog"
	"github.com/parley-im/parley/graph/settings"
)

// Limits of a message.
const (
	TextMax     = 4000
	ClientIDMax = 64
)

// Event kinds of a conversation's stream.
const (
	KindMessageCreated = "message.created"
	KindMemberJoined   = "member.joined"
)

// ReasonStrangerChatOff refuses a message to a non-friend while the
// stranger_chat setting is off.
const ReasonStrangerChatOff = "STRANGER_CHAT_DISABLED"

// People answers the social questions messaging rules depend on (the social
// service implements it).
type People interface {
	AreFriends(ctx context.Context, a, b int) (bool, error)
	// Welcome returns owner's default welcome reply, or nil.
	Welcome(ctx context.Context, owner int) (*ent.CannedReply, error)
}

// Service is the messaging service.
type Service struct {
	log      *eventlog.Log
	people   People
	settings *settings.Service
}

// NewService returns the messaging service.
func NewService(log *eventlog.Log, people People, settings *settings.Service) *Service {
	return &Service{log: log, people: people, settings: settings}
}

// SendText sends a text message to another user, opening their direct
// conversation on first contact. A retried send with the same clientID
// returns the message already sent.
func (s *Service) SendText(ctx context.Context, toUserID int, text, clientID string) (*ent.Message, error) {
	me := viewer.UserID(ctx)
	db := ent.FromContext(ctx)
	switch {
	case me == 0:
		return nil, apperr.SignIn()
	case db == nil || ent.TxFromContext(ctx) == nil:
		return nil, fmt.Errorf("messaging: send needs a transaction")
	case toUserID == me:
		return nil, apperr.Input(apperr.ReasonInvalid, "input.to", "cannot send a message to yourself")
	case strings.TrimSpace(text) == "":
		return nil, apperr.Input(apperr.ReasonRequired, "input.text", "text is required")
	case utf8.RuneCountInString(text) > TextMax:
		return nil, apperr.Input(apperr.ReasonTooLong, "input.text", "text is longer than %d characters", TextMax)
	case len(clientID) > ClientIDMax:
		return nil, apperr.Input(apperr.ReasonTooLong, "input.clientId", "clientId is longer than %d bytes", ClientIDMax)
	}
	if clientID != "" {
		sent, err := db.Message.Query().Where(message.SenderID(me), message.ClientID(clientID)).Only(ctx)
		if err == nil {
			return sent, nil
		} else if !ent.IsNotFound(err) {
			return nil, fmt.Errorf("messaging: find retried send: %w", err)
		}
	}
	to, err := db.User.Query().Where(user.ID(toUserID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("user")
	} else if err != nil {
		return nil, fmt.Errorf("messaging: find recipient: %w", err)
	}
	if err := s.settings.Require(ctx, settings.PrivateChat); err != nil {
		return nil, err
	}
	friends, err := s.people.AreFriends(ctx, me, to.ID)
	if err != nil {
		return nil, err
	}
	if !friends {
		if on, err := s.settings.Enabled(ctx, settings.StrangerChat); err != nil {
			return nil, err
		} else if !on {
			return nil, apperr.Deny(ReasonStrangerChatOff, "chatting with people who are not your friends is turned off")
		}
	}
	conv, opened, err := s.openDirect(ctx, db, me, to.ID)
	if err != nil {
		return nil, err
	}
	if opened && !friends {
		if err := s.welcome(ctx, db, conv.ID, to.ID); err != nil {
			return nil, err
		}
	}
	masked, err := s.settings.Mask(ctx, text)
	if err != nil {
		return nil, err
	}
	parts := []schematype.MessagePart{{Category: "text", Content: masked}}
	return s.append(ctx, db, conv.ID, me, message.KindText, parts, clientID)
}

// welcome sends owner's default welcome reply as the first message of a
// conversation a stranger just opened with him (S2-38). It is written as the
// system on the owner's behalf: he did not act, his settings did.
func (s *Service) welcome(ctx context.Context, db *ent.Client, convID, owner int) error {
	w, err := s.people.Welcome(ctx, owner)
	if err != nil || w == nil {
		return err
	}
	parts := []schematype.MessagePart{{Category: "text", Content: w.Content}}
	_, err = s.append(viewer.SystemContext(ctx), db, convID, owner, message.KindText, parts, "")
	return err
}

// openDirect returns the direct conversation of two users, creating it and
// its two member rows on first contact (opened is then true).
func (s *Service) openDirect(ctx context.Context, db *ent.Client, a, b int) (conv *ent.Conversation, opened bool, err error) {
	key := directKey(a, b)
	conv, err = db.Conversation.Query().Where(conversation.DirectKey(key)).Only(viewer.SystemContext(ctx))
	switch {
	case err == nil:
		return conv, false, nil
	case !ent.IsNotFound(err):
		return nil, false, fmt.Errorf("messaging: find conversation: %w", err)
	}
	conv, err = db.Conversation.Create().SetKind(conversation.KindDirect).SetDirectKey(key).Save(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("messaging: open conversation: %w", err)
	}
	for _, uid := range []int{a, b} {
		if err := db.ConversationMember.Create().SetConversationID(conv.ID).SetUserID(uid).Exec(ctx); err != nil {
			return nil, false, fmt.Errorf("messaging: add member: %w", err)
		}
	}
	join := eventlog.ConversationTopic(conv.ID)
	records := []eventlog.Record{
		{Topic: eventlog.UserTopic(a), Kind: KindMemberJoined, Actor: a, Subject: conv.ID, Join: join},
		{Topic: eventlog.UserTopic(b), Kind: KindMemberJoined, Actor: a, Subject: conv.ID, Join: join},
	}
	return conv, true, s.log.Append(ctx, records...)
}

func directKey(a, b int) string {
	if a > b {
		a, b = b, a
	}
	return fmt.Sprintf("%d:%d", a, b)
}

// append numbers and stores a message. Bumping last_seq locks the
// conversation row until commit, so concurrent senders get consecutive seqs.
func (s *Service) append(ctx context.Context, db *ent.Client, convID, sender int, kind message.Kind, parts []schematype.MessagePart, clientID string) (*ent.Message, error) {
	now := time.Now()
	conv, err := db.Conversation.UpdateOneID(convID).AddLastSeq(1).SetLastMessageAt(now).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: number message: %w", err)
	}
	create := db.Message.Create().SetConversationID(convID).SetSenderID(sender).
		SetSeq(conv.LastSeq).SetKind(kind).SetParts(parts).SetCreatedAt(now)
	if clientID != "" {
		create.SetClientID(clientID)
	}
	msg, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: store message: %w", err)
	}
	// A conversation removed from a member's list comes back on a new message.
	if err := db.ConversationMember.Update().
		Where(conversationmember.ConversationID(convID), conversationmember.Removed(true)).
		SetRemoved(false).Exec(ctx); err != nil {
		return nil, fmt.Errorf("messaging: restore conversation: %w", err)
	}
	return msg, s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(convID), Kind: KindMessageCreated, Actor: sender, Subject: msg.ID,
	})
}

// Text returns the text of a message: its text and emoji parts joined.
func Text(m *ent.Message) string {
	if m.RevokedAt != nil || m.DeletedAt != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Category == "text" || p.Category == "emoji" {
			b.WriteString(p.Content)
		}
	}
	return b.String()
}

// Topics returns the streams a viewer's events come from: his own and those
// of the conversations he is an active member of.
func Topics(ctx context.Context, client *ent.Client, uid int) ([]string, error) {
	ids, err := client.ConversationMember.Query().
		Where(conversationmember.UserID(uid), conversationmember.Active(true)).
		Select(conversationmember.FieldConversationID).Ints(ctx)
	if err != nil {
		return nil, fmt.Errorf("messaging: topics: %w", err)
	}
	topics := []string{eventlog.UserTopic(uid)}
	for _, id := range ids {
		topics = append(topics, eventlog.ConversationTopic(id))
	}
	return topics, nil
}
