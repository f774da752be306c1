package group

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/contrib/entgql"

	"github.com/parley-im/parley/ent"
	entgroup "github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// Get returns a group's public card, or nil when there is none (S0-09,
// S2-22): anyone may read it, signed in or not.
func (s *Service) Get(ctx context.Context, id int) (*ent.Group, error) {
	g, err := s.read(ctx).Group.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return g, err
}

var byName = ent.WithGroupOrder(&ent.GroupOrder{Direction: entgql.OrderDirectionAsc, Field: ent.GroupOrderFieldName})

// Search pages through the groups whose name contains query, case
// insensitively (S1-13), by name. Group cards are public, so no sign-in is
// needed. LIKE wildcards in the query match themselves.
func (s *Service) Search(ctx context.Context, query string, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.GroupConnection, error) {
	query = strings.TrimSpace(query)
	switch n := utf8.RuneCountInString(query); {
	case n == 0:
		return nil, apperr.Input(ReasonQueryTooShort, "query", "query is required")
	case n > SearchMax:
		return nil, apperr.Input(apperr.ReasonTooLong, "query", "query is longer than %d characters", SearchMax)
	}
	return s.read(ctx).Group.Query().Where(entgroup.NameContainsFold(query)).
		Paginate(ctx, after, first, before, last, byName)
}

// Mine pages through the groups the viewer is a member of, by name.
func (s *Service) Mine(ctx context.Context, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.GroupConnection, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return nil, apperr.SignIn()
	}
	return s.read(ctx).Group.Query().Where(entgroup.HasMembersWith(groupmember.UserID(me))).
		Paginate(ctx, after, first, before, last, byName)
}

// TopMembers returns what the group detail shows (S2-22): the first
// DetailMembers members, the owner first, then managers, then members in the
// order they joined.
func (s *Service) TopMembers(ctx context.Context, g *ent.Group) ([]*ent.GroupMember, error) {
	db := s.read(ctx)
	staff, err := db.GroupMember.Query().Where(
		groupmember.GroupID(g.ID), groupmember.RoleIn(groupmember.RoleOwner, groupmember.RoleManager),
	).Order(ent.Desc(groupmember.FieldRole), ent.Asc(groupmember.FieldID)).Limit(DetailMembers).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: top members: %w", err)
	}
	if len(staff) == DetailMembers {
		return staff, nil
	}
	rest, err := db.GroupMember.Query().Where(
		groupmember.GroupID(g.ID), groupmember.RoleEQ(groupmember.RoleMember),
	).Order(ent.Asc(groupmember.FieldID)).Limit(DetailMembers - len(staff)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: top members: %w", err)
	}
	return append(staff, rest...), nil
}

// AvatarSources returns what a composite group avatar is drawn from (S2-17):
// the avatars of the first AvatarSources members in the order they joined,
// one entry each, empty for a member without an avatar (draw the default).
func (s *Service) AvatarSources(ctx context.Context, g *ent.Group) ([]string, error) {
	members, err := s.read(ctx).GroupMember.Query().Where(groupmember.GroupID(g.ID)).
		Order(ent.Asc(groupmember.FieldID)).Limit(AvatarSources).WithUser().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: avatar sources: %w", err)
	}
	out := make([]string, 0, len(members))
	for _, m := range members {
		if m.Edges.User != nil {
			out = append(out, m.Edges.User.Avatar)
		}
	}
	return out, nil
}

// IsManager reports whether user uid manages g: its owner or a manager
// (S2-24).
func (s *Service) IsManager(ctx context.Context, g *ent.Group, uid int) (bool, error) {
	return s.read(ctx).GroupMember.Query().Where(
		groupmember.GroupID(g.ID), groupmember.UserID(uid),
		groupmember.RoleIn(groupmember.RoleOwner, groupmember.RoleManager),
	).Exist(ctx)
}

// MyMembership returns the viewer's membership of g, or nil.
func (s *Service) MyMembership(ctx context.Context, g *ent.Group) (*ent.GroupMember, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return nil, nil
	}
	return membership(ctx, s.read(ctx), g.ID, me)
}

// Remark returns a member's own remark for his group, to him only.
func Remark(ctx context.Context, m *ent.GroupMember) *string {
	if m.UserID != viewer.UserID(ctx) {
		return nil
	}
	return &m.Remark
}

// Muted reports whether m may not post now: muted himself, or a plain
// member while the whole group is muted.
func (s *Service) Muted(ctx context.Context, m *ent.GroupMember) (bool, error) {
	if m.MutedUntil != nil && m.MutedUntil.After(time.Now()) {
		return true, nil
	}
	if m.Role != groupmember.RoleMember {
		return false, nil
	}
	g := m.Edges.Group
	if g == nil {
		var err error
		if g, err = s.read(ctx).Group.Get(ctx, m.GroupID); err != nil {
			return false, err
		}
	}
	return g.MuteAll, nil
}

// MemberName returns what the group shows for member m (DisplayName).
func (s *Service) MemberName(ctx context.Context, m *ent.GroupMember) (string, error) {
	u := m.Edges.User
	if u == nil {
		var err error
		if u, err = s.read(ctx).User.Get(ctx, m.UserID); err != nil {
			return "", err
		}
	}
	return DisplayName(u, m.Alias), nil
}
