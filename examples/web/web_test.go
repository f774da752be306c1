// Package web_test checks the web example (examples/web) the way a
// front-end developer would use it: its generated types match the
// server's schema.graphql, it type-checks and builds, and, served from a
// static file server, it chats with a real Parley server in headless
// Chromium (e2e/chat.spec.mjs).
//
// The npm packages are pinned in package.json and package-lock.json; the
// test runs `npm ci` when node_modules is missing or older than the lock
// file.
package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/apptest"
)

// chromium is the browser the spec drives.
const chromium = "/usr/bin/chromium"

// accessTTL is short, so that the spec sees an access token expire and the
// app refresh it.
const accessTTL = 4 * time.Second

// TestWebExample generates, type-checks and builds the app once, then runs
// the browser story against a server on SQLite and, when TEST_DATABASE_URL
// is set, on PostgreSQL.
func TestWebExample(t *testing.T) {
	node := apptest.RequireNode(t, "to build examples/web")
	apptest.NpmCI(t, ".")
	checkGenerated(t, node)
	run(t, node, bin("tsc"), "--noEmit")
	dist := t.TempDir()
	run(t, node, bin("vite"), "build", "--outDir", dist, "--emptyOutDir", "--logLevel", "warn")
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser story needs Chromium at %s: %v", chromium, err)
	}
	static := httptest.NewServer(http.FileServer(http.Dir(dist)))
	t.Cleanup(static.Close)

	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			cfg := apptest.Config(t, b.URL(t))
			cfg.AllowedOrigins = []string{static.URL}
			cfg.AccessTTL = accessTTL
			s := apptest.StartForScripts(t, cfg)
			s.Register("ann", nil)
			s.Register("ben", nil)
			befriend(s, "ann", "ben")

			shot := filepath.Join(t.TempDir(), "chat.png")
			if dir := os.Getenv("WEB_SCREENSHOT_DIR"); dir != "" {
				shot = filepath.Join(dir, "chat-"+b.Name+".png")
			}
			runSpec(t, node, map[string]string{
				"APP_URL":                static.URL + "/?api=" + s.URL,
				"API_URL":                s.URL,
				"USER_A":                 "ann",
				"USER_B":                 "ben",
				"PASSWORD":               apptest.Password,
				"WAIT_SUBSCRIPTIONS_URL": s.URL + "/test/subscriptions",
				"SCREENSHOT":             shot,
				"CHROMIUM":               chromium,
			})
		})
	}
}

// TestReadmeSnippets checks that every TypeScript snippet of the README's
// front-end quickstart is the example's code, verbatim, so the README cannot
// drift from what the browser test runs.
func TestReadmeSnippets(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Front-end quickstart\n")
	require.True(t, ok, "README.md has no Front-end quickstart section")
	section, _, _ = strings.Cut(section, "\n## ")
	var sources []string
	for _, pattern := range []string{"src/*.ts", "src/*.tsx", "codegen.ts"} {
		files, err := filepath.Glob(pattern)
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			sources = append(sources, string(b))
		}
	}
	blocks := regexp.MustCompile("(?s)```tsx?\n(.*?)```").FindAllStringSubmatch(section, -1)
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		found := false
		for _, src := range sources {
			found = found || strings.Contains(src, b[1])
		}
		require.True(t, found, "this README snippet is not in examples/web (copy it from the code):\n%s", b[1])
	}
}

// befriend makes a and b friends through the social API, each signed in
// afresh (access tokens are short-lived here).
func befriend(s *apptest.Server, a, b string) {
	s.T.Helper()
	asA, asB := s.Login(a, apptest.Password), s.Login(b, apptest.Password)
	var applied struct{ ApplyFriend struct{ ID string } }
	s.OK(asA.Token, `mutation($u: ID!) { applyFriend(input: {userId: $u}) { id } }`, map[string]any{"u": asB.ID}, &applied)
	s.OK(asB.Token, `mutation($id: ID!) { acceptFriendApplication(id: $id) { id } }`,
		map[string]any{"id": applied.ApplyFriend.ID}, nil)
}

// checkGenerated runs graphql-codegen into a temporary folder and fails
// unless its output is the committed src/gql/: the app's types are those of
// ../../schema.graphql.
func checkGenerated(t *testing.T, node string) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(node, bin("graphql-codegen"), "--config", "codegen.ts", "--silent")
	cmd.Env = append(os.Environ(), "CODEGEN_OUT="+out+"/")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("graphql-codegen: %v\n%s", err, b)
	}
	want, err := os.ReadDir(out)
	require.NoError(t, err)
	got, err := os.ReadDir(filepath.Join("src", "gql"))
	require.NoError(t, err)
	require.Equal(t, names(want), names(got), "files of src/gql: run `npm run codegen` in examples/web and commit")
	for _, f := range want {
		w, err := os.ReadFile(filepath.Join(out, f.Name()))
		require.NoError(t, err)
		g, err := os.ReadFile(filepath.Join("src", "gql", f.Name()))
		require.NoError(t, err)
		if !bytes.Equal(w, g) {
			t.Fatalf("src/gql/%s is not what graphql-codegen makes of schema.graphql and the operations: "+
				"run `npm run codegen` in examples/web and commit", f.Name())
		}
	}
}

func names(entries []os.DirEntry) []string {
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return n
}

// bin is the JavaScript entry of an npm package's command.
func bin(name string) string {
	switch name {
	case "tsc":
		return filepath.Join("node_modules", "typescript", "bin", "tsc")
	case "vite":
		return filepath.Join("node_modules", "vite", "bin", "vite.js")
	case "graphql-codegen":
		return filepath.Join("node_modules", "@graphql-codegen", "cli", "esm", "bin.js")
	}
	panic("unknown command " + name)
}

// run runs node with args in this folder and fails the test, with the
// output, unless it exits 0.
func run(t *testing.T, node string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, node, args...).CombinedOutput(); err != nil {
		t.Fatalf("node %v: %v\n%s", args, err, out)
	}
}

// runSpec runs the browser story with env and logs its output.
func runSpec(t *testing.T, node string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "chat.spec.mjs"))
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("e2e/chat.spec.mjs failed (%v); output:\n%s", err, out)
	}
	t.Logf("e2e/chat.spec.mjs passed in %s; output:\n%s", time.Since(start).Round(time.Millisecond), out)
}
