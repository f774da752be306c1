package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// TestInstancesStartTogether: several instances started at once on an
// empty PostgreSQL schema all start: one migrates, the others wait for it
// (an advisory lock) instead of failing on the tables it is creating. Each
// instance is a process of its own, as in a deployment, since instances in
// one process migrate one at a time anyway.
func TestInstancesStartTogether(t *testing.T) {
	t.Parallel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
	}
	url := dbtest.Schema(t, base)
	gate := filepath.Join(t.TempDir(), "go")
	const instances = 4
	cmds := make([]*exec.Cmd, instances)
	outs := make([]*bytes.Buffer, instances)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestInstanceProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PARLEY_TEST_INSTANCE_URL="+url, "PARLEY_TEST_INSTANCE_GATE="+gate)
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
	}
	require.NoError(t, os.WriteFile(gate, nil, 0o600)) // all at once
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "instance %d:\n%s", i, outs[i])
	}
	// And the schema they made serves.
	s := start(t, apptest.Config(t, url))
	s.Register("alice", nil)
}

// TestInstanceProcess is one instance of TestInstancesStartTogether: it
// waits for the gate, starts an App on the shared schema and stops it.
func TestInstanceProcess(t *testing.T) {
	url, gate := os.Getenv("PARLEY_TEST_INSTANCE_URL"), os.Getenv("PARLEY_TEST_INSTANCE_GATE")
	if url == "" {
		t.Skip("a process of TestInstancesStartTogether")
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(gate); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the gate never opened")
	}
	a, err := app.New(context.Background(), apptest.Config(t, url), apptest.Logger())
	if err != nil {
		fmt.Println(err)
	}
	require.NoError(t, err)
	require.NoError(t, a.Close())
}

// preflight sends the CORS preflight of a POST to path from origin asking
// for headers, and returns the response.
func preflight(t *testing.T, s *server, path, origin string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("OPTIONS", s.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	if len(headers) > 0 {
		req.Header.Set("Access-Control-Request-Headers", strings.Join(headers, ","))
	}
	res, _, err := s.Exchange(req)
	require.NoError(t, err)
	return res
}

// TestCORSDevelopment: with no origins configured, development allows a
// web app's development server on localhost or 127.0.0.1, any port, to
// send Apollo Client's headers and a request id, and to read the answer's
// X-Request-Id; other origins are refused.
func TestCORSDevelopment(t *testing.T) {
	apolloHeaders := []string{"authorization", "content-type", "apollographql-client-name", "apollographql-client-version", "x-request-id"}
	eachServer(t, func(t *testing.T, s *server) {
		for _, origin := range []string{"http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:3000"} {
			res := preflight(t, s, "/query", origin, apolloHeaders...)
			require.Equal(t, origin, res.Header.Get("Access-Control-Allow-Origin"), origin)
			allowed := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range apolloHeaders {
				require.Contains(t, allowed, h, origin)
			}
		}
		for _, origin := range []string{"https://localhost:5173", "http://evil.example", "http://localhost.evil.example:5173"} {
			require.Empty(t, preflight(t, s, "/query", origin, "content-type").Header.Get("Access-Control-Allow-Origin"), origin)
		}

		// The actual request: its id is answered and exposed.
		req, err := s.Request(context.Background(), "", `{ __typename }`, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "http://localhost:5173")
		req.Header.Set("X-Request-Id", "tab-1.42")
		res, _, err := s.Exchange(req)
		require.NoError(t, err)
		require.Equal(t, "http://localhost:5173", res.Header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "tab-1.42", res.Header.Get("X-Request-Id"))
		require.Contains(t, res.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id")
		// An id the server would not log as is gets replaced.
		req, _ = s.Request(context.Background(), "", `{ __typename }`, nil)
		req.Header.Set("X-Request-Id", "a b<c>"+strings.Repeat("x", 80))
		res, _, err = s.Exchange(req)
		require.NoError(t, err)
		require.NotEmpty(t, res.Header.Get("X-Request-Id"))
		require.NotContains(t, res.Header.Get("X-Request-Id"), "a b<c>")

		// A WebSocket from the development server is allowed too.
		d := websocket.Dialer{Subprotocols: []string{apptest.TransportWS}}
		conn, _, err := d.Dial(apptest.WebSocketURL(s.URL), http.Header{"Origin": {"http://localhost:5173"}})
		require.NoError(t, err)
		conn.Close()
	})
}

// TestCORSProduction: production, or configured origins, allow none of
// the development origins.
func TestCORSProduction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := newServer(t, b, func(c *app.Config) { c.Production = true })
		require.Empty(t, preflight(t, s, "/query", "http://localhost:5173", "content-type").Header.Get("Access-Control-Allow-Origin"))
		s = newServer(t, b, func(c *app.Config) { c.AllowedOrigins = []string{"https://chat.example.com"} })
		require.Empty(t, preflight(t, s, "/query", "http://localhost:5173", "content-type").Header.Get("Access-Control-Allow-Origin"),
			"configured origins replace the development ones")
		require.Equal(t, "https://chat.example.com", preflight(t, s, "/query", "https://chat.example.com", "content-type").Header.Get("Access-Control-Allow-Origin"))
	})
}

// TestGraphQLPathAndProbes: /graphql serves what /query serves, over HTTP
// and WebSocket; HEAD /healthz answers 200; a failing /readyz names the
// dependency down without the driver's error.
func TestGraphQLPathAndProbes(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		c := s.Client
		c.Path = "/graphql"
		var me struct{ Me struct{ ID string } }
		require.NoError(t, c.Query(context.Background(), alice.Token, `{ me { id } }`, nil, &me))
		require.Equal(t, alice.ID, me.Me.ID)

		d := websocket.Dialer{Subprotocols: []string{apptest.TransportWS}}
		conn, _, err := d.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/graphql", nil)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, apptest.Init(conn, apptest.Bearer(alice.Token)))

		for _, path := range []string{"/healthz", "/readyz"} {
			req, _ := http.NewRequest("HEAD", s.URL+path, nil)
			res, _, err := s.Exchange(req)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode, path)
		}

		require.NoError(t, s.App.Client.Close()) // the database goes away
		res, body := s.Get("/readyz", "", nil)
		require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
		require.Equal(t, "database: unavailable\n", string(body))
	})
}
