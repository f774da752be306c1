package rule

// This file holds the rules of group roles: who manages a group, whom a
// member may remove or mute, and who may bring others in. Each rule has one
// table here (GroupManagerRoles, GroupRolesInReach, GroupInviterRoles) from
// which both forms are built: the Go check the group service runs to give a
// precise refusal, and the predicate the GroupMember and Group policies apply
// to every write, whatever code path makes it.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/viewer"
)

// GroupManagerRoles are the roles that manage a group: they edit it, mute
// and remove members below them, admit applicants, and revoke or delete any
// message of its conversation.
var GroupManagerRoles = []groupmember.Role{groupmember.RoleOwner, groupmember.RoleManager}

// IsGroupManager reports whether role manages its group (GroupManagerRoles).
func IsGroupManager(role groupmember.Role) bool { return slices.Contains(GroupManagerRoles, role) }

// ManagedGroupMember selects uid's memberships as owner or manager.
func ManagedGroupMember(uid int) predicate.GroupMember {
	return groupmember.And(groupmember.UserID(uid), groupmember.RoleIn(GroupManagerRoles...))
}

// GroupRoleAtLeast reports whether role is min or above it: owner above
// manager above member.
func GroupRoleAtLeast(role, min groupmember.Role) bool { return groupRank(role) >= groupRank(min) }

func groupRank(r groupmember.Role) int {
	switch r {
	case groupmember.RoleOwner:
		return 2
	case groupmember.RoleManager:
		return 1
	}
	return 0
}

// GroupRolesInReach are the roles of the other members that a member of
// role may remove or mute: the owner reaches managers and members, a manager
// plain members, a member nobody. Nobody reaches the owner, and nobody
// reaches himself (he leaves instead).
func GroupRolesInReach(role groupmember.Role) []groupmember.Role {
	switch role {
	case groupmember.RoleOwner:
		return []groupmember.Role{groupmember.RoleManager, groupmember.RoleMember}
	case groupmember.RoleManager:
		return []groupmember.Role{groupmember.RoleMember}
	}
	return nil
}

// Reach is the answer of GroupMemberReach: whether a member may remove or
// mute another, or which limb of the rule stops him.
type Reach int

// The answers of GroupMemberReach.
const (
	InReach        Reach = iota
	ReachSelf            // the target is the actor himself
	ReachOwner           // the target owns the group
	ReachAboveRole       // the target's role is not below the actor's (a manager acting on a manager)
)

// GroupMemberReach reports whether member actor may remove or mute member
// target of the same group (GroupRolesInReach). GroupMemberInReach is the
// same rule as a predicate.
func GroupMemberReach(actor, target *ent.GroupMember) Reach {
	switch {
	case target.UserID == actor.UserID:
		return ReachSelf
	case target.Role == groupmember.RoleOwner:
		return ReachOwner
	case !slices.Contains(GroupRolesInReach(actor.Role), target.Role):
		return ReachAboveRole
	}
	return InReach
}

// GroupMemberInReach selects the memberships that uid may remove or mute:
// GroupMemberReach as a predicate, for the GroupMember policy.
func GroupMemberInReach(uid int) predicate.GroupMember {
	var byRole []predicate.GroupMember
	for _, role := range GroupManagerRoles {
		byRole = append(byRole, groupmember.And(
			groupmember.RoleIn(GroupRolesInReach(role)...),
			groupmember.HasGroupWith(group.HasMembersWith(groupmember.UserID(uid), groupmember.RoleEQ(role))),
		))
	}
	return groupmember.And(groupmember.UserIDNEQ(uid), groupmember.Or(byRole...))
}

// GroupInviterRoles are the roles that may bring others into a group of join
// mode mode: the owner and managers always, the other members unless the
// group is invite-only. An invitation and a join link both need one.
func GroupInviterRoles(mode group.JoinMode) []groupmember.Role {
	if mode == group.JoinModeInviteOnly {
		return GroupManagerRoles
	}
	return []groupmember.Role{groupmember.RoleOwner, groupmember.RoleManager, groupmember.RoleMember}
}

// MayInvite reports whether member m may bring others into g
// (GroupInviterRoles); m nil is not a member.
func MayInvite(g *ent.Group, m *ent.GroupMember) bool {
	return m != nil && slices.Contains(GroupInviterRoles(g.JoinMode), m.Role)
}

// isGroupInviter reports, from the database, whether uid may bring others
// into g: MayInvite for the policy, which has no membership at hand.
func isGroupInviter(ctx context.Context, c *ent.Client, g *ent.Group, uid int) (bool, error) {
	return c.GroupMember.Query().
		Where(groupmember.GroupID(g.ID), groupmember.UserID(uid), groupmember.RoleIn(GroupInviterRoles(g.JoinMode)...)).
		Exist(ctx)
}

// IsNewGroup approves creating a group: the viewer owns it, and its
// conversation is a group conversation that nobody has joined yet (one just
// opened for it), so that no group takes over an existing conversation.
func IsNewGroup(ctx context.Context, m ent.Mutation, uid, ownerID int) (bool, error) {
	return isFreshConversation(ctx, m, uid, ownerID, conversation.KindGroup, conversation.Not(conversation.HasGroup()))
}

// IsGroupMemberOrJoining approves adding a member to a group. Every row
// starts with the role member, except the owner's own row at creation.
// Others are added by an inviter (GroupInviterRoles: an approved
// application, an invitation). A user adds himself to an open group, or with
// a valid join link (WithGroupJoinToken) issued by someone who may still
// invite.
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
		return isGroupInviter(ctx, c, g, uid)
	case g.JoinMode == group.JoinModeOpen:
		return true, nil
	}
	token, _ := ctx.Value(groupJoinTokenKey{}).(string)
	issuer, state := ParseGroupJoinToken(g.JoinSecret, g.ID, token, time.Now())
	if state != TokenValid {
		return false, nil
	}
	return isGroupInviter(ctx, c, g, issuer)
}

// GroupWrites restricts updates and deletes of groups: the owner dissolves
// his group and hands it over (owner_id); its managers (GroupManagerRoles)
// change the rest (name, notice, avatar, join mode, mute-all).
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
// group over); mutes and removals reach GroupMemberInReach only.
func GroupMemberWrites() privacy.MutationRule {
	return privacy.GroupMemberMutationRuleFunc(func(ctx context.Context, m *ent.GroupMemberMutation) error {
		if m.Op().Is(ent.OpCreate) {
			return privacy.Skip
		}
		uid := viewer.UserID(ctx)
		mine := groupmember.UserID(uid)
		inReach := GroupMemberInReach(uid)
		if m.Op().Is(ent.OpDelete | ent.OpDeleteOne) {
			m.Where(groupmember.Or(mine, inReach))
			return privacy.Skip
		}
		_, role := m.Role()
		_, muted := m.MutedUntil()
		unmuted := m.MutedUntilCleared()
		_, remark := m.Remark()
		_, alias := m.Alias()
		if role {
			m.Where(groupmember.HasGroupWith(group.OwnerID(uid)))
		}
		if muted || unmuted {
			m.Where(inReach)
		}
		if remark || alias || !(role || muted || unmuted) {
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
