package graph

import (
	"context"

	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/internal/messaging"
)

// mentionsOf returns what a message mentions as the viewer sees it
// (messaging.Service.MessageMentions), batched per request; never nil,
// with an error too.
func (r *Resolver) mentionsOf(ctx context.Context, m *ent.Message) (*messaging.Mentions, error) {
	found, err := batched(ctx, func(l *loaders) *dataloadgen.Loader[int, *messaging.Mentions] { return l.mentions },
		r.Messaging.MessageMentions, m.ID)
	if found == nil {
		found = &messaging.Mentions{Users: []*ent.User{}}
	}
	return found, err
}

// mentionCount returns a membership's unread mentions
// (messaging.Service.MentionCounts), batched per request.
func (r *Resolver) mentionCount(ctx context.Context, m *ent.ConversationMember) (int, error) {
	return batched(ctx, func(l *loaders) *dataloadgen.Loader[int, int] { return l.mentionNum },
		r.Messaging.MentionCounts, m.ID)
}
