package graph

import (
	"context"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/internal/messaging"
)

// batched reads key through the request's loader pick, whose batch
// function is batch, or with batch alone when the request has no loaders
// (subscriptions): the rule is batch's either way, and absent keys are the
// zero value.
func batched[V any](ctx context.Context, pick func(*loaders) *dataloadgen.Loader[int, V], batch func(context.Context, []int) (map[int]V, error), key int) (V, error) {
	return load(ctx, pick, func() (V, error) {
		found, err := batch(ctx, []int{key})
		return found[key], err
	}, key)
}

// lastMessage returns the newest message of a conversation the viewer sees
// (messaging.Service.LastMessages), or nil.
func (r *Resolver) lastMessage(ctx context.Context, convID int) (*ent.Message, error) {
	return batched(ctx, func(l *loaders) *dataloadgen.Loader[int, *ent.Message] { return l.lastMessage },
		r.Messaging.LastMessages, convID)
}

// peer returns the other person of a direct conversation
// (messaging.Service.Peers), nil for others.
func (r *Resolver) peer(ctx context.Context, convID int) (*ent.User, error) {
	return batched(ctx, func(l *loaders) *dataloadgen.Loader[int, *ent.User] { return l.peer },
		r.Messaging.Peers, convID)
}

// heading returns the title and avatar a list shows for a conversation
// (messaging.Service.Headings).
func (r *Resolver) heading(ctx context.Context, convID int) (messaging.Heading, error) {
	return batched(ctx, func(l *loaders) *dataloadgen.Loader[int, messaging.Heading] { return l.heading },
		r.Messaging.Headings, convID)
}

// title is the title of a conversation in the viewer's list.
func (r *Resolver) title(ctx context.Context, convID int) (string, error) {
	h, err := r.heading(ctx, convID)
	return h.Title, err
}

// avatar is the avatar of a conversation in the viewer's list.
func (r *Resolver) avatar(ctx context.Context, convID int) (string, error) {
	h, err := r.heading(ctx, convID)
	return h.Avatar, err
}

// unreadCount returns the unread count of a membership
// (messaging.Service.UnreadCounts).
func (r *Resolver) unreadCount(ctx context.Context, memberID int) (int, error) {
	return batched(ctx, func(l *loaders) *dataloadgen.Loader[int, int] { return l.unread },
		r.Messaging.UnreadCounts, memberID)
}

// lastActivity returns when a membership's conversation last had a
// message, as the viewer's list sorts it (messaging.Service.LastActivities).
func (r *Resolver) lastActivity(ctx context.Context, memberID int) (*time.Time, error) {
	return batched(ctx, func(l *loaders) *dataloadgen.Loader[int, *time.Time] { return l.activity },
		r.Messaging.LastActivities, memberID)
}

// parts presents the parts of a message the viewer is shown
// (messaging.VisibleParts), with fresh URLs for its files.
func (r *Resolver) parts(ctx context.Context, m *ent.Message) ([]*MessagePart, error) {
	shown := messaging.VisibleParts(m)
	out := make([]*MessagePart, 0, len(shown))
	for _, p := range shown {
		part := &MessagePart{Category: MessagePartCategory(p.Category), Content: p.Content}
		if p.URL != "" {
			part.URL = &p.URL
		}
		if p.FileID != 0 {
			name, size := p.Name, int(p.Size)
			part.Name, part.Size = &name, &size
			if f, err := r.db(ctx).File.Get(ctx, p.FileID); err == nil {
				part.File = f
				u := r.Files.URL(ctx, f)
				part.URL = &u
			}
		}
		out = append(out, part)
	}
	return out, nil
}
