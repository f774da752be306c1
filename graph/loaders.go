package graph

import (
	"cmp"
	"context"
	"errors"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/ent/viewer"
)

// loaders batch the per-item look-ups of list fields (a conversation list's
// titles, avatars, unread counts and last messages) into one query per
// field, instead of one per item. They are made per query or mutation and
// read as the request's viewer, so privacy applies as everywhere. A
// subscription gets none: its fields resolve one event at a time, and a
// cache would go stale between events.
type loaders struct {
	conversation *dataloadgen.Loader[int, *ent.Conversation]
	lastMessage  *dataloadgen.Loader[int, *ent.Message]
	peer         *dataloadgen.Loader[int, *ent.User]
	group        *dataloadgen.Loader[int, *ent.Group]
	room         *dataloadgen.Loader[int, *ent.Room]
	friendship   *dataloadgen.Loader[int, *ent.Friendship]
}

type loadersKey struct{}

// WithLoaders is a gqlgen operation interceptor that gives every query and
// mutation fresh loaders.
func (r *Resolver) WithLoaders(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation != nil && oc.Operation.Operation == "subscription" {
		return next(ctx)
	}
	return next(context.WithValue(ctx, loadersKey{}, r.newLoaders()))
}

func (r *Resolver) newLoaders() *loaders {
	wait := dataloadgen.WithWait(cmp.Or(r.LoaderWait, time.Millisecond))
	return &loaders{
		conversation: keyedLoader(wait, func(ctx context.Context, ids []int) ([]*ent.Conversation, error) {
			return r.db(ctx).Conversation.Query().Where(conversation.IDIn(ids...)).All(ctx)
		}, func(c *ent.Conversation) int { return c.ID }),
		lastMessage: keyedLoader(wait, func(ctx context.Context, ids []int) ([]*ent.Message, error) {
			// The newest message not deleted for everyone, per conversation, in
			// one query; one hidden for the viewer is left out by privacy, and
			// that conversation falls back to a query of its own.
			return r.db(ctx).Message.Query().Where(
				message.ConversationIDIn(ids...), message.DeletedAtIsNil(),
				func(s *sql.Selector) {
					t := sql.Table(message.Table).As("newest")
					s.Where(sql.In(s.C(message.FieldSeq), sql.Select(sql.Max(t.C(message.FieldSeq))).From(t).Where(sql.And(
						sql.ColumnsEQ(t.C(message.FieldConversationID), s.C(message.FieldConversationID)),
						sql.IsNull(t.C(message.FieldDeletedAt)),
					))))
				},
			).All(ctx)
		}, func(m *ent.Message) int { return m.ConversationID }),
		peer: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int) (map[int]*ent.User, error) {
			rows, err := r.db(ctx).ConversationMember.Query().Where(
				conversationmember.ConversationIDIn(ids...), conversationmember.UserIDNEQ(viewer.UserID(ctx)),
			).WithUser().All(ctx)
			out := map[int]*ent.User{}
			for _, m := range rows {
				if m.Edges.User != nil {
					out[m.ConversationID] = m.Edges.User
				}
			}
			return out, err
		}, wait),
		group: keyedLoader(wait, func(ctx context.Context, ids []int) ([]*ent.Group, error) {
			return r.db(ctx).Group.Query().Where(group.ConversationIDIn(ids...)).All(ctx)
		}, func(g *ent.Group) int { return g.ConversationID }),
		room: keyedLoader(wait, func(ctx context.Context, ids []int) ([]*ent.Room, error) {
			return r.db(ctx).Room.Query().Where(room.ConversationIDIn(ids...)).All(ctx)
		}, func(rm *ent.Room) int { return rm.ConversationID }),
		friendship: keyedLoader(wait, func(ctx context.Context, ids []int) ([]*ent.Friendship, error) {
			return r.db(ctx).Friendship.Query().Where(friendship.UserID(viewer.UserID(ctx)), friendship.FriendIDIn(ids...)).All(ctx)
		}, func(f *ent.Friendship) int { return f.FriendID }),
	}
}

// keyedLoader batches a request's look-ups by id into one query whose rows
// key maps back to the ids asked for; an id without a row is not found.
func keyedLoader[V any](wait dataloadgen.Option, query func(ctx context.Context, ids []int) ([]V, error), key func(V) int) *dataloadgen.Loader[int, V] {
	return dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int) (map[int]V, error) {
		rows, err := query(ctx, ids)
		return byKey(rows, err, key)
	}, wait)
}

func byKey[V any](rows []V, err error, key func(V) int) (map[int]V, error) {
	if err != nil {
		return nil, err
	}
	out := make(map[int]V, len(rows))
	for _, v := range rows {
		out[key(v)] = v
	}
	return out, nil
}

// load reads key through the request's loader l, or with one when there is
// none (subscriptions): absent rows are nil, not errors.
func load[V any](ctx context.Context, pick func(*loaders) *dataloadgen.Loader[int, V], fallback func() (V, error), key int) (V, error) {
	var zero V
	ls, _ := ctx.Value(loadersKey{}).(*loaders)
	if ls == nil {
		v, err := fallback()
		if ent.IsNotFound(err) {
			return zero, nil
		}
		return v, err
	}
	v, err := pick(ls).Load(ctx, key)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return zero, nil
	}
	return v, err
}
