package app

// This file makes GraphQL over WebSocket close with the codes of the
// graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md), as
// httpspec.go does for GraphQL over HTTP. gqlgen's transport closes every
// protocol violation with 1002 or 1000, accepts a second subscription under
// an id already in use (losing the first one's handle), and leaves the
// socket open when connection_init's payload is not an object. wsSpec wraps
// the WebSocket implementation and checks each message a client sends on a
// graphql-transport-ws connection before gqlgen reads it:
//
//	4400  a message that is not valid JSON, or not a valid message of the
//	      protocol (unknown type, missing id, payload of the wrong shape,
//	      or a server-to-client type such as next)
//	4401  subscribe before the connection was acknowledged
//	4403  connection_init refused (a bad token; set by websocketInit)
//	4408  no connection_init within the init timeout
//	4409  subscribe with the id of a subscription still running
//	4429  a second connection_init
//
// ping before connection_init gets its pong here, since gqlgen would treat
// it as unexpected. The legacy graphql-ws protocol (subscriptions-transport-
// ws) has no such codes; there wsSpec only closes a connection whose
// connection_init payload is not an object, which gqlgen would leave open.
// wsSpec also counts connections and close codes for the metrics, and
// closes a connection whose session ended (endSession) once its operations
// have sent their last frames.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/parley-im/parley/graph/wsgorilla"
)

// Close codes of graphql-transport-ws.
const (
	closeBadRequest          = 4400
	closeUnauthorized        = 4401
	closeForbidden           = 4403
	closeInitTimeout         = 4408
	closeSubscriberExists    = 4409
	closeTooManyInitRequests = 4429
	// closeTryAgainLater (RFC 6455's 1013) ends a connection the server
	// could not serve for a moment; clients reconnect.
	closeTryAgainLater = 1013
)

const subprotocolTransportWS = "graphql-transport-ws"

// errClosedByProtocol is what a read returns after wsSpec closed the
// connection for a protocol violation.
var errClosedByProtocol = errors.New("websocket closed for a protocol violation")

// wsSpec is a transport.WebsocketImplementation that enforces the protocol
// around another one.
type wsSpec struct {
	inner   transport.WebsocketImplementation
	metrics *metrics
}

var _ transport.WebsocketImplementation = wsSpec{}

func (s wsSpec) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := s.inner.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	s.metrics.wsConnections.Inc()
	sc := newSpecConn(c, c.Subprotocol() == subprotocolTransportWS, s.metrics)
	if sock, ok := r.Context().Value(socketKey{}).(*socket); ok {
		sock.conn.Store(sc)
	}
	return sc, nil
}

func newSpecConn(inner transport.WebsocketConn, strict bool, m *metrics) *specConn {
	return &specConn{inner: inner, strict: strict, metrics: m, active: map[string]bool{}, running: map[string]bool{}}
}

// socket links a WebSocket request to its connection, so that code holding
// the connection's context (websocketInit) can close it.
type socket struct{ conn atomic.Pointer[specConn] }

type socketKey struct{}

// withSocket gives every WebSocket upgrade request a socket.
func withSocket(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocket(r) {
			r = r.WithContext(context.WithValue(r.Context(), socketKey{}, &socket{}))
		}
		next.ServeHTTP(w, r)
	})
}

// socketOf returns the connection of the WebSocket that ctx belongs to.
func socketOf(ctx context.Context) *specConn {
	if sock, ok := ctx.Value(socketKey{}).(*socket); ok {
		return sock.conn.Load()
	}
	return nil
}

// sessionEndGrace is how long a connection whose session ended waits for
// its operations' last frames (each stream's stream.closed, the answer of
// the logout that ended it) before it closes.
const sessionEndGrace = 500 * time.Millisecond

