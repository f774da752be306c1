// Package messaging holds the rules of conversations and messages: direct,
// group and room conversations, numbering messages, idempotent sends,
// message parts, quotes, revoke and delete, read and delivery positions,
// typing, and the events that carry all of it to subscribers. Groups and
// rooms decide who is a member (their own packages); this package keeps the
// conversation's member rows and stream in step with them.
package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/ratelimit"
	"github.com/parley-im/parley/internal/platform/realtime"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/settings"
)

// Limits of a message.
const (
	TextMax     = 4000
	PartsMax    = 10
	ClientIDMax = 64
	URLMax      = 2048
)

// Event kinds of conversation streams.
const (
	KindMessageCreated = "message.created"
	KindMessageRevoked = "message.revoked"
	KindMessageDeleted = "message.deleted"
	KindMemberJoined   = "member.joined"
	KindMemberLeft     = "member.left"
	KindRead           = "conversation.read"
	KindDelivered      = "conversation.delivered"
	KindTyping         = "typing"
)

// Reasons of the messaging rules.
const (
	ReasonStrangerChatOff = "STRANGER_CHAT_DISABLED"
	ReasonNotMember       = "NOT_A_MEMBER"
	ReasonMuted           = "MUTED"
	ReasonMutedAll        = "MUTED_ALL"
	ReasonTargetRequired  = "TARGET_REQUIRED"
	ReasonQuoteInvalid    = "QUOTE_INVALID"
	ReasonFileInvalid     = "FILE_INVALID"
	ReasonLinkInvalid     = "LINK_INVALID"
	ReasonTooManyParts    = "TOO_MANY_PARTS"
	ReasonRevokeWindow    = "REVOKE_WINDOW_PASSED"
	ReasonNotSender       = "NOT_SENDER"
	ReasonSystemType      = "SYSTEM_TYPE_RESERVED"
	ReasonSeqInvalid      = "SEQ_INVALID"
)

// People answers the social questions messaging rules depend on (the social
// service implements it).
type People interface {
	AreFriends(ctx context.Context, a, b int) (bool, error)
	// Welcome returns owner's default welcome reply, or nil.
	Welcome(ctx context.Context, owner int) (*ent.CannedReply, error)
}

// Files attaches an uploaded file to the conversation it is sent in, which
// lets that conversation's members read it (the files service implements
// it).
type Files interface {
	Attach(ctx context.Context, fileID, conversationID int) (*ent.File, error)
}

// Ephemeral publishes events that are not stored (typing); the hub.
type Ephemeral interface {
	PublishEphemeral(ctx context.Context, e realtime.Event) error
}

// Options tune the rules; zero values take the defaults.
type Options struct {
	// RevokeWindow is how long a sender may revoke his message (2 minutes,
	// as common IM apps allow).
	RevokeWindow time.Duration
	// Budget bounds how many messages a user sends per minute (Send
	// spends from it); nil is no limit.
	Budget *ratelimit.Budget
}

// Service is the messaging service.
type Service struct {
	log       *eventlog.Log
	people    People
	settings  *settings.Service
	files     Files
	ephemeral Ephemeral
	opts      Options
}

// NewService returns the messaging service.
func NewService(log *eventlog.Log, people People, settings *settings.Service, files Files, ephemeral Ephemeral, o Options) *Service {
	if o.RevokeWindow == 0 {
		o.RevokeWindow = 2 * time.Minute
	}
	return &Service{log: log, people: people, settings: settings, files: files, ephemeral: ephemeral, opts: o}
}

// tx returns the request's transaction client: every write here runs in
// one, so a message, its numbering and its event commit together.
func tx(ctx context.Context) (*ent.Client, error) { return txn.Writer(ctx) }

// membership returns uid's active membership of a conversation; a
// conversation he is not in reads as missing for direct and group chats.
func membership(ctx context.Context, db *ent.Client, convID, uid int) (*ent.ConversationMember, error) {
	m, err := db.ConversationMember.Query().Where(
		conversationmember.ConversationID(convID), conversationmember.UserID(uid), conversationmember.Active(true),
	).WithConversation().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("conversation")
	}
	if err != nil {
		return nil, fmt.Errorf("messaging: membership: %w", err)
	}
	return m, nil
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
