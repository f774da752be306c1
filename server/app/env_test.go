package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/platform/dbtest"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-im/parley/server/app"
)

// backend is one database the suite runs on.
type backend struct {
	name string
	url  func(t *testing.T) string // a fresh, empty database (or schema) per test
}

// backends returns SQLite always and PostgreSQL when TEST_DATABASE_URL is
// set; CI sets it, so both run there.
func backends(t *testing.T) []backend {
	bs := []backend{{name: "sqlite", url: func(*testing.T) string { return "" }}}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		bs = append(bs, backend{name: "postgres", url: func(t *testing.T) string { return dbtest.Schema(t, base) }})
	}
	return bs
}

// eachBackend runs f on every backend as parallel subtests.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// server is one Parley instance under test, served over real HTTP.
type server struct {
	t   *testing.T
	app *app.App
	srv *httptest.Server
	// client sends the requests of do; nil is http.DefaultClient. from
	// sets one that connects from another loopback address.
	client *http.Client
}

func testConfig(t *testing.T, dbURL string) app.Config {
	cfg := app.Defaults()
	cfg.DatabaseURL = dbURL
	cfg.DataDir = t.TempDir()
	cfg.UploadDir = t.TempDir()
	cfg.JWTSecret = []byte("test-secret-test-secret-test-secret!")
	cfg.BcryptCost = bcrypt.MinCost
	// Limits are raised so that tests are not throttled; the tests of the
	// limits set low ones.
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

func start(t *testing.T, cfg app.Config) *server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.New(context.Background(), cfg, log)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Config.BaseContext = func(_ net.Listener) context.Context { return a.BaseContext() }
	srv.Start()
	t.Cleanup(func() {
		a.Close()
		srv.Close()
	})
	return &server{t: t, app: a, srv: srv}
}

func newServer(t *testing.T, b backend) *server { return start(t, testConfig(t, b.url(t))) }

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

type response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// code and reason of the first error.
func (r response) code() string   { return r.ext("code") }
func (r response) reason() string { return r.ext("reason") }
func (r response) ext(k string) string {
	if len(r.Errors) == 0 {
		return ""
	}
	s, _ := r.Errors[0].Extensions[k].(string)
	return s
}

// do posts a GraphQL request with an optional bearer token.
func (s *server) do(token, query string, vars map[string]any) response {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", s.srv.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := http.DefaultClient
	if s.client != nil {
		client = s.client
	}
	res, err := client.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	var r response
	raw, _ := io.ReadAll(res.Body)
	require.NoError(s.t, json.Unmarshal(raw, &r), string(raw))
	r.Status = res.StatusCode
	return r
}

// ok runs a request that must succeed and decodes its data into out.
func (s *server) ok(token, query string, vars map[string]any, out any) {
	s.t.Helper()
	r := s.do(token, query, vars)
	require.Empty(s.t, r.Errors, "query %s", query)
	if out != nil {
		require.NoError(s.t, json.Unmarshal(r.Data, out))
	}
}

type account struct {
	ID, Token, Refresh string
}

const registerMutation = `mutation($in: RegisterInput!) { register(input: $in) { accessToken refreshToken user { id username } } }`

// register creates an account named name (password "password1").
func (s *server) register(name string, extra map[string]any) account {
	s.t.Helper()
	in := map[string]any{"username": name, "password": "password1"}
	for k, v := range extra {
		in[k] = v
	}
	var out struct {
		Register struct {
			AccessToken, RefreshToken string
			User                      struct{ ID string }
		}
	}
	s.ok("", registerMutation, map[string]any{"in": in}, &out)
	return account{ID: out.Register.User.ID, Token: out.Register.AccessToken, Refresh: out.Register.RefreshToken}
}

const sendMutation = `mutation($to: ID!, $text: String!, $cid: String) { sendMessage(input: {to: $to, text: $text, clientId: $cid}) { id seq text conversation { id } } }`

