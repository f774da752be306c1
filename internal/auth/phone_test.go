package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// TestNormalizePhone: every way of writing one number gives one E.164
// form; the default region applies only to numbers without a country code;
// empty, malformed and invalid numbers are refused with their reasons.
func TestNormalizePhone(t *testing.T) {
	for _, raw := range []string{
		"13912345588", "+8613912345588", "008613912345588", "0086 139-1234-5588",
		"139 1234 5588", "+86 139-1234-5588", "(139) 1234.5588", " +86 (139) 1234 5588 ",
	} {
		got, err := NormalizePhone(raw, "CN", "input.phone")
		require.NoError(t, err, raw)
		require.Equal(t, "+8613912345588", got, raw)
	}

	// A country code wins over the default region.
	got, err := NormalizePhone("+1 202-555-0143", "CN", "input.phone")
	require.NoError(t, err)
	require.Equal(t, "+12025550143", got)
	// The default region reads a national number, with its own prefixes.
	for _, raw := range []string{"(202) 555-0143", "011 1 202 555 0143"} {
		got, err = NormalizePhone(raw, "US", "input.phone")
		require.NoError(t, err, raw)
		require.Equal(t, "+12025550143", got, raw)
	}
	got, err = NormalizePhone("13912345588", "US", "input.phone")
	require.Error(t, err, "a CN mobile without +86 is no US number")
	require.Empty(t, got)

	refused := map[string]string{
		"":                    apperr.ReasonPhoneRequired,
		"   ":                 apperr.ReasonPhoneRequired,
		"12345":               apperr.ReasonPhoneInvalid,
		"+86 123":             apperr.ReasonPhoneInvalid,
		"123":                 apperr.ReasonPhoneInvalid,
		"abc":                 apperr.ReasonPhoneInvalid,
		"12ab":                apperr.ReasonPhoneInvalid,
		"1-800-FLOWERS":       apperr.ReasonPhoneInvalid, // the parser reads letters as a keypad's
		"+8613912345588 ext1": apperr.ReasonPhoneInvalid,
		"139+12345588":        apperr.ReasonPhoneInvalid,
		"+":                   apperr.ReasonPhoneInvalid,
		"--..()":              apperr.ReasonPhoneInvalid,
		"+15550001":           apperr.ReasonPhoneInvalid,
		"1391234558８":         apperr.ReasonPhoneInvalid, // a full-width digit
	}
	refused[strings.Repeat("1", PhoneInputMax+1)] = apperr.ReasonPhoneInvalid
	for raw, reason := range refused {
		got, err := NormalizePhone(raw, "CN", "input.phone")
		e, ok := apperr.As(err)
		require.True(t, ok, "%q: %v", raw, err)
		require.Equal(t, apperr.BadUserInput, e.Code, raw)
		require.Equal(t, reason, e.Reason, raw)
		require.Equal(t, "input.phone", e.Field, raw)
		require.Empty(t, got, raw)
	}
}

// TestCheckPhoneRegion: the configured region must be one the parser knows.
func TestCheckPhoneRegion(t *testing.T) {
	require.NoError(t, CheckPhoneRegion(DefaultPhoneRegion))
	require.NoError(t, CheckPhoneRegion("US"))
	for _, bad := range []string{"", "cn", "XX", "China"} {
		require.Error(t, CheckPhoneRegion(bad), bad)
	}
}
