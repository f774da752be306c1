// Package wsgorilla is Parley's GraphQL-over-WebSocket transport for
// gqlgen's executor (Transport, transport.go), on github.com/gorilla/websocket
// (Implementation, with the origin allow-list the server needs):
//
//	srv.AddTransport(wsgorilla.Transport{
//		Implementation: wsgorilla.Implementation{
//			AllowedOrigins: []string{"https://app.parley.im"},
//		},
//	})
//
// Implementation also satisfies gqlgen's transport.WebsocketImplementation,
// so gqlgen's own transport.Websocket can run on it.
package wsgorilla

import (
	"cmp"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// DefaultReadBufferSize is a connection's read buffer when
// Implementation.ReadBufferSize is zero: a client's messages (init,
// subscribe, ping) are small, and a larger one is read through it in
// pieces. net/http's 4 KB buffer, which gorilla would otherwise keep, is
// left to the collector.
const DefaultReadBufferSize = 256

// writeBuffers lends connections their write buffers (gorilla's
// Upgrader.WriteBufferPool), shared by every Implementation.
var writeBuffers = &sync.Pool{}

// defaultWriteTimeout bounds a write when Implementation.WriteTimeout is zero.
const defaultWriteTimeout = 10 * time.Second

// maxCloseReasonBytes is the room RFC 6455 leaves for the reason in a close
// frame: 125 bytes of control frame payload minus the 2-byte status code.
const maxCloseReasonBytes = 123

// Implementation accepts gqlgen websocket connections with a gorilla Upgrader.
// The zero value is usable and only accepts requests without an Origin header
// or from the server's own host: browsers on other origins must be listed in
// AllowedOrigins.
type Implementation struct {
	// AllowedOrigins lists the browser origins allowed to open a websocket;
	// see OriginAllowed for the accepted forms.
	AllowedOrigins []string

	// ReadBufferSize and WriteBufferSize are the upgrader's I/O buffer sizes
	// in bytes. Zero means DefaultReadBufferSize, and gorilla's 4 KB write
	// buffer. A connection holds its read buffer for its lifetime, so it is
	// small; write buffers are lent from a pool for the time of a write
	// only, so an idle connection holds none. Neither limits message size:
	// Transport.PayloadReadLimit does.
	ReadBufferSize, WriteBufferSize int

	// HandshakeTimeout bounds writing the upgrade response; zero means no
	// timeout.
	HandshakeTimeout time.Duration

	// EnableCompression negotiates permessage-deflate when the client
	// offers it.
	EnableCompression bool

	// WriteTimeout bounds each message and close frame written to the client,
	// so a client that stops reading can't block the connection's writers
	// (gqlgen holds its connection lock while writing) forever. Zero means
	// 10 seconds.
	WriteTimeout time.Duration
}

var _ transport.WebsocketImplementation = Implementation{}

// errNoSubprotocol refuses an upgrade offering none of gqlgen's subprotocols.
var errNoSubprotocol = errors.New("websocket: no supported subprotocol offered")

// Accept upgrades the request to a websocket speaking one of the subprotocols
// gqlgen offers. On failure, such as an origin that isn't allowed (403), the
// upgrader has already written the HTTP error response.
func (i Implementation) Accept(
	w http.ResponseWriter,
	r *http.Request,
	options transport.WebsocketAcceptOptions,
) (transport.WebsocketConn, error) {
	upgrader := websocket.Upgrader{
		HandshakeTimeout:  i.HandshakeTimeout,
		ReadBufferSize:    cmp.Or(i.ReadBufferSize, DefaultReadBufferSize),
		WriteBufferSize:   i.WriteBufferSize,
		WriteBufferPool:   writeBuffers,
		Subprotocols:      slices.Clone(options.Subprotocols),
		CheckOrigin:       i.CheckOrigin,
		EnableCompression: i.EnableCompression,
	}
	// A client that offers none of the subprotocols would be answered in
	// one it never asked for; refuse the handshake instead (RFC 6455 lets
	// the server fail it), saying which ones it could have offered.
	if !slices.ContainsFunc(websocket.Subprotocols(r), func(p string) bool { return slices.Contains(options.Subprotocols, p) }) {
		http.Error(w, "websocket: offer one of the subprotocols "+strings.Join(options.Subprotocols, ", "), http.StatusBadRequest)
		return nil, errNoSubprotocol
	}
	// The upgrader hijacks the connection and writes the 101 response itself,
	// so headers gqlgen wants sent must be passed to Upgrade rather than set
	// on w.
	ws, err := upgrader.Upgrade(w, r, options.ResponseHeader)
	if err != nil {
		return nil, err
	}

	writeTimeout := i.WriteTimeout
	if writeTimeout == 0 {
		writeTimeout = defaultWriteTimeout
	}
	return &conn{ws: ws, writeTimeout: writeTimeout}, nil
}

// CheckOrigin reports whether r may open a websocket, applying OriginAllowed
// to AllowedOrigins. It has the signature of websocket.Upgrader.CheckOrigin
// so other gorilla upgraders can share the rule.
func (i Implementation) CheckOrigin(r *http.Request) bool {
	return OriginAllowed(i.AllowedOrigins, r)
}

// conn adapts a gorilla connection to transport.WebsocketConn.
//
// gorilla allows one concurrent writer, and gqlgen writes from the read loop,
// subscription goroutines and keep-alive tickers, so writeMu serializes every
// write. Reads stay on gqlgen's single read loop and need no lock.
type conn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration
	writeMu      sync.Mutex
}