type sent struct {
	ID   string
	Seq  int
	Text string
}

func (s *server) send(from account, to account, text string) sent {
	s.t.Helper()
	var out struct{ SendMessage sent }
	s.ok(from.Token, sendMutation, map[string]any{"to": to.ID, "text": text}, &out)
	return out.SendMessage
}

// wsClient speaks graphql-transport-ws over a real WebSocket.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func (s *server) dial(payload map[string]any) (*wsClient, error) {
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/query"
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}).Dial(u, nil)
	if err != nil {
		return nil, err
	}
	c := &wsClient{t: s.t, conn: conn}
	s.t.Cleanup(func() { conn.Close() })
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		return nil, err
	}
	var ack struct{ Type string }
	if err := c.read(&ack); err != nil {
		return nil, err
	}
	if ack.Type != "connection_ack" {
		return nil, &websocket.CloseError{Code: -1, Text: ack.Type}
	}
	return c, nil
}

func (s *server) mustDial(token string) *wsClient {
	s.t.Helper()
	c, err := s.dial(map[string]any{"Authorization": "Bearer " + token})
	require.NoError(s.t, err)
	return c
}

func (c *wsClient) read(v any) error {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, raw, err := c.conn.ReadMessage()
		if err != nil {
			return err
		}
		var probe struct{ Type string }
		json.Unmarshal(raw, &probe)
		if probe.Type == "ping" {
			c.conn.WriteJSON(map[string]any{"type": "pong"})
			continue
		}
		if probe.Type == "pong" {
			continue
		}
		return json.Unmarshal(raw, v)
	}
}

func (c *wsClient) subscribe(id, query string, vars map[string]any) {
	c.t.Helper()
	require.NoError(c.t, c.conn.WriteJSON(map[string]any{
		"id": id, "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars},
	}))
}

// liveEvent is one delivered event of the events subscription.
type liveEvent struct {
	Cursor string
	Kind   string
	Reason *string
	Node   *struct {
		ID   string
		Text string
		Seq  int
	}
}

const eventsSubscription = `subscription($after: String) { events(after: $after) { cursor kind reason node { id ... on Message { text seq } } } }`

// next returns the next event of subscription id.
func (c *wsClient) next() (liveEvent, string) {
	c.t.Helper()
	var msg struct {
		ID      string
		Type    string
		Payload struct {
			Data   struct{ Events liveEvent }
			Errors []gqlError
		}
	}
	require.NoError(c.t, c.read(&msg))
	return msg.Payload.Data.Events, msg.Type
}

// nextMessage skips to the next message.created event.
func (c *wsClient) nextMessage() liveEvent {
	c.t.Helper()
	for {
		ev, typ := c.next()
		require.Equal(c.t, "next", typ)
		if ev.Kind == "message.created" {
			return ev
		}
	}
}

// waitSubscriptions waits until the hub holds n subscriptions: a client
// cannot know when the server has registered its subscribe message, and a
// live-only subscription misses what commits before that.
func (s *server) waitSubscriptions(n int) {
	s.t.Helper()
	require.Eventually(s.t, func() bool { return s.app.Hub.Stats().Subscriptions >= n },
		5*time.Second, 5*time.Millisecond)
}

// errorCode reads the error a subscribe got, in either shape gqlgen sends
// (an "error" message, or a "next" with errors), and returns its code.
func (c *wsClient) errorCode() string {
	c.t.Helper()
	var msg struct {
		Type    string
		Payload json.RawMessage
	}
	require.NoError(c.t, c.read(&msg))
	var list []gqlError
	if json.Unmarshal(msg.Payload, &list) != nil {
		var rsp struct{ Errors []gqlError }
		require.NoError(c.t, json.Unmarshal(msg.Payload, &rsp))
		list = rsp.Errors
	}
	require.NotEmpty(c.t, list, "expected an error, got %s %s", msg.Type, msg.Payload)
	code, _ := list[0].Extensions["code"].(string)
	return code
}
