package apperr_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// TestClassify: an *Error anywhere in the chain is kept as it is; ent's
// errors become the client's codes (a missing viewer UNAUTHENTICATED,
// not-found NOT_FOUND, a privacy denial FORBIDDEN, a constraint CONFLICT),
// a deadline a TIMEOUT; anything else is INTERNAL_SERVER_ERROR with its
// cause kept for the log and out of the message. The ent errors are real
// ones, from a database.
func TestClassify(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		_, notFound := c.Setting.Get(sys, 4242)
		require.Error(t, notFound)
		require.NoError(t, c.Setting.Create().SetKey("k").Exec(sys))
		constraint := c.Setting.Create().SetKey("k").Exec(sys)
		require.Error(t, constraint)
		denied := c.Setting.Create().SetKey("x").Exec(viewer.NewContext(context.Background(), &viewer.Viewer{UserID: 1}))
		require.Error(t, denied)
		anonymous := c.Group.Create().SetName("g").Exec(context.Background())
		require.ErrorIs(t, anonymous, rule.ErrNoViewer)

		own := apperr.Input(apperr.ReasonTooLong, "input.name", "too long")
		cause := errors.New("disk on fire")
		tooMany := &pq.Error{Code: "53300", Message: "sorry, too many clients already"}
		syntax := &pq.Error{Code: "42601", Message: "syntax error"}
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		for _, tc := range []struct {
			name         string
			err          error
			code         apperr.Code
			reason, msg  string
			keepsCause   error
			sameAsTheOne *apperr.Error
		}{
			{"own error", own, apperr.BadUserInput, apperr.ReasonTooLong, "too long", nil, own},
			{"own error, wrapped", fmt.Errorf("creating: %w", own), apperr.BadUserInput, apperr.ReasonTooLong, "too long", nil, own},
			{"no viewer", fmt.Errorf("x: %w", rule.ErrNoViewer), apperr.Unauthenticated, apperr.ReasonSignInRequired, "sign in first", nil, nil},
			{"not found", notFound, apperr.NotFound, apperr.ReasonNotFound, "object not found", nil, nil},
			{"privacy denial", denied, apperr.Forbidden, apperr.ReasonNotAllowed, "not allowed", nil, nil},
			{"denial, bare", fmt.Errorf("x: %w", privacy.Deny), apperr.Forbidden, apperr.ReasonNotAllowed, "not allowed", nil, nil},
			{"constraint", constraint, apperr.Conflict, apperr.ReasonDuplicate, "conflicts with existing data", nil, nil},
			{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), apperr.Internal, "TIMEOUT", "request timed out", nil, nil},
			{"too many connections", fmt.Errorf("query: %w", tooMany), apperr.Internal, apperr.ReasonDatabaseUnavailable, "the database is unavailable for a moment: try again", tooMany, nil},
			{"connection refused", fmt.Errorf("query: %w", refused), apperr.Internal, apperr.ReasonDatabaseUnavailable, "the database is unavailable for a moment: try again", refused, nil},
			{"a statement refused", fmt.Errorf("query: %w", syntax), apperr.Internal, "", "internal server error", syntax, nil},
			{"anything else", cause, apperr.Internal, "", "internal server error", cause, nil},
		} {
			got := apperr.Classify(tc.err)
			require.Equal(t, tc.code, got.Code, tc.name)
			require.Equal(t, tc.reason, got.Reason, tc.name)
			require.Equal(t, tc.msg, got.Message, tc.name)
			if tc.sameAsTheOne != nil {
				require.Same(t, tc.sameAsTheOne, got, tc.name)
			}
			if tc.keepsCause != nil {
				require.ErrorIs(t, got, tc.keepsCause, "%s: the cause is kept for the log", tc.name)
				require.NotContains(t, got.Message, tc.keepsCause.Error(), "%s: and never shown", tc.name)
			}
		}
		// A write without a viewer, refused by a policy for it.
		require.Equal(t, apperr.SignIn(), apperr.Classify(anonymous))
	})
}

// TestExtensions: code always; reason, field and retryAfter when set, the
// wait in whole seconds rounded up and at least one.
func TestExtensions(t *testing.T) {
	require.Equal(t, map[string]any{"code": "NOT_FOUND", "reason": "NOT_FOUND"}, apperr.Missing("group").Extensions())
	require.Equal(t, map[string]any{"code": "BAD_USER_INPUT", "reason": "TOO_LONG", "field": "input.name"},
		apperr.Input(apperr.ReasonTooLong, "input.name", "name too long").Extensions())
	require.Equal(t, map[string]any{"code": "UNAUTHENTICATED", "reason": "SIGN_IN_REQUIRED"}, apperr.SignIn().Extensions())
	require.Equal(t, map[string]any{"code": "FORBIDDEN", "reason": "NOT_OWNER"}, apperr.Deny("NOT_OWNER", "only the owner").Extensions())
	require.Equal(t, map[string]any{"code": "INTERNAL_SERVER_ERROR"}, (&apperr.Error{Code: apperr.Internal}).Extensions())

	limited := apperr.Limited(apperr.ReasonTooManyWrites, "", 1500*time.Millisecond, "wait")
	require.Equal(t, map[string]any{"code": "RATE_LIMITED", "reason": "TOO_MANY_WRITES", "retryAfter": 2}, limited.Extensions())
	require.Equal(t, time.Second, apperr.Limited("R", "", 0, "now").RetryAfter, "a refusal always says to wait a second at least")

	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, time.Second + 1: 2, 59 * time.Second: 59} {
		require.Equal(t, want, apperr.RetrySeconds(d), "%s", d)
	}
}

// TestErrorChain: the message shows the cause only in logs (Error), the
// cause unwraps, and As and Known find an *Error through wrapping.
func TestErrorChain(t *testing.T) {
	cause := errors.New("connection reset")
	e := &apperr.Error{Code: apperr.Internal, Message: "internal server error", Err: cause}
	require.Equal(t, "internal server error: connection reset", e.Error())
	require.ErrorIs(t, e, cause)
	require.Equal(t, "group not found", apperr.Missing("group").Error())

	wrapped := fmt.Errorf("loading: %w", e)
	got, ok := apperr.As(wrapped)
	require.True(t, ok)
	require.Same(t, e, got)
	require.Same(t, e, apperr.Known(wrapped))
	_, ok = apperr.As(cause)
	require.False(t, ok)
	require.Nil(t, apperr.Known(cause))
}
