package graph

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/messaging"
)

// loaders batch the per-item look-ups of list fields (a conversation list's
// titles, avatars, unread counts and last messages) into one query per
// field, instead of one per item. They are made per query or mutation and
// read as the request's viewer, so privacy applies as everywhere. A
// subscription gets none: its fields resolve one event at a time, and a
// cache would go stale between events.
//
// The rules they batch are the services': each loader's batch function is
// one call into a service (messaging's read model for the conversation
// list), which takes many keys at once.
type loaders struct {
	lastMessage *dataloadgen.Loader[int, *ent.Message]      // by conversation id
	peer        *dataloadgen.Loader[int, *ent.User]         // by conversation id
	heading     *dataloadgen.Loader[int, messaging.Heading] // by conversation id
	unread      *dataloadgen.Loader[int, int]               // by conversation member id
	activity    *dataloadgen.Loader[int, *time.Time]        // by conversation member id
	friendship  *dataloadgen.Loader[int, *ent.Friendship]
	groupTitle  *dataloadgen.Loader[int, string]                // by group id
	detail      *dataloadgen.Loader[int, bool]                  // by user id: social.ShowsDetails
	reactions   *dataloadgen.Loader[int, []*messaging.Reaction] // by message id
	receipts    *dataloadgen.Loader[*ent.Message, messaging.Receipt]
	mentions    *dataloadgen.Loader[int, *messaging.Mentions] // by message id
	mentionNum  *dataloadgen.Loader[int, int]                 // by conversation member id
	threads     *dataloadgen.Loader[int, *messaging.Thread]   // by root message id
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
		lastMessage: dataloadgen.NewMappedLoader(r.Messaging.LastMessages, wait),
		peer:        dataloadgen.NewMappedLoader(r.Messaging.Peers, wait),
		heading:     dataloadgen.NewMappedLoader(r.Messaging.Headings, wait),
		unread:      dataloadgen.NewMappedLoader(r.Messaging.UnreadCounts, wait),
		activity:    dataloadgen.NewMappedLoader(r.Messaging.LastActivities, wait),
		groupTitle:  dataloadgen.NewMappedLoader(r.Groups.Titles, wait),
		detail:      dataloadgen.NewMappedLoader(r.Social.ShowsDetails, wait),
		reactions:   dataloadgen.NewMappedLoader(r.Messaging.Reactions, wait),
		receipts:    dataloadgen.NewMappedLoader(r.Messaging.Receipts, wait),
		mentions:    dataloadgen.NewMappedLoader(r.Messaging.MessageMentions, wait),
		mentionNum:  dataloadgen.NewMappedLoader(r.Messaging.MentionCounts, wait),
		threads:     dataloadgen.NewMappedLoader(r.Messaging.Threads, wait),
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
