package app_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/apptest"
)

// readmeSession is the shell session of README.md, between the HTML
// comments readme-session and /readme-session, in a sh code block.
var readmeSession = regexp.MustCompile("(?s)<!-- readme-session -->\\s*```sh\\n(.*?)```\\s*<!-- /readme-session -->")

// TestReadmeSession runs the README's curl session as a reader would paste
// it into bash, against a fresh test server in place of localhost:8080:
// every command must succeed and no answer may carry a GraphQL error.
func TestReadmeSession(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README session needs %s (a skipped test would look like a passing one): %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := readmeSession.FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no readme-session block")
	script := string(m[1])
	require.Contains(t, script, "http://localhost:8080")

	s := start(t, apptest.Config(t, ""))
	script = strings.ReplaceAll(script, "http://localhost:8080", s.URL)
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s", out)
	require.NotContains(t, string(out), `"errors"`, "%s", out)
	require.Contains(t, string(out), `"username":"carol"`, "%s", out)
	require.Contains(t, string(out), "hello, parley", "%s", out)
	require.NotContains(t, string(out), "token: \n", "%s", out)
}
