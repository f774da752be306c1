// Package messaging holds the rules of conversations and messages: direct,
// group and room conversations, numbering messages, idempotent sends,
// message parts, quotes, revoke and delete, read and delivery positions,
// typing, what a viewer reads of all of it (read.go, view.go), and the
// events that carry it to subscribers. Groups and rooms decide who is a
// member and who may post (their own packages, reached through GroupRules);
// this package keeps the conversation's member rows and stream in step with
// them.
package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
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

// GroupRules are the rules of groups that messaging applies to a group's
// conversation without knowing group roles or mutes. The group service
// implements them (group.Posting) and the server hands them over in Options,
// so that each of them lives in internal/group only.
type GroupRules interface {
	// MayPost refuses uid's post into the conversation of a group when the
	// group's rules do (the group chat switch, his mute, mute-all).
	MayPost(ctx context.Context, db *ent.Client, conversationID, uid int) error
	// Manages reports whether uid manages the group of the conversation,
	// which lets him revoke and delete the messages of others.
	Manages(ctx context.Context, db *ent.Client, conversationID, uid int) (bool, error)
}

// Options tune the rules; zero values take the defaults.
type Options struct {
	// Groups are the group rules; without them nobody posts in a group's
	// conversation (a server that forgot to wire them fails closed).
	Groups GroupRules
	// RevokeWindow is how long a sender may revoke his message (2 minutes,
	// as common IM apps allow).
	RevokeWindow time.Duration
	// Budget bounds how many messages a user sends per minute (Send
	// spends from it); nil is no limit.
	Budget *ratelimit.Budget
	// EditWindow is how long a sender may edit his message (Edit). Unlike
	// the other options its zero value is no limit: the server's
	// configuration holds the default (DefaultEditWindow).
	EditWindow time.Duration
	// ReactionCap is how many distinct emoji one message's reactions hold
	// at most (DefaultReactionCap when 0).
	ReactionCap int
	// ReadReceiptsMaxMembers is the largest group whose readers ReadBy
	// lists (DefaultReadReceiptsMaxMembers when 0); bigger ones keep
	// only the count.
	ReadReceiptsMaxMembers int
	// Notices pushes the mention notices; nil pushes none.
	Notices Notices
}

// Service is the messaging service.
type Service struct {
	client    *ent.Client
	log       *eventlog.Log
	people    People
	settings  *settings.Service
	files     Files
	ephemeral Ephemeral
	opts      Options
}

// NewService returns the messaging service; client serves the reads made
// outside a transaction.
func NewService(client *ent.Client, log *eventlog.Log, people People, settings *settings.Service, files Files, ephemeral Ephemeral, o Options) *Service {
	if o.RevokeWindow == 0 {
		o.RevokeWindow = 2 * time.Minute
	}
	if o.ReactionCap <= 0 {
		o.ReactionCap = DefaultReactionCap
	}
	if o.ReadReceiptsMaxMembers <= 0 {
		o.ReadReceiptsMaxMembers = DefaultReadReceiptsMaxMembers
	}
	if o.Groups == nil {
		o.Groups = noGroupRules{}
	}
	return &Service{client: client, log: log, people: people, settings: settings, files: files, ephemeral: ephemeral, opts: o}
}

// noGroupRules refuses every post into a group's conversation and lets
// nobody manage one: the rules of a server that did not wire group.Posting.
type noGroupRules struct{}

func (noGroupRules) MayPost(context.Context, *ent.Client, int, int) error {
	return fmt.Errorf("messaging: no group rules to post by")
}

func (noGroupRules) Manages(context.Context, *ent.Client, int, int) (bool, error) { return false, nil }

// writer returns the request's transaction client: every write here runs in
// one, so a message, its numbering and its event commit together.
func writer(ctx context.Context) (*ent.Client, error) { return txn.Writer(ctx) }

// SignedInWriter returns the request's transaction client and the signed-in
// viewer, for a write that a signed-in viewer makes and that must commit
// with its events: messaging's own, and those of the groups and rooms built
// on it.
func SignedInWriter(ctx context.Context) (*ent.Client, int, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return nil, 0, apperr.SignIn()
	}
	db, err := writer(ctx)
	return db, me, err
}

// reader returns the client reads go through (the transaction's, else
// root).
func (s *Service) reader(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

// activeMembership returns uid's active membership of a conversation, with
// the conversation; one he is not in reads as missing.
func activeMembership(ctx context.Context, db *ent.Client, convID, uid int) (*ent.ConversationMember, error) {
	m, err := findActiveMembership(ctx, db, convID, uid)
	if err == nil && m == nil {
		err = apperr.Missing("conversation")
	}
	return m, err
}

// findActiveMembership returns uid's active membership of a conversation,
// with the conversation, or nil.
func findActiveMembership(ctx context.Context, db *ent.Client, convID, uid int) (*ent.ConversationMember, error) {
	m, err := db.ConversationMember.Query().Where(
		conversationmember.ConversationID(convID), rule.ActiveConversationMember(uid),
	).WithConversation().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
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
		Where(rule.ActiveConversationMember(uid)).
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