// specConn is one connection. gqlgen reads from one goroutine at a time but
// writes from several, so the state is under mu.
type specConn struct {
	inner   transport.WebsocketConn
	strict  bool // graphql-transport-ws
	metrics *metrics

	mu        sync.Mutex
	closeSent bool
	initSeen  bool
	acked     bool
	active    map[string]bool // graphql-transport-ws: subscription ids the client may not reuse yet
	// running holds the ids of the operations started, in either protocol,
	// until the server has written their complete or error; drained is
	// closed when it empties while the connection is ending.
	running   map[string]bool
	drained   chan struct{}
	closeOnce sync.Once
}

var (
	_ transport.WebsocketConn          = (*specConn)(nil)
	_ transport.WebsocketReadLimiter   = (*specConn)(nil)
	_ transport.WebsocketReadDeadliner = (*specConn)(nil)
)

// clientMessage is a message as a client sends it. Pointers tell a missing
// field from an empty one.
type clientMessage struct {
	Type    *string         `json:"type"`
	ID      *string         `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// NextReader returns the next message for gqlgen, or an error after closing
// the connection with the protocol's code.
func (c *specConn) NextReader() (int, io.Reader, error) {
	for {
		typ, r, err := c.inner.NextReader()
		if err != nil {
			return typ, r, err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return typ, nil, err
		}
		forward, code, reason := c.check(data)
		if code != 0 {
			c.WriteClose(code, reason)
			return typ, nil, errClosedByProtocol
		}
		if forward {
			return typ, bytes.NewReader(data), nil
		}
	}
}

// check decides what to do with a message: forward it to gqlgen, drop it
// (handled here), or close with code and reason.
func (c *specConn) check(data []byte) (forward bool, code int, reason string) {
	var m clientMessage
	if err := json.Unmarshal(data, &m); err != nil || m.Type == nil {
		if !c.strict {
			return true, 0, "" // gqlgen answers the legacy protocol's bad messages
		}
		return false, closeBadRequest, "Invalid message received"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := ""
	if m.ID != nil {
		id = *m.ID
	}
	if !c.strict {
		switch *m.Type {
		case "connection_init":
			if !objectOrNull(m.Payload) {
				return false, transport.WebsocketCloseProtocolError, "connection_init payload must be an object"
			}
		case "start":
			c.running[id] = true
		}
		return true, 0, ""
	}
	switch t := *m.Type; t {
	case "connection_init":
		if !objectOrNull(m.Payload) {
			return false, closeBadRequest, "Invalid message received: connection_init payload must be an object"
		}
		if c.initSeen {
			return false, closeTooManyInitRequests, "Too many initialisation requests"
		}
		c.initSeen = true
		return true, 0, ""
	case "ping", "pong":
		if !objectOrNull(m.Payload) {
			return false, closeBadRequest, "Invalid message received: " + t + " payload must be an object"
		}
		if c.acked {
			return true, 0, ""
		}
		if t == "ping" {
			// gqlgen refuses anything but connection_init before it; the
			// protocol allows ping at any time.
			c.inner.WriteJSON(json.RawMessage(`{"type":"pong"}`))
		}
		return false, 0, ""
	case "subscribe":
		if id == "" {
			return false, closeBadRequest, "Invalid message received: subscribe needs an id"
		}
		if !validSubscribePayload(m.Payload) {
			return false, closeBadRequest, "Invalid message received: subscribe payload needs a query"
		}
		if !c.acked {
			return false, closeUnauthorized, "Unauthorized"
		}
		if c.active[id] {
			return false, closeSubscriberExists, truncateReason("Subscriber for " + id + " already exists")
		}
		c.active[id] = true
		c.running[id] = true
		return true, 0, ""
	case "complete":
		if id == "" {
			return false, closeBadRequest, "Invalid message received: complete needs an id"
		}
		delete(c.active, id)
		return c.acked, 0, "" // before the ack there is nothing to complete
	}
	return false, closeBadRequest, truncateReason("Unexpected message of type " + strconv.Quote(*m.Type) + " received")
}

// objectOrNull reports a missing, null or object payload.
func objectOrNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null")) || raw[0] == '{'
}

// validSubscribePayload checks the shape graphql-transport-ws gives a
// subscribe payload: a query string (or a persisted-query extension),
// optional operationName string, variables and extensions objects.
func validSubscribePayload(raw json.RawMessage) bool {
	var p struct {
		Query         *string         `json:"query"`
		OperationName *string         `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    map[string]any  `json:"extensions"`
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) || json.Unmarshal(raw, &p) != nil {
		return false
	}
	return (p.Query != nil || p.Extensions["persistedQuery"] != nil) && objectOrNull(p.Variables)
}

