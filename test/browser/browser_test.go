// Package browser_test runs Parley's pages in a real browser: headless
// Chromium, driven by playwright-core from npm, against one real server
// started in-process, with every request off this machine refused.
//
// Each *.spec.mjs in this folder is one check, run as a subtest with
// `node <spec>`; lib.mjs says what a spec gets (the server's URL, the
// Chromium, a folder for screenshots) and gives the browser with the
// network cut off. To add a check, add a spec: it shares the one server and
// its database with the others, so it registers names of its own. Routes a
// spec needs beside the API are added in apptest.StartForScripts.
//
// Chromium is /usr/bin/chromium (PARLEY_CHROMIUM names another); without it
// or node the test fails rather than skips, since a skipped browser test
// would look like a passing one. Screenshots go to each subtest's artifact
// directory: `go test ./test/browser -v -artifacts -outputdir DIR` keeps
// them (the log names each file).
package browser_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/platform/dbtest"
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
	apptest.NpmCI(t, ".")

	backends := dbtest.Backends()
	base := apptest.StartForScripts(t, apptest.Config(t, backends[len(backends)-1].URL(t))).URL
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
