package group

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parley-im/parley/ent"
	entgroup "github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/files"
	"github.com/parley-im/parley/internal/messaging"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/settings"
)

// Invite adds friends of the viewer to a group at once: any member
// may, except in an invite-only group, where only the owner and managers
// do. Each invitee gets a group_invited notice; an application of his that
// was pending is agreed.
func (s *Service) Invite(ctx context.Context, groupID int, userIDs []int) (*ent.Group, error) {
	a, err := actAs(ctx, groupID, groupmember.RoleMember)
	if err != nil {
		return nil, err
	}
	db, me := a.db, a.me
	if !rule.MayInvite(a.group, a.member) {
		return nil, apperr.Deny(ReasonNotManager, "in an invite-only group, only the owner and managers invite")
	}
	users, err := s.newcomers(ctx, db, me, a.group, userIDs, "userIds", true)
	if err != nil {
		return nil, err
	}
	if err := s.admit(ctx, db, a.group, users, a.name()+" invited "+nameList(users)); err != nil {
		return nil, err
	}
	if err := s.invited(ctx, a.group, me, userIDsOf(users)); err != nil {
		return nil, err
	}
	return db.Group.Get(ctx, a.group.ID)
}

// admit adds users to g as plain members, counts them, joins them to the
// conversation, posts line, and agrees their pending applications.
func (s *Service) admit(ctx context.Context, db *ent.Client, g *ent.Group, users []*ent.User, line string) error {
	added, err := s.add(ctx, db, g, users)
	if err != nil {
		return err
	}
	if err := addToMemberCount(ctx, db, g.ID, len(added)); err != nil {
		return err
	}
	if err := s.messaging.Join(ctx, g.ConversationID, added...); err != nil {
		return err
	}
	if _, err := s.messaging.System(ctx, g.ConversationID, line); err != nil {
		return err
	}
	for _, uid := range added {
		pending, err := s.pending(ctx, db, g.ID, uid)
		if err != nil {
			return err
		}
		if err := s.settle(ctx, pending, notice.OperationAgreed); err != nil {
			return err
		}
	}
	return nil
}

