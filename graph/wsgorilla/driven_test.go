package wsgorilla_test

import (
	"context"
	"net"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/parley-im/parley/graph/push"
	"github.com/parley-im/parley/graph/wsgorilla"
)

// drivenServer serves subscription { tick }, whose producer is driven
// (package push) the way graph's event streams are: publish queues a value
// for every stream and wakes it; end closes them all.
type drivenServer struct {
	url string

	mu      sync.Mutex
	streams map[*drivenStream]bool
}

type drivenStream struct {
	op      *push.Op
	out     chan int
	pending []int
	ended   bool
}

func newDrivenServer(t *testing.T) *drivenServer {
	t.Helper()
	d := &drivenServer{streams: map[*drivenStream]bool{}}
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `
		type Query { tick: Int! }
		type Subscription { tick: Int! }
	`})
	srv := handler.New(&graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 1, true
		},
		ExecFunc: func(ctx context.Context) graphql.ResponseHandler {
			op := push.FromContext(ctx)
			if op == nil || graphql.GetOperationContext(ctx).Operation.Operation != ast.Subscription {
				return graphql.OneShot(graphql.ErrorResponse(ctx, "subscriptions only"))
			}
			s := &drivenStream{op: op, out: make(chan int, 8)}
			d.mu.Lock()
			d.streams[s] = true
			d.mu.Unlock()
			op.Drive(func() (int, bool) {
				d.mu.Lock()
				defer d.mu.Unlock()
				if ctx.Err() != nil || s.ended {
					delete(d.streams, s)
					close(s.out)
					return len(s.out), true
				}
				for len(s.pending) > 0 && len(s.out) < cap(s.out) {
					s.out <- s.pending[0]
					s.pending = s.pending[1:]
				}
				return len(s.out), false
			})
			context.AfterFunc(ctx, op.Wake)
			return func(ctx context.Context) *graphql.Response {
				select {
				case v, ok := <-s.out:
					if !ok {
						return nil
					}
					return &graphql.Response{Data: []byte(`{"tick":` + strconv.Itoa(v) + `}`)}
				case <-ctx.Done():
					return nil
				}
			}
		},
	})
	srv.AddTransport(wsgorilla.Transport{KeepAlivePingInterval: time.Hour, PingPongInterval: time.Hour})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	d.url = "ws" + strings.TrimPrefix(hs.URL, "http")
	return d
}

func (d *drivenServer) publish(v int) {
	d.mu.Lock()
	for s := range d.streams {
		s.pending = append(s.pending, v)
	}
	streams := make([]*drivenStream, 0, len(d.streams))
	for s := range d.streams {
		streams = append(streams, s)
	}
	d.mu.Unlock()
	for _, s := range streams {
		s.op.Wake()
	}
}

func (d *drivenServer) endAll() {
	d.mu.Lock()
	streams := make([]*drivenStream, 0, len(d.streams))
	for s := range d.streams {
		s.ended = true
		streams = append(streams, s)
	}
	d.mu.Unlock()
	for _, s := range streams {
		s.op.Wake()
	}
}

func (d *drivenServer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.streams)
}

// settledGoroutines returns the goroutine count once it has not changed
// for 50 ms.
func settledGoroutines() int {
	last := runtime.NumGoroutine()
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			return n
		}
		last = n
	}
	return last
}

