package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// natsConnectTimeout bounds the first connection, so that a misconfigured
// URL stops the server from starting instead of hanging it.
const natsConnectTimeout = 5 * time.Second

// NATSBus is a Bus over NATS core publish/subscribe, for several server
// processes sharing one database without putting PostgreSQL's NOTIFY on the
// path of every commit: NOTIFY serializes notifying commits cluster-wide,
// a NATS publish is a write to a socket after the commit. Every instance,
// including the publisher, receives each signal on its subscription.
//
// Signals are delivered as by the other buses: heads coalesce and ephemeral
// events are dropped while the consumer is more than ephemeralBuffer behind.
// NATS keeps nothing for a disconnected subscriber, so after a reconnect
// Signals yields Signal{Head: -1} and the hubs re-poll the log.
type NATSBus struct {
	conn    *nats.Conn
	subject string
	logger  *slog.Logger
	queue   *signalQueue
	sub     *nats.Subscription
	closed  atomic.Bool

	closeOnce sync.Once
	connDone  chan struct{} // closed by the connection's closed handler
}

// NewNATSBus connects to the NATS server(s) at url (comma-separated, as
// nats.Connect takes them) and subscribes to subject. It fails if the first
// connection fails, then reconnects on its own, forever, for the rest of its
// life. subject is one NATS token-separated subject such as
// "parley.events"; instances on one database must use the same one.
func NewNATSBus(url, subject string, logger *slog.Logger) (*NATSBus, error) {
	if subject == "" || strings.ContainsAny(subject, " \t\r\n*>") {
		return nil, fmt.Errorf("realtime: new nats bus: invalid subject %q", subject)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &NATSBus{
		subject:  subject,
		logger:   logger.With("component", "realtime.natsbus", "subject", subject),
		queue:    newSignalQueue(),
		connDone: make(chan struct{}),
	}
	conn, err := nats.Connect(url,
		nats.Name("parley"),
		nats.Timeout(natsConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(minReconnectInterval),
		nats.ReconnectJitter(minReconnectInterval, minReconnectInterval),
		nats.PingInterval(listenerPingInterval),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.logger.Warn("disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			b.logger.Info("reconnected")
			// Whatever was published meanwhile is lost to this instance.
			_ = b.queue.push(Signal{Head: -1})
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.connDone) }),
	)
	if err != nil {
		b.queue.close()
		return nil, fmt.Errorf("realtime: new nats bus: %w", err)
	}
	b.conn = conn
	b.sub, err = conn.Subscribe(subject, b.receive)
	if err == nil {
		err = conn.Flush() // the subscription is registered before we return
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("realtime: new nats bus: %w", err)
	}
	return b, nil
}

// receive turns a message into a signal. It runs on the subscription's
// goroutine, which the queue never blocks.
func (b *NATSBus) receive(m *nats.Msg) {
	var s Signal
	if err := json.Unmarshal(m.Data, &s); err != nil {
		b.logger.Warn("dropping undecodable message", "err", err)
		return
	}
	_ = b.queue.push(s) // fails only once closed
}

// Publish sends s to every instance. The client buffers the message and
// writes it at once; while disconnected it buffers up to its reconnect
// buffer, and a signal lost beyond that costs a poll interval, never an
// event.
func (b *NATSBus) Publish(_ context.Context, s Signal) error {
	if b.closed.Load() {
		return fmt.Errorf("realtime: publish: %w", ErrBusClosed)
	}
	payload, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("realtime: publish: %w", err)
	}
	if err := b.conn.Publish(b.subject, payload); err != nil {
		return fmt.Errorf("realtime: publish: %w", err)
	}
	return nil
}

// Signals returns the channel the hub reads; it is closed by Close.
func (b *NATSBus) Signals() <-chan Signal { return b.queue.out }

// Healthy reports whether the connection is up, for /readyz.
func (b *NATSBus) Healthy() bool { return !b.closed.Load() && b.conn.IsConnected() }

// Close unsubscribes, closes the connection and the Signals channel.
func (b *NATSBus) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		if b.conn != nil {
			b.conn.Close()
			<-b.connDone
		}
		b.queue.close()
	})
	return nil
}