// userIDsOf returns the ids of users, in order.
func userIDsOf(users []*ent.User) []int {
	out := make([]int, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// LinkPrefix starts a group join link, followed by the group id and
// ?t=<token>; clients that scan its QR code call joinGroup with both.
const LinkPrefix = "parley://group/"

// Link is a join link of a group and its QR code.
type Link struct {
	URL, Token, QRURL string
	ExpiresAt         time.Time
}

// JoinLink returns a join link of g issued by the viewer, or nil when he may
// not issue one: he is not a member, the group is invite-only and he does
// not manage it, or an admin turned group QR codes off (settings.QRGroup).
// The link works for LinkTTL, and only while its issuer may still invite:
// one who leaves, or loses his manager role in an invite-only group, takes
// his links' power with him. The token is signed with the group's secret
// (rule.GroupJoinToken); the GroupMember policy checks it.
func (s *Service) JoinLink(ctx context.Context, g *ent.Group) (*Link, error) {
	me := viewer.UserID(ctx)
	if me == 0 || g.JoinSecret == "" {
		return nil, nil
	}
	if on, err := s.settings.Enabled(ctx, settings.QRGroup); err != nil || !on {
		return nil, err
	}
	m, err := membershipOf(ctx, s.reader(ctx), g.ID, me)
	if err != nil || m == nil || !rule.MayInvite(g, m) {
		return nil, err
	}
	// Rounded to the hour: the link stays the same string for a while,
	// so a QR code shown twice is the same picture.
	exp := now().Add(LinkTTL).Truncate(time.Hour)
	token := rule.GroupJoinToken(g.JoinSecret, g.ID, me, exp)
	link := LinkPrefix + strconv.Itoa(g.ID) + "?t=" + token
	return &Link{URL: link, Token: token, QRURL: files.QRURL(link), ExpiresAt: exp}, nil
}

// Join makes the viewer a member: of an open group directly, or of
// any group with the token of a join link (which needs settings.QRGroup).
// Without a token, an approval group answers APPROVAL_REQUIRED (apply
// instead) and an invite-only group INVITE_ONLY.
func (s *Service) Join(ctx context.Context, groupID int, token string) (*ent.GroupMember, error) {
	db, me, err := messaging.SignedInWriter(ctx)
	if err != nil {
		return nil, err
	}
	g, err := loadGroup(ctx, db, groupID)
	if err != nil {
		return nil, err
	}
	if m, err := membershipOf(ctx, db, g.ID, me); err != nil {
		return nil, err
	} else if m != nil {
		return nil, apperr.New(apperr.Conflict, ReasonAlreadyMember, "", "you are already a member of this group")
	}
	how := " joined the group"
	if token != "" {
		if err := s.settings.Require(ctx, settings.QRGroup); err != nil {
			return nil, err
		}
		issuer, state := rule.ParseGroupJoinToken(g.JoinSecret, g.ID, token, now())
		switch state {
		case rule.TokenInvalid:
			return nil, apperr.Input(ReasonLinkInvalid, "token", "this is not a join link of this group")
		case rule.TokenExpired:
			return nil, apperr.Input(ReasonLinkExpired, "token", "this join link has expired; ask for a new one")
		}
		im, err := membershipOf(ctx, db, g.ID, issuer)
		if err != nil {
			return nil, err
		}
		if im == nil || !rule.MayInvite(g, im) {
			return nil, apperr.Deny(ReasonLinkRevoked, "whoever shared this link may no longer invite; ask for a new one")
		}
		ctx = rule.WithGroupJoinToken(ctx, token)
		how += " through a link shared by " + memberName(im)
	} else {
		switch g.JoinMode {
		case entgroup.JoinModeApproval:
			return nil, apperr.Deny(ReasonApprovalNeeded, "this group admits members on approval: apply to join")
		case entgroup.JoinModeInviteOnly:
			return nil, apperr.Deny(ReasonInviteOnly, "this group admits members by invitation only")
		}
	}
	if err := checkRoomFor(g, 1); err != nil {
		return nil, err
	}
	u, err := db.User.Get(ctx, me)
	if err != nil {
		return nil, fmt.Errorf("group: load viewer: %w", err)
	}
	if err := db.GroupMember.Create().SetGroupID(g.ID).SetUserID(me).Exec(ctx); err != nil {
		return nil, fmt.Errorf("group: join: %w", err)
	}
	if err := addToMemberCount(ctx, db, g.ID, 1); err != nil {
		return nil, err
	}
	if err := s.messaging.Join(ctx, g.ConversationID, me); err != nil {
		return nil, err
	}
	if _, err := s.messaging.System(ctx, g.ConversationID, userName(u)+how); err != nil {
		return nil, err
	}
	pending, err := s.pending(ctx, db, g.ID, me)
	if err != nil {
		return nil, err
	}
	if err := s.settle(ctx, pending, notice.OperationAgreed); err != nil {
		return nil, err
	}
	return membershipOf(ctx, db, g.ID, me)
}

// Apply asks to join a group. Its owner and managers each get a
// group_apply request, live on their notices stream; applying again while
// the application is pending renews it. An open group is joined at once
// (joined is then true); an invite-only one refuses (INVITE_ONLY).
func (s *Service) Apply(ctx context.Context, groupID int, postscript string) (g *ent.Group, joined bool, err error) {
	db, me, err := messaging.SignedInWriter(ctx)
	if err != nil {
		return nil, false, err
	}
	if g, err = loadGroup(ctx, db, groupID); err != nil {
		return nil, false, err
	}
	if m, err := membershipOf(ctx, db, g.ID, me); err != nil {
		return nil, false, err
	} else if m != nil {
		return nil, false, apperr.New(apperr.Conflict, ReasonAlreadyMember, "", "you are already a member of this group")
	}
	if postscript, err = messaging.CleanText(postscript, "postscript", noticesvc.PostscriptMax, true); err != nil {
		return nil, false, err
	}
	switch g.JoinMode {
	case entgroup.JoinModeOpen:
		if _, err := s.Join(ctx, g.ID, ""); err != nil {
			return nil, false, err
		}
		g, err = db.Group.Get(ctx, g.ID)
		return g, true, err
	case entgroup.JoinModeInviteOnly:
		return nil, false, apperr.Deny(ReasonInviteOnly, "this group admits members by invitation only")
	}
	if err := checkRoomFor(g, 1); err != nil {
		return nil, false, err
	}
	managers, err := db.GroupMember.Query().Where(
		groupmember.GroupID(g.ID), groupmember.RoleIn(rule.GroupManagerRoles...),
	).Select(groupmember.FieldUserID).Ints(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("group: managers: %w", err)
	}
	for _, to := range managers {
		if _, err := s.notices.Push(ctx, noticesvc.Spec{
			Type: notice.TypeGroupApply, From: me, To: to, GroupID: g.ID, Postscript: postscript, Request: true,
		}); err != nil {
			return nil, false, err
		}
	}
	return g, false, nil
}

// pending returns the open applications of user uid to a group: one per
// owner or manager at the time he applied.
func (s *Service) pending(ctx context.Context, db *ent.Client, groupID, uid int) ([]*ent.Notice, error) {
	list, err := db.Notice.Query().Where(
		notice.TypeEQ(notice.TypeGroupApply), notice.FromID(uid), notice.GroupID(groupID),
		notice.OperationEQ(notice.OperationNotOperated),
	).All(viewer.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("group: pending applications: %w", err)
	}
	return list, nil
}

// settle answers every copy of one application. The viewer's own copy is
// settled by the notice service, which tells him and the applicant; the
// other managers' copies are closed as the system (the viewer may not edit
// their inboxes) and each of them is told.
func (s *Service) settle(ctx context.Context, pending []*ent.Notice, op notice.Operation) error {
	me := viewer.UserID(ctx)
	var records []eventlog.Record
	applicantTold := false
	for _, n := range pending {
		if n.ToID == me {
			if _, err := s.notices.Settle(ctx, n, op); err != nil {
				return err
			}
			applicantTold = true
			continue
		}
		if err := n.Update().SetOperation(op).Exec(viewer.SystemContext(ctx)); err != nil {
			return fmt.Errorf("group: settle application: %w", err)
		}
		records = append(records, eventlog.Record{Topic: eventlog.UserTopic(n.ToID), Kind: noticesvc.KindUpdated, Actor: me, Subject: n.ID})
	}
	if !applicantTold && len(pending) > 0 && pending[0].FromID != nil {
		records = append(records, eventlog.Record{Topic: eventlog.UserTopic(*pending[0].FromID), Kind: noticesvc.KindUpdated, Actor: me, Subject: pending[0].ID})
	}
	return s.log.Append(ctx, records...)
}

// application returns the pending application of uid to group g: NOT_FOUND
// when there is none, ALREADY_HANDLED when another manager answered it.
func (s *Service) application(ctx context.Context, db *ent.Client, g *ent.Group, uid int) ([]*ent.Notice, error) {
	pending, err := s.pending(ctx, db, g.ID, uid)
	if err != nil || len(pending) > 0 {
		return pending, err
	}
	handled, err := db.Notice.Query().Where(
		notice.TypeEQ(notice.TypeGroupApply), notice.FromID(uid), notice.GroupID(g.ID),
		notice.OperationIn(notice.OperationAgreed, notice.OperationRefused),
	).Exist(viewer.SystemContext(ctx))
	switch {
	case err != nil:
		return nil, fmt.Errorf("group: applications: %w", err)
	case handled:
		return nil, apperr.New(apperr.Conflict, noticesvc.ReasonAlreadyHandled, "", "this application was already answered")
	}
	return nil, apperr.New(apperr.NotFound, apperr.ReasonNotFound, "userId", "this user has no pending application to this group")
}

// Approve admits an applicant: the group's owner or a manager. Every
// manager's copy of the application is agreed, and the applicant is told.
func (s *Service) Approve(ctx context.Context, groupID, uid int) (*ent.GroupMember, error) {
	a, err := actAs(ctx, groupID, groupmember.RoleManager)
	if err != nil {
		return nil, err
	}
	db := a.db
	pending, err := s.application(ctx, db, a.group, uid)
	if err != nil {
		return nil, err
	}
	m, err := membershipOf(ctx, db, a.group.ID, uid)
	if err != nil {
		return nil, err
	}
	if m != nil { // invited meanwhile: the application is moot
		return m, s.settle(ctx, pending, notice.OperationAgreed)
	}
	u, err := db.User.Query().Where(user.ID(uid), user.AccountStateNEQ(user.AccountStateDeleted)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, apperr.ReasonNotFound, "userId", "user not found")
	} else if err != nil {
		return nil, fmt.Errorf("group: load applicant: %w", err)
	}
	if err := checkRoomFor(a.group, 1); err != nil {
		return nil, err
	}
	line := userName(u) + " joined the group, approved by " + a.name()
	if err := s.admit(ctx, db, a.group, []*ent.User{u}, line); err != nil {
		return nil, err
	}
	return membershipOf(ctx, db, a.group.ID, uid)
}

// Refuse turns an application down: the group's owner or a manager. Every
// manager's copy is refused, and the applicant is told.
func (s *Service) Refuse(ctx context.Context, groupID, uid int) error {
	a, err := actAs(ctx, groupID, groupmember.RoleManager)
	if err != nil {
		return err
	}
	db := a.db
	pending, err := s.application(ctx, db, a.group, uid)
	if err != nil {
		return err
	}
	return s.settle(ctx, pending, notice.OperationRefused)
}
