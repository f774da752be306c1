package group

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	entgroup "github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/internal/messaging"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/settings"
	"github.com/parley-im/parley/internal/social"
)

// CreateInput is a new group.
type CreateInput struct {
	// Name is optional: without one, the group is named after its first
	// members (DefaultName).
	Name   *string
	Notice *string
	// JoinMode defaults to approval.
	JoinMode *entgroup.JoinMode
	// MemberIDs are friends of the viewer to add at once.
	MemberIDs    []int
	AvatarFileID int
}

// Create creates a group owned by the viewer, with optional members, who must be his friends. The creator's setting createGroup must be
// on. Members are told by a group_invited notice and join the group's
// conversation at once.
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.Group, error) {
	db, me, err := messaging.SignedInWriter(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.settings.Require(ctx, settings.CreateGroup); err != nil {
		return nil, err
	}
	var name, announcement, avatar string
	if in.Name != nil {
		if name, err = messaging.CleanText(*in.Name, "input.name", NameMax, false); err != nil {
			return nil, err
		}
	}
	if in.Notice != nil {
		if announcement, err = messaging.CleanText(*in.Notice, "input.notice", NoticeMax, true); err != nil {
			return nil, err
		}
	}
	if in.AvatarFileID != 0 {
		if avatar, err = s.avatars.Avatar(ctx, in.AvatarFileID, "input.avatarFileId"); err != nil {
			return nil, err
		}
	}
	members, err := s.newcomers(ctx, db, me, nil, in.MemberIDs, "input.memberIds", false)
	if err != nil {
		return nil, err
	}
	owner, err := db.User.Get(ctx, me)
	if err != nil {
		return nil, fmt.Errorf("group: load owner: %w", err)
	}
	if name == "" {
		name = DefaultName(append([]*ent.User{owner}, members...))
	}
	conv, err := s.messaging.Open(ctx, conversation.KindGroup)
	if err != nil {
		return nil, err
	}
	create := db.Group.Create().SetName(name).SetOwnerID(me).SetConversationID(conv.ID).
		SetNotice(announcement).SetAvatar(avatar).SetMemberCount(1 + len(members)).SetJoinSecret(newSecret())
	if in.JoinMode != nil {
		create.SetJoinMode(*in.JoinMode)
	}
	g, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	if err := db.GroupMember.Create().SetGroupID(g.ID).SetUserID(me).SetRole(groupmember.RoleOwner).Exec(ctx); err != nil {
		return nil, fmt.Errorf("group: add owner: %w", err)
	}
	ids, err := s.add(ctx, db, g, members)
	if err != nil {
		return nil, err
	}
	if err := s.messaging.Join(ctx, conv.ID, append([]int{me}, ids...)...); err != nil {
		return nil, err
	}
	line := userName(owner) + " created the group"
	if len(members) > 0 {
		line += " with " + nameList(members)
	}
	if _, err := s.messaging.System(ctx, conv.ID, line); err != nil {
		return nil, err
	}
	return g, s.invited(ctx, g, me, ids)
}

// DefaultName names a group after its first members (owner first): their
// nicknames, or usernames, joined with ", " and cut with "…" to fit NameMax.
func DefaultName(users []*ent.User) string {
	name := ""
	for i, u := range users {
		part := userName(u)
		if i > 0 {
			part = ", " + part
		}
		if utf8.RuneCountInString(name+part) > NameMax {
			return string([]rune(name + part)[:NameMax-1]) + "…"
		}
		name += part
	}
	return name
}

// nameList joins the display names of users for a system message.
func nameList(users []*ent.User) string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = userName(u)
	}
	return strings.Join(out, ", ")
}

// newcomers checks the users about to be added to a group (g is nil while
// creating it): at most AddMax of them, each an existing user, a friend of
// the viewer (NOT_FRIENDS) and not yet a member (ALREADY_MEMBER). The viewer
// himself and repeated ids are dropped. Errors name the offending entry of
// field.
func (s *Service) newcomers(ctx context.Context, db *ent.Client, me int, g *ent.Group, ids []int, field string, required bool) ([]*ent.User, error) {
	if len(ids) > AddMax {
		return nil, apperr.Input(ReasonTooManyMembers, field, "add at most %d users at once", AddMax)
	}
	seen := map[int]bool{me: true}
	var users []*ent.User
	for i, id := range ids {
		at := fmt.Sprintf("%s.%d", field, i)
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := db.User.Query().Where(user.ID(id), user.AccountStateNEQ(user.AccountStateDeleted)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, apperr.New(apperr.NotFound, apperr.ReasonNotFound, at, "user not found")
		} else if err != nil {
			return nil, fmt.Errorf("group: load user: %w", err)
		}
		if friends, err := s.friends.AreFriends(ctx, me, id); err != nil {
			return nil, err
		} else if !friends {
			return nil, apperr.New(apperr.Forbidden, ReasonNotFriends, at, "you can add only your friends")
		}
		if g != nil {
			if m, err := membershipOf(ctx, db, g.ID, id); err != nil {
				return nil, err
			} else if m != nil {
				return nil, apperr.New(apperr.Conflict, ReasonAlreadyMember, at, "%s is already a member", social.DisplayName(u, m.Alias))
			}
		}
		users = append(users, u)
	}
	if required && len(users) == 0 {
		return nil, apperr.Input(apperr.ReasonRequired, field, "give at least one user to add")
	}
	if len(users)+1 > MembersMax || (g != nil && checkRoomFor(g, len(users)) != nil) {
		return nil, apperr.Deny(ReasonGroupFull, "a group holds at most %d members", MembersMax)
	}
	return users, nil
}

