package realtime

import (
	"context"
	"fmt"
	"sync"
)

// ephemeralBuffer bounds how many ephemeral events a bus holds for a consumer
// that is not keeping up; beyond it they are dropped (they are best effort).
const ephemeralBuffer = 1024

// LocalBus is an in-process Bus, for a single instance on SQLite where there
// is nobody else to notify.
//
// Publish never blocks: head signals coalesce (only the highest head matters,
// since a hub tails the log up to its real end anyway) and ephemeral events
// wait in a bounded buffer. Ephemeral events are dropped while that buffer is
// full.
type LocalBus struct {
	queue *signalQueue
}

// NewLocalBus returns a LocalBus; Close it to release its goroutine.
func NewLocalBus() *LocalBus {
	return &LocalBus{queue: newSignalQueue()}
}

// Publish hands s to the consumer of Signals without waiting for it.
func (b *LocalBus) Publish(_ context.Context, s Signal) error {
	if err := b.queue.push(s); err != nil {
		return fmt.Errorf("realtime: publish: %w", err)
	}
	return nil
}

// Signals returns the channel the hub reads; it is closed by Close.
func (b *LocalBus) Signals() <-chan Signal { return b.queue.out }

// Healthy is always true: an in-process bus cannot disconnect.
func (b *LocalBus) Healthy() bool { return true }

// Close stops delivery and closes the Signals channel.
func (b *LocalBus) Close() error {
	b.queue.close()
	return nil
}

// signalQueue delivers signals to one consumer without ever blocking the
// producer, which may be a writer that just committed or the PostgreSQL
// listener (which must keep draining its connection). Pending heads coalesce
// into one; ephemeral events queue up to ephemeralBuffer and are dropped
// beyond. A pump goroutine forwards them to out.
type signalQueue struct {
	out    chan Signal
	wake   chan struct{} // capacity 1: "something is pending"
	done   chan struct{} // closed by close
	pumped chan struct{} // closed when the pump has exited and closed out

	mu        sync.Mutex
	head      int64 // pending head: 0 none, -1 re-poll (which covers any head)
	ephemeral []*Event
	closed    bool
}

func newSignalQueue() *signalQueue {
	q := &signalQueue{
		out:    make(chan Signal),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		pumped: make(chan struct{}),
	}
	go q.pump()
	return q
}

// push queues s; it only fails once the queue is closed.
func (q *signalQueue) push(s Signal) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrBusClosed
	}
	q.head = mergeHeads(q.head, s.Head)
	if s.Ephemeral != nil && len(q.ephemeral) < ephemeralBuffer {
		e := *s.Ephemeral // the publisher may reuse its Event
		q.ephemeral = append(q.ephemeral, &e)
	}
	q.mu.Unlock()

	select {
	case q.wake <- struct{}{}:
	default: // the pump is already due to look
	}
	return nil
}

// mergeHeads combines two pending heads: -1 (re-poll from wherever you are)
// wins, because the poll it triggers reads the log up to its real end.
func mergeHeads(a, b int64) int64 {
	if a == -1 || b == -1 {
		return -1
	}
	return max(a, b)
}

func (q *signalQueue) pump() {
	defer close(q.pumped)
	defer close(q.out)
	for {
		s, ok := q.next()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-q.done:
				return
			}
		}
		select {
		case q.out <- s:
		case <-q.done:
			return
		}
	}
}

// next takes the next pending signal, heads first (they stand for stored
// events, which matter more than typing indicators).
func (q *signalQueue) next() (Signal, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head != 0 {
		s := Signal{Head: q.head}
		q.head = 0
		return s, true
	}
	if len(q.ephemeral) > 0 {
		s := Signal{Ephemeral: q.ephemeral[0]}
		q.ephemeral[0] = nil
		q.ephemeral = q.ephemeral[1:]
		return s, true
	}
	return Signal{}, false
}

// close stops the pump, discards what is pending and waits until out is
// closed. It is idempotent.
func (q *signalQueue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
	q.mu.Unlock()
	<-q.pumped
}
