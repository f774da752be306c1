package wsgorilla_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/graph/wsgorilla"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// message is a frame of either GraphQL websocket protocol.
type message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// server runs gqlgen's test schema (subscription { name }) behind the
// websocket transport. closed receives the close code gqlgen reports to
// CloseFunc, and errs collects what it reports to ErrorFunc.
type server struct {
	*testserver.TestServer
	url    string
	closed chan int
	errs   chan error
}

func newServer(t *testing.T, ws wsgorilla.Transport) *server {
	t.Helper()
	s := &server{
		TestServer: testserver.New(),
		closed:     make(chan int, 1),
		errs:       make(chan error, 10),
	}
	ws.CloseFunc = func(_ context.Context, code int) { s.closed <- code }
	ws.ErrorFunc = func(_ context.Context, err error) { s.errs <- err }
	s.AddTransport(ws)

	httpServer := httptest.NewServer(s)
	t.Cleanup(httpServer.Close)
	s.url = "ws" + strings.TrimPrefix(httpServer.URL, "http")
	return s
}

// dial opens a websocket to s offering subprotocol, with the given Origin
// header if not empty.
func dial(t *testing.T, url, subprotocol, origin string) *websocket.Conn {
	t.Helper()
	c, resp, err := dialer(subprotocol).Dial(url, originHeader(origin))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	t.Cleanup(func() { _ = c.Close() })
	require.Equal(t, subprotocol, c.Subprotocol())
	return c
}

func dialer(subprotocol string) *websocket.Dialer {
	return &websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: 5 * time.Second}
}

func originHeader(origin string) http.Header {
	if origin == "" {
		return nil
	}
	return http.Header{"Origin": {origin}}
}

func send(t *testing.T, c *websocket.Conn, typ, id, payload string) {
	t.Helper()
	msg := message{Type: typ, ID: id}
	if payload != "" {
		msg.Payload = json.RawMessage(payload)
	}
	require.NoError(t, c.WriteJSON(msg))
}

func receive(t *testing.T, c *websocket.Conn) message {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	var msg message
	require.NoError(t, c.ReadJSON(&msg))
	return msg
}

// readClose reads until the server's close frame and returns it.
func readClose(t *testing.T, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var closeErr *websocket.CloseError
			require.ErrorAs(t, err, &closeErr)
			return closeErr
		}
	}
}

