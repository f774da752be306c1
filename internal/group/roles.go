package group

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/viewer"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// target returns the membership of user uid in the group a acts on:
// USER_NOT_MEMBER (bad input, at field) when he has none.
func (a actingMember) target(ctx context.Context, uid int, field string) (*ent.GroupMember, error) {
	m, err := membershipOf(ctx, a.db, a.group.ID, uid)
	if err == nil && m == nil {
		err = apperr.Input(ReasonUserNotMember, field, "this user is not a member of the group")
	}
	return m, err
}

// actOn is actAs for a write on one other member, uid (the argument
// userId): the viewer as an acting member of role min or above, and uid's
// membership.
func actOn(ctx context.Context, groupID int, min groupmember.Role, uid int) (actingMember, *ent.GroupMember, error) {
	a, err := actAs(ctx, groupID, min)
	if err != nil {
		return a, nil, err
	}
	m, err := a.target(ctx, uid, "userId")
	return a, m, err
}

// SetManager makes a member a manager or a plain member again: the
// owner only. The owner's own role changes only by handing the group over.
func (s *Service) SetManager(ctx context.Context, groupID, uid int, manager bool) (*ent.GroupMember, error) {
	a, m, err := actOn(ctx, groupID, groupmember.RoleOwner, uid)
	if err != nil {
		return nil, err
	}
	me := a.me
	if m.Role == groupmember.RoleOwner {
		return nil, apperr.Deny(ReasonOwnerRoleFixed, "the owner stays the owner until he hands the group over")
	}
	role := groupmember.RoleMember
	if manager {
		role = groupmember.RoleManager
	}
	if m.Role == role {
		return m, nil
	}
	if m, err = m.Update().SetRole(role).Save(ctx); err != nil {
		return nil, fmt.Errorf("group: set role: %w", err)
	}
	return m, s.log.Append(ctx, groupEvent(a.group, KindMemberUpdated, me, m.ID, map[string]any{"userId": uid, "role": role}))
}

// Mute stops a member from posting until a time: managers mute plain
// members, the owner mutes managers too, and nobody mutes the owner or
// himself. A missing or past time (0, as older clients send) unmutes him. A mute lasts
// at most MuteMax.
func (s *Service) Mute(ctx context.Context, groupID, uid int, until *time.Time) (*ent.GroupMember, error) {
	a, m, err := actOn(ctx, groupID, groupmember.RoleManager, uid)
	if err != nil {
		return nil, err
	}
	me := a.me
	if err := a.mayReach(m, muteReasons); err != nil {
		return nil, err
	}
	upd := m.Update()
	t := now()
	switch {
	case until == nil || !until.After(t):
		upd.ClearMutedUntil()
	case until.Sub(t) > MuteMax+time.Minute:
		return nil, apperr.Input(ReasonMuteTooLong, "until", "a mute lasts at most %d days", int(MuteMax.Hours()/24))
	default:
		upd.SetMutedUntil(until.UTC())
	}
	if m, err = upd.Save(ctx); err != nil {
		return nil, fmt.Errorf("group: mute: %w", err)
	}
	return m, s.log.Append(ctx, groupEvent(a.group, KindMemberUpdated, me, m.ID, map[string]any{"userId": uid, "mutedUntil": m.MutedUntil}))
}

// MuteAll mutes or unmutes everyone but the owner and managers: the
// owner and managers.
func (s *Service) MuteAll(ctx context.Context, groupID int, muted bool) (*ent.Group, error) {
	a, err := actAs(ctx, groupID, groupmember.RoleManager)
	if err != nil {
		return nil, err
	}
	me := a.me
	if a.group.MuteAll == muted {
		return a.group, nil
	}
	g, err := a.group.Update().SetMuteAll(muted).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: mute all: %w", err)
	}
	line := a.name() + " muted everyone: only the owner and managers may post"
	if !muted {
		line = a.name() + " unmuted everyone"
	}
	if _, err := s.messaging.System(ctx, g.ConversationID, line); err != nil {
		return nil, err
	}
	return g, s.log.Append(ctx, groupEvent(g, KindUpdated, me, g.ID, nil))
}

// Remove takes members out of a group: the owner removes
// anyone but himself, a manager removes plain members. Nobody removes the
// owner, and nobody removes himself (he leaves). Each removed member gets a
// group_kicked notice and loses the conversation at once: his streams stop
// delivering it.
func (s *Service) Remove(ctx context.Context, groupID int, userIDs []int) (*ent.Group, error) {
	a, err := actAs(ctx, groupID, groupmember.RoleManager)
	if err != nil {
		return nil, err
	}
	db, me := a.db, a.me
	switch {
	case len(userIDs) == 0:
		return nil, apperr.Input(apperr.ReasonRequired, "userIds", "give the members to remove")
	case len(userIDs) > AddMax:
		return nil, apperr.Input(ReasonTooManyMembers, "userIds", "remove at most %d members at once", AddMax)
	}
	var gone []*ent.GroupMember
	seen := map[int]bool{}
	for i, uid := range userIDs {
		if seen[uid] {
			continue
		}
		seen[uid] = true
		m, err := a.target(ctx, uid, fmt.Sprintf("userIds.%d", i))
		if err != nil {
			return nil, err
		}
		if err := a.mayReach(m, removeReasons); err != nil {
			return nil, err
		}
		gone = append(gone, m)
	}
	users := make([]*ent.User, len(gone))
	for i, m := range gone {
		users[i] = m.Edges.User
		if err := s.removeMembership(ctx, db, a.group, m); err != nil {
			return nil, err
		}
		if _, err := s.notices.Push(ctx, noticesvc.Spec{
			Type: notice.TypeGroupKicked, From: me, To: m.UserID, GroupID: a.group.ID, Postscript: a.group.Name,
		}); err != nil {
			return nil, err
		}
	}
	if _, err := s.messaging.System(ctx, a.group.ConversationID, a.name()+" removed "+nameList(users)); err != nil {
		return nil, err
	}
	return db.Group.Get(ctx, a.group.ID)
}

