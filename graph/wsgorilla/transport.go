package wsgorilla

// This file is Parley's GraphQL-over-WebSocket transport for gqlgen's
// executor. It speaks graphql-transport-ws
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) and the
// legacy graphql-ws of subscriptions-transport-ws, as gqlgen's
// transport.Websocket does, message for message, but holds fewer
// goroutines per connection: gqlgen's keeps, besides the handler's read
// loop, one for its keep-alive ticker, one waiting for the connection's
// context, and one per operation blocked on the subscription's channel.
// Here a connection has one goroutine, its reader, started when
// connection_init is accepted so that the handler returns and net/http
// lets go of the request's buffers, and renewed after each message so that
// its stack stays small (read); keep-alives and the wait for the
// server's end are a runtime timer and context.AfterFunc (no goroutine
// until they fire); an operation's goroutine lasts while it executes; and
// a subscription whose producer is driven (package push) holds none while
// idle: its producer wakes the transport, which delivers on a goroutine
// that ends with the delivery.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/parley-im/parley/graph/push"
)

// Subprotocols are the GraphQL WebSocket subprotocols Transport speaks.
var Subprotocols = []string{subprotocolGraphQLWS, subprotocolTransportWS}

const (
	subprotocolGraphQLWS   = "graphql-ws" // subscriptions-transport-ws
	subprotocolTransportWS = "graphql-transport-ws"
)

// defaultPayloadReadLimit bounds a client's message when
// Transport.PayloadReadLimit is nil, as gqlgen's does.
const defaultPayloadReadLimit = 1 << 20

// Transport serves GraphQL over WebSocket to gqlgen's executor; add it
// with handler.Server.AddTransport. Its fields are those of gqlgen's
// transport.Websocket that Parley uses, with the same meaning. Unlike
// gqlgen's, operations get no HTTP headers (RawParams.Headers): keeping
// the upgrade request's for the connection's life would cost every
// connection its header map, and nothing reads them.
type Transport struct {
	// Implementation accepts the connection; nil means Implementation{}.
	Implementation transport.WebsocketImplementation

	// InitFunc decides on connection_init: the context it returns is the
	// connection's; an error closes the connection with the code and
	// reason set by WithCloseCode and WithCloseReason on the context it
	// returns (1000 and "terminated" otherwise).
	InitFunc transport.WebsocketInitFunc
	// InitTimeout closes a connection that sends no connection_init in
	// time, with 1002 and the reason InitTimeoutReason; zero waits forever.
	InitTimeout time.Duration
	// ErrorFunc is told of read and write errors other than a normal close.
	ErrorFunc transport.WebsocketErrorFunc
	// CloseFunc is called once when a connection that got past the
	// handshake closes, with the connection's context.
	CloseFunc transport.WebsocketCloseFunc
	// KeepAlivePingInterval is how often a graphql-ws connection gets a
	// ka message; zero sends none.
	KeepAlivePingInterval time.Duration
	// PingPongInterval is how often a graphql-transport-ws connection gets
	// a ping; a client that answers none within twice the interval is
	// dropped. Zero sends none.
	PingPongInterval time.Duration
	// PayloadReadLimit bounds a client's message in bytes; nil means 1 MB,
	// -1 no limit.
	PayloadReadLimit *int64
}

// InitTimeoutReason is the close reason of a connection that sent no
// connection_init within Transport.InitTimeout (gqlgen's words).
const InitTimeoutReason = "connection initialisation timeout"

var _ graphql.Transport = Transport{}

type closeCodeKey struct{}
type closeReasonKey struct{}

// WithCloseCode returns ctx telling the transport which close code to
// use when InitFunc refuses with it.
func WithCloseCode(ctx context.Context, code int) context.Context {
	return context.WithValue(ctx, closeCodeKey{}, code)
}

// WithCloseReason returns ctx telling the transport the close reason to
// use when InitFunc refuses with it.
func WithCloseReason(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, closeReasonKey{}, reason)
}

func closeCodeOf(ctx context.Context, otherwise int) int {
	if code, ok := ctx.Value(closeCodeKey{}).(int); ok {
		return code
	}
	return otherwise
}

func closeReasonOf(ctx context.Context) string {
	reason, _ := ctx.Value(closeReasonKey{}).(string)
	return reason
}

