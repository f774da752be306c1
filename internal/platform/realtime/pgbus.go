package realtime

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// Tuning of the PostgreSQL listener. Reconnects start fast because every
// second disconnected is a second of events served only by the hubs' polling.
const (
	minReconnectInterval = 100 * time.Millisecond
	maxReconnectInterval = 5 * time.Second
	// listenerPingInterval is how often the listener connection is checked,
	// so that a silently dead connection is noticed and replaced (lib/pq
	// suggests every 90 s or so; we want /readyz to react sooner).
	listenerPingInterval = 15 * time.Second
	// maxNotifyPayload is PostgreSQL's limit on a NOTIFY payload (it must be
	// shorter than this in the default configuration).
	maxNotifyPayload = 8000
	// maxChannelName is PostgreSQL's identifier length limit.
	maxChannelName = 63
)

// PGBus is a Bus over PostgreSQL LISTEN/NOTIFY, for several server processes
// sharing one database. Every instance, including the publisher, receives
// each signal through its listener.
//
// Signals are delivered like LocalBus delivers them: heads coalesce and
// ephemeral events are dropped while the consumer is more than
// ephemeralBuffer behind, so a slow hub never stalls the listener connection.
// After the listener reconnects, Signals yields Signal{Head: -1} because
// notifications sent while it was down are lost.
type PGBus struct {
	db       *sql.DB
	channel  string
	logger   *slog.Logger
	listener *pq.Listener
	queue    *signalQueue
	healthy  atomic.Bool
	closed   atomic.Bool

	stopPing  chan struct{}
	pingDone  chan struct{}
	recvDone  chan struct{}
	closeOnce sync.Once
}

// NewPGBus connects a listener to dsn and LISTENs on channel; db is used to
// publish. It fails if the first connection attempt fails (a misconfigured
// DSN should stop the server from starting), then reconnects on its own for
// the rest of its life; set connect_timeout in dsn to bound that first
// attempt. logger may be nil.
func NewPGBus(db *sql.DB, dsn string, channel string, logger *slog.Logger) (*PGBus, error) {
	if channel == "" || len(channel) > maxChannelName {
		return nil, fmt.Errorf("realtime: new pg bus: channel name must be 1 to %d bytes, got %q", maxChannelName, channel)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &PGBus{
		db:       db,
		channel:  channel,
		logger:   logger.With("component", "realtime.pgbus", "channel", channel),
		queue:    newSignalQueue(),
		stopPing: make(chan struct{}),
		pingDone: make(chan struct{}),
		recvDone: make(chan struct{}),
	}

	// The first connection outcome decides whether construction succeeds.
	firstOutcome := make(chan error, 1)
	b.listener = pq.NewListener(dsn, minReconnectInterval, maxReconnectInterval,
		func(ev pq.ListenerEventType, err error) {
			b.onListenerEvent(ev, err)
			if ev == pq.ListenerEventConnected || ev == pq.ListenerEventConnectionAttemptFailed {
				select {
				case firstOutcome <- err:
				default:
				}
			}
		})
	go b.receive()

	err := <-firstOutcome
	if err == nil {
		err = b.listener.Listen(channel)
	}
	if err != nil {
		b.shutdownListener()
		b.queue.close()
		return nil, fmt.Errorf("realtime: new pg bus: %w", err)
	}
	go b.ping()
	return b, nil
}

// onListenerEvent tracks the listener's connection state for Healthy. It runs
// on lib/pq's goroutine, so it must not block.
func (b *PGBus) onListenerEvent(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventConnected, pq.ListenerEventReconnected:
		b.healthy.Store(true)
		b.logger.Info("listener connected", "event", ev.String())
	case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
		b.healthy.Store(false)
		b.logger.Warn("listener disconnected", "event", ev.String(), "err", err)
	}
}

// receive turns notifications into signals until the listener is closed. A
// nil notification is lib/pq's announcement that it reconnected (right after
// ListenerEventReconnected): whatever was notified meanwhile is lost, so the
// hubs are told to re-poll.
func (b *PGBus) receive() {
	defer close(b.recvDone)
	for n := range b.listener.NotificationChannel() {
		var s Signal
		if n == nil {
			s = Signal{Head: -1}
		} else if err := json.Unmarshal([]byte(n.Extra), &s); err != nil {
			b.logger.Warn("dropping undecodable notification", "err", err)
			continue
		}
		_ = b.queue.push(s) // cannot fail: the queue is closed only after receive returns
	}
}

// ping checks the listener connection periodically; a failed ping makes
// lib/pq drop the connection, report it and reconnect.
func (b *PGBus) ping() {
	defer close(b.pingDone)
	ticker := time.NewTicker(listenerPingInterval)
	defer ticker.Stop()
	for {
		select {
		case <-b.stopPing:
			return
		case <-ticker.C:
			if err := b.listener.Ping(); err != nil {
				b.logger.Warn("listener ping failed", "err", err)
			}
		}
	}
}

// Publish sends s to every instance with pg_notify. Signals whose JSON
// encoding does not fit in a NOTIFY payload are rejected with
// ErrPayloadTooLarge.
func (b *PGBus) Publish(ctx context.Context, s Signal) error {
	if b.closed.Load() {
		return fmt.Errorf("realtime: publish: %w", ErrBusClosed)
	}
	payload, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("realtime: publish: %w", err)
	}
	if len(payload) >= maxNotifyPayload {
		return fmt.Errorf("realtime: publish: %w: %d bytes, limit %d", ErrPayloadTooLarge, len(payload), maxNotifyPayload-1)
	}
	if _, err := b.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", b.channel, string(payload)); err != nil {
		return fmt.Errorf("realtime: publish: %w", err)
	}
	return nil
}

// Signals returns the channel the hub reads; it is closed by Close.
func (b *PGBus) Signals() <-chan Signal { return b.queue.out }

// Healthy reports whether the listener is connected, for /readyz.
func (b *PGBus) Healthy() bool { return b.healthy.Load() }

// Close stops the listener and its goroutines and closes the Signals
// channel. It does not close db, which belongs to the caller.
func (b *PGBus) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stopPing)
		<-b.pingDone
		b.shutdownListener()
		b.queue.close()
		b.healthy.Store(false)
	})
	return nil
}

// shutdownListener closes the listener and waits for receive to see its
// notification channel closed, which is when lib/pq's goroutines are gone.
// (If the listener is sleeping between reconnect attempts, that can take up
// to maxReconnectInterval.)
func (b *PGBus) shutdownListener() {
	if err := b.listener.Close(); err != nil {
		b.logger.Warn("closing listener", "err", err)
	}
	<-b.recvDone
}
