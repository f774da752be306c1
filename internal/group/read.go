package group

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"entgo.io/contrib/entgql"

	"github.com/parley-im/parley/ent"
	entgroup "github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/social"
)

// Get returns a group's public card, or nil when there is none: anyone may
// read it, signed in or not.
func (s *Service) Get(ctx context.Context, id int) (*ent.Group, error) {
	g, err := s.reader(ctx).Group.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return g, err
}

var byName = ent.WithGroupOrder(&ent.GroupOrder{Direction: entgql.OrderDirectionAsc, Field: ent.GroupOrderFieldName})

// Search pages through the groups whose name contains query, case
// insensitively, by name. Group cards are public, so no sign-in is
// needed. LIKE wildcards in the query match themselves.
func (s *Service) Search(ctx context.Context, query string, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.GroupConnection, error) {
	query, err := apperr.SearchQuery(query, true)
	if err != nil {
		return nil, err
	}
	return s.reader(ctx).Group.Query().Where(entgroup.NameContainsFold(query)).
		Paginate(ctx, after, first, before, last, byName)
}

// Mine pages through the groups the viewer is a member of, by name.
func (s *Service) Mine(ctx context.Context, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.GroupConnection, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return nil, apperr.SignIn()
	}
	return s.reader(ctx).Group.Query().Where(entgroup.HasMembersWith(groupmember.UserID(me))).
		Paginate(ctx, after, first, before, last, byName)
}

// Joined returns every group the viewer is a member of, in the order of
// his contact book: by what each shows him (Titles), as social.SortKey
// orders names.
func (s *Service) Joined(ctx context.Context) ([]*ent.Group, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return nil, apperr.SignIn()
	}
	groups, err := s.reader(ctx).Group.Query().Where(entgroup.HasMembersWith(groupmember.UserID(me))).
		Order(ent.Asc(entgroup.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: joined: %w", err)
	}
	titles, err := s.TitlesOf(ctx, groups)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(groups, func(a, b *ent.Group) int {
		return strings.Compare(social.SortKey(titles[a.ID]), social.SortKey(titles[b.ID]))
	})
	return groups, nil
}

// TopMembers returns what the group detail shows: the first
// DetailMembers members, the owner first, then managers, then members in the
// order they joined.
func (s *Service) TopMembers(ctx context.Context, g *ent.Group) ([]*ent.GroupMember, error) {
	db := s.reader(ctx)
	staff, err := db.GroupMember.Query().Where(
		groupmember.GroupID(g.ID), groupmember.RoleIn(rule.GroupManagerRoles...),
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

// AvatarSources returns what a composite group avatar is drawn from:
// the avatars of the first AvatarSources members in the order they joined,
// one entry each, empty for a member without an avatar (draw the default).
func (s *Service) AvatarSources(ctx context.Context, g *ent.Group) ([]string, error) {
	members, err := s.reader(ctx).GroupMember.Query().Where(groupmember.GroupID(g.ID)).
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

// IsManager reports whether user uid manages g (rule.ManagedGroupMember):
// its owner or a manager.
func (s *Service) IsManager(ctx context.Context, g *ent.Group, uid int) (bool, error) {
	return s.reader(ctx).GroupMember.Query().Where(groupmember.GroupID(g.ID), rule.ManagedGroupMember(uid)).Exist(ctx)
}

// MyMembership returns the viewer's membership of g, or nil.
func (s *Service) MyMembership(ctx context.Context, g *ent.Group) (*ent.GroupMember, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return nil, nil
	}
	return membershipOf(ctx, s.reader(ctx), g.ID, me)
}

// Remark returns a member's own remark for his group, to him only.
func Remark(ctx context.Context, m *ent.GroupMember) *string {
	if m.UserID != viewer.UserID(ctx) {
		return nil
	}
	return &m.Remark
}

// MemberName returns what the group shows for member m
// (social.DisplayName of his alias and user), reading his names when the
// user at hand lacks them, so that the answer is the same whatever else a
// query selected.
func (s *Service) MemberName(ctx context.Context, m *ent.GroupMember) (string, error) {
	return social.LoadDisplayName(ctx, s.reader(ctx), m.UserID, m.Edges.User, m.Alias)
}

// Titles returns what each group of groupIDs shows to the viewer in his
// lists (social.Title: his remark for it, else its name), by group id; a
// group he cannot see is left out. Two queries, however many groups.
func (s *Service) Titles(ctx context.Context, groupIDs []int) (map[int]string, error) {
	if len(groupIDs) == 0 {
		return nil, nil
	}
	groups, err := s.reader(ctx).Group.Query().Where(entgroup.IDIn(groupIDs...)).Select(entgroup.FieldName).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: titles: %w", err)
	}
	return s.TitlesOf(ctx, groups)
}

// TitlesOf is Titles for groups at hand with their names: one query.
func (s *Service) TitlesOf(ctx context.Context, groups []*ent.Group) (map[int]string, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	ids := make([]int, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	remarks, err := social.GroupRemarks(ctx, s.reader(ctx), ids)
	if err != nil {
		return nil, fmt.Errorf("group: titles: %w", err)
	}
	out := make(map[int]string, len(groups))
	for _, g := range groups {
		out[g.ID] = social.Title(g.Name, remarks[g.ID])
	}
	return out, nil
}

// MemberQueryMax is the longest member search, in characters.
const MemberQueryMax = 64

// Members pages through a group's members in order (by joining unless
// order says otherwise). A query keeps the members it finds by name
// (social.NameMatches over what the group shows for them, their username
// and nickname): the @-mention picker. The group's members are read once
// to match, so a search costs one query more than a page.
func (s *Service) Members(ctx context.Context, g *ent.Group, query *string, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int, order *ent.GroupMemberOrder) (*ent.GroupMemberConnection, error) {
	db := s.reader(ctx)
	q := db.GroupMember.Query().Where(groupmember.GroupID(g.ID))
	if query != nil && strings.TrimSpace(*query) != "" {
		text := strings.TrimSpace(*query)
		if utf8.RuneCountInString(text) > MemberQueryMax {
			return nil, apperr.Input(apperr.ReasonTooLong, "query", "query is longer than %d characters", MemberQueryMax)
		}
		all, err := db.GroupMember.Query().Where(groupmember.GroupID(g.ID)).
			Select(groupmember.FieldAlias, groupmember.FieldUserID).
			WithUser(func(u *ent.UserQuery) { u.Select(user.FieldUsername, user.FieldNickname) }).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("group: members: %w", err)
		}
		var ids []int
		for _, m := range all {
			if u := m.Edges.User; u != nil && social.NameMatches(text, memberName(m), u.Username, u.Nickname) {
				ids = append(ids, m.ID)
			}
		}
		q.Where(groupmember.IDIn(ids...))
	}
	return q.Paginate(ctx, after, first, before, last, ent.WithGroupMemberOrder(order))
}