// removeMembership deletes a membership (the GroupMember policy decides
// whose), counts it and takes the user out of the conversation.
func (s *Service) removeMembership(ctx context.Context, db *ent.Client, g *ent.Group, m *ent.GroupMember) error {
	if err := db.GroupMember.DeleteOne(m).Exec(ctx); err != nil {
		return fmt.Errorf("group: remove member: %w", err)
	}
	if err := addToMemberCount(ctx, db, g.ID, -1); err != nil {
		return err
	}
	return s.messaging.Leave(ctx, g.ConversationID, m.UserID)
}

// Leave takes the viewer out of a group. The owner cannot
// leave (OWNER_CANNOT_LEAVE): he hands the group over or dissolves it.
func (s *Service) Leave(ctx context.Context, groupID int) error {
	a, err := actAs(ctx, groupID, groupmember.RoleMember)
	if err != nil {
		return err
	}
	db := a.db
	if a.member.Role == groupmember.RoleOwner {
		return apperr.Deny(ReasonOwnerCannotLeave, "the owner cannot leave: hand the group over (transferGroup) or dissolve it")
	}
	if err := s.removeMembership(ctx, db, a.group, a.member); err != nil {
		return err
	}
	_, err = s.messaging.System(ctx, a.group.ConversationID, a.name()+" left the group")
	return err
}

// Transfer hands a group over to another member: the owner only. The new
// owner's role becomes owner and the old owner's member.
func (s *Service) Transfer(ctx context.Context, groupID, uid int) (*ent.Group, error) {
	a, err := actAs(ctx, groupID, groupmember.RoleOwner)
	if err != nil {
		return nil, err
	}
	me := a.me
	if uid == me {
		return nil, apperr.Input(ReasonTransferToSelf, "userId", "you own this group already")
	}
	m, err := a.target(ctx, uid, "userId")
	if err != nil {
		return nil, err
	}
	// Roles first, while the GroupMember policy still sees the viewer as
	// the owner; then the group's owner_id, which only the owner changes.
	if err := m.Update().SetRole(groupmember.RoleOwner).Exec(ctx); err != nil {
		return nil, fmt.Errorf("group: new owner: %w", err)
	}
	if err := a.member.Update().SetRole(groupmember.RoleMember).Exec(ctx); err != nil {
		return nil, fmt.Errorf("group: old owner: %w", err)
	}
	g, err := a.group.Update().SetOwnerID(uid).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: hand over: %w", err)
	}
	if _, err := s.messaging.System(ctx, g.ConversationID, a.name()+" made "+memberName(m)+" the owner"); err != nil {
		return nil, err
	}
	return g, s.log.Append(ctx,
		groupEvent(g, KindMemberUpdated, me, m.ID, map[string]any{"userId": uid, "role": groupmember.RoleOwner}),
		groupEvent(g, KindMemberUpdated, me, a.member.ID, map[string]any{"userId": me, "role": groupmember.RoleMember}),
		groupEvent(g, KindUpdated, me, g.ID, nil),
	)
}

// Dissolve deletes a group: the owner only. Every other
// member gets a group_dissolved notice (its postscript is the group's name,
// as the group itself is gone); the conversation's stream carries
// group.deleted, then each member leaves it. The group, its memberships, its
// conversation and every message in it are deleted in this transaction:
// nobody keeps a read-only copy. Pending applications are refused.
func (s *Service) Dissolve(ctx context.Context, groupID int) error {
	a, err := actAs(ctx, groupID, groupmember.RoleOwner)
	if err != nil {
		return err
	}
	db, me := a.db, a.me
	g := a.group
	members, err := db.GroupMember.Query().Where(groupmember.GroupID(g.ID)).All(ctx)
	if err != nil {
		return fmt.Errorf("group: members: %w", err)
	}
	open, err := db.Notice.Query().Where(
		notice.TypeEQ(notice.TypeGroupApply), notice.GroupID(g.ID), notice.OperationEQ(notice.OperationNotOperated),
	).All(viewer.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("group: applications: %w", err)
	}
	byApplicant := map[int][]*ent.Notice{}
	for _, n := range open {
		if n.FromID != nil {
			byApplicant[*n.FromID] = append(byApplicant[*n.FromID], n)
		}
	}
	for _, list := range byApplicant {
		if err := s.settle(ctx, list, notice.OperationRefused); err != nil {
			return err
		}
	}
	for _, m := range members {
		if m.UserID == me {
			continue
		}
		if _, err := s.notices.Push(ctx, noticesvc.Spec{
			Type: notice.TypeGroupDissolved, From: me, To: m.UserID, GroupID: g.ID, Postscript: g.Name,
		}); err != nil {
			return err
		}
	}
	if err := s.log.Append(ctx, groupEvent(g, KindDeleted, me, g.ID, map[string]any{"groupId": g.ID, "name": g.Name})); err != nil {
		return err
	}
	for _, m := range members {
		if err := s.messaging.Leave(ctx, g.ConversationID, m.UserID); err != nil {
			return err
		}
	}
	if err := db.Group.DeleteOne(g).Exec(ctx); err != nil {
		return fmt.Errorf("group: dissolve: %w", err)
	}
	// The Group policy allowed the owner to delete the group; its
	// conversation (messages, memberships) goes with it.
	return s.messaging.Close(ctx, g.ConversationID)
}