// truncateReason keeps a close reason within a close frame (wsgorilla cuts
// at a rune boundary too; this keeps the cut ASCII-clean for logs).
func truncateReason(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}

// WriteJSON sends a message and follows the server's side of the protocol:
// connection_ack, and the end of operations (complete, error).
func (c *specConn) WriteJSON(v any) error {
	typ, id, ok := messageTypeID(v)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var m struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		json.Unmarshal(b, &m)
		typ, id, v = m.Type, m.ID, json.RawMessage(b)
	}
	ends := typ == "complete" || typ == "error"
	if c.strict {
		c.mu.Lock()
		switch {
		case typ == "connection_ack":
			c.acked = true
		case ends:
			delete(c.active, id)
		}
		c.mu.Unlock()
	}
	err := c.inner.WriteJSON(v)
	if ends {
		c.mu.Lock()
		delete(c.running, id)
		if c.drained != nil && len(c.running) == 0 {
			close(c.drained)
			c.drained = nil
		}
		c.mu.Unlock()
	}
	return err
}

// endSession closes the connection with code and reason once every
// operation it runs has written its last frame, or after sessionEndGrace.
// New operations are refused meanwhile (liveSession), and streams end on
// their own (graph.Resolver.Subscribe), so the wait is short.
func (c *specConn) endSession(code int, reason string) {
	c.mu.Lock()
	var drained chan struct{}
	if len(c.running) > 0 && !c.closeSent {
		if c.drained == nil {
			c.drained = make(chan struct{})
		}
		drained = c.drained
	}
	c.mu.Unlock()
	if drained != nil {
		select {
		case <-drained:
		case <-time.After(sessionEndGrace):
		}
	}
	c.WriteClose(code, reason)
	c.inner.Close() // gqlgen's read loop ends, and with it the connection
}

// messageTypeID reads the Type and ID fields of gqlgen's message struct
// without encoding it: every event of every subscription passes here.
func messageTypeID(v any) (typ, id string, ok bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return "", "", false
	}
	t, i := rv.FieldByName("Type"), rv.FieldByName("ID")
	if !t.IsValid() || t.Kind() != reflect.String || !i.IsValid() || i.Kind() != reflect.String {
		return "", "", false
	}
	return t.String(), i.String(), true
}

// WriteClose sends the first close frame only, with gqlgen's init timeout
// mapped to 4408 and its other protocol errors to 4400 on
// graphql-transport-ws connections.
func (c *specConn) WriteClose(code int, reason string) error {
	c.mu.Lock()
	if c.closeSent {
		c.mu.Unlock()
		return nil
	}
	c.closeSent = true
	c.mu.Unlock()
	if c.strict && code == transport.WebsocketCloseProtocolError {
		if reason == wsgorilla.InitTimeoutReason {
			code, reason = closeInitTimeout, "Connection initialisation timeout"
		} else {
			code, reason = closeBadRequest, "Invalid message received"
		}
	}
	c.metrics.wsCloses.WithLabelValues(strconv.Itoa(code)).Inc()
	return c.inner.WriteClose(code, reason)
}

func (c *specConn) Close() error {
	c.closeOnce.Do(func() { c.metrics.wsConnections.Dec() })
	return c.inner.Close()
}

func (c *specConn) Subprotocol() string { return c.inner.Subprotocol() }

func (c *specConn) SetReadLimit(limit int64) {
	if l, ok := c.inner.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *specConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.inner.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
