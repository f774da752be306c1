// Package rule holds the privacy rules that ent/schema/policy.go composes into
// each entity's policy. Read rules are filters: they add a WHERE clause keyed
// on the viewer to every query, so node(id:), nested edges and subscriptions
// can only load what the viewer may see. Write rules check who is acting;
// business rules (a pending application, a manager's role) live in the domain
// packages that call ent.
package rule

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/entql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/projectinvite"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/text"
	"github.com/parley-im/parley/ent/viewer"
)

// AllowIfSystem lets internal work through (see viewer.SystemContext).
func AllowIfSystem() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := viewerOf(ctx); v != nil && v.System {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// ErrNoViewer is the denial of an anonymous request; the API answers it
// with UNAUTHENTICATED, whether or not the object exists.
var ErrNoViewer = fmt.Errorf("%w: viewer is not signed in", privacy.Deny)

// DenyIfNoViewer refuses anonymous requests; it comes first in every policy
// that has no public part.
func DenyIfNoViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := viewerOf(ctx); v == nil || v.UserID == 0 {
			return ErrNoViewer
		}
		return privacy.Skip
	})
}

// AllowIfAdmin lets administrators through.
func AllowIfAdmin() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := viewerOf(ctx); v != nil && v.Admin {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// AllowReads makes an entity's rows public (user profiles, group and room
// cards): the fields that must stay private are not in the GraphQL type.
func AllowReads() privacy.QueryRule {
	return privacy.QueryRuleFunc(func(context.Context, ent.Query) error { return privacy.Allow })
}

// DenyAll closes what no rule before it opened.
func DenyAll() privacy.QueryMutationRule { return privacy.AlwaysDenyRule() }

// FilterBy builds a rule that restricts queries, updates and deletes of one
// entity to the rows that apply selects for the viewer uid. F is the entity's
// generated filter type (for example *ent.MessageFilter).
func FilterBy[F privacy.Filter](apply func(f F, uid int)) privacy.QueryMutationRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		tf, ok := f.(F)
		if !ok {
			return privacy.Denyf("unexpected filter type %T", f)
		}
		apply(tf, viewer.UserID(ctx)) // 0 for anonymous reads of public entities
		return privacy.Skip
	})
}

// OnCreate applies rule to create mutations only.
func OnCreate(rule privacy.MutationRule) privacy.MutationRule {
	return privacy.OnMutationOperation(rule, ent.OpCreate)
}

// OnChange applies rule to updates and deletes only.
func OnChange(rule privacy.MutationRule) privacy.MutationRule {
	return privacy.OnMutationOperation(rule, ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne)
}

// IDGetter reads an int field that a mutation sets.
type IDGetter func(m ent.Mutation) (int, bool)

// Field reads the int column name from a mutation.
func Field(name string) IDGetter {
	return func(m ent.Mutation) (int, bool) {
		v, ok := m.Field(name)
		id, isInt := v.(int)
		return id, ok && isInt
	}
}

// Check decides whether viewer uid may create m, whose field (read by the
// rule's IDGetter) holds id. Checks look rows up as the system, so that what
// the viewer cannot see does not change the answer.
type Check func(ctx context.Context, m ent.Mutation, uid, id int) (bool, error)

// AllowCreateIf lets a create through when check approves it, and denies it
// otherwise.
func AllowCreateIf(field IDGetter, check Check) privacy.MutationRule {
	return OnCreate(privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		id, ok := field(m)
		if !ok {
			return privacy.Denyf("%s create without its owner", m.Type())
		}
		allowed, err := check(viewer.SystemContext(ctx), m, viewer.UserID(ctx), id)
		switch {
		case err != nil:
			return err
		case allowed:
			return privacy.Allow
		}
		return privacy.Denyf("viewer may not create %s", m.Type())
	}))
}

// IsViewer approves a create whose field is the viewer himself.
func IsViewer(_ context.Context, _ ent.Mutation, uid, id int) (bool, error) { return uid == id, nil }

// IsActiveConversationMember approves the viewer's writes into a conversation
// he belongs to, and into any room (rooms are public).
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

