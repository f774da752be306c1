package graph

import (
	"context"
	"log/slog"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/graph/auth"
	"github.com/parley-im/parley/graph/messaging"
	"github.com/parley-im/parley/graph/realtime"
)

// Resolver is the resolver root: the services resolvers delegate to.
type Resolver struct {
	Client    *ent.Client
	Auth      *auth.Service
	Messaging *messaging.Service
	Hub       *realtime.Hub
	Log       *slog.Logger
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
