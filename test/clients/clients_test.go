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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
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
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, s := range scripts {
				t.Run(s.file, func(t *testing.T) {
					t.Parallel()
					t.Logf("%s: %s", s.file, s.what)
					base := startServer(t, b)
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

// startServer serves a new App on a fresh database of b over real HTTP,
// with the kit's test configuration (no throttling to speak of, a fast hub
// poll), and returns its base URL.
func startServer(t *testing.T, b dbtest.Backend) string {
	t.Helper()
	s := apptest.StartWith(t, apptest.Config(t, b.URL(t)), apptest.Options{Handler: func(a *app.App) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", a.Handler())
		mux.Handle("GET /test/subscriptions", waitSubscriptions(a))
		return mux
	}})
	return s.URL
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