// IsGroupMemberOrJoining approves adding a member to a group. Every row
// starts with the role member, except the owner's own row at creation.
// Others are added by the owner and managers (an approved application, an
// invitation) or, unless the group is invite-only, by any member (an
// invitation). A user adds himself to an open group, or with a valid join
// link (WithGroupJoinToken) issued by someone who may still invite.
func IsGroupMemberOrJoining(ctx context.Context, m ent.Mutation, uid, groupID int) (bool, error) {
	c := clientOf(m)
	g, err := c.Group.Get(ctx, groupID)
	if ent.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	value, _ := m.Field("role")
	role, _ := value.(groupmember.Role)
	member, _ := Field("user_id")(m)
	switch {
	case member == uid && g.OwnerID == uid:
		return role == groupmember.RoleOwner, nil
	case role != groupmember.RoleMember:
		return false, nil
	case member != uid:
		return mayInvite(ctx, c, g, uid)
	case g.JoinMode == group.JoinModeOpen:
		return true, nil
	}
	token, _ := ctx.Value(groupJoinTokenKey{}).(string)
	issuer, state := ParseGroupJoinToken(g.JoinSecret, g.ID, token, time.Now())
	if state != TokenValid {
		return false, nil
	}
	return mayInvite(ctx, c, g, issuer)
}

// mayInvite reports whether uid may bring others into g: its owner and
// managers always, its other members unless g is invite-only.
func mayInvite(ctx context.Context, c *ent.Client, g *ent.Group, uid int) (bool, error) {
	roles := []groupmember.Role{groupmember.RoleOwner, groupmember.RoleManager}
	if g.JoinMode != group.JoinModeInviteOnly {
		roles = append(roles, groupmember.RoleMember)
	}
	return c.GroupMember.Query().
		Where(groupmember.GroupID(g.ID), groupmember.UserID(uid), groupmember.RoleIn(roles...)).
		Exist(ctx)
}

// DenyFieldsUnlessAdmin refuses a mutation that sets any of fields unless
// the viewer is an admin: a user edits his own profile, but never his role,
// account state or membership.
func DenyFieldsUnlessAdmin(fields ...string) privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		if v := viewerOf(ctx); v != nil && v.Admin {
			return privacy.Skip
		}
		for _, f := range fields {
			if _, set := m.Field(f); set {
				return privacy.Denyf("only admins change %s", f)
			}
		}
		return privacy.Skip
	})
}

// IsConsentedFriendship approves a friendship row between the viewer and
// another user once one of them agreed to the other's friend application,
// so that no code path can make someone a friend (and see his contact
// fields) without his consent.
func IsConsentedFriendship(ctx context.Context, m ent.Mutation, uid, userID int) (bool, error) {
	friendID, _ := Field("friend_id")(m)
	other := friendID
	switch uid {
	case userID:
	case friendID:
		other = userID
	default:
		return false, nil
	}
	return clientOf(m).Notice.Query().Where(
		notice.TypeEQ(notice.TypeFriendApply), notice.OperationEQ(notice.OperationAgreed),
		notice.Or(
			notice.And(notice.FromID(uid), notice.ToID(other)),
			notice.And(notice.FromID(other), notice.ToID(uid)),
		),
	).Exist(ctx)
}

// IsProjectOwner approves the owner's writes into his project.
func IsProjectOwner(ctx context.Context, m ent.Mutation, uid, projectID int) (bool, error) {
	return clientOf(m).Project.Query().Where(project.ID(projectID), project.OwnerID(uid)).Exist(ctx)
}

// IsProjectOwnerOrInvited approves adding a project member: the owner adds
// anyone (himself at creation), an invitee adds himself on accepting, with
// the role of his pending invite and no other. The domain adds the member
// before it marks the invite accepted, so an invite lets its invitee in once.
func IsProjectOwnerOrInvited(ctx context.Context, m ent.Mutation, uid, projectID int) (bool, error) {
	if owner, err := IsProjectOwner(ctx, m, uid, projectID); owner || err != nil {
		return owner, err
	}
	if member, _ := Field("user_id")(m); member != uid {
		return false, nil
	}
	role, _ := m.Field("role")
	r, ok := role.(projectmember.Role)
	if !ok {
		return false, nil
	}
	return clientOf(m).ProjectInvite.Query().Where(
		projectinvite.ProjectID(projectID), projectinvite.InviteeID(uid),
		projectinvite.StatusEQ(projectinvite.StatusPending),
		projectinvite.RoleEQ(projectinvite.Role(r)),
	).Exist(ctx)
}

