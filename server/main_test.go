package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
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

// runAdmin runs the subcommand as main does, on the command line
// server <args...>, and returns its exit code, stdout and stderr.
func runAdmin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	adminArgs, ok := adminCommand(args)
	require.True(t, ok, "%q runs the admin subcommand", args)
	var stdout, stderr bytes.Buffer
	code := adminMain(context.Background(), adminArgs, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// requireAdmin runs the subcommand on args, which must succeed and print
// out.
func requireAdmin(t *testing.T, out string, args ...string) {
	t.Helper()
	code, stdout, stderr := runAdmin(t, args...)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, out, stdout)
}

// gql posts a GraphQL request to s and returns its data and first error's
// code ("" when it succeeded).
func gql(s *apptest.Server, token, query string) (json.RawMessage, string) {
	s.T.Helper()
	r := s.Do(token, query, nil)
	return r.Data, r.Code()
}

// signIn logs username in and returns a new access token.
func signIn(s *apptest.Server, username string) string {
	s.T.Helper()
	return s.Login(username, apptest.Password).Token
}

const updateSettings = `mutation { updateSettings(input: {appName: "Parley under test"}) { appName } }`

// TestAdminSubcommand: `server admin grant|revoke|list` works on the
// server's database, SQLite or PostgreSQL, named by the server's own
// flags before or after the word admin; it migrates a fresh schema; the
// granted user can then use an admin operation through the API, and after
// revoke a new sign-in cannot.
func TestAdminSubcommand(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		dbURL, dataDir := b.URL(t), t.TempDir()
		// -database-url even when empty (SQLite): flags win over a
		// DATABASE_URL in the environment.
		db := []string{"-data-dir", dataDir, "-database-url", dbURL}
		withDB := func(args ...string) []string {
			return append(append([]string{"admin"}, db...), args...)
		}

		// A fresh database: the subcommand migrates it itself.
		requireAdmin(t, "(no admins)\n", withDB("list")...)

		// The server on the same database (the data directory holds
		// SQLite's file).
		cfg := apptest.Config(t, dbURL)
		cfg.DataDir = dataDir
		srv := apptest.Start(t, cfg) // app.New must succeed

		for _, u := range []string{"alice", "bob"} {
			srv.Register(u, nil) // must succeed
		}
		before := signIn(srv, "alice")
		_, errCode := gql(srv, before, updateSettings)
		require.Equal(t, "FORBIDDEN", errCode, "not an admin yet")

		// Grant, with the flags before the word admin this time, and the
		// username in another case.
		requireAdmin(t, "alice is now an admin\n", append(db, "admin", "grant", "ALICE")...)
		token := signIn(srv, "alice")
		data, errCode := gql(srv, token, updateSettings)
		require.Empty(t, errCode, "the granted admin changes settings")
		require.JSONEq(t, `{"updateSettings": {"appName": "Parley under test"}}`, string(data))
		data, _ = gql(srv, token, `{ settings { dirtyWords } }`)
		require.JSONEq(t, `{"settings": {"dirtyWords": []}}`, string(data), "admins read the word list")
		_, errCode = gql(srv, before, updateSettings)
		require.Empty(t, errCode, "HTTP requests read the role on every request, older sessions too")
		_, errCode = gql(srv, signIn(srv, "bob"), updateSettings)
		require.Equal(t, "FORBIDDEN", errCode, "only alice was granted")

		requireAdmin(t, "alice was already an admin\n", withDB("grant", "alice")...)
		requireAdmin(t, "alice\n", withDB("list")...)

		// Unknown users and bad command lines fail with a message.
		code, out, errOut := runAdmin(t, withDB("grant", "nobody")...)
		require.Equal(t, 1, code)
		require.Empty(t, out)
		require.Contains(t, errOut, `no user named "nobody"`)
		for _, bad := range [][]string{{}, {"grant"}, {"grant", "alice", "bob"}, {"list", "alice"}, {"promote", "alice"}, {"-no-such-flag", "list"}} {
			code, out, errOut = runAdmin(t, withDB(bad...)...)
			require.Equal(t, 2, code, "%q", bad)
			require.Empty(t, out, "%q", bad)
			require.Contains(t, errOut, "usage: server", "%q", bad)
		}

		// Revoke: a new sign-in is an ordinary user again.
		requireAdmin(t, "alice is no longer an admin\n", withDB("revoke", "alice")...)
		_, errCode = gql(srv, signIn(srv, "alice"), updateSettings)
		require.Equal(t, "FORBIDDEN", errCode, "revoked")
		data, _ = gql(srv, signIn(srv, "alice"), `{ settings { dirtyWords } }`)
		require.JSONEq(t, `{"settings": {"dirtyWords": null}}`, string(data))
		requireAdmin(t, "alice was not an admin\n", withDB("revoke", "alice")...)
		requireAdmin(t, "(no admins)\n", withDB("list")...)
	})
}

// TestCommandLine: the server's command line either serves (flags only) or
// runs the admin subcommand; anything else is refused.
func TestCommandLine(t *testing.T) {
	args, ok := adminCommand([]string{"-data-dir", "/d", "admin", "-database-url", "postgres://x", "grant", "alice"})
	require.True(t, ok)
	require.Equal(t, []string{"-data-dir", "/d", "-database-url", "postgres://x", "grant", "alice"}, args)
	args, ok = adminCommand([]string{"-production", "admin", "list"})
	require.True(t, ok, "a boolean flag takes no value")
	require.Equal(t, []string{"-production", "list"}, args)
	_, ok = adminCommand([]string{"-addr", "admin"})
	require.False(t, ok, "admin as a flag's value is no subcommand")
	_, ok = adminCommand([]string{"-addr", ":8080"})
	require.False(t, ok)

	err := run([]string{"-data-dir", t.TempDir(), "serve"})
	require.ErrorContains(t, err, `unexpected argument "serve"`)
	require.True(t, strings.Contains(err.Error(), "admin"))
}
