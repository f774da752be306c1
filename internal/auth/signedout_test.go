package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// TestSignedOut: only a revoked or expired session and a disabled account
// end a live stream; a failure to read the session (a database error, a
// cancelled context) does not.
func TestSignedOut(t *testing.T) {
	past := time.Now().Add(-time.Minute)
	future := time.Now().Add(time.Hour)
	normal := &ent.User{AccountState: user.AccountStateNormal}
	disabledUser := &ent.User{AccountState: user.AccountStateDisabled}
	withUser := func(s *ent.Session, u *ent.User) *ent.Session { s.Edges.User = u; return s }

	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"session gone":      {sessionUsable(nil), true},
		"session revoked":   {sessionUsable(withUser(&ent.Session{RevokedAt: &past, ExpiresAt: future}, normal)), true},
		"session expired":   {sessionUsable(withUser(&ent.Session{ExpiresAt: past}, normal)), true},
		"account disabled":  {sessionUsable(withUser(&ent.Session{ExpiresAt: future}, disabledUser)), true},
		"wrapped":           {fmt.Errorf("live: %w", disabled()), true},
		"still signed in":   {sessionUsable(withUser(&ent.Session{ExpiresAt: future}, normal)), false},
		"database error":    {fmt.Errorf("auth: recheck session: %w", errors.New("driver: bad connection")), false},
		"context cancelled": {context.Canceled, false},
		"other coded error": {apperr.SignIn(), false},
	} {
		if got := SignedOut(c.err); got != c.want {
			t.Errorf("%s: SignedOut(%v) = %v, want %v", name, c.err, got, c.want)
		}
	}
}