// hangUp closes c normally and checks that gqlgen saw a clean disconnect:
// CloseFunc ran and ErrorFunc was never called.
func (s *server) hangUp(t *testing.T, c *websocket.Conn) {
	t.Helper()
	require.NoError(t, c.WriteMessage(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")))
	s.waitClosed(t)
	select {
	case err := <-s.errs:
		t.Fatalf("normal close reported as an error: %v", err)
	default:
	}
}

// waitClosed returns the close code gqlgen reported to CloseFunc.
func (s *server) waitClosed(t *testing.T) int {
	t.Helper()
	select {
	case code := <-s.closed:
		return code
	case <-time.After(5 * time.Second):
		t.Fatal("server did not close the connection")
		return 0
	}
}

const subscription = `{"query":"subscription { name }"}`

// protocol is how one WebSocket protocol starts, answers and ends a
// subscription.
type protocol struct {
	name      string
	keepalive bool   // the server sends ka right after connection_ack
	start     string // the client's message that starts an operation
	data      string // the server's message with a result
	// end ends the subscription from either side; the server then sends
	// complete.
	end func(s *server, c *websocket.Conn)
}

// subscribeOnce opens a connection in p, runs one subscription through one
// event to its end, and hangs up.
func subscribeOnce(t *testing.T, p protocol) {
	s := newServer(t, wsgorilla.Transport{Implementation: wsgorilla.Implementation{}})
	c := dial(t, s.url, p.name, "")

	send(t, c, "connection_init", "", "")
	assert.Equal(t, "connection_ack", receive(t, c).Type)
	if p.keepalive {
		assert.Equal(t, "ka", receive(t, c).Type)
	}

	send(t, c, p.start, "1", subscription)
	s.SendNextSubscriptionMessage()
	data := receive(t, c)
	assert.Equal(t, p.data, data.Type)
	assert.Equal(t, "1", data.ID)
	assert.JSONEq(t, `{"data":{"name":"test"}}`, string(data.Payload))

	p.end(s, c)
	assert.Equal(t, message{Type: "complete", ID: "1"}, receive(t, c))

	s.hangUp(t, c)
}

// TestGraphQLTransportWS: the subscription ends when the server completes
// it.
func TestGraphQLTransportWS(t *testing.T) {
	subscribeOnce(t, protocol{name: "graphql-transport-ws", start: "subscribe", data: "next",
		end: func(s *server, _ *websocket.Conn) { s.SendCompleteSubscriptionMessage() }})
}

// TestGraphQLWS: the legacy protocol sends keepalives; the subscription
// ends when the client stops it.
func TestGraphQLWS(t *testing.T) {
	subscribeOnce(t, protocol{name: "graphql-ws", keepalive: true, start: "start", data: "data",
		end: func(_ *server, c *websocket.Conn) { send(t, c, "stop", "1", "") }})
}

func TestOriginCheckedOnUpgrade(t *testing.T) {
	s := newServer(t, wsgorilla.Transport{Implementation: wsgorilla.Implementation{
		AllowedOrigins: []string{"https://app.parley.im", "https://*.preview.parley.im"},
	}})
	host := strings.TrimPrefix(s.url, "ws://")

	for _, origin := range []string{
		"",
		"http://" + host,
		"https://app.parley.im",
		"https://pr-12.preview.parley.im",
	} {
		t.Run("allows "+origin, func(t *testing.T) {
			c := dial(t, s.url, "graphql-transport-ws", origin)
			send(t, c, "connection_init", "", "")
			assert.Equal(t, "connection_ack", receive(t, c).Type)
			s.hangUp(t, c)
		})
	}

	for _, origin := range []string{
		"https://evil.example",
		"http://app.parley.im",
		"https://preview.parley.im",
		"null",
	} {
		t.Run("refuses "+origin, func(t *testing.T) {
			_, resp, err := dialer("graphql-transport-ws").Dial(s.url, originHeader(origin))
			require.ErrorIs(t, err, websocket.ErrBadHandshake)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
}

func TestReadLimitClosesOversizedMessage(t *testing.T) {
	limit := int64(64)
	s := newServer(t, wsgorilla.Transport{
		Implementation:   wsgorilla.Implementation{},
		PayloadReadLimit: &limit,
	})
	c := dial(t, s.url, "graphql-transport-ws", "")

	send(t, c, "connection_init", "", `{"token":"`+strings.Repeat("x", 100)+`"}`)

	assert.Equal(t, websocket.CloseMessageTooBig, readClose(t, c).Code)
	s.waitClosed(t)
}

func TestInitFuncCloseCode(t *testing.T) {
	reason := strings.Repeat("é", 100) // 200 bytes: too long for a close frame
	s := newServer(t, wsgorilla.Transport{
		Implementation: wsgorilla.Implementation{},
		InitFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			ctx = wsgorilla.WithCloseCode(ctx, 4403)
			ctx = wsgorilla.WithCloseReason(ctx, reason)
			return ctx, nil, errors.New("forbidden")
		},
	})
	c := dial(t, s.url, "graphql-transport-ws", "")

	send(t, c, "connection_init", "", "")
	closeErr := readClose(t, c)

	assert.Equal(t, 4403, closeErr.Code)
	assert.LessOrEqual(t, len(closeErr.Text), 123)
	assert.True(t, utf8.ValidString(closeErr.Text))
	assert.True(t, strings.HasPrefix(reason, closeErr.Text))
	assert.Equal(t, 4403, s.waitClosed(t))
}

// TestConcurrentWrites calls the connection directly, because gqlgen already
// serializes its own writes: without the adapter's lock gorilla would panic
// with "concurrent write to websocket connection", or the race detector fail.
func TestConcurrentWrites(t *testing.T) {
	const writers = 20
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		conn, err := wsgorilla.Implementation{}.Accept(w, r, transport.WebsocketAcceptOptions{
			ResponseHeader: http.Header{"X-Parley": {"yes"}},
			Subprotocols:   []string{"graphql-transport-ws"},
		})
		if !assert.NoError(t, err) {
			return
		}
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() { assert.NoError(t, conn.WriteJSON(message{Type: "next", ID: strconv.Itoa(i)})) })
		}
		wg.Wait()
		assert.NoError(t, conn.WriteClose(websocket.CloseNormalClosure, "done"))
		assert.NoError(t, conn.Close())
	}))
	defer srv.Close()

	c, resp, err := dialer("graphql-transport-ws").Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "yes", resp.Header.Get("X-Parley"))

	for range writers {
		assert.Equal(t, "next", receive(t, c).Type)
	}
	assert.Equal(t, websocket.CloseNormalClosure, readClose(t, c).Code)
	<-done
}

// TestRefusesUpgradeWithoutSubprotocol: a client offering none of the
// GraphQL subprotocols (or none at all) gets a 400 naming them, not a socket
// answered in a protocol it never asked for.
func TestRefusesUpgradeWithoutSubprotocol(t *testing.T) {
	s := newServer(t, wsgorilla.Transport{Implementation: wsgorilla.Implementation{}})
	for _, offer := range [][]string{nil, {"chat"}, {"graphql-transport-ws-x"}} {
		d := &websocket.Dialer{Subprotocols: offer, HandshakeTimeout: 5 * time.Second}
		c, resp, err := d.Dial(s.url, nil)
		require.Error(t, err, "offer %v", offer)
		require.Nil(t, c)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "offer %v", offer)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Contains(t, string(body), "graphql-transport-ws")
	}
	// Offering one of them among others still connects.
	d := &websocket.Dialer{Subprotocols: []string{"chat", "graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(s.url, nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "graphql-transport-ws", c.Subprotocol())
	c.Close()
}
