package ratelimit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/ratelimit"
)

// viewerCtx is the context of a request by user uid.
func viewerCtx(uid int) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uid})
}

// TestBudget: each user has a budget per kind of write; past it Spend
// refuses with RATE_LIMITED, TOO_MANY_WRITES and the wait, naming the kind.
// Kinds and users are independent; a zero rate, a nil budget, a request
// without a viewer and spending nothing are never refused.
func TestBudget(t *testing.T) {
	b := ratelimit.NewBudget(ratelimit.BudgetOptions{MessagesPerMinute: 2, TextsPerMinute: 1})
	alice, bob := viewerCtx(1), viewerCtx(2)
	require.NoError(t, b.Spend(alice, ratelimit.Messages, 1))
	require.NoError(t, b.Spend(alice, ratelimit.Messages, 1))
	err := b.Spend(alice, ratelimit.Messages, 1)
	e, ok := apperr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, apperr.RateLimited, e.Code)
	require.Equal(t, apperr.ReasonTooManyWrites, e.Reason)
	require.Positive(t, e.RetryAfter)
	require.Contains(t, e.Message, "too many messages")

	require.NoError(t, b.Spend(bob, ratelimit.Messages, 1), "users are independent")
	require.NoError(t, b.Spend(alice, ratelimit.Texts, 1), "kinds are independent")
	e, _ = apperr.As(b.Spend(alice, ratelimit.Texts, 1))
	require.Contains(t, e.Message, "too many texts")

	for range 100 {
		require.NoError(t, b.Spend(alice, ratelimit.Entities, 1), "a zero rate is no limit")
	}
	require.NoError(t, b.Spend(context.Background(), ratelimit.Messages, 10), "no viewer spends nothing")
	require.NoError(t, b.Spend(viewer.SystemContext(context.Background()), ratelimit.Messages, 10), "nor does the system")
	require.NoError(t, b.Spend(alice, ratelimit.Messages, 0), "spending nothing")
	var off *ratelimit.Budget
	require.NoError(t, off.Spend(alice, ratelimit.Messages, 1_000))

	// One large write from a budget with room is allowed, then the debt waits.
	big := ratelimit.NewBudget(ratelimit.BudgetOptions{EntitiesPerMinute: 3})
	require.NoError(t, big.Spend(alice, ratelimit.Entities, 50))
	e, _ = apperr.As(big.Spend(alice, ratelimit.Entities, 1))
	require.Contains(t, e.Message, "too many annotation objects")
}
