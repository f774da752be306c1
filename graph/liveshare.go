package graph

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/platform/realtime"
)

// This file holds what the live streams of one instance share, so that one
// group message costs a fixed number of queries instead of a few per member
// (docs/PERFORMANCE.md, "Fan-out"): the message itself.

// sharedKeep is how many new messages sharedMessages remembers, by event id.
const sharedKeep = 256

// sharedMessages loads the message of a message.created event once, as the
// system, for every stream of this instance that the event reaches, where
// each stream used to reload it as its viewer.
//
// Authorization stays the Message policy's rule (rule.VisibleMessage): a
// stream gets the shared message only when its viewer is among the
// message's readers by rule.MessageReaders, the same rule for many users at
// once. The streams that ask within readersGather of each other, as the
// members of a group do when its message reaches them all, are answered by
// one batch, so a message costs a fixed number of queries on an instance
// however many of its streams present it. The stream must also hold the
// topic of the message's conversation when it presents the event
// (Subscription.Has), and the event be on that topic: what the stream
// follows is not widened by sharing.
//
// Everything else the viewer sees of the message is resolved afterwards,
// with the stream's own context: mine, delivered and read compare the
// viewer with the sender and read his peer's receipts, and the sender,
// quote, conversation and files are loaded as the viewer through their own
// policies. The shared *ent.Message is therefore only read, never changed,
// and carries no edges. It is loaded with Message.Get rather than Noder,
// which would narrow its columns and load its edges after the GraphQL
// selection of whichever stream came first.
//
// Every other kind, and a message.created that fails any check above, is
// reloaded per viewer as before, and the policy decides.
type sharedMessages struct {
	mu      sync.Mutex
	entries map[int64]*sharedMessage // by event id
	order   []int64                  // the event ids in entries, oldest first
}

// readersGather is how long a question to MessageReaders waits for others
// about the same message to join it.
const readersGather = 2 * time.Millisecond

type sharedMessage struct {
	done chan struct{} // closed once m and err are set
	m    *ent.Message
	err  error

	mu      sync.Mutex
	waiting map[int][]chan bool // viewers whose batch is gathering; nil: none is
}

// message returns the subject of ev for stream sub of viewer uid, or nil
// when it may not be shared with him (or could not be loaded): the caller
// then loads it as the viewer.
func (c *sharedMessages) message(ctx context.Context, client *ent.Client, sub *realtime.Subscription, ev realtime.Event, id, uid int) *ent.Message {
	if ev.ID == 0 || ev.Kind != messaging.KindMessageCreated || !sub.Has(ev.Topic) {
		return nil
	}
	e, first := c.entry(ev.ID)
	if first {
		// Not cancelled with the stream that happens to load it: the other
		// streams wait for it.
		e.m, e.err = client.Message.Get(viewer.SystemContext(context.WithoutCancel(ctx)), id)
		close(e.done)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return nil
	}
	if e.err != nil || !messaging.AnnouncedOn(e.m, ev.Topic) || !e.readBy(ctx, client, uid) {
		return nil
	}
	return e.m
}

// readBy reports whether uid is among the readers of the message, asking
// with the next batch.
func (e *sharedMessage) readBy(ctx context.Context, client *ent.Client, uid int) bool {
	answer := make(chan bool, 1) // never blocks the batch, even if ctx is done
	e.mu.Lock()
	if e.waiting == nil {
		e.waiting = make(map[int][]chan bool)
		time.AfterFunc(readersGather, func() { e.answerReaders(client) })
	}
	e.waiting[uid] = append(e.waiting[uid], answer)
	e.mu.Unlock()
	select {
	case ok := <-answer:
		return ok
	case <-ctx.Done():
		return false
	}
}

// answerReaders answers the questions gathered so far. A failure answers
// no: the streams then reload the message as their viewers.
func (e *sharedMessage) answerReaders(client *ent.Client) {
	e.mu.Lock()
	waiting := e.waiting
	e.waiting = nil
	e.mu.Unlock()
	readers, err := rule.MessageReaders(context.Background(), client, e.m, slices.Collect(maps.Keys(waiting)))
	for uid, answers := range waiting {
		for _, answer := range answers {
			answer <- err == nil && readers[uid]
		}
	}
}

// entry returns the entry of event id, and whether the caller created it and
// must load it.
func (c *sharedMessages) entry(id int64) (*sharedMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		return e, false
	}
	if c.entries == nil {
		c.entries = make(map[int64]*sharedMessage)
	}
	e := &sharedMessage{done: make(chan struct{})}
	c.entries[id] = e
	c.order = append(c.order, id)
	if len(c.order) > sharedKeep {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	return e, true
}
