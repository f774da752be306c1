package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// The two WebSocket protocols the server speaks.
const (
	TransportWS = "graphql-transport-ws" // graphql-ws's protocol
	LegacyWS    = "graphql-ws"           // subscriptions-transport-ws's
)

// Protocols are both protocols, for tests that run in each.
var Protocols = []string{TransportWS, LegacyWS}

// Bearer is the connection_init payload that signs in with token.
func Bearer(token string) map[string]any {
	return map[string]any{"Authorization": "Bearer " + token}
}

// WebSocketURL is the address of base's GraphQL WebSocket.
func WebSocketURL(base string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/query"
}

// Init sends connection_init with payload on conn and reads up to the
// server's connection_ack, skipping keepalives (and the legacy protocol's
// connection_error, which says why just before the server closes). It
// bounds the wait by 30 s, then lifts the read deadline.
func Init(conn *websocket.Conn, payload map[string]any) error {
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		return err
	}
	for {
		var m struct{ Type string }
		if err := conn.ReadJSON(&m); err != nil {
			return err
		}
		switch m.Type {
		case "connection_ack":
			return nil
		case "ka", "ping", "pong", "connection_error":
			continue
		}
		return fmt.Errorf("connection_init: got %q", m.Type)
	}
}

// DialWS opens base's GraphQL WebSocket with d (whose Subprotocols name the
// protocol) and initialises it with payload (Init).
func DialWS(ctx context.Context, d *websocket.Dialer, base string, payload map[string]any) (*websocket.Conn, error) {
	conn, _, err := d.DialContext(ctx, WebSocketURL(base), nil)
	if err != nil {
		return nil, err
	}
	if err := Init(conn, payload); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Conn is a test's WebSocket client of either protocol. Its methods fail
// the test when the server does not answer as they expect.
type Conn struct {
	*websocket.Conn
	T        testing.TB
	Protocol string
}

// Dial opens a WebSocket to s in protocol and initialises it with payload;
// the socket closes when the test ends. A refusal is the error (a
// *websocket.CloseError with the server's code and reason).
func (s *Server) Dial(protocol string, payload map[string]any) (*Conn, error) {
	d := &websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial(WebSocketURL(s.URL), nil)
	if err != nil {
		return nil, err
	}
	s.T.Cleanup(func() { conn.Close() })
	if err := Init(conn, payload); err != nil {
		return nil, err
	}
	return &Conn{Conn: conn, T: s.T, Protocol: protocol}, nil
}

// MustDial opens a graphql-transport-ws socket signed in with token.
func (s *Server) MustDial(token string) *Conn { return s.MustDialWith(TransportWS, token) }

// MustDialWith opens a socket in protocol signed in with token.
func (s *Server) MustDialWith(protocol, token string) *Conn {
	s.T.Helper()
	c, err := s.Dial(protocol, Bearer(token))
	require.NoError(s.T, err)
	return c
}

// Frame is one message from the server.
type Frame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// Read returns the next frame other than a keepalive, within 10 s; it
// answers pings.
func (c *Conn) Read() (Frame, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, raw, err := c.ReadMessage()
		if err != nil {
			return Frame{}, err
		}
		var f Frame
		if err := json.Unmarshal(raw, &f); err != nil {
			return Frame{}, err
		}
		switch f.Type {
		case "ka", "pong":
			continue
		case "ping":
			c.WriteJSON(map[string]any{"type": "pong"})
			continue
		}
		return f, nil
	}
}

// MustRead is Read that fails the test on an error.
func (c *Conn) MustRead() Frame {
	c.T.Helper()
	f, err := c.Read()
	require.NoError(c.T, err)
	return f
}

// Subscribe starts an operation (a subscription, query or mutation) under
// id: "subscribe" in graphql-transport-ws, "start" in graphql-ws.
func (c *Conn) Subscribe(id, query string, vars map[string]any) {
	c.T.Helper()
	typ := "subscribe"
	if c.Protocol == LegacyWS {
		typ = "start"
	}
	require.NoError(c.T, c.WriteJSON(map[string]any{
		"id": id, "type": typ, "payload": map[string]any{"query": query, "variables": vars},
	}))
}