// IsProjectWriter approves the writes of a project's owner and annotators.
func IsProjectWriter(ctx context.Context, m ent.Mutation, uid, projectID int) (bool, error) {
	return clientOf(m).ProjectMember.Query().
		Where(ProjectWriter(uid), projectmember.ProjectID(projectID)).
		Exist(ctx)
}

// IsTextWriter approves mentions in the texts of projects the viewer writes.
func IsTextWriter(ctx context.Context, m ent.Mutation, uid, textID int) (bool, error) {
	return clientOf(m).Text.Query().
		Where(text.ID(textID), text.HasProjectWith(project.HasMembersWith(ProjectWriter(uid)))).
		Exist(ctx)
}

// VisibleConversation selects the rooms and the conversations uid is an
// active member of.
func VisibleConversation(uid int) predicate.Conversation {
	return conversation.Or(
		conversation.KindEQ(conversation.KindRoom),
		conversation.HasMembersWith(conversationmember.UserID(uid), conversationmember.Active(true)),
	)
}

// VisibleConversationP is VisibleConversation for entql filters, which the
// policies of entities reached through a conversation use.
func VisibleConversationP(uid int) entql.P {
	return entql.Or(
		entql.FieldEQ("kind", conversation.KindRoom.String()),
		entql.HasEdgeWith("members", entql.FieldEQ("user_id", uid), entql.FieldEQ("active", true)),
	)
}

// ManagedGroupMember selects uid's memberships as owner or manager.
func ManagedGroupMember(uid int) predicate.GroupMember {
	return groupmember.And(groupmember.UserID(uid),
		groupmember.RoleIn(groupmember.RoleOwner, groupmember.RoleManager))
}

// ProjectWriter selects uid's memberships that may write.
func ProjectWriter(uid int) predicate.ProjectMember {
	return projectmember.And(projectmember.UserID(uid),
		projectmember.RoleIn(projectmember.RoleOwner, projectmember.RoleAnnotator))
}

// mutationClient is implemented by every generated mutation.
type mutationClient interface{ Client() *ent.Client }

func clientOf(m ent.Mutation) *ent.Client { return m.(mutationClient).Client() }

func viewerOf(ctx context.Context) *viewer.Viewer { return viewer.FromContext(ctx) }

// CanSeeContact reports whether the viewer of ctx may see the email and phone
// of user id: himself, his friends and admins. Strangers never see them,
// whatever path reads the user.
func CanSeeContact(ctx context.Context, c *ent.Client, id int) (bool, error) {
	v := viewerOf(ctx)
	switch {
	case v == nil:
		return false, nil
	case v.System || v.Admin || v.UserID == id:
		return true, nil
	}
	return c.Friendship.Query().
		Where(friendship.UserID(v.UserID), friendship.FriendID(id)).
		Exist(viewer.SystemContext(ctx))
}

// IsNewGroup approves creating a group: the viewer owns it, and its
// conversation is a group conversation that nobody has joined yet (one just
// opened for it), so that no group takes over an existing conversation.
func IsNewGroup(ctx context.Context, m ent.Mutation, uid, ownerID int) (bool, error) {
	convID, ok := Field("conversation_id")(m)
	if uid != ownerID || !ok {
		return false, nil
	}
	return clientOf(m).Conversation.Query().Where(
		conversation.ID(convID), conversation.KindEQ(conversation.KindGroup),
		conversation.Not(conversation.HasMembers()), conversation.Not(conversation.HasGroup()),
	).Exist(ctx)
}

// IsNewRoom approves creating a room: the viewer owns it, and its
// conversation is a room conversation no room has yet.
func IsNewRoom(ctx context.Context, m ent.Mutation, uid, ownerID int) (bool, error) {
	convID, ok := Field("conversation_id")(m)
	if uid != ownerID || !ok {
		return false, nil
	}
	return clientOf(m).Conversation.Query().Where(
		conversation.ID(convID), conversation.KindEQ(conversation.KindRoom),
		conversation.Not(conversation.HasMembers()), conversation.Not(conversation.HasRoom()),
	).Exist(ctx)
}

// GroupWrites restricts updates and deletes of groups: the owner dissolves
// his group and hands it over (owner_id); the owner and managers change the
// rest (name, notice, avatar, join mode, mute-all).
func GroupWrites() privacy.MutationRule {
	return privacy.GroupMutationRuleFunc(func(ctx context.Context, m *ent.GroupMutation) error {
		if m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		uid := viewer.UserID(ctx)
		_, handOver := m.OwnerID()
		if m.Op().Is(ent.OpDelete|ent.OpDeleteOne) || handOver {
			m.Where(group.OwnerID(uid))
		} else {
			m.Where(group.HasMembersWith(ManagedGroupMember(uid)))
		}
		return privacy.Skip
	})
}