var (
	_ transport.WebsocketConn          = (*conn)(nil)
	_ transport.WebsocketReadLimiter   = (*conn)(nil)
	_ transport.WebsocketReadDeadliner = (*conn)(nil)
)

// NextReader returns the next message, or transport.ErrWebsocketClosed when
// the client closed the connection normally, so gqlgen doesn't report an
// ordinary disconnect to its ErrorFunc. 1001 (going away) counts as normal:
// browsers send it when a tab is closed or navigates away.
func (c *conn) NextReader() (int, io.Reader, error) {
	messageType, r, err := c.ws.NextReader()
	if websocket.IsCloseError(err,
		websocket.CloseNormalClosure,
		websocket.CloseGoingAway,
		websocket.CloseNoStatusReceived,
	) {
		return messageType, nil, transport.ErrWebsocketClosed
	}
	return messageType, r, err
}

// WriteJSON sends v as one text message.
func (c *conn) WriteJSON(v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()

	if err := c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

// WriteClose sends a close frame with closeCode and message, truncated to fit
// the frame. It leaves closing the TCP connection to Close, which gqlgen calls
// right after.
func (c *conn) WriteClose(closeCode int, message string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()

	return c.ws.WriteControl(
		websocket.CloseMessage,
		websocket.FormatCloseMessage(closeCode, truncateUTF8(message, maxCloseReasonBytes)),
		time.Now().Add(c.writeTimeout),
	)
}

// Close closes the underlying network connection without a close frame; call
// WriteClose first to tell the client why.
func (c *conn) Close() error {
	return c.ws.Close()
}

// Subprotocol returns the negotiated subprotocol, or "" if the client offered
// none that gqlgen supports.
func (c *conn) Subprotocol() string {
	return c.ws.Subprotocol()
}

// SetReadLimit makes a message larger than limit bytes fail the read and
// close the connection with 1009 (message too big).
func (c *conn) SetReadLimit(limit int64) {
	c.ws.SetReadLimit(limit)
}

// SetReadDeadline makes a read still blocked at t fail, which is how gqlgen
// drops clients that stop answering pings.
func (c *conn) SetReadDeadline(t time.Time) error {
	return c.ws.SetReadDeadline(t)
}

// truncateUTF8 shortens s to at most n bytes without splitting a UTF-8
// sequence: a close reason must be valid UTF-8, or clients such as gorilla
// fail the close as a protocol error and lose the code.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
