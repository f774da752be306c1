// Package browser_test runs Parley's pages in a real browser: headless
// Chromium, driven by playwright-core from npm, against one real server
// started in-process, with every request off this machine refused.
//
// Each *.spec.mjs in this folder is one check, run as a subtest with
// `node <spec>`; lib.mjs says what a spec gets (the server's URL, the
// Chromium, a folder for screenshots) and gives the browser with the
// network cut off. To add a check, add a spec: it shares the one server and
// its database with the others, so it registers names of its own. Routes a
// spec needs beside the API are added in startServer.
//
// Chromium is /usr/bin/chromium (PARLEY_CHROMIUM names another); without it
// or node the test fails rather than skips, since a skipped browser test
// would look like a passing one. Screenshots go to each subtest's artifact
// directory: `go test ./test/browser -v -artifacts -outputdir DIR` keeps
// them (the log names each file).
package browser_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// specTimeout bounds one spec; the playground's takes a few seconds.
const specTimeout = 3 * time.Minute

// TestBrowser starts one server and runs every spec against it, one after
// the other (each drives a Chromium of its own). The server runs on
// PostgreSQL when TEST_DATABASE_URL is set, on SQLite otherwise: what the
// specs check is the page, which is the same on both.
func TestBrowser(t *testing.T) {
	node := require(t, "node", lookPath("node"))
	chromium := os.Getenv("PARLEY_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	require(t, "Chromium", stat(chromium))
	specs, err := filepath.Glob("*.spec.mjs")
	if err != nil || len(specs) == 0 {
		t.Fatalf("no *.spec.mjs in test/browser (%v)", err)
	}
	sort.Strings(specs)
	installDeps(t)

	backends := dbtest.Backends()
	base := startServer(t, backends[len(backends)-1])
	for _, spec := range specs {
		t.Run(strings.TrimSuffix(spec, ".spec.mjs"), func(t *testing.T) {
			runSpec(t, node, spec, []string{
				"PARLEY_URL=" + base,
				"PARLEY_CHROMIUM=" + chromium,
				"PARLEY_ARTIFACTS=" + t.ArtifactDir(),
			})
		})
	}
}

func lookPath(name string) func() (string, error) {
	return func() (string, error) { return exec.LookPath(name) }
}

func stat(path string) func() (string, error) {
	return func() (string, error) {
		_, err := os.Stat(path)
		return path, err
	}
}

// require returns the path that find gives, or fails the test saying what
// to install.
func require(t *testing.T, what string, find func() (string, error)) string {
	t.Helper()
	path, err := find()
	if err != nil {
		t.Fatalf("%s is missing (%v): the browser tests in test/browser need Node.js 20 or later "+
			"and Chromium at /usr/bin/chromium (Debian: apt-get install chromium), or PARLEY_CHROMIUM "+
			"naming one; .ci/run installs Chromium", what, err)
	}
	return path
}

// installDeps runs `npm ci` when node_modules is missing or older than
// package-lock.json (npm writes node_modules/.package-lock.json last), as
// test/clients does.
func installDeps(t *testing.T) {
	t.Helper()
	lock, err := os.Stat("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	installed, err := os.Stat(filepath.Join("node_modules", ".package-lock.json"))
	if err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal(errors.New("npm is not installed; it comes with Node.js"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund").CombinedOutput(); err != nil {
		t.Fatalf("npm ci in test/browser: %v\n%s", err, out)
	}
}

// startServer serves a new App on a fresh database of b over real HTTP on
// 127.0.0.1, with the kit's test configuration (the playground on, as in
// development), and returns its base URL.
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

// waitSubscriptions serves GET /test/subscriptions?atLeast=N for the specs
// only: it answers once the app's hub holds at least N subscriptions (504
// after 10 s). A page cannot otherwise know when the server has registered
// its subscription, and a live-only one misses what commits before that.
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

// runSpec runs `node spec` in this folder with env added and fails the test,
// with the spec's output, unless it exits 0. The output is logged either
// way, so `go test -v` shows each step.
func runSpec(t *testing.T, node, spec string, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), specTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, spec)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("node %s timed out after %s; output:\n%s", spec, specTimeout, out)
	}
	if err != nil {
		t.Fatalf("node %s failed (%v); output:\n%s", spec, err, out)
	}
	t.Logf("node %s passed in %s; output:\n%s", spec, time.Since(start).Round(time.Millisecond), out)
}
