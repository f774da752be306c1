package graph

// This file holds the social reads that span several services: the home
// screen, friendships by id for a request, and the orders of the lists.

import (
	"context"
	"slices"
	"strings"

	"entgo.io/contrib/entgql"
	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/social"
)

// newestNotices orders inboxes newest first.
var newestNotices = ent.WithNoticeOrder(&ent.NoticeOrder{Direction: entgql.OrderDirectionDesc, Field: ent.NoticeOrderFieldCreatedAt})

// contactOrder is the friends connection's order unless asked otherwise:
// the contact book's, kept in the rows by the social service.
var contactOrder = &ent.FriendshipOrder{Direction: entgql.OrderDirectionAsc, Field: ent.FriendshipOrderFieldSortKey}

// signedIn refuses anonymous requests to the viewer's own lists.
func signedIn(ctx context.Context) error {
	if viewer.UserID(ctx) == 0 {
		return apperr.SignIn()
	}
	return nil
}

// friendship returns the viewer's side of his friendship with uid, or nil.
func (r *Resolver) friendship(ctx context.Context, uid int) (*ent.Friendship, error) {
	me := viewer.UserID(ctx)
	if me == 0 || me == uid {
		return nil, nil
	}
	return load(ctx, func(l *loaders) *dataloadgen.Loader[int, *ent.Friendship] { return l.friendship },
		func() (*ent.Friendship, error) {
			return r.db(ctx).Friendship.Query().Where(friendship.UserID(me), friendship.FriendID(uid)).Only(ctx)
		}, uid)
}

// homeConversations is how many conversations the home screen lists.
const homeConversations = 50

// home gathers the home screen in a fixed number of queries, however
// many friends, groups and conversations the viewer has.
func (r *Resolver) home(ctx context.Context) (*Home, error) {
	uid := viewer.UserID(ctx)
	if uid == 0 {
		return nil, apperr.SignIn()
	}
	db := r.db(ctx)
	me, err := db.User.Get(ctx, uid)
	if err != nil {
		return nil, err
	}
	count, err := r.Social.UnhandledApplications(ctx, uid)
	if err != nil {
		return nil, err
	}
	book, err := r.Social.ContactBook(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := db.Group.Query().Where(group.HasMembersWith(groupmember.UserID(uid))).
		Order(ent.Asc(group.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.byTitle(ctx, groups); err != nil {
		return nil, err
	}
	members, err := db.ConversationMember.Query().
		Where(conversationmember.UserID(uid), conversationmember.Active(true), conversationmember.Removed(false)).
		WithConversation().
		Order(ent.Desc(conversationmember.FieldPinned), ent.Desc(conversationmember.FieldUpdatedAt)).
		Limit(homeConversations).All(ctx)
	if err != nil {
		return nil, err
	}
	convs := make([]*ent.Conversation, 0, len(members))
	for _, m := range members {
		if m.Edges.Conversation != nil {
			convs = append(convs, m.Edges.Conversation)
		}
	}
	set, err := r.Settings.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &Home{Me: me, UnhandledApplicationCount: count, ContactBook: book, Groups: groups, Conversations: convs, Settings: set}, nil
}

// byTitle sorts groups by what they show the viewer (groupsvc.TitlesOf: his
// remark, else the name), in the contact book's order (social.SortKey).
func (r *Resolver) byTitle(ctx context.Context, groups []*ent.Group) error {
	titles, err := r.Groups.TitlesOf(ctx, groups)
	if err != nil {
		return err
	}
	slices.SortStableFunc(groups, func(a, b *ent.Group) int {
		return strings.Compare(social.SortKey(titles[a.ID]), social.SortKey(titles[b.ID]))
	})
	return nil
}
