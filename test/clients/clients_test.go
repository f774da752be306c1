// Package clients_test runs real GraphQL clients from npm (graphql-http,
// graphql-ws, subscriptions-transport-ws, Apollo Client) against a real
// Parley server started in-process, so that "works with the clients people
// use" is checked by `go test ./...` rather than claimed.
//
// Each *.mjs script in this folder is one check: it gets the server's base
// URL as its only argument, prints what it does and exits 0 on success. The
// npm packages are pinned in package.json and package-lock.json; the test
// runs `npm ci` when node_modules is missing or older than the lock file.
package clients_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/platform/dbtest"

	_ "github.com/lib/pq" // freshSchema talks to PostgreSQL directly
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-im/parley/server/app"
)

// scripts are the client checks, one server (and one fresh database) each.
var scripts = []struct{ file, what string }{
	{"audit.mjs", "graphql-http's GraphQL-over-HTTP audit: no error, no warning"},
	{"graphqlws.mjs", "graphql-ws client: live events, then resume after a disconnect"},
	{"legacyws.mjs", "subscriptions-transport-ws client (legacy protocol): live events"},
	{"apollo.mjs", "Apollo Client over HTTP and graphql-ws: a small user story"},
}

// scriptTimeout bounds one script; each normally takes about a second.
const scriptTimeout = 60 * time.Second

// TestClients runs every script against its own server, on SQLite and, when
// TEST_DATABASE_URL is set, on PostgreSQL.
func TestClients(t *testing.T) {
	node := requireNode(t)
	installDeps(t)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range scripts {
				t.Run(s.file, func(t *testing.T) {
					t.Parallel()
					t.Logf("%s: %s", s.file, s.what)
					base := startServer(t, b.url(t))
					runScript(t, node, s.file, base)
				})
			}
		})
	}
}

// requireNode returns the path of node. A missing node fails the test
// instead of skipping it: a skipped client suite would look like a green one.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (needed to run the npm clients in test/clients): %v\n"+
			"install Node.js 20 or later, then run go test again", err)
	}
	return node
}

var (
	installOnce sync.Once
	installErr  error
	installLog  []byte
)

// installDeps runs `npm ci` when node_modules is missing or older than
// package-lock.json (npm writes node_modules/.package-lock.json last, so its
// time says when node_modules was installed), so that `go test ./...` works
// on a fresh checkout and after a dependency bump.
func installDeps(t *testing.T) {
	t.Helper()
	installOnce.Do(func() {
		lock, err := os.Stat("package-lock.json")
		if err != nil {
			installErr = err
			return
		}
		installed, err := os.Stat(filepath.Join("node_modules", ".package-lock.json"))
		if err == nil && !installed.ModTime().Before(lock.ModTime()) {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			installErr = errors.New("npm is not installed; it comes with Node.js")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		installLog, installErr = cmd.CombinedOutput()
	})
	if installErr != nil {
		t.Fatalf("npm ci in test/clients: %v\n%s", installErr, installLog)
	}
}

// backend is one database the scripts run on.
type backend struct {
	name string
	url  func(t *testing.T) string // a fresh, empty database (or schema) per call
}

// backends returns SQLite always and PostgreSQL when TEST_DATABASE_URL is
// set, like the server/app tests.
func backends() []backend {
	bs := []backend{{name: "sqlite", url: func(*testing.T) string { return "" }}}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		bs = append(bs, backend{name: "postgres", url: func(t *testing.T) string { return dbtest.Schema(t, base) }})
	}
	return bs
}

// startServer serves a new App over real HTTP and returns its base URL. The
// configuration is the development default with test speed-ups: the
// cheapest bcrypt, no sign-in, registration or write throttling, a fast
// hub poll.
func startServer(t *testing.T, dbURL string) string {
	t.Helper()
	cfg := app.Defaults()
	cfg.DatabaseURL = dbURL
	cfg.DataDir = t.TempDir()
	cfg.UploadDir = t.TempDir()
	cfg.JWTSecret = []byte("test-secret-test-secret-test-secret!")
	cfg.BcryptCost = bcrypt.MinCost
	cfg.LoginBurst = 1000
	cfg.LoginAddressBurst, cfg.LoginAccountBurst = 100_000, 100_000
	cfg.RegistrationsPerHour = 0
	cfg.MessagesPerMinute, cfg.TextsPerMinute, cfg.EntitiesPerMinute = 0, 0, 0
	cfg.HubPollInterval = 200 * time.Millisecond
	cfg.KeepAlive = 5 * time.Second

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", a.Handler())
	mux.Handle("GET /test/subscriptions", waitSubscriptions(a))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.BaseContext = func(net.Listener) context.Context { return a.BaseContext() }
	srv.Start()
	t.Cleanup(func() {
		a.Close()
		srv.Close()
	})
	return srv.URL
}

// waitSubscriptions serves GET /test/subscriptions?atLeast=N next to the
// API, for the scripts only: it answers once the app's hub holds at least N
// subscriptions (504 after 10 s). A client cannot otherwise know when the
// server has registered its subscription, and a live-only subscription
// misses what commits before that; server/app's tests wait the same way.
func waitSubscriptions(a *app.App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("atLeast"))
		if err != nil {
			http.Error(w, "atLeast must be a number", http.StatusBadRequest)
			return
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := a.Hub.Stats().Subscriptions
			if got >= n {
				fmt.Fprintln(w, got)
				return
			}
			if time.Now().After(deadline) || r.Context().Err() != nil {
				http.Error(w, fmt.Sprintf("%d subscriptions, want %d", got, n), http.StatusGatewayTimeout)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// runScript runs `node script baseURL` in this folder and fails the test,
// with the script's output, unless it exits 0. The output is logged either
// way, so `go test -v` shows what the clients saw.
func runScript(t *testing.T, node, script, baseURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, node, script, baseURL).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("node %s timed out after %s; output:\n%s", script, scriptTimeout, out)
	}
	if err != nil {
		t.Fatalf("node %s failed (%v); output:\n%s", script, err, out)
	}
	t.Logf("node %s passed in %s; output:\n%s", script, time.Since(start).Round(time.Millisecond), out)
}