// Supports reports an upgrade request.
func (t Transport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

// Do upgrades the request, handles connection_init, and leaves the
// connection to its reader goroutine.
func (t Transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	impl := t.Implementation
	if impl == nil {
		impl = Implementation{}
	}
	ws, err := impl.Accept(w, r, transport.WebsocketAcceptOptions{ResponseHeader: http.Header{}, Subprotocols: Subprotocols})
	if err != nil {
		if !errors.Is(err, errNoSubprotocol) {
			log.Printf("wsgorilla: unable to upgrade %T to websocket: %v", w, err)
		}
		return // the implementation answered the request
	}
	// The connection outlives the request (see Do's end): its context keeps
	// the request's values but not its cancellation; close cancels it. The
	// server's end (WithServerContext) closes the connection with 1001
	// (going away).
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &wsConn{t: t, ws: ws, ctx: ctx, cancel: cancel, exec: exec, active: map[string]*operation{}}
	stopServer := func() bool { return false }
	if server, ok := r.Context().Value(serverKey{}).(context.Context); ok {
		stopServer = context.AfterFunc(server, func() { c.close(websocket.CloseGoingAway, "server shutting down") })
	}
	kept := false
	defer func() {
		if !kept { // the connection did not get past init
			stopServer()
			cancel()
		}
	}()
	switch ws.Subprotocol() {
	case subprotocolTransportWS:
		c.strict = true
	case subprotocolGraphQLWS, "":
	default:
		_ = ws.WriteClose(transport.WebsocketCloseProtocolError, "unsupported negotiated subprotocol "+ws.Subprotocol())
		_ = ws.Close()
		return
	}
	limit := int64(defaultPayloadReadLimit)
	if t.PayloadReadLimit != nil {
		limit = *t.PayloadReadLimit
	}
	if l, ok := ws.(transport.WebsocketReadLimiter); ok && limit > 0 {
		l.SetReadLimit(limit)
	}
	if !c.init() {
		return
	}
	// The reader goes on in a goroutine of its own and the handler returns,
	// which lets net/http drop what it holds for the request: its 4 KB read
	// and write buffers, the response, and the handler's stack, grown deep
	// by the middlewares and connection_init (16 KB). The connection still
	// has one goroutine, with a shallow stack.
	kept = true
	outliving, _ := r.Context().Value(outlivingKey{}).(*Outliving)
	outliving.keep()
	go c.run(func() {
		stopServer()
		outliving.end()
	})
}

type serverKey struct{}

// WithServerContext returns ctx marked as the server's lifetime: give it to
// http.Server.BaseContext, and the connections of requests under it close
// with 1001 (going away) when it is done. A connection's context keeps the
// request's values but not its cancellation, since it outlives the
// handler.
func WithServerContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, serverKey{}, ctx)
}

// wsConn is one connection. Its reader is the handler's goroutine; writes
// come from it, from operations and from the keep-alive timer, under mu.
type wsConn struct {
	t      Transport
	ws     transport.WebsocketConn
	ctx    context.Context    // the request's, then InitFunc's
	cancel context.CancelFunc // ends ctx: close calls it
	exec   graphql.GraphExecutor
	strict bool   // graphql-transport-ws; else graphql-ws
	end    func() // the reader's last act (run)

	mu           sync.Mutex
	active       map[string]*operation
	closed       bool
	receivedPong bool
	keepAlive    *time.Timer
}

// operation is one started operation, until it ends.
type operation struct {
	id     string
	cancel context.CancelFunc
}

// wire is a message in either protocol; Type holds the protocol's name.
type wire struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
}

// Client message kinds, as the two protocols name them.
const (
	kindInit      = iota // connection_init
	kindStart            // subscribe, start
	kindStop             // complete, stop
	kindTerminate        // connection_terminate (graphql-ws)
	kindPing             // ping (graphql-transport-ws)
	kindPong             // pong (graphql-transport-ws)
	kindServer           // a type only the server sends
)

var (
	transportWSKinds = map[string]int{
		"connection_init": kindInit, "subscribe": kindStart, "complete": kindStop, "ping": kindPing, "pong": kindPong,
		"connection_ack": kindServer, "next": kindServer, "error": kindServer,
	}
	graphQLWSKinds = map[string]int{
		"connection_init": kindInit, "connection_terminate": kindTerminate, "start": kindStart, "stop": kindStop,
		"connection_ack": kindServer, "connection_error": kindServer, "data": kindServer, "error": kindServer,
		"complete": kindServer, "ka": kindServer,
	}
)

var errInvalidMessage = errors.New("invalid message received")