// add inserts plain memberships of users into g; the caller counts them and
// joins them to the conversation.
func (s *Service) add(ctx context.Context, db *ent.Client, g *ent.Group, users []*ent.User) ([]int, error) {
	if len(users) == 0 {
		return nil, nil
	}
	ids := make([]int, len(users))
	rows := make([]*ent.GroupMemberCreate, len(users))
	for i, u := range users {
		ids[i] = u.ID
		rows[i] = db.GroupMember.Create().SetGroupID(g.ID).SetUserID(u.ID)
	}
	if err := db.GroupMember.CreateBulk(rows...).Exec(ctx); err != nil {
		return nil, fmt.Errorf("group: add members: %w", err)
	}
	return ids, nil
}

// invited sends a group_invited notice from the viewer to each user.
func (s *Service) invited(ctx context.Context, g *ent.Group, from int, users []int) error {
	for _, uid := range users {
		if _, err := s.notices.Push(ctx, noticesvc.Spec{
			Type: notice.TypeGroupInvited, From: from, To: uid, GroupID: g.ID, Postscript: g.Name,
		}); err != nil {
			return err
		}
	}
	return nil
}

// Patch changes a group; nil fields stay.
type Patch struct {
	Name, Notice *string
	JoinMode     *entgroup.JoinMode
	AvatarFileID *int
	ClearAvatar  bool
}

// Update renames a group, changes its announcement, avatar or join mode:
// its owner and managers. Members see a group.updated event,
// and a system message for a new name or announcement.
func (s *Service) Update(ctx context.Context, id int, p Patch) (*ent.Group, error) {
	a, err := actAs(ctx, id, groupmember.RoleManager)
	if err != nil {
		return nil, err
	}
	me := a.me
	upd := a.group.Update()
	var lines []string
	who := a.name()
	if p.Name != nil {
		name, err := checkGroupName(*p.Name, "input.name")
		if err != nil {
			return nil, err
		}
		if name != a.group.Name {
			upd.SetName(name)
			lines = append(lines, fmt.Sprintf("%s renamed the group to “%s”", who, name))
		}
	}
	if p.Notice != nil {
		announcement, err := messaging.CleanText(*p.Notice, "input.notice", NoticeMax, true)
		if err != nil {
			return nil, err
		}
		if announcement != a.group.Notice {
			upd.SetNotice(announcement)
			if announcement == "" {
				lines = append(lines, who+" cleared the announcement")
			} else {
				lines = append(lines, who+" updated the announcement:\n"+announcement)
			}
		}
	}
	if p.JoinMode != nil {
		upd.SetJoinMode(*p.JoinMode)
	}
	avatar, err := messaging.AvatarChange(ctx, s.avatars, p.AvatarFileID, p.ClearAvatar)
	if err != nil {
		return nil, err
	}
	upd.SetNillableAvatar(avatar)
	g, err := upd.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: update: %w", err)
	}
	for _, line := range lines {
		if _, err := s.messaging.System(ctx, g.ConversationID, line); err != nil {
			return nil, err
		}
	}
	return g, s.log.Append(ctx, groupEvent(g, KindUpdated, me, g.ID, nil))
}

// UpdateMembership sets the viewer's own remark for a group, which
// only he sees, and his alias, the name the group shows for him.
func (s *Service) UpdateMembership(ctx context.Context, groupID int, remark, alias *string) (*ent.GroupMember, error) {
	a, err := actAs(ctx, groupID, groupmember.RoleMember)
	if err != nil {
		return nil, err
	}
	me := a.me
	upd := a.member.Update()
	var records []eventlog.Record
	if remark != nil {
		v, err := messaging.CleanText(*remark, "input.remark", RemarkMax, false)
		if err != nil {
			return nil, err
		}
		upd.SetRemark(v)
		records = append(records, eventlog.Record{Topic: eventlog.UserTopic(me), Kind: KindMemberUpdated, Actor: me, Subject: a.member.ID})
	}
	if alias != nil {
		v, err := messaging.CleanText(*alias, "input.alias", AliasMax, false)
		if err != nil {
			return nil, err
		}
		upd.SetAlias(v)
		if v != a.member.Alias {
			records = append(records, groupEvent(a.group, KindMemberUpdated, me, a.member.ID, nil))
		}
	}
	m, err := upd.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: update membership: %w", err)
	}
	return m, s.log.Append(ctx, records...)
}
