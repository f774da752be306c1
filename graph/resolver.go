package graph

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/internal/annotation"
	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/files"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/realtime"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/presence"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/settings"
	"github.com/parley-im/parley/internal/social"
)

// Services are the domain services and the platform the resolvers call.
// Each resolver is one call into one of them.
type Services struct {
	Client     *ent.Client
	Auth       *auth.Service
	Social     *social.Service
	Notices    *notice.Service
	Settings   *settings.Service
	Messaging  *messaging.Service
	Groups     *group.Service
	Rooms      *room.Service
	Files      *files.Service
	Presence   *presence.Tracker
	Annotation *annotation.Service
	Hub        *realtime.Hub
	Events     realtime.Source
}

// Options tune the GraphQL layer.
type Options struct {
	Log *slog.Logger
	// LoaderWait is how long a request's loaders gather keys before they
	// query (loaders.go); 0 means 1 ms. Tests that count statements raise
	// it, so that a busy machine cannot split a batch.
	LoaderWait time.Duration
}

// Resolver is the resolver root.
type Resolver struct {
	Services
	Log        *slog.Logger
	LoaderWait time.Duration

	streams sync.WaitGroup // live subscription pumps, for a clean shutdown
	shared  sharedMessages // liveshare.go: a new message loaded once for all its streams
}

// NewResolver returns the resolver root over s.
func NewResolver(s Services, o Options) *Resolver {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Resolver{Services: s, Log: o.Log, LoaderWait: o.LoaderWait}
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
func (r *Resolver) db(ctx context.Context) *ent.Client { return txn.Reader(ctx, r.Client) }

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
