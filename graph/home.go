package graph

// This file holds the social reads that span several services: the home
// screen, friendships by id for a request, and the orders of the lists.

import (
	"context"

	"entgo.io/contrib/entgql"
	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
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

// home gathers the home screen from the services' reads, in a fixed number
// of queries however many friends, groups and conversations the viewer has.
func (r *Resolver) home(ctx context.Context) (*Home, error) {
	uid := viewer.UserID(ctx)
	if uid == 0 {
		return nil, apperr.SignIn()
	}
	me, err := r.db(ctx).User.Get(ctx, uid)
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
	groups, err := r.Groups.Joined(ctx)
	if err != nil {
		return nil, err
	}
	convs, err := r.Messaging.Recent(ctx, homeConversations)
	if err != nil {
		return nil, err
	}
	set, err := r.Settings.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &Home{Me: me, UnhandledApplicationCount: count, ContactBook: book, Groups: groups, Conversations: convs, Settings: set}, nil
}
