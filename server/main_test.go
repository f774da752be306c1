package main

import (
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/app"
)

// configured is the configuration of a valid command line: a secret and a
// fresh data directory, then args.
func configured(t *testing.T, args ...string) app.Config {
	t.Helper()
	cfg, _, err := configure(commandLine(t, args), io.Discard)
	require.NoError(t, err)
	return cfg
}

// refusedAtStart: the command line of a secret, a fresh data directory and
// args stops the server at start-up with an error that names flag.
func refusedAtStart(t *testing.T, flag string, args ...string) {
	t.Helper()
	_, _, err := configure(commandLine(t, args), io.Discard)
	require.ErrorContains(t, err, flag)
}

func commandLine(t *testing.T, args []string) []string {
	return append([]string{"-jwt-secret", "0123456789abcdef0123456789abcdef", "-data-dir", t.TempDir()}, args...)
}

// TestConfigureLimits: the cap on mutation fields and the write and
// registration budgets are settings, from the environment or from flags
// (flags win), and negative values stop the server at start-up.
func TestConfigureLimits(t *testing.T) {
	cfg := configured(t)
	require.Equal(t, 10, cfg.MaxMutationFields)
	require.Equal(t, 10, cfg.RegistrationsPerHour)
	require.Equal(t, []int{120, 60, 600}, []int{cfg.MessagesPerMinute, cfg.TextsPerMinute, cfg.EntitiesPerMinute})

	t.Setenv("PARLEY_MAX_MUTATION_FIELDS", "7")
	t.Setenv("PARLEY_REGISTRATIONS_PER_HOUR", "0")
	t.Setenv("PARLEY_MESSAGES_PER_MINUTE", "30")
	t.Setenv("PARLEY_TEXTS_PER_MINUTE", "20")
	t.Setenv("PARLEY_ENTITIES_PER_MINUTE", "200")
	cfg = configured(t)
	require.Equal(t, 7, cfg.MaxMutationFields)
	require.Equal(t, 0, cfg.RegistrationsPerHour)
	require.Equal(t, []int{30, 20, 200}, []int{cfg.MessagesPerMinute, cfg.TextsPerMinute, cfg.EntitiesPerMinute})

	cfg = configured(t, "-max-mutation-fields", "3", "-messages-per-minute", "0")
	require.Equal(t, 3, cfg.MaxMutationFields)
	require.Equal(t, 0, cfg.MessagesPerMinute)

	refusedAtStart(t, "max-mutation-fields", "-max-mutation-fields", "-1")
}

// TestConfigurePhoneRegion: the default region of phone numbers is CN,
// set by PARLEY_PHONE_REGION or -phone-region in any case, and an unknown
// region stops the server at start-up.
func TestConfigurePhoneRegion(t *testing.T) {
	require.Equal(t, "CN", configured(t).PhoneRegion)
	t.Setenv("PARLEY_PHONE_REGION", "us")
	require.Equal(t, "US", configured(t).PhoneRegion)
	require.Equal(t, "GB", configured(t, "-phone-region", "GB").PhoneRegion)
	refusedAtStart(t, "phone-region", "-phone-region", "XX")
}

// TestConfigureWebAppURL: PARLEY_WEB_APP_URL or -web-app-url names the web
// app that room links redirect browsers to; anything but an http or https
// URL without query stops the server at start-up.
func TestConfigureWebAppURL(t *testing.T) {
	require.Empty(t, configured(t).WebAppURL)
	t.Setenv("PARLEY_WEB_APP_URL", " https://chat.example.com ")
	require.Equal(t, "https://chat.example.com", configured(t).WebAppURL)
	require.Equal(t, "http://localhost:5173/app/", configured(t, "-web-app-url", "http://localhost:5173/app/").WebAppURL)
	for _, bad := range []string{"chat.example.com", "https://chat.example.com/?room=1"} {
		refusedAtStart(t, "web-app-url", "-web-app-url", bad)
	}
}

// TestConfigurePlayground: the playground is on in development and off in
// production, and PARLEY_PLAYGROUND or -playground (on or off) switches it
// either way; another value stops the server at start-up.
func TestConfigurePlayground(t *testing.T) {
	playground := func(args ...string) bool { t.Helper(); return configured(t, args...).Playground }
	require.True(t, playground())
	require.False(t, playground("-production"))
	require.True(t, playground("-production", "-playground", "on"))
	require.False(t, playground("-playground", "off"))

	t.Setenv("PARLEY_PLAYGROUND", "on")
	require.True(t, playground("-production"))
	require.False(t, playground("-production", "-playground", "off"))

	refusedAtStart(t, "playground", "-playground", "maybe")
}

// TestPlaygroundURL: the start-up log names the playground as a browser on
// the machine opens it.
func TestPlaygroundURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://localhost:8080/",
		"[::]:8080":      "http://localhost:8080/",
		"127.0.0.1:9000": "http://127.0.0.1:9000/",
		"[::1]:9000":     "http://[::1]:9000/",
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		require.NoError(t, err)
		require.Equal(t, want, playgroundURL(tcp), addr)
	}
}
