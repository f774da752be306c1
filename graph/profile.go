package graph

// This file is what a viewer is shown of people: the profile details and
// contact fields a user may read of another (social.ShowsDetails,
// rule.CanSeeContact), and the sign-in payloads.

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/internal/auth"
)

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func authPayload(s *auth.Session) *AuthPayload {
	if s == nil {
		return nil
	}
	return &AuthPayload{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, ExpiresAt: s.ExpiresAt, User: s.User}
}

// detail returns a profile detail of u when the viewer may read it
// (social.ShowsDetails, batched per request), else its zero value.
func detail[T any](ctx context.Context, r *Resolver, u *ent.User, value T) (T, error) {
	var zero T
	if ok, err := batched(ctx, func(l *loaders) *dataloadgen.Loader[int, bool] { return l.detail }, r.Social.ShowsDetails, u.ID); err != nil || !ok {
		return zero, err
	}
	return value, nil
}

// contact returns an email or phone of u when the viewer may see it, or
// when u is the user of the AuthPayload being resolved (payloadUser).
func (r *Resolver) contact(ctx context.Context, u *ent.User, value *string) (*string, error) {
	if payloadUser(ctx, u.ID) {
		return value, nil
	}
	ok, err := rule.CanSeeContact(ctx, r.db(ctx), u.ID)
	if err != nil || !ok {
		return nil, err
	}
	return value, nil
}

// payloadUser reports whether the field of ctx belongs to the user of an
// AuthPayload (register, login, refreshToken, changePassword) and that
// user is id. He has just proved who he is, but the request that signed
// him in carries no token, so the viewer of ctx is not him yet, and the
// privacy rules would hide his own fields from him. Only the payload's own
// user qualifies: the walk stops at the first AuthPayload above the field.
func payloadUser(ctx context.Context, id int) bool {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if p, ok := fc.Result.(*AuthPayload); ok {
			return p != nil && p.User != nil && p.User.ID == id
		}
	}
	return false
}