// Result reads the answer of a query or mutation started under id: its
// data or errors, then its complete.
func (c *Conn) Result(id string) Response {
	c.T.Helper()
	var r Response
	for {
		f := c.MustRead()
		require.Equal(c.T, id, f.ID, "frame %s %s", f.Type, f.Payload)
		switch f.Type {
		case "next", "data":
			require.NoError(c.T, json.Unmarshal(f.Payload, &r))
		case "error":
			require.NoError(c.T, json.Unmarshal(f.Payload, &r.Errors))
		case "complete":
			return r
		default:
			c.T.Fatalf("unexpected frame %s", f.Type)
		}
	}
}

// Next reads the next frame of c and returns the value of data.<field> in
// it (the zero T for a frame without data) and the frame's type ("next" or
// "data" for an event, "complete", "error"). An event must come without
// errors.
func Next[T any](c *Conn, field string) (T, string) {
	c.T.Helper()
	f := c.MustRead()
	var p struct {
		Data   map[string]T
		Errors []Error
	}
	if f.Type == "next" || f.Type == "data" {
		require.NoError(c.T, json.Unmarshal(f.Payload, &p))
		require.Empty(c.T, p.Errors, "%s", f.Payload)
	}
	return p.Data[field], f.Type
}

// Event is an event of any subscription returning LiveEvent, with the
// fields EventsSubscription selects.
type Event struct {
	Cursor, Kind string
	Reason       *string
	Node         *Message
}

// EventsSubscription is the events stream from $after, with the fields of
// Event.
const EventsSubscription = `subscription($after: String) { events(after: $after) { cursor kind reason node { id ... on Message { text seq } } } }`

// NextEvent reads the next event of the events subscription, and the type
// of its frame.
func (c *Conn) NextEvent() (Event, string) {
	c.T.Helper()
	return Next[Event](c, "events")
}

// NextMessage skips to the next MESSAGE_CREATED event.
func (c *Conn) NextMessage() Event {
	c.T.Helper()
	for {
		ev, typ := c.NextEvent()
		require.Equal(c.T, "next", typ)
		if ev.Kind == "MESSAGE_CREATED" {
			return ev
		}
	}
}

// ErrorCode reads the error an operation got and returns its code.
func (c *Conn) ErrorCode() string {
	c.T.Helper()
	code, _ := c.ReadError().Extensions["code"].(string)
	return code
}

// ReadError reads the error an operation got, in either shape gqlgen sends
// (an "error" frame, or a "next" with errors): the first one. It passes
// over the "complete" that ends an earlier operation refused with a "next".
func (c *Conn) ReadError() Error {
	c.T.Helper()
	f := c.MustRead()
	for f.Type == "complete" {
		f = c.MustRead()
	}
	var list []Error
	if json.Unmarshal(f.Payload, &list) != nil {
		var rsp struct{ Errors []Error }
		require.NoError(c.T, json.Unmarshal(f.Payload, &rsp))
		list = rsp.Errors
	}
	require.NotEmpty(c.T, list, "expected an error, got %s %s", f.Type, f.Payload)
	return list[0]
}

// Ending reads until the server closes the socket. It returns the events
// each stream got, which streams completed, and the close frame.
func (c *Conn) Ending() (events map[string][]Event, completed map[string]bool, closed *websocket.CloseError) {
	c.T.Helper()
	events, completed = map[string][]Event{}, map[string]bool{}
	for {
		f, err := c.Read()
		if err != nil {
			require.ErrorAs(c.T, err, &closed, "the server closes the socket")
			return events, completed, closed
		}
		switch f.Type {
		case "next", "data":
			var p struct {
				Data   map[string]Event
				Errors []Error
			}
			require.NoError(c.T, json.Unmarshal(f.Payload, &p))
			require.Empty(c.T, p.Errors)
			for _, ev := range p.Data {
				events[f.ID] = append(events[f.ID], ev)
			}
		case "complete":
			completed[f.ID] = true
		default:
			c.T.Fatalf("unexpected frame %s %s", f.Type, f.Payload)
		}
	}
}

// ReadInto reads the next frame other than a keepalive (Read) and decodes
// it, type, id and payload, into v.
func (c *Conn) ReadInto(v any) error {
	f, err := c.Read()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
