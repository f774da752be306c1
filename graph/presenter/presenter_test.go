package presenter_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/graph/presenter"
)

// TestInternalErrors: an unexpected error shows only a request id; one the
// classifier recognises as the database being unavailable says so in its
// reason, so that a client knows it may retry, and its cause (which may
// name hosts and users) stays out of the answer either way.
func TestInternalErrors(t *testing.T) {
	present := presenter.Presenter(slog.New(slog.DiscardHandler))
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)

	plain := present(ctx, errors.New("pq: password authentication failed for user secret"))
	require.Equal(t, "INTERNAL_SERVER_ERROR", plain.Extensions["code"])
	require.NotContains(t, plain.Extensions, "reason")
	require.Contains(t, plain.Message, "internal server error")
	require.NotContains(t, plain.Message, "secret")

	busy := present(ctx, fmt.Errorf("load: %w", &pq.Error{Code: "53300", Message: "sorry, too many clients already on db.internal"}))
	require.Equal(t, "INTERNAL_SERVER_ERROR", busy.Extensions["code"])
	require.Equal(t, "DATABASE_UNAVAILABLE", busy.Extensions["reason"])
	require.NotContains(t, busy.Message, "db.internal")
}
