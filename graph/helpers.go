package graph

import (
	"context"

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
// (social.ShowsDetail), else its zero value.
func detail[T any](ctx context.Context, r *Resolver, u *ent.User, value T) (T, error) {
	var zero T
	if ok, err := r.Social.ShowsDetail(ctx, u.ID); err != nil || !ok {
		return zero, err
	}
	return value, nil
}

// contact returns an email or phone of u when the viewer may see it.
func (r *Resolver) contact(ctx context.Context, u *ent.User, value *string) (*string, error) {
	ok, err := rule.CanSeeContact(ctx, r.db(ctx), u.ID)
	if err != nil || !ok {
		return nil, err
	}
	return value, nil
}
