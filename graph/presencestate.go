package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/parley-im/parley/internal/presence"
)

// presenceReads holds, for one response, each user's presence as it was
// first read (presence.Tracker.State), so that every field of his that
// depends on it (User.online, User.lastSeenAt) answers from that one read:
// resolved apart, the two could straddle his going offline and show him
// offline without the time his connection closed. A response, not an
// operation: each event of a subscription reads anew.
type presenceReads struct {
	mu    sync.Mutex
	users map[int]*presenceRead
}

// presenceRead is one user's read; done is closed once st and err are set.
type presenceRead struct {
	done chan struct{}
	st   presence.State
	err  error
}

type presenceReadsKey struct{}

// WithPresenceReads is a gqlgen response interceptor that gives every
// response (each event of a subscription too) fresh presence reads.
func (r *Resolver) WithPresenceReads(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return next(context.WithValue(ctx, presenceReadsKey{}, &presenceReads{users: map[int]*presenceRead{}}))
}

// presenceState returns uid's presence as the response read it, reading it
// the first time it is asked (see presenceReads).
func (r *Resolver) presenceState(ctx context.Context, uid int) (presence.State, error) {
	if r.Presence == nil {
		return presence.State{}, nil
	}
	reads, _ := ctx.Value(presenceReadsKey{}).(*presenceReads)
	if reads == nil {
		return r.Presence.State(ctx, uid)
	}
	reads.mu.Lock()
	rd := reads.users[uid]
	if rd == nil {
		rd = &presenceRead{done: make(chan struct{})}
		reads.users[uid] = rd
		reads.mu.Unlock()
		rd.st, rd.err = r.Presence.State(ctx, uid)
		close(rd.done)
		return rd.st, rd.err
	}
	reads.mu.Unlock()
	select {
	case <-rd.done:
		return rd.st, rd.err
	case <-ctx.Done():
		return presence.State{}, ctx.Err()
	}
}
