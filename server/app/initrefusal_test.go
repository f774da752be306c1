package app

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// TestInitRefusal: a connection_init the server could not serve closes
// with 1013 Try Again Later (clients retry) and a reason without the
// cause; a refused token closes with 4403 and says why.
func TestInitRefusal(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		code   int
		reason string
	}{
		{"database unreachable", driver.ErrBadConn, closeTryAgainLater, apperr.ReasonDatabaseUnavailable},
		{"database slow", context.DeadlineExceeded, closeTryAgainLater, "TIMEOUT"},
		{"server fault", errors.New("unexpected"), closeTryAgainLater, "INTERNAL_SERVER_ERROR"},
		{"token invalid", apperr.Deny(apperr.ReasonTokenInvalid, "bad token"), closeForbidden, apperr.ReasonTokenInvalid},
		{"token expired", apperr.Deny(apperr.ReasonTokenExpired, "expired"), closeForbidden, apperr.ReasonTokenExpired},
		{"account disabled", apperr.Deny(apperr.ReasonAccountDisabled, "disabled"), closeForbidden, apperr.ReasonAccountDisabled},
		{"signed out", apperr.Deny(apperr.ReasonSessionRevoked, "signed out"), closeForbidden, auth.EndSignedOut},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, reason := initRefusal(apperr.Classify(c.err))
			require.Equal(t, c.code, code)
			require.Equal(t, c.reason, reason)
		})
	}
}
