package main

import (
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/app"
)

// TestConfigureLimits: the cap on mutation fields and the write and
// registration budgets are settings, from the environment or from flags
// (flags win), and negative values stop the server at start-up.
func TestConfigureLimits(t *testing.T) {
	configureCfg := func(t *testing.T, args []string) (app.Config, error) {
		cfg, _, err := configure(args, io.Discard)
		return cfg, err
	}
	base := []string{"-jwt-secret", "0123456789abcdef0123456789abcdef", "-data-dir", t.TempDir()}
	cfg, err := configureCfg(t, base)
	require.NoError(t, err)
	require.Equal(t, 10, cfg.MaxMutationFields)
	require.Equal(t, 10, cfg.RegistrationsPerHour)
	require.Equal(t, []int{120, 60, 600}, []int{cfg.MessagesPerMinute, cfg.TextsPerMinute, cfg.EntitiesPerMinute})

	t.Setenv("PARLEY_MAX_MUTATION_FIELDS", "7")
	t.Setenv("PARLEY_REGISTRATIONS_PER_HOUR", "0")
	t.Setenv("PARLEY_MESSAGES_PER_MINUTE", "30")
	t.Setenv("PARLEY_TEXTS_PER_MINUTE", "20")
	t.Setenv("PARLEY_ENTITIES_PER_MINUTE", "200")
	cfg, err = configureCfg(t, base)
	require.NoError(t, err)
	require.Equal(t, 7, cfg.MaxMutationFields)
	require.Equal(t, 0, cfg.RegistrationsPerHour)
	require.Equal(t, []int{30, 20, 200}, []int{cfg.MessagesPerMinute, cfg.TextsPerMinute, cfg.EntitiesPerMinute})

	cfg, err = configureCfg(t, append(base, "-max-mutation-fields", "3", "-messages-per-minute", "0"))
	require.NoError(t, err)
	require.Equal(t, 3, cfg.MaxMutationFields)
	require.Equal(t, 0, cfg.MessagesPerMinute)

	_, err = configureCfg(t, append(base, "-max-mutation-fields", "-1"))
	require.ErrorContains(t, err, "max-mutation-fields")
}

// TestConfigurePhoneRegion: the default region of phone numbers is CN,
// set by PARLEY_PHONE_REGION or -phone-region in any case, and an unknown
// region stops the server at start-up.
func TestConfigurePhoneRegion(t *testing.T) {
	base := []string{"-jwt-secret", "0123456789abcdef0123456789abcdef", "-data-dir", t.TempDir()}
	cfg, _, err := configure(base, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "CN", cfg.PhoneRegion)

	t.Setenv("PARLEY_PHONE_REGION", "us")
	cfg, _, err = configure(base, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "US", cfg.PhoneRegion)

	cfg, _, err = configure(append(base, "-phone-region", "GB"), io.Discard)
	require.NoError(t, err)
	require.Equal(t, "GB", cfg.PhoneRegion)

	_, _, err = configure(append(base, "-phone-region", "XX"), io.Discard)
	require.ErrorContains(t, err, "phone-region")
}

// TestConfigureWebAppURL: PARLEY_WEB_APP_URL or -web-app-url names the web
// app that room links redirect browsers to; anything but an http or https
// URL without query stops the server at start-up.
func TestConfigureWebAppURL(t *testing.T) {
	base := []string{"-jwt-secret", "0123456789abcdef0123456789abcdef", "-data-dir", t.TempDir()}
	cfg, _, err := configure(base, io.Discard)
	require.NoError(t, err)
	require.Empty(t, cfg.WebAppURL)

	t.Setenv("PARLEY_WEB_APP_URL", " https://chat.example.com ")
	cfg, _, err = configure(base, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "https://chat.example.com", cfg.WebAppURL)

	cfg, _, err = configure(append(base, "-web-app-url", "http://localhost:5173/app/"), io.Discard)
	require.NoError(t, err)
	require.Equal(t, "http://localhost:5173/app/", cfg.WebAppURL)

	for _, bad := range []string{"chat.example.com", "https://chat.example.com/?room=1"} {
		_, _, err = configure(append(base, "-web-app-url", bad), io.Discard)
		require.ErrorContains(t, err, "web-app-url")
	}
}

// TestConfigurePlayground: the playground is on in development and off in
// production, and PARLEY_PLAYGROUND or -playground (on or off) switches it
// either way; another value stops the server at start-up.
func TestConfigurePlayground(t *testing.T) {
	base := []string{"-jwt-secret", "0123456789abcdef0123456789abcdef", "-data-dir", t.TempDir()}
	playground := func(args ...string) bool {
		t.Helper()
		cfg, _, err := configure(append(append([]string{}, base...), args...), io.Discard)
		require.NoError(t, err)
		return cfg.Playground
	}
	require.True(t, playground())
	require.False(t, playground("-production"))
	require.True(t, playground("-production", "-playground", "on"))
	require.False(t, playground("-playground", "off"))

	t.Setenv("PARLEY_PLAYGROUND", "on")
	require.True(t, playground("-production"))
	require.False(t, playground("-production", "-playground", "off"))

	_, _, err := configure(append(base, "-playground", "maybe"), io.Discard)
	require.ErrorContains(t, err, "playground")
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