// next reads the client's next message and its kind.
func (c *wsConn) next() (wire, int, error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return wire{}, 0, err
	}
	var m wire
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return wire{}, 0, errInvalidMessage
	}
	kinds := graphQLWSKinds
	if c.strict {
		kinds = transportWSKinds
	}
	kind, ok := kinds[m.Type]
	if !ok {
		return wire{}, 0, errInvalidMessage
	}
	if kind == kindServer && c.strict {
		return wire{}, 0, fmt.Errorf("invalid client->server message type %s", m.Type)
	}
	return m, kind, nil
}

func (c *wsConn) reportError(err error, read bool) {
	if c.t.ErrorFunc != nil && err != nil {
		c.t.ErrorFunc(c.ctx, transport.WebsocketError{Err: err, IsReadError: read})
	}
}

func (c *wsConn) setReadDeadline(t time.Time) {
	if d, ok := c.ws.(transport.WebsocketReadDeadliner); ok {
		_ = d.SetReadDeadline(t)
	}
}

// init handles connection_init, within InitTimeout: a read deadline, so
// that no goroutine waits beside the reader.
func (c *wsConn) init() bool {
	if c.t.InitTimeout > 0 {
		c.setReadDeadline(time.Now().Add(c.t.InitTimeout))
	}
	m, kind, err := c.next()
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			c.close(transport.WebsocketCloseProtocolError, InitTimeoutReason)
		case errors.Is(err, errInvalidMessage):
			c.sendConnectionError("invalid json")
			c.close(transport.WebsocketCloseProtocolError, "decoding error")
		default:
			c.close(transport.WebsocketCloseProtocolError, "decoding error")
		}
		return false
	}
	if c.t.InitTimeout > 0 {
		c.setReadDeadline(time.Time{})
	}
	switch kind {
	case kindInit:
		var payload transport.InitPayload
		if len(m.Payload) > 0 {
			payload = make(transport.InitPayload)
			if err := json.Unmarshal(m.Payload, &payload); err != nil {
				c.close(transport.WebsocketCloseProtocolError, "decoding error")
				return false
			}
		}
		var ack *transport.InitPayload
		if c.t.InitFunc != nil {
			ctx, a, err := c.t.InitFunc(c.ctx, payload)
			if err != nil {
				c.sendConnectionError("%s", err.Error())
				reason := closeReasonOf(ctx)
				if reason == "" {
					reason = "terminated"
				}
				c.close(closeCodeOf(ctx, transport.WebsocketCloseNormalClosure), reason)
				return false
			}
			c.ctx, ack = ctx, a
		}
		msg := wire{Type: "connection_ack"}
		if ack != nil {
			b, err := json.Marshal(*ack)
			if err != nil {
				panic(err)
			}
			msg.Payload = b
		}
		c.write(msg)
		if !c.strict {
			c.write(wire{Type: "ka"})
		}
		return true
	case kindTerminate:
		c.close(transport.WebsocketCloseNormalClosure, "terminated")
	default:
		c.sendConnectionError("unexpected message %s", m.Type)
		c.close(transport.WebsocketCloseProtocolError, "unexpected message")
	}
	return false
}

// write sends m; keep-alives and connection errors exist in one protocol
// only.
func (c *wsConn) write(m wire) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeLocked(m)
}

func (c *wsConn) writeLocked(m wire) {
	c.reportError(c.ws.WriteJSON(m), false)
}

// run reads until the connection ends, and then closes it.
func (c *wsConn) run(end func()) {
	c.startKeepAlive()
	c.end = func() { // the reader's end closes the connection with 1000
		c.close(transport.WebsocketCloseNormalClosure, "terminated")
		end()
	}
	c.read()
}

// read reads and handles one message, then reads the next on a new
// goroutine while this one ends. A connection still has one reader at a
// time, in order, but its stack is the few KB a blocked read needs: a
// goroutine's stack grows to the deepest call it made (decoding JSON,
// starting an operation) and only halves at a collection where less than
// a quarter of it is in use, which a blocked read's exceeds. Spawning a
// goroutine per client message (init, subscribe, a pong every few
// seconds) costs less than the 4 KB it saves per idle connection.
func (c *wsConn) read() {
	defer func() {
		// Past the handler, net/http's recovery no longer applies.
		if p := recover(); p != nil {
			log.Printf("wsgorilla: panic in a connection's reader: %v\n%s", p, debug.Stack())
			c.close(websocket.CloseInternalServerErr, "internal error")
			c.end()
		}
	}()
	if c.handleNext() {
		go c.read()
		return
	}
	c.end()
}

