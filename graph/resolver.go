package graph

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/graph/annotation"
	"github.com/parley-im/parley/graph/auth"
	"github.com/parley-im/parley/graph/files"
	"github.com/parley-im/parley/graph/group"
	"github.com/parley-im/parley/graph/messaging"
	"github.com/parley-im/parley/graph/notice"
	"github.com/parley-im/parley/graph/presence"
	"github.com/parley-im/parley/graph/realtime"
	"github.com/parley-im/parley/graph/room"
	"github.com/parley-im/parley/graph/settings"
	"github.com/parley-im/parley/graph/social"
)

// Resolver is the resolver root: the services resolvers delegate to.
type Resolver struct {
	Client    *ent.Client
	Auth      *auth.Service
	Messaging *messaging.Service
	Social    *social.Service
	Inbox     *notice.Service
	Toggles   *settings.Service
	Presence  *presence.Tracker
	Hub       *realtime.Hub
	Events    realtime.Source
	Log       *slog.Logger

	// Annotation holds the rules of annotation projects (issue 5).
	Annotation *annotation.Service

	// Files stores uploads and signs their URLs (issue 4, graph/files).
	Files *files.Service

	// Groups holds the rules of chat groups (issue 4, graph/group).
	Groups *group.Service
	// Rooms holds the rules of public rooms (issue 4, graph/room).
	Rooms *room.Service

	// LoaderWait is how long a request's loaders gather keys before they
	// query (loaders.go); 0 means 1 ms. Tests that count statements raise
	// it, so that a busy machine cannot split a batch.
	LoaderWait time.Duration

	streams sync.WaitGroup // live subscription pumps, for a clean shutdown
	shared  sharedMessages // liveshare.go: a new message loaded once for all its streams
}

// WaitStreams waits until every subscription stream has handed over its last
// event, or timeout passes; the server calls it after stopping the hub and
// before closing connections, so clients receive the stream.closed event.
func (r *Resolver) WaitStreams(timeout time.Duration) {
	done := make(chan struct{})
	go func() { r.streams.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// db returns the client of the request's transaction (mutations run in one,
// see entgql.Transactioner) or the root client for queries.
func (r *Resolver) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return r.Client
}

// clientKey carries where a request comes from (set by the HTTP layer).
type clientKey struct{}

// WithClientInfo stores the request's address and user agent in ctx.
func WithClientInfo(ctx context.Context, c auth.Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

func clientInfo(ctx context.Context) auth.Client {
	c, _ := ctx.Value(clientKey{}).(auth.Client)
	return c
}