// waitGoroutines waits for the goroutine count to fall to at most n and
// returns it.
func waitGoroutines(n int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := runtime.NumGoroutine()
		if got <= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIdleDrivenStreamsHoldOneGoroutinePerConnection: with every
// connection's subscription idle, the server runs one goroutine per
// connection (its reader, which is net/http's), none per stream, none for
// keep-alives; events still arrive in order, and after the clients leave
// no goroutine is left behind (goleak checks the rest at the end).
func TestIdleDrivenStreamsHoldOneGoroutinePerConnection(t *testing.T) {
	for _, p := range []struct{ name, start, data string }{
		{"graphql-transport-ws", "subscribe", "next"},
		{"graphql-ws", "start", "data"},
	} {
		t.Run(p.name, func(t *testing.T) {
			d := newDrivenServer(t)
			const conns = 20
			before := settledGoroutines()
			clients := make([]*websocket.Conn, conns)
			for i := range clients {
				c := dial(t, d.url, p.name, "")
				send(t, c, "connection_init", "", "")
				require.Equal(t, "connection_ack", receive(t, c).Type)
				if p.name == "graphql-ws" {
					require.Equal(t, "ka", receive(t, c).Type)
				}
				send(t, c, p.start, "s", `{"query":"subscription { tick }"}`)
				clients[i] = c
			}
			require.Eventually(t, func() bool { return d.count() == conns }, 5*time.Second, 10*time.Millisecond)
			// One reader per connection on the server, one reader goroutine
			// per client in this test's dialer: none, since the client
			// conns are read here synchronously. Allow a few for the
			// runtime and the HTTP server.
			idle := waitGoroutines(before + conns + 3)
			t.Logf("%d goroutines before, %d with %d idle connections", before, idle, conns)
			assert.LessOrEqual(t, idle-before, conns+3, "goroutines per idle connection: %.1f", float64(idle-before)/conns)

			for v := range 3 {
				d.publish(v)
			}
			for _, c := range clients {
				for v := range 3 {
					m := receive(t, c)
					assert.Equal(t, p.data, m.Type)
					assert.JSONEq(t, `{"data":{"tick":`+strconv.Itoa(v)+`}}`, string(m.Payload))
				}
			}
			assert.LessOrEqual(t, waitGoroutines(idle), idle, "the deliveries' goroutines ended")

			// Half the streams end from the server, half from the client.
			for i, c := range clients {
				if i%2 == 0 {
					send(t, c, map[string]string{"graphql-transport-ws": "complete", "graphql-ws": "stop"}[p.name], "s", "")
				}
			}
			d.endAll()
			for _, c := range clients {
				assert.Equal(t, message{Type: "complete", ID: "s"}, receive(t, c))
			}
			for _, c := range clients {
				require.NoError(t, c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")))
				c.Close()
			}
			assert.LessOrEqual(t, waitGoroutines(before), before, "goroutines left after the clients closed")
		})
	}
}

// TestDrivenStreamEndsWithConnection: a client that vanishes ends its
// driven streams (the producer sees its context done) and leaves no
// goroutine.
func TestDrivenStreamEndsWithConnection(t *testing.T) {
	d := newDrivenServer(t)
	before := settledGoroutines()
	c := dial(t, d.url, "graphql-transport-ws", "")
	send(t, c, "connection_init", "", "")
	require.Equal(t, "connection_ack", receive(t, c).Type)
	send(t, c, "subscribe", "1", `{"query":"subscription { tick }"}`)
	require.Eventually(t, func() bool { return d.count() == 1 }, 5*time.Second, 10*time.Millisecond)
	c.Close() // no close frame
	require.Eventually(t, func() bool { return d.count() == 0 }, 5*time.Second, 10*time.Millisecond)
	assert.LessOrEqual(t, waitGoroutines(before), before)
}

// TestServerContextClosesConnections: the connections of a server whose
// base context is marked (WithServerContext) close with 1001 when it ends,
// although their handlers returned long before; CloseFunc hears of it.
func TestServerContextClosesConnections(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	s := &server{TestServer: testserver.New(), closed: make(chan int, 1), errs: make(chan error, 10)}
	s.AddTransport(wsgorilla.Transport{CloseFunc: func(_ context.Context, code int) { s.closed <- code }})
	hs := httptest.NewUnstartedServer(s)
	hs.Config.BaseContext = func(net.Listener) context.Context { return wsgorilla.WithServerContext(ctx) }
	hs.Start()
	t.Cleanup(hs.Close)
	c := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http"), "graphql-transport-ws", "")
	send(t, c, "connection_init", "", "")
	require.Equal(t, "connection_ack", receive(t, c).Type)
	send(t, c, "subscribe", "1", subscription)
	time.Sleep(50 * time.Millisecond) // the request's context is long gone: the subscription runs on
	stop()
	assert.Equal(t, websocket.CloseGoingAway, readClose(t, c).Code)
	assert.Equal(t, websocket.CloseGoingAway, s.waitClosed(t))
}
