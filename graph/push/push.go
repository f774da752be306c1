// Package push lets a subscription's producer deliver into the transport's
// writer, so that an idle stream holds no goroutine.
//
// gqlgen's executor answers a subscription with a ResponseHandler that
// blocks on the resolver's channel until the next value, and a producer
// usually feeds that channel from a goroutine of its own: two goroutines
// (16 KB of stack or more) per idle stream. With an Op in the operation's
// context (the transport puts it there), the producer instead hands the
// transport a Step that moves what is available now into its buffered
// channel without blocking, and calls Wake whenever more may be available
// (an event queued, the stream ended). The transport runs Step, then its
// ResponseHandler once per value Step sent, on a goroutine that exists only
// while there is something to deliver.
package push

import (
	"context"
	"sync"
)

// Step moves the values available now into the producer's channel without
// blocking and returns how many it sent; closed reports that it closed the
// channel (after its last values): the stream is over.
type Step func() (sent int, closed bool)

// Op is one subscription operation's meeting point of producer and
// transport. It is safe for concurrent use.
type Op struct {
	mu       sync.Mutex
	step     Step
	deliver  func(sent int, closed bool)
	wanted   bool // a Wake came while a run was going on, or before Start
	running  bool
	finished bool
}

type opKey struct{}

// NewContext returns ctx carrying op, for the transport to give the
// operation it dispatches.
func NewContext(ctx context.Context, op *Op) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

// Detach returns ctx without its Op: a producer that consumes another
// producer's channel itself, rather than returning it to the transport,
// gives it this context, so that the inner producer feeds its channel from
// a goroutine and the transport loops on the outer one.
func Detach(ctx context.Context) context.Context {
	if FromContext(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, opKey{}, (*Op)(nil))
}

// FromContext returns the Op of the operation ctx belongs to, or nil when
// its transport does not drive producers (the producer then feeds its
// channel from a goroutine).
func FromContext(ctx context.Context) *Op {
	op, _ := ctx.Value(opKey{}).(*Op)
	return op
}

// Drive makes step the producer of op. The producer calls it before its
// resolver returns the channel step feeds, and calls Wake from then on
// whenever more may be available.
func (o *Op) Drive(step Step) {
	o.mu.Lock()
	o.step = step
	o.mu.Unlock()
}

// Driven reports whether a producer called Drive: the transport then calls
// Start instead of looping on the ResponseHandler.
func (o *Op) Driven() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.step != nil
}

// Start runs a first step at once, on the caller's goroutine, and from then
// on a step after each Wake; deliver consumes what each step sent (the
// transport calls its ResponseHandler sent times, and once more after
// closed to see it end). Steps and deliveries never overlap.
func (o *Op) Start(deliver func(sent int, closed bool)) {
	o.mu.Lock()
	o.deliver = deliver
	o.wanted = false
	o.running = true
	o.mu.Unlock()
	o.run()
}

// Wake asks for a step: at once on a new goroutine if none is running,
// else right after the running one. It never blocks, so it may be called
// under the producer's locks.
func (o *Op) Wake() {
	o.mu.Lock()
	if o.finished {
		o.mu.Unlock()
		return
	}
	if o.running || o.deliver == nil {
		o.wanted = true
		o.mu.Unlock()
		return
	}
	o.running = true
	o.mu.Unlock()
	go o.run()
}

// run steps and delivers until a step finds nothing new was asked for.
func (o *Op) run() {
	for {
		sent, closed := o.step()
		o.deliver(sent, closed)
		o.mu.Lock()
		if closed {
			o.finished = true
		}
		if closed || !o.wanted {
			o.running = false
			o.mu.Unlock()
			return
		}
		o.wanted = false
		o.mu.Unlock()
	}
}
