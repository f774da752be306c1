package annotation

import (
	"context"

	"entgo.io/contrib/entgql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/projectinvite"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/viewer"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// CreateProjectInput is createProject's input.
type CreateProjectInput struct {
	Name string `json:"name"`
}

// InviteInput is inviteToProject's input.
type InviteInput struct {
	ProjectID int                 `json:"projectId"`
	UserID    int                 `json:"userId"`
	Role      *projectinvite.Role `json:"role"`
}

// Projects selects the projects the viewer is a member of: owned true for
// his own, false for those of others he takes part in, nil for both.
func (s *Service) Projects(ctx context.Context, owned *bool) (*ent.ProjectQuery, error) {
	uid := viewer.UserID(ctx)
	if uid == 0 {
		return nil, apperr.SignIn()
	}
	q := s.reader(ctx).Project.Query().Where(project.HasMembersWith(projectmember.UserID(uid)))
	switch {
	case owned == nil:
	case *owned:
		q.Where(project.OwnerID(uid))
	default:
		q.Where(project.OwnerIDNEQ(uid))
	}
	return q, nil
}

// MyRole returns the viewer's role in p, or nil when he is not a member
// (he sees the project because he is invited into it).
func (s *Service) MyRole(ctx context.Context, p *ent.Project) (*projectmember.Role, error) {
	m, err := s.reader(ctx).ProjectMember.Query().
		Where(projectmember.ProjectID(p.ID), projectmember.UserID(viewer.UserID(ctx))).
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &m.Role, nil
}

// CreateProject creates a project owned by the viewer, who becomes its first
// member with the role owner. Names are unique per owner by NameKey.
func (s *Service) CreateProject(ctx context.Context, in CreateProjectInput) (*ent.Project, error) {
	db, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	uid := viewer.UserID(ctx)
	name, err := cleanName(in.Name, "input.name", ProjectNameMax)
	if err != nil {
		return nil, err
	}
	if err := projectNaming.free(ctx, db, uid, 0, name, "input.name"); err != nil {
		return nil, err
	}
	p, err := db.Project.Create().SetName(name).SetNameKey(NameKey(name)).SetOwnerID(uid).Save(ctx)
	if err != nil {
		return nil, saved(err, "create project", ReasonOwnerOnly, ReasonProjectNameTaken, "input.name")
	}
	err = db.ProjectMember.Create().SetProjectID(p.ID).SetUserID(uid).SetRole(projectmember.RoleOwner).Exec(ctx)
	if err != nil {
		return nil, saved(err, "add owner", ReasonOwnerOnly, "", "")
	}
	return p, s.log.Append(ctx, record(ctx, p.ID, KindProjectCreated, p.ID, nil))
}

// DeleteProject deletes a project (its owner) and, through the foreign keys'
// ON DELETE CASCADE declared in ent/schema/annotation.go, everything in it:
// members, invites, texts and their mentions, entities, relation types and
// relations, in the one DELETE of the mutation's transaction. Notices about
// the project keep existing, without it; the invites still pending are
// cancelled first (their notices' operation becomes cancelled, and the
// invitees are told), since nobody can accept them any more. Subscribers
// get project.deleted.
func (s *Service) DeleteProject(ctx context.Context, id int) (int, error) {
	db, p, err := writing(ctx, memberProject, id, "id")
	if err != nil {
		return 0, err
	}
	if p.OwnerID != viewer.UserID(ctx) {
		// Checked before the invites are cancelled, which is written as
		// the system; the delete's policy says the same.
		return 0, apperr.Deny(ReasonOwnerOnly, "delete project: %s", reasonText[ReasonOwnerOnly])
	}
	if err := s.notices.Cancel(ctx, noticesvc.Spec{Type: notice.TypeProjectInvite, ProjectID: id}); err != nil {
		return 0, err
	}
	if err := db.Project.DeleteOneID(id).Exec(ctx); err != nil {
		return 0, denied(err, ReasonOwnerOnly, "delete project")
	}
	return id, s.log.Append(ctx, record(ctx, id, KindProjectDeleted, id, nil))
}

// LeaveProject removes the viewer from a project he takes part in.
// The owner cannot leave: he deletes the project instead.
func (s *Service) LeaveProject(ctx context.Context, id int) (int, error) {
	db, p, err := writing(ctx, memberProject, id, "id")
	if err != nil {
		return 0, err
	}
	if p.OwnerID == viewer.UserID(ctx) {
		return 0, apperr.Deny(ReasonOwnerCannotLeave, "the owner cannot leave his project; delete it instead")
	}
	return id, s.dropMember(ctx, db, p, viewer.UserID(ctx), "left")
}

// RemoveMember removes a member from a project (its owner). Removing oneself
// is leaving, which the policy lets any member do.
func (s *Service) RemoveMember(ctx context.Context, projectID, userID int) (int, error) {
	db, p, err := writing(ctx, memberProject, projectID, "projectId")
	if err != nil {
		return 0, err
	}
	if userID == p.OwnerID {
		return 0, apperr.Deny(ReasonOwnerMembershipFixed, "the owner cannot be removed from his project")
	}
	why := "removed"
	if userID == viewer.UserID(ctx) {
		why = "left"
	}
	return userID, s.dropMember(ctx, db, p, userID, why)
}

// dropMember deletes the membership of userID in p. His live project
// stream ends at the next event (its guard checks membership).
func (s *Service) dropMember(ctx context.Context, db *ent.Client, p *ent.Project, userID int, why string) error {
	m, err := member(ctx, db, p.ID, userID)
	if err != nil {
		return err
	}
	if err := db.ProjectMember.DeleteOneID(m.ID).Exec(ctx); err != nil {
		return denied(err, ReasonOwnerOnly, "remove member")
	}
	return s.log.Append(ctx, record(ctx, p.ID, KindMemberDeleted, m.ID, memberData(userID, why)))
}

// memberData is the data of a member event: whose membership changed and,
// for a deletion, why. The id is written as the number it is, like every id
// of event data; the API presents it as an ID string.
func memberData(userID int, why string) map[string]any {
	data := map[string]any{"userId": userID}
	if why != "" {
		data["why"] = why
	}
	return data
}

func member(ctx context.Context, db *ent.Client, projectID, userID int) (*ent.ProjectMember, error) {
	m, err := db.ProjectMember.Query().
		Where(projectmember.ProjectID(projectID), projectmember.UserID(userID)).
		Only(ctx)
	return m, found(err, "member", "userId")
}

// SetMemberRole changes a member's role (the owner). The owner's own role
// is fixed, and no one else can become owner: the input's type offers
// annotator and viewer only.
func (s *Service) SetMemberRole(ctx context.Context, projectID, userID int, role projectinvite.Role) (*ent.ProjectMember, error) {
	db, p, err := writing(ctx, memberProject, projectID, "projectId")
	if err != nil {
		return nil, err
	}
	if userID == p.OwnerID {
		return nil, apperr.Deny(ReasonOwnerMembershipFixed, "the owner's role cannot change")
	}
	m, err := member(ctx, db, p.ID, userID)
	if err != nil {
		return nil, err
	}
	m, err = db.ProjectMember.UpdateOneID(m.ID).SetRole(projectmember.Role(role)).Save(ctx)
	if err != nil {
		return nil, denied(err, ReasonOwnerOnly, "set role")
	}
	return m, s.log.Append(ctx, record(ctx, p.ID, KindMemberUpdated, m.ID, memberData(userID, "")))
}

// Invites selects project invites, newest first by the caller's order: with
// projectID those of a project (the policy shows the owner all of them, an
// invitee his own), otherwise those the viewer received; pending ones unless
// status says otherwise.
func (s *Service) Invites(ctx context.Context, projectID *int, status *projectinvite.Status) (*ent.ProjectInviteQuery, error) {
	uid := viewer.UserID(ctx)
	if uid == 0 {
		return nil, apperr.SignIn()
	}
	q := s.reader(ctx).ProjectInvite.Query()
	if projectID != nil {
		q.Where(projectinvite.ProjectID(*projectID))
	} else {
		q.Where(projectinvite.InviteeID(uid))
	}
	st := projectinvite.StatusPending
	if status != nil {
		st = *status
	}
	return q.Where(projectinvite.StatusEQ(st)), nil
}

// NewestInvitesFirst is the order of invite lists.
func NewestInvitesFirst() *ent.ProjectInviteOrder {
	return &ent.ProjectInviteOrder{Direction: entgql.OrderDirectionDesc, Field: ent.ProjectInviteOrderFieldCreatedAt}
}

// Watching is the guard of a project's live stream, checked before each
// event: the viewer must still be a member, so a member who leaves or is
// removed stops receiving at once. Once the project itself is gone, the
// guard lets its project.deleted event through; nothing follows it.
func (s *Service) Watching(ctx context.Context, projectID int) error {
	isMember, err := s.client.ProjectMember.Query().
		Where(projectmember.ProjectID(projectID), projectmember.UserID(viewer.UserID(ctx))).Exist(ctx)
	if err != nil || isMember {
		return err
	}
	exists, err := s.client.Project.Query().Where(project.ID(projectID)).Exist(viewer.SystemContext(ctx))
	switch {
	case err != nil:
		return err
	case exists:
		return apperr.Missing("project")
	}
	return nil
}

// Invite invites a friend of the viewer into his project. Only
// friends may be invited: the friendship is read as the system, from the
// owner's side. The invitee gets a project_invite notice, live on his
// events stream; inviting him again while that invite is pending changes
// its role and renews the notice instead of repeating them.
func (s *Service) Invite(ctx context.Context, in InviteInput) (*ent.ProjectInvite, error) {
	db, err := writer(ctx)
	if err != nil {
		return nil, err
	}
	uid := viewer.UserID(ctx)
	p, err := memberProject(ctx, db, in.ProjectID, "input.projectId")
	if err != nil {
		return nil, err
	}
	role := projectinvite.RoleAnnotator
	if in.Role != nil {
		role = *in.Role
	}
	if _, err := db.User.Get(ctx, in.UserID); err != nil {
		return nil, found(err, "user", "input.userId")
	}
	if err := notMember(ctx, db, p.ID, in.UserID, "input.userId", "this user is already a member of the project"); err != nil {
		return nil, err
	}
	friends, err := db.Friendship.Query().
		Where(friendship.UserID(uid), friendship.FriendID(in.UserID)).
		Exist(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	if !friends {
		return nil, apperr.Deny(ReasonNotFriend, "only friends can be invited into a project")
	}

	kind := KindInviteUpdated
	inv, err := db.ProjectInvite.Query().Where(
		projectinvite.ProjectID(p.ID), projectinvite.InviteeID(in.UserID),
		projectinvite.StatusEQ(projectinvite.StatusPending),
	).Only(ctx)
	switch {
	case err == nil:
		inv, err = inv.Update().SetRole(role).Save(ctx)
	case ent.IsNotFound(err):
		kind = KindInviteCreated
		inv, err = db.ProjectInvite.Create().SetProjectID(p.ID).SetInviterID(uid).
			SetInviteeID(in.UserID).SetRole(role).Save(ctx)
	}
	if err != nil {
		return nil, denied(err, ReasonOwnerOnly, "invite")
	}
	_, err = s.notices.Push(ctx, noticesvc.Spec{
		Type: notice.TypeProjectInvite, From: uid, To: in.UserID, ProjectID: p.ID, Request: true,
		Data: map[string]any{"inviteId": inv.ID, "role": role.String(), "projectName": p.Name},
	})
	if err != nil {
		return nil, err
	}
	return inv, s.log.Append(ctx, record(ctx, p.ID, kind, inv.ID, nil))
}

// notMember checks that uid is not a member of project projectID yet,
// which an invite and its acceptance both need: ALREADY_MEMBER on field,
// with message, when he is.
func notMember(ctx context.Context, db *ent.Client, projectID, uid int, field, message string) error {
	isMember, err := db.ProjectMember.Query().
		Where(projectmember.ProjectID(projectID), projectmember.UserID(uid)).Exist(ctx)
	switch {
	case err != nil:
		return err
	case isMember:
		return conflict(ReasonAlreadyMember, field, "%s", message)
	}
	return nil
}

// AcceptInvite makes the viewer a member of the invite's project with its
// role. The member is added while the invite is still pending (the
// policy lets an invitee add himself only then), then the invite is marked
// accepted and its notice settled.
func (s *Service) AcceptInvite(ctx context.Context, id int) (*ent.ProjectMember, error) {
	db, inv, err := writing(ctx, pendingInvite, id, "id")
	if err != nil {
		return nil, err
	}
	if err := notMember(ctx, db, inv.ProjectID, inv.InviteeID, "id", "you are already a member of this project"); err != nil {
		return nil, err
	}
	m, err := db.ProjectMember.Create().SetProjectID(inv.ProjectID).SetUserID(inv.InviteeID).
		SetRole(projectmember.Role(inv.Role)).Save(ctx)
	if err != nil {
		return nil, saved(err, "join project", ReasonInviteeOnly, ReasonAlreadyMember, "id")
	}
	if err := s.settle(ctx, db, inv, projectinvite.StatusAccepted, notice.OperationAgreed); err != nil {
		return nil, err
	}
	return m, s.log.Append(ctx, record(ctx, inv.ProjectID, KindMemberCreated, m.ID, memberData(m.UserID, "")))
}

// RefuseInvite refuses an invite the viewer received.
func (s *Service) RefuseInvite(ctx context.Context, id int) (*ent.ProjectInvite, error) {
	db, inv, err := writing(ctx, pendingInvite, id, "id")
	if err != nil {
		return nil, err
	}
	if err := s.settle(ctx, db, inv, projectinvite.StatusRefused, notice.OperationRefused); err != nil {
		return nil, err
	}
	return db.ProjectInvite.Get(ctx, inv.ID)
}

// pendingInvite loads an invite the viewer may answer: his own, pending.
// The owner sees his project's invites but cannot answer them.
func pendingInvite(ctx context.Context, db *ent.Client, id int, field string) (*ent.ProjectInvite, error) {
	inv, err := db.ProjectInvite.Get(ctx, id)
	switch {
	case err != nil:
		return nil, found(err, "invite", field)
	case inv.InviteeID != viewer.UserID(ctx):
		return nil, apperr.Deny(ReasonInviteeOnly, "only the invited user answers an invite")
	case inv.Status != projectinvite.StatusPending:
		return nil, conflict(ReasonInviteNotPending, field, "this invite was already %s", inv.Status)
	}
	return inv, nil
}

// settle records the answer to an invite and to its notice; both sides are
// told, the owner also on the project's stream.
func (s *Service) settle(ctx context.Context, db *ent.Client, inv *ent.ProjectInvite, status projectinvite.Status, op notice.Operation) error {
	if err := inv.Update().SetStatus(status).Exec(ctx); err != nil {
		return denied(err, ReasonInviteeOnly, "answer invite")
	}
	pending, err := db.Notice.Query().Where(
		notice.TypeEQ(notice.TypeProjectInvite), notice.ToID(inv.InviteeID),
		notice.ProjectID(inv.ProjectID), notice.OperationEQ(notice.OperationNotOperated),
	).All(ctx)
	if err != nil {
		return err
	}
	for _, n := range pending {
		if _, err := s.notices.Settle(ctx, n, op); err != nil {
			return err
		}
	}
	return s.log.Append(ctx, record(ctx, inv.ProjectID, KindInviteUpdated, inv.ID, nil))
}