// GroupMemberWrites restricts updates and deletes of memberships, field by
// field: a member sets his own remark and alias and deletes his own row
// (leaving); the group's owner changes roles (setting managers, handing the
// group over); mutes and removals reach the rows below the viewer: the
// owner's reach every row but his own owner row, a manager's plain members.
func GroupMemberWrites() privacy.MutationRule {
	return privacy.GroupMemberMutationRuleFunc(func(ctx context.Context, m *ent.GroupMemberMutation) error {
		if m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		uid := viewer.UserID(ctx)
		mine := groupmember.UserID(uid)
		owned := groupmember.HasGroupWith(group.OwnerID(uid))
		below := groupmember.And(groupmember.UserIDNEQ(uid), groupmember.Or(
			groupmember.And(owned, groupmember.RoleNEQ(groupmember.RoleOwner)),
			groupmember.And(groupmember.RoleEQ(groupmember.RoleMember),
				groupmember.HasGroupWith(group.HasMembersWith(ManagedGroupMember(uid)))),
		))
		if m.Op().Is(ent.OpDelete | ent.OpDeleteOne) {
			m.Where(groupmember.Or(mine, below))
			return privacy.Skip
		}
		if _, ok := m.Role(); ok {
			m.Where(owned)
		}
		if _, ok := m.MutedUntil(); ok || m.MutedUntilCleared() {
			m.Where(below)
		}
		_, role := m.Role()
		_, muted := m.MutedUntil()
		_, remark := m.Remark()
		_, alias := m.Alias()
		if remark || alias || !(role || muted || m.MutedUntilCleared()) {
			m.Where(mine)
		}
		return privacy.Skip
	})
}

// groupJoinTokenKey carries the join link a user presents (see
// WithGroupJoinToken).
type groupJoinTokenKey struct{}

// WithGroupJoinToken returns ctx carrying the token of a group join link
// that the viewer presents; IsGroupMemberOrJoining checks it against the
// group's secret when he adds himself to a group that is not open.
func WithGroupJoinToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, groupJoinTokenKey{}, token)
}

// TokenState is the outcome of checking a group join token.
type TokenState int

// The states of a join token.
const (
	TokenInvalid TokenState = iota // malformed, forged, for another group, or the group's secret changed
	TokenExpired                   // authentic but out of date
	TokenValid
)

// groupJoinLabel separates join-link MACs from any other use of a key.
const groupJoinLabel = "parley/group-join/v1"

// GroupJoinToken returns the token of a join link of group groupID issued by
// user issuer, valid until exp, signed with the group's secret:
// "<exp>.<issuer>.<mac>", numbers in base 36, the MAC an HMAC-SHA256 cut to
// 128 bits. An empty secret makes no valid token.
func GroupJoinToken(secret string, groupID, issuer int, exp time.Time) string {
	e, u := strconv.FormatInt(exp.Unix(), 36), strconv.FormatInt(int64(issuer), 36)
	return e + "." + u + "." + groupJoinMAC(secret, groupID, e, u)
}

// ParseGroupJoinToken checks token for group groupID and returns its issuer.
// Only an authentic token is reported expired.
func ParseGroupJoinToken(secret string, groupID int, token string, now time.Time) (issuer int, state TokenState) {
	parts := strings.Split(token, ".")
	if secret == "" || len(parts) != 3 {
		return 0, TokenInvalid
	}
	e, u, sig := parts[0], parts[1], parts[2]
	if !hmac.Equal([]byte(sig), []byte(groupJoinMAC(secret, groupID, e, u))) {
		return 0, TokenInvalid
	}
	exp, err1 := strconv.ParseInt(e, 36, 64)
	uid, err2 := strconv.ParseInt(u, 36, 64)
	switch {
	case err1 != nil || err2 != nil || uid <= 0:
		return 0, TokenInvalid
	case now.Unix() > exp:
		return int(uid), TokenExpired
	}
	return int(uid), TokenValid
}

func groupJoinMAC(secret string, groupID int, exp, issuer string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(groupJoinLabel + ":" + strconv.Itoa(groupID) + ":" + exp + ":" + issuer))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}