// handleNext reads and handles the client's next message, and reports
// whether the connection goes on.
func (c *wsConn) handleNext() bool {
	start := graphql.Now()
	m, kind, err := c.next()
	if err != nil {
		if !errors.Is(err, net.ErrClosed) && !errors.Is(err, transport.ErrWebsocketClosed) {
			c.reportError(err, true)
		}
		if errors.Is(err, errInvalidMessage) {
			c.close(transport.WebsocketCloseProtocolError, "invalid message")
		}
		return false
	}
	switch kind {
	case kindStart:
		c.subscribe(start, m)
	case kindStop:
		c.mu.Lock()
		op := c.active[m.ID]
		c.mu.Unlock()
		if op != nil {
			op.cancel()
		}
	case kindTerminate:
		c.close(transport.WebsocketCloseNormalClosure, "terminated")
		return false
	case kindPing:
		c.write(wire{Type: "pong", Payload: m.Payload})
	case kindPong:
		c.mu.Lock()
		c.receivedPong = true
		c.mu.Unlock()
		c.setReadDeadline(time.Time{})
	default:
		c.sendConnectionError("unexpected message %s", m.Type)
		c.close(transport.WebsocketCloseProtocolError, "unexpected message")
		return false
	}
	return true
}

// startKeepAlive arms the connection's keep-alive: ka on graphql-ws, ping
// (with the pong deadline) on graphql-transport-ws. It is a runtime timer
// rearmed at each tick, which costs no goroutine between ticks.
func (c *wsConn) startKeepAlive() {
	every := c.t.KeepAlivePingInterval
	if c.strict {
		every = c.t.PingPongInterval
	}
	if every <= 0 {
		return
	}
	if c.strict {
		c.setReadDeadline(time.Now().Add(2 * every))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keepAlive = time.AfterFunc(every, func() { c.tick(every) })
}

func (c *wsConn) tick(every time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if !c.strict {
		c.writeLocked(wire{Type: "ka"})
	} else {
		c.writeLocked(wire{Type: "ping"})
		// No pong since the last ping: the deadline set then stands.
		if c.receivedPong {
			c.setReadDeadline(time.Now().Add(2 * every))
		}
		c.receivedPong = false
	}
	c.keepAlive.Reset(every)
}

// subscribe starts an operation (subscribe, start) on a goroutine of its
// own, which parses and validates it too: the reader only reads.
func (c *wsConn) subscribe(start time.Time, m wire) {
	// close cancels the active operations itself, so an operation's
	// context need not be a child of the connection's (which would cost
	// the connection a map of children).
	ctx, cancel := context.WithCancel(context.WithoutCancel(graphql.StartOperationTrace(c.ctx)))
	op := &operation{id: m.ID, cancel: cancel}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cancel()
		return
	}
	c.active[m.ID] = op
	c.mu.Unlock()
	go c.execute(ctx, start, m.Payload, op)
}

// execute runs op and delivers its responses: all of them here, or, for
// a driven producer, those available now, and later ones each on a
// goroutine of its own when the producer wakes the operation.
func (c *wsConn) execute(ctx context.Context, start time.Time, payload json.RawMessage, op *operation) {
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		if c.forget(op) {
			c.sendError(op.id, &gqlerror.Error{Message: "invalid json"})
			c.complete(op.id)
		}
		op.cancel()
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if c.forget(op) {
			if errcode.GetErrorKind(errs) == errcode.KindProtocol {
				c.sendError(op.id, resp.Errors...)
			} else {
				c.sendResponse(op.id, &graphql.Response{Errors: errs})
			}
			c.complete(op.id)
		}
		op.cancel()
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)

	var driven bool
	defer func() {
		if r := recover(); r != nil {
			c.fail(ctx, rc, op, r)
			return
		}
		if !driven {
			c.finish(op)
		}
	}()
	p := &push.Op{}
	responses, ctx := c.exec.DispatchOperation(push.NewContext(ctx, p), rc)
	if driven = p.Driven(); driven {
		p.Start(func(sent int, closed bool) { c.deliver(ctx, rc, op, responses, sent, closed) })
		return
	}
	for {
		response := responses(ctx)
		if response == nil {
			return
		}
		c.sendResponse(op.id, response)
	}
}

