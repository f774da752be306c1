// Package group holds the rules of chat groups (seeds 000 and 002): creating
// them, their card and members, invitations, join links and applications,
// managers, mutes, removals, leaving, handing over and dissolving. Resolvers
// call it; it writes through the ent client in the request's transaction, so
// the privacy policies of Group and GroupMember (ent/schema/policy.go) still
// decide who may touch which row. Every membership change goes through
// messaging.Join or messaging.Leave, so the group's conversation and its
// live streams follow at once.
package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
	entgroup "github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/settings"
)

// Reasons of the group rules; each refusal has its own.
const (
	// The viewer's standing (FORBIDDEN).
	ReasonNotMember        = "NOT_GROUP_MEMBER"
	ReasonNotManager       = "NOT_GROUP_MANAGER"
	ReasonNotOwner         = "NOT_GROUP_OWNER"
	ReasonOwnerCannotLeave = "OWNER_CANNOT_LEAVE"
	ReasonInviteOnly       = "INVITE_ONLY"
	ReasonApprovalNeeded   = "APPROVAL_REQUIRED"
	ReasonGroupFull        = "GROUP_FULL"
	ReasonNotFriends       = "NOT_FRIENDS"
	ReasonLinkRevoked      = "JOIN_LINK_REVOKED"

	// What the viewer does to another member (FORBIDDEN).
	ReasonCannotKickOwner   = "CANNOT_KICK_OWNER"
	ReasonCannotKickSelf    = "CANNOT_KICK_SELF"
	ReasonCannotKickManager = "CANNOT_KICK_MANAGER"
	ReasonCannotMuteOwner   = "CANNOT_MUTE_OWNER"
	ReasonCannotMuteSelf    = "CANNOT_MUTE_SELF"
	ReasonCannotMuteManager = "CANNOT_MUTE_MANAGER"
	ReasonOwnerRoleFixed    = "OWNER_ROLE_FIXED"

	// State (CONFLICT).
	ReasonAlreadyMember = "ALREADY_MEMBER"

	// Input (BAD_USER_INPUT, with the field).
	ReasonUserNotMember  = "USER_NOT_MEMBER"
	ReasonTooManyMembers = "TOO_MANY_MEMBERS"
	ReasonTransferToSelf = "CANNOT_TRANSFER_TO_SELF"
	ReasonMuteTooLong    = "MUTE_TOO_LONG"
	ReasonLinkInvalid    = "JOIN_LINK_INVALID"
	ReasonLinkExpired    = "JOIN_LINK_EXPIRED"
	ReasonQueryTooShort  = "QUERY_TOO_SHORT"
)

// Limits of groups.
const (
	NameMax = 64
	// NoticeMax bounds the announcement, in characters.
	NoticeMax = 1024
	RemarkMax = 64
	AliasMax  = 64
	// MembersMax is the most members a group holds, its owner included:
	// QQ's large-group size. Fan-out to all of them is measured by the load
	// tool's fanout scenario (docs/PERFORMANCE.md).
	MembersMax = 2000
	// AddMax is the most users one create or invite adds.
	AddMax = 100
	// DetailMembers is how many members the group detail shows (S2-22).
	DetailMembers = 15
	// AvatarSources is how many member avatars a composite avatar is
	// drawn from (a 3 × 3 grid).
	AvatarSources = 9
	// MuteMax is the longest a member can be muted for at once.
	MuteMax = 30 * 24 * time.Hour
	// LinkTTL is how long a join link works.
	LinkTTL = 7 * 24 * time.Hour
	// SearchMax bounds a search query, in characters.
	SearchMax = 64
)

// Event kinds on a group's conversation topic, besides messaging's
// member.joined and member.left.
const (
	KindUpdated       = "group.updated"
	KindMemberUpdated = "group_member.updated"
	KindDeleted       = "group.deleted"
)

// Friends answers whether two users are friends (the social service).
type Friends interface {
	AreFriends(ctx context.Context, a, b int) (bool, error)
}

// Avatars checks an avatar named by file id and gives its URL (the files
// service, which holds the one rule for avatars).
type Avatars interface {
	Avatar(ctx context.Context, fileID int, field string) (string, error)
}

// Service is the group service.
type Service struct {
	client    *ent.Client
	log       *eventlog.Log
	messaging *messaging.Service
	notices   *notice.Service
	settings  *settings.Service
	friends   Friends
	avatars   Avatars
}

// NewService returns the group service.
func NewService(client *ent.Client, log *eventlog.Log, msg *messaging.Service, notices *notice.Service,
	toggles *settings.Service, friends Friends, avatars Avatars) *Service {
	return &Service{client: client, log: log, messaging: msg, notices: notices, settings: toggles, friends: friends, avatars: avatars}
}

