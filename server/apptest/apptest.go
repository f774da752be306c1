// Package apptest is the kit of the tests that talk to Parley over HTTP and
// WebSocket: server/app's, server's, test/clients', test/browser's,
// test/faults' and the load tool's. It starts an App in-process on a
// database of internal/platform/dbtest with the test configuration (New,
// Start), and gives a GraphQL client over HTTP (Client, which returns
// errors and so serves any goroutine and a server in another process;
// Server's methods fail the test instead) and a WebSocket client that
// speaks graphql-transport-ws and the legacy graphql-ws (Conn).
//
// A test of HTTP or WebSocket behaviour reads:
//
//	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
//		s := apptest.New(t, b)
//		alice, bob := s.Register("alice", nil), s.Register("bob", nil)
//		ws := s.MustDial(bob.Token)
//		ws.Subscribe("1", apptest.EventsSubscription, nil)
//		s.WaitSubscriptions(1)
//		s.Send(alice, bob, "hi")
//		require.Equal(t, "hi", ws.NextMessage().Node.Text)
//	})
package apptest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
)

// JWTSecret signs the tokens of every server the kit starts.
const JWTSecret = "test-secret-test-secret-test-secret!"

// Config is the development configuration on dbURL ("" for SQLite in a
// temporary data directory) with test speed-ups: the cheapest bcrypt, a
// fast hub poll and keepalive, and limits raised so that tests are not
// throttled (the tests of the limits set low ones).
func Config(t testing.TB, dbURL string) app.Config {
	cfg := app.Defaults()
	cfg.DatabaseURL = dbURL
	cfg.DataDir = t.TempDir()
	cfg.UploadDir = t.TempDir()
	cfg.JWTSecret = []byte(JWTSecret)
	cfg.BcryptCost = bcrypt.MinCost
	cfg.LoginBurst = 1000
	cfg.LoginAddressBurst = 100_000
	cfg.LoginAccountBurst = 100_000
	cfg.RegistrationsPerHour = 100_000
	cfg.MessagesPerMinute = 100_000
	cfg.TextsPerMinute = 100_000
	cfg.EntitiesPerMinute = 100_000
	cfg.HubPollInterval = 200 * time.Millisecond
	cfg.KeepAlive = 5 * time.Second
	return cfg
}

// Logger discards the server's log, except warnings under go test -v.
func Logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Server is one App under test, served over real HTTP on a loopback port
// until the test ends. Its methods fail the test when a request fails.
type Server struct {
	T    testing.TB
	App  *app.App
	HTTP *httptest.Server
	Client
}

// Options change how StartWith serves the App.
type Options struct {
	Log *slog.Logger // nil is Logger()
	// Handler wraps the App's handler (to add routes beside the API).
	Handler func(a *app.App) http.Handler
}

// Start builds an App from cfg and serves it.
func Start(t testing.TB, cfg app.Config) *Server { return StartWith(t, cfg, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, cfg app.Config, o Options) *Server {
	t.Helper()
	log := o.Log
	if log == nil {
		log = Logger()
	}
	a, err := app.New(context.Background(), cfg, log)
	require.NoError(t, err)
	h := a.Handler()
	if o.Handler != nil {
		h = o.Handler(a)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.BaseContext = func(net.Listener) context.Context { return a.BaseContext() }
	srv.Start()
	t.Cleanup(func() {
		a.Close()
		srv.Close()
	})
	return &Server{T: t, App: a, HTTP: srv, Client: Client{URL: srv.URL}}
}

// New starts a server on a fresh database of b with the test configuration,
// changed by each of configure in turn.
func New(t testing.TB, b dbtest.Backend, configure ...func(*app.Config)) *Server {
	t.Helper()
	cfg := Config(t, b.URL(t))
	for _, c := range configure {
		c(&cfg)
	}
	return Start(t, cfg)
}

// From returns s with its requests sent from the loopback address ip
// (127.0.0.2, …, which Linux routes like 127.0.0.1), to tell clients apart
// by address.
func (s *Server) From(ip string) *Server {
	c := *s
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c.Client.HTTP = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	return &c
}

// Do sends one operation with a bearer token unless it is empty, and
// returns the response, errors included.
func (s *Server) Do(token, query string, vars map[string]any) Response {
	s.T.Helper()
	r, err := s.Post(context.Background(), token, query, vars)
	require.NoError(s.T, err)
	return r
}

// OK sends an operation that must succeed and decodes its data into out
// (unless out is nil).
func (s *Server) OK(token, query string, vars map[string]any, out any) {
	s.T.Helper()
	r := s.Do(token, query, vars)
	require.Empty(s.T, r.Errors, "query %s", query)
	if out != nil {
		require.NoError(s.T, json.Unmarshal(r.Data, out))
	}
}

// Fails sends an operation that must fail with code and reason, and returns
// its response.
func (s *Server) Fails(token, query string, vars map[string]any, code, reason string) Response {
	s.T.Helper()
	r := s.Do(token, query, vars)
	require.NotEmpty(s.T, r.Errors, "expected %s/%s from %s %v", code, reason, query, vars)
	require.Equal(s.T, code, r.Code(), "%s %v: %+v", query, vars, r.Errors)
	require.Equal(s.T, reason, r.Reason(), "%s %v: %+v", query, vars, r.Errors)
	return r
}

// Register creates an account named name with Password and the other
// fields of RegisterInput in extra.
func (s *Server) Register(name string, extra map[string]any) Account {
	s.T.Helper()
	a, err := s.Client.Register(context.Background(), name, Password, extra)
	require.NoError(s.T, err, "register %s", name)
	return a
}

// Login signs login in with password and returns the new session.
func (s *Server) Login(login, password string) Account {
	s.T.Helper()
	a, err := s.Client.Login(context.Background(), login, password)
	require.NoError(s.T, err, "login %s", login)
	return a
}

// Send sends text from from to to, without a client id.
func (s *Server) Send(from, to Account, text string) Message {
	s.T.Helper()
	m, err := s.SendMessage(context.Background(), from, to.ID, text, "")
	require.NoError(s.T, err)
	return m
}

// Get fetches path with a bearer token unless it is empty, and the headers
// in header, and returns the response and its body.
func (s *Server) Get(path, token string, header http.Header) (*http.Response, []byte) {
	s.T.Helper()
	req, err := http.NewRequest("GET", s.URL+path, nil)
	require.NoError(s.T, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, body, err := s.Exchange(req)
	require.NoError(s.T, err)
	return res, body
}

// DecodeOK sends req and decodes its GraphQL response, whose body must be
// JSON.
func (s *Server) DecodeOK(req *http.Request) Response {
	s.T.Helper()
	r, err := s.Decode(req)
	require.NoError(s.T, err)
	return r
}

// WaitSubscriptions waits until the hub holds n subscriptions: a client
// cannot know when the server has registered its subscribe message, and a
// live-only subscription misses what commits before that.
func (s *Server) WaitSubscriptions(n int) {
	s.T.Helper()
	require.Eventually(s.T, func() bool { return s.App.Hub.Stats().Subscriptions >= n },
		5*time.Second, 5*time.Millisecond)
}

// Field sends an operation of one top-level field that must succeed, and
// returns that field's value decoded as T.
func Field[T any](s *Server, token, query string, vars map[string]any) T {
	s.T.Helper()
	var out map[string]json.RawMessage
	s.OK(token, query, vars, &out)
	require.Len(s.T, out, 1, "one field in %s", query)
	var v T
	for _, raw := range out {
		require.NoError(s.T, json.Unmarshal(raw, &v))
	}
	return v
}