// deliver sends what a driven producer's step made available, and ends op
// after its last.
func (c *wsConn) deliver(ctx context.Context, rc *graphql.OperationContext, op *operation, responses graphql.ResponseHandler, sent int, closed bool) {
	defer func() {
		if r := recover(); r != nil {
			c.fail(ctx, rc, op, r)
		}
	}()
	for range sent {
		response := responses(ctx)
		if response == nil {
			break
		}
		c.sendResponse(op.id, response)
	}
	if closed {
		for responses(ctx) != nil { // the channel is closed: the handler says so
		}
		c.finish(op)
	}
}

// fail answers a panic of op's execution with an error, which ends it.
func (c *wsConn) fail(ctx context.Context, rc *graphql.OperationContext, op *operation, r any) {
	err := rc.Recover(ctx, r)
	var gqlErr *gqlerror.Error
	if !errors.As(err, &gqlErr) {
		gqlErr = &gqlerror.Error{}
		if err != nil {
			gqlErr.Message = err.Error()
		}
	}
	if c.forget(op) {
		c.sendError(op.id, gqlErr)
	}
	op.cancel()
}

// finish ends op with complete, unless the connection is ending: its
// close frame says so.
func (c *wsConn) finish(op *operation) {
	if c.forget(op) && c.ctx.Err() == nil {
		c.complete(op.id)
	}
	op.cancel()
}

// forget removes op from the active ones, reporting whether it was there
// (an operation ends once).
func (c *wsConn) forget(op *operation) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active[op.id] != op {
		return false
	}
	delete(c.active, op.id)
	return true
}

func (c *wsConn) sendResponse(id string, response *graphql.Response) {
	b, err := json.Marshal(response)
	if err != nil {
		panic(err)
	}
	typ := "data"
	if c.strict {
		typ = "next"
	}
	c.write(wire{Type: typ, ID: id, Payload: b})
}

func (c *wsConn) complete(id string) { c.write(wire{Type: "complete", ID: id}) }

func (c *wsConn) sendError(id string, errs ...*gqlerror.Error) {
	list := make([]error, len(errs))
	for i, err := range errs {
		list[i] = err
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err)
	}
	c.write(wire{Type: "error", ID: id, Payload: b})
}

// sendConnectionError tells a graphql-ws client why the connection fails;
// graphql-transport-ws has no such message (the close reason says it).
func (c *wsConn) sendConnectionError(format string, args ...any) {
	if c.strict {
		return
	}
	b, err := json.Marshal(&gqlerror.Error{Message: fmt.Sprintf(format, args...)})
	if err != nil {
		panic(err)
	}
	c.write(wire{Type: "connection_error", Payload: b})
}

// close closes the connection once, with code and reason, ending its
// operations, and tells CloseFunc.
func (c *wsConn) close(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.cancel()
	_ = c.ws.WriteClose(code, reason)
	for _, op := range c.active {
		op.cancel()
	}
	if c.keepAlive != nil {
		c.keepAlive.Stop()
	}
	c.mu.Unlock()
	_ = c.ws.Close()
	if c.t.CloseFunc != nil {
		c.t.CloseFunc(c.ctx, code)
	}
}

// Outliving lets middleware around the transport act when a connection
// ends rather than when its handler returns (the handler returns once
// connection_init is accepted): an access log, an in-flight gauge. Put
// one in the request's context with WithOutliving.
type Outliving struct {
	mu    sync.Mutex
	kept  bool // the connection outlived its handler
	ended bool
	then  []func()
}

type outlivingKey struct{}

// WithOutliving returns ctx carrying a new Outliving for the transport.
func WithOutliving(ctx context.Context) (context.Context, *Outliving) {
	o := &Outliving{}
	return context.WithValue(ctx, outlivingKey{}, o), o
}

// Then arranges for fn to run when the connection ends and reports true,
// if the transport kept the connection past its handler and it has not
// ended yet; otherwise it reports false and the caller runs fn itself.
// Call it once the handler has returned.
func (o *Outliving) Then(fn func()) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.kept || o.ended {
		return false
	}
	o.then = append(o.then, fn)
	return true
}

// keep marks the connection as outliving its handler.
func (o *Outliving) keep() {
	if o == nil {
		return
	}
	o.mu.Lock()
	o.kept = true
	o.mu.Unlock()
}

// end runs what Then arranged.
func (o *Outliving) end() {
	if o == nil {
		return
	}
	o.mu.Lock()
	o.ended = true
	then := o.then
	o.then = nil
	o.mu.Unlock()
	for _, fn := range then {
		fn()
	}
}
