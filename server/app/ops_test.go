package app_test

// Operations: the Prometheus metrics, the access log and the
// operations listeners.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// scrape returns the instance's metrics in the text exposition format.
func scrape(t *testing.T, a *app.App) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func TestOpsMetricsAndAccessLog(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		logs := &syncBuffer{}
		log, err := app.NewLogger(logs, "json", "debug", false)
		require.NoError(t, err)
		s := &server{apptest.StartWith(t, apptest.Config(t, b.URL(t)), apptest.Options{Log: log})} // app.New must succeed

		alice := s.Register("alice", nil)
		bob := s.Register("bob", nil)
		s.OK(alice.Token, `query Me { me { id } }`, nil, nil)
		require.Equal(t, "GRAPHQL_VALIDATION_FAILED", s.Do(alice.Token, `query Broken { me { nope } }`, nil).Code())
		require.Equal(t, "BAD_USER_INPUT", s.Do(alice.Token, `query BadID { node(id: "x") { id } }`, nil).Code())
		ws := s.MustDial(bob.Token)
		ws.Subscribe("1", `subscription Live { events { kind } }`, nil)
		s.WaitSubscriptions(1)
		s.Send(alice, bob, "hello")
		ws.NextMessage()

		m := scrape(t, s.App)
		for _, want := range []string{
			`parley_graphql_operations_total{code="OK",operation="Me",type="query"} 1`,
			`parley_graphql_operations_total{code="GRAPHQL_VALIDATION_FAILED",operation="_none",type="unknown"} 1`, // no operationName: the document did not validate
			`parley_graphql_operations_total{code="BAD_USER_INPUT",operation="BadID",type="query"} 1`,
			`parley_graphql_operations_total{code="OK",operation="_anonymous",type="mutation"}`,
			`parley_graphql_operation_duration_seconds_bucket{operation="Me",type="query",le="+Inf"} 1`,
			`parley_graphql_operations_in_flight 0`,
			`parley_graphql_subscriptions_active{operation="Live"} 1`,
			`parley_websocket_connections 1`,
			`parley_hub_subscriptions 1`,
			`parley_hub_lag_events 0`,
			`parley_hub_lag_seconds 0`,
			`parley_http_requests_total{method="POST",route="/query",status="200"}`,
			`parley_http_requests_in_flight 1`, // the open WebSocket
			`go_sql_open_connections{db_name="parley"}`,
			`go_goroutines`,
			`process_resident_memory_bytes`,
		} {
			require.Contains(t, m, want)
		}

		// Closing the WebSocket ends the subscription and the connection.
		ws.Close()
		require.Eventually(t, func() bool {
			m := scrape(t, s.App)
			return strings.Contains(m, `parley_websocket_connections 0`) &&
				strings.Contains(m, `parley_graphql_subscriptions_active{operation="Live"} 0`) &&
				strings.Contains(m, `parley_graphql_operations_total{code="OK",operation="Live",type="subscription"} 1`) &&
				strings.Contains(m, `parley_http_requests_total{method="GET",route="/query",status="101"} 1`)
		}, 5*time.Second, 20*time.Millisecond)

		// The access log: one JSON line per request, with the request id,
		// the operation and its outcome, and never the query string.
		res, err := http.Get(s.URL + "/files/1/x.png?t=secret-token")
		require.NoError(t, err)
		res.Body.Close()
		var found bool
		require.Eventually(t, func() bool {
			for _, l := range logs.lines() {
				if l["msg"] == "http request" && l["operation"] == "BadID" {
					found = true
					require.Equal(t, "BAD_USER_INPUT", l["code"])
					require.Equal(t, "POST", l["method"])
					require.Equal(t, "/query", l["path"])
					require.EqualValues(t, 200, l["status"])
					require.NotEmpty(t, l["request_id"])
					require.NotNil(t, l["duration_ms"])
					require.Equal(t, "query", l["operation_type"])
					require.NotNil(t, l["user_id"])
				}
				if path, _ := l["path"].(string); strings.HasPrefix(path, "/files/") {
					require.NotContains(t, path, "secret-token")
				}
			}
			return found
		}, 5*time.Second, 20*time.Millisecond)
		var upgrade bool
		for _, l := range logs.lines() {
			if l["msg"] == "http request" && l["status"] == float64(101) {
				upgrade = true
				require.Equal(t, "Live", l["operation"])
			}
		}
		require.True(t, upgrade, "the WebSocket connection is logged when it ends")
	})
}

// TestOpsOperationNamesBounded: operation names are label values, so a
// client sending endless distinct names cannot grow the series without end.
func TestOpsOperationNamesBounded(t *testing.T) {
	s := newServer(t, dbtest.Backends()[0])
	for i := range 520 {
		s.Do("", "query Q"+strconv.Itoa(i)+" { me { id } }", nil)
	}
	m := scrape(t, s.App)
	require.Contains(t, m, `operation="_other"`)
	require.LessOrEqual(t, strings.Count(m, "parley_graphql_operations_total{"), 501)
}

func TestOpsListeners(t *testing.T) {
	require.Equal(t, "127.0.0.1:6060", app.PprofListenAddr(":6060"))
	require.Equal(t, "127.0.0.1:6060", app.PprofListenAddr("6060"))
	require.Equal(t, "0.0.0.0:6060", app.PprofListenAddr("0.0.0.0:6060"))
	require.Equal(t, "localhost:7000", app.PprofListenAddr("localhost:7000"))

	for _, c := range []struct{ format, level string }{{"yaml", ""}, {"", "loud"}} {
		_, err := app.NewLogger(io.Discard, c.format, c.level, false)
		require.Error(t, err)
	}
	log, err := app.NewLogger(io.Discard, "", "", true)
	require.NoError(t, err)
	_, isJSON := log.Handler().(*slog.JSONHandler)
	require.True(t, isJSON, "production logs JSON by default")
	log, err = app.NewLogger(io.Discard, "", "warn", false)
	require.NoError(t, err)
	_, isText := log.Handler().(*slog.TextHandler)
	require.True(t, isText, "development logs text by default")
	require.False(t, log.Enabled(context.Background(), slog.LevelInfo))

	cfg := apptest.Config(t, "")
	cfg.MetricsAddr, cfg.PprofAddr = "127.0.0.1:0", "127.0.0.1:0"
	s := start(t, cfg)
	ops, err := app.ServeOps(s.App, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer ops.Close(context.Background())
	addrs := ops.Addrs()
	require.Len(t, addrs, 2)
	res, err := http.Get("http://" + addrs[0] + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Contains(t, string(body), "parley_hub_subscriptions")
	res, err = http.Get("http://" + addrs[1] + "/debug/pprof/cmdline")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	// Neither is on the public router.
	res, err = http.Get(s.URL + "/metrics")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	cfg.MetricsAddr = addrs[0] // taken: start-up fails
	_, err = app.ServeOps(s.App, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Error(t, err)
}

// TestDBMaxConns: the PostgreSQL pool is as large as the setting says (so
// that instances × pool fits under max_connections), and 40 by default.
func TestDBMaxConns(t *testing.T) {
	for _, b := range dbtest.Backends() {
		if b.Name != "postgres" {
			continue
		}
		t.Run(b.Name, func(t *testing.T) {
			small := newServer(t, b, func(c *app.Config) { c.DBMaxConns = 3 })
			require.Contains(t, scrape(t, small.App), `go_sql_max_open_connections{db_name="parley"} 3`+"\n")
			plain := newServer(t, b)
			require.Contains(t, scrape(t, plain.App), `go_sql_max_open_connections{db_name="parley"} 40`+"\n")
		})
	}
}
