// Package viewer carries who is acting through the context. The ent privacy
// policies (ent/schema/policy.go) read it to decide every read and write, so a
// request that has no viewer can reach only what is public.
package viewer

import "context"

// Viewer is the identity a request acts as.
type Viewer struct {
	// UserID is the signed-in user; zero for the system viewer.
	UserID int
	// SessionID names the signed-in device (logout revokes it).
	SessionID int
	// Admin grants the administration operations of seed 002.
	Admin bool
	// System marks internal work that has no user behind it (registration,
	// sign-in look-ups, the event hub). Only server code can create it.
	System bool
}

type ctxKey struct{}

// NewContext returns ctx acting as v.
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// FromContext returns the viewer of ctx, or nil for an anonymous request.
func FromContext(ctx context.Context) *Viewer {
	v, _ := ctx.Value(ctxKey{}).(*Viewer)
	return v
}

// UserID returns the signed-in user of ctx, or 0.
func UserID(ctx context.Context) int {
	if v := FromContext(ctx); v != nil {
		return v.UserID
	}
	return 0
}

// SystemContext returns ctx acting as the system. It exists for the few
// operations that must run before anyone is signed in (registration, sign-in)
// and for background work such as tailing the event log.
func SystemContext(ctx context.Context) context.Context {
	return NewContext(ctx, &Viewer{System: true})
}
