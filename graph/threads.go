package graph

import (
	"context"

	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/internal/messaging"
)

// thread returns the thread of a message as the viewer sees it
// (messaging.Service.Threads), batched per request: a page of messages
// costs the same few queries however many of them have threads. A reply
// has none.
func (r *Resolver) thread(ctx context.Context, m *ent.Message) (*messaging.Thread, error) {
	if m.ThreadID != nil {
		return nil, nil
	}
	return batched(ctx, func(l *loaders) *dataloadgen.Loader[int, *messaging.Thread] { return l.threads },
		r.Messaging.Threads, m.ID)
}
