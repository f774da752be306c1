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
	"os/exec"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/platform/dbtest"
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
	node := apptest.RequireNode(t, "to run the npm clients in test/clients")
	apptest.NpmCI(t, ".")
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, s := range scripts {
				t.Run(s.file, func(t *testing.T) {
					t.Parallel()
					t.Logf("%s: %s", s.file, s.what)
					base := apptest.StartForScripts(t, apptest.Config(t, b.URL(t))).URL
					runScript(t, node, s.file, base)
				})
			}
		})
	}
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