// tx returns the request's transaction client: every write of this package
// runs in one, for a signed-in viewer.
func tx(ctx context.Context) (*ent.Client, int, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return nil, 0, apperr.SignIn()
	}
	db, err := txn.Writer(ctx)
	return db, me, err
}

// read returns the client queries go through.
func (s *Service) read(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

// load returns a group; groups are public, so a missing one is the only
// NOT_FOUND.
func load(ctx context.Context, db *ent.Client, id int) (*ent.Group, error) {
	g, err := db.Group.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.Missing("group")
	} else if err != nil {
		return nil, fmt.Errorf("group: load: %w", err)
	}
	return g, nil
}

// membership returns uid's membership of group g, or nil.
func membership(ctx context.Context, db *ent.Client, groupID, uid int) (*ent.GroupMember, error) {
	m, err := db.GroupMember.Query().
		Where(groupmember.GroupID(groupID), groupmember.UserID(uid)).
		WithUser().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("group: membership: %w", err)
	}
	return m, nil
}

// rank orders roles: owner above manager above member.
func rank(r groupmember.Role) int {
	switch r {
	case groupmember.RoleOwner:
		return 2
	case groupmember.RoleManager:
		return 1
	}
	return 0
}

// actor is the viewer as a member of a group he acts on.
type actor struct {
	g  *ent.Group
	me *ent.GroupMember
}

// as loads group id and the viewer's membership, which must have at least
// role min: NOT_GROUP_MEMBER, NOT_GROUP_MANAGER or NOT_GROUP_OWNER otherwise.
func as(ctx context.Context, db *ent.Client, id, me int, min groupmember.Role) (actor, error) {
	g, err := load(ctx, db, id)
	if err != nil {
		return actor{}, err
	}
	m, err := membership(ctx, db, id, me)
	switch {
	case err != nil:
		return actor{}, err
	case m == nil:
		return actor{}, apperr.Deny(ReasonNotMember, "you are not a member of this group")
	case rank(m.Role) >= rank(min):
		return actor{g: g, me: m}, nil
	case min == groupmember.RoleOwner:
		return actor{}, apperr.Deny(ReasonNotOwner, "only the group's owner may do this")
	}
	return actor{}, apperr.Deny(ReasonNotManager, "only the group's owner and managers may do this")
}

// canInvite reports whether member m may bring others into g.
func canInvite(g *ent.Group, m *ent.GroupMember) bool {
	return g.JoinMode != entgroup.JoinModeInviteOnly || rank(m.Role) > 0
}

// DisplayName is what a group shows for a member: his alias in the group,
// else his nickname, else his username.
func DisplayName(u *ent.User, alias string) string {
	switch {
	case alias != "":
		return alias
	case u == nil:
		return ""
	case u.Nickname != "":
		return u.Nickname
	}
	return u.Username
}

func nameOf(m *ent.GroupMember) string { return DisplayName(m.Edges.User, m.Alias) }

// text checks a free-text input: trimmed, at most max characters, without
// control characters (line breaks and tabs are allowed when multiline).
func text(v, field string, max int, multiline bool) (string, error) {
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) > max {
		return "", apperr.Input(apperr.ReasonTooLong, field, "%s is longer than %d characters", lastPart(field), max)
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return "", apperr.Input(apperr.ReasonInvalid, field, "%s may not contain control characters", lastPart(field))
		}
	}
	return v, nil
}

// groupName checks a group name: 1 to NameMax characters.
func groupName(v, field string) (string, error) {
	v, err := text(v, field, NameMax, false)
	if err == nil && v == "" {
		err = apperr.Input(apperr.ReasonRequired, field, "a group needs a name")
	}
	return v, err
}

func lastPart(field string) string { return field[strings.LastIndex(field, ".")+1:] }

// newSecret returns a fresh key for a group's join links.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// event is an event on the group's conversation topic: its members' events
// and conversationEvents streams carry it.
func event(g *ent.Group, kind string, actor, subject int, data any) eventlog.Record {
	return eventlog.Record{Topic: eventlog.ConversationTopic(g.ConversationID), Kind: kind, Actor: actor, Subject: subject, Data: data}
}

// addCount moves the group's member count. It is bookkeeping of the rows the
// policies already admitted, so it is written as the system: a member who
// joins or leaves may not otherwise edit the group.
func addCount(ctx context.Context, db *ent.Client, groupID, n int) error {
	if err := db.Group.UpdateOneID(groupID).AddMemberCount(n).Exec(viewer.SystemContext(ctx)); err != nil {
		return fmt.Errorf("group: member count: %w", err)
	}
	return nil
}

// room checks that n more members fit in g.
func room(g *ent.Group, n int) error {
	if g.MemberCount+n > MembersMax {
		return apperr.Deny(ReasonGroupFull, "a group holds at most %d members", MembersMax)
	}
	return nil
}

// now is the clock.
func now() time.Time { return time.Now() }
