// Package group holds the rules of chat groups: creating them, their card
// and members, invitations, join links and applications, managers, mutes,
// removals, leaving, handing over and dissolving, and who may post in a
// group's conversation (Posting, which messaging asks). Resolvers call it;
// it writes through the ent client in the request's transaction, so the
// privacy policies of Group and GroupMember (ent/schema/policy.go) still
// decide who may touch which row. The role rules themselves (who manages,
// whom a member may remove or mute, who may invite) are ent/rule's
// (ent/rule/group.go), built once for this package's checks and for the
// policies. Every membership change goes through messaging.Join or
// messaging.Leave, so the group's conversation and its live streams follow
// at once.
package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/settings"
	"github.com/parley-im/parley/internal/social"
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
	ReasonQueryTooShort  = apperr.ReasonQueryTooShort
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
	// DetailMembers is how many members the group detail shows.
	DetailMembers = 15
	// AvatarSources is how many member avatars a composite avatar is
	// drawn from (a 3 × 3 grid).
	AvatarSources = 9
	// MuteMax is the longest a member can be muted for at once.
	MuteMax = 30 * 24 * time.Hour
	// LinkTTL is how long a join link works.
	LinkTTL = 7 * 24 * time.Hour
	// SearchMax bounds a search query, in characters.
	SearchMax = apperr.SearchMax
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
type Avatars = messaging.Avatars

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

// reader returns the client queries go through.
func (s *Service) reader(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

// loadGroup returns a group; groups are public, so a missing one is the only
// NOT_FOUND.
func loadGroup(ctx context.Context, db *ent.Client, id int) (*ent.Group, error) {
	g, err := db.Group.Get(ctx, id)
	return apperr.Found(g, err, "group", "group: load")
}

// membershipOf returns uid's membership of a group, with the user, or nil.
func membershipOf(ctx context.Context, db *ent.Client, groupID, uid int) (*ent.GroupMember, error) {
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

// actingMember is the viewer as a member of the group he acts on, with the
// transaction he writes in.
type actingMember struct {
	db     *ent.Client
	me     int
	group  *ent.Group
	member *ent.GroupMember
}

// actAs loads group id and the signed-in viewer's membership for a write in
// the request's transaction. His role must be min or above
// (rule.GroupRoleAtLeast): NOT_GROUP_MEMBER, NOT_GROUP_MANAGER or
// NOT_GROUP_OWNER otherwise.
func actAs(ctx context.Context, id int, min groupmember.Role) (actingMember, error) {
	db, me, err := messaging.SignedInWriter(ctx)
	if err != nil {
		return actingMember{}, err
	}
	g, err := loadGroup(ctx, db, id)
	if err != nil {
		return actingMember{}, err
	}
	m, err := membershipOf(ctx, db, id, me)
	switch {
	case err != nil:
		return actingMember{}, err
	case m == nil:
		return actingMember{}, apperr.Deny(ReasonNotMember, "you are not a member of this group")
	case rule.GroupRoleAtLeast(m.Role, min):
		return actingMember{db: db, me: me, group: g, member: m}, nil
	case min == groupmember.RoleOwner:
		return actingMember{}, apperr.Deny(ReasonNotOwner, "only the group's owner may do this")
	}
	return actingMember{}, apperr.Deny(ReasonNotManager, "only the group's owner and managers may do this")
}

// reachReasons name the refusals of one action on another member (removing,
// muting) by the limb of rule.GroupMemberReach that refused it.
type reachReasons struct{ self, owner, aboveRole string }

var (
	removeReasons = reachReasons{ReasonCannotKickSelf, ReasonCannotKickOwner, ReasonCannotKickManager}
	muteReasons   = reachReasons{ReasonCannotMuteSelf, ReasonCannotMuteOwner, ReasonCannotMuteManager}
)

// mayReach checks that the acting member may remove or mute target
// (rule.GroupMemberReach, the rule the GroupMember policy applies as
// rule.GroupMemberInReach), refusing with the reason of the limb that stops
// him.
func (a actingMember) mayReach(target *ent.GroupMember, reasons reachReasons) error {
	switch rule.GroupMemberReach(a.member, target) {
	case rule.ReachSelf:
		return apperr.Deny(reasons.self, "you cannot do this to yourself")
	case rule.ReachOwner:
		return apperr.Deny(reasons.owner, "nobody can do this to the group's owner")
	case rule.ReachAboveRole:
		return apperr.Deny(reasons.aboveRole, "only the owner can do this to a manager")
	}
	return nil
}

// name is what the group shows for the acting member.
func (a actingMember) name() string { return memberName(a.member) }

// memberName is what the group shows for m (social.DisplayName of his user
// and alias); m must come with its user, as membershipOf loads it.
func memberName(m *ent.GroupMember) string { return social.DisplayName(m.Edges.User, m.Alias) }

// userName is what a group shows for a user who has no alias (yet): a
// newcomer, a creator.
func userName(u *ent.User) string { return social.DisplayName(u, "") }

// checkGroupName checks a group name: 1 to NameMax characters.
func checkGroupName(v, field string) (string, error) {
	v, err := messaging.CleanText(v, field, NameMax, false)
	if err == nil && v == "" {
		err = apperr.Input(apperr.ReasonRequired, field, "a group needs a name")
	}
	return v, err
}

// newSecret returns a fresh key for a group's join links.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// groupEvent is an event on the group's conversation topic: its members'
// events and conversationEvents streams carry it.
func groupEvent(g *ent.Group, kind string, actor, subject int, data any) eventlog.Record {
	return eventlog.Record{Topic: eventlog.ConversationTopic(g.ConversationID), Kind: kind, Actor: actor, Subject: subject, Data: data}
}

// addToMemberCount moves the group's member count by n. It is bookkeeping
// of the rows the policies already admitted, so it is written as the
// system: a member who joins or leaves may not otherwise edit the group.
func addToMemberCount(ctx context.Context, db *ent.Client, groupID, n int) error {
	if err := db.Group.UpdateOneID(groupID).AddMemberCount(n).Exec(viewer.SystemContext(ctx)); err != nil {
		return fmt.Errorf("group: member count: %w", err)
	}
	return nil
}

// checkRoomFor checks that n more members fit in g (GROUP_FULL).
func checkRoomFor(g *ent.Group, n int) error {
	if g.MemberCount+n > MembersMax {
		return apperr.Deny(ReasonGroupFull, "a group holds at most %d members", MembersMax)
	}
	return nil
}

// now is the clock.
func now() time.Time { return time.Now() }
