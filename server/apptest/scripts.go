package apptest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/server/app"
)

// This file is the kit of the suites that run npm scripts against a server
// (test/clients, test/browser, examples/web): node and npm found or the test
// failed, `npm ci` when needed, and a server with the one route the scripts
// need beside the API.

// RequireNode returns the path of node. A missing node fails the test
// instead of skipping it: a skipped suite of scripts would look like a green
// one. what says what node is needed for.
func RequireNode(t testing.TB, what string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (needed %s): %v\ninstall Node.js 20.19 or later, then run go test again", what, err)
	}
	return node
}

var installs sync.Map // absolute folder -> *install

type install struct {
	once sync.Once
	err  error
	log  []byte
}

// NpmCI runs `npm ci` in dir when its node_modules is missing or older than
// its package-lock.json (npm writes node_modules/.package-lock.json last, so
// its time says when node_modules was installed), once per folder and test
// binary, so that `go test ./...` works on a fresh checkout and after a
// dependency bump.
func NpmCI(t testing.TB, dir string) {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := installs.LoadOrStore(abs, &install{})
	in := v.(*install)
	in.once.Do(func() {
		lock, err := os.Stat(filepath.Join(abs, "package-lock.json"))
		if err != nil {
			in.err = err
			return
		}
		installed, err := os.Stat(filepath.Join(abs, "node_modules", ".package-lock.json"))
		if err == nil && !installed.ModTime().Before(lock.ModTime()) {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			in.err = fmt.Errorf("npm is not installed; it comes with Node.js: %w", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = abs
		in.log, in.err = cmd.CombinedOutput()
	})
	if in.err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, in.err, in.log)
	}
}

// StartForScripts serves an App built from cfg, with GET
// /test/subscriptions (WaitSubscriptions) beside the API.
func StartForScripts(t testing.TB, cfg app.Config) *Server {
	t.Helper()
	return StartWith(t, cfg, Options{Handler: func(a *app.App) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", a.Handler())
		mux.Handle("GET /test/subscriptions", WaitSubscriptions(a))
		return mux
	}})
}

// WaitSubscriptions serves GET /test/subscriptions?atLeast=N for test
// scripts only: it answers once the app's hub holds at least N
// subscriptions (504 after 10 s). A script cannot otherwise know when the
// server has registered its subscription, and a live-only subscription
// misses what commits before that; Server.WaitSubscriptions is the same
// wait for Go tests.
func WaitSubscriptions(a *app.App) http.Handler {
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
