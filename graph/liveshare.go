package graph

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/graph/eventlog"
	"github.com/parley-im/parley/graph/messaging"
	"github.com/parley-im/parley/graph/realtime"
)

// This file holds what the live streams of one instance share, so that one
// group message costs a fixed number of queries instead of a few per member
// (docs/PERFORMANCE.md, "Fan-out"): the message itself, and the session
// rechecks that fall due when it reaches everyone at once.

// sharedKeep is how many new messages sharedMessages remembers, by event id.
const sharedKeep = 256

// sharedMessages loads the message of a message.created event once, as the
// system, for every stream of this instance that the event reaches, where
// each stream used to reload it as its viewer.
//
// Authorization stays where it is, in the Message policy, which lets a
// viewer read the messages of the conversations he is an active member of
// (rooms: anyone), except those he deleted for himself. A stream gets a
// shared message only when both of these hold, and each stands for one half
// of that policy:
//
//   - the stream holds the topic of the message's conversation when it
//     presents the event (Subscription.Has), and the event is on that topic.
//     The events stream holds a conversation's topic only while its viewer
//     is an active member: it starts with the conversations he is in when he
//     subscribes (messaging.Topics), joins one with the member.joined event
//     that adds him (realtime.Event.Join), and leaves it with the
//     member.left that takes him out (realtime.Event.Leave); deleting his
//     account ends his streams (pump). The hub applies joins and leaves as
//     it dispatches their events, in log order, and a resume's replay
//     follows them alike, so dispatch is at this event or past it when the
//     pump asks: the answer is his membership as of this message or later.
//     A viewer removed after the message was sent, whose stream has not
//     presented it yet, therefore gets it reloaded as himself, as any other
//     kind, and privacy decides; one removed and added again meanwhile gets
//     it shared. The streams of one conversation or room
//     (conversationEvents, roomEvents) hold its topic throughout, but their
//     guard, checked before each event, has just found it visible to him.
//   - "delete for me" hides a message that exists, so a message cannot be
//     hidden for anyone when it is created. If the viewer hides it before his
//     stream presents it (a resume replays it, or the stream lags), his own
//     message.deleted follows it in the same stream, so his replica still
//     converges, and he is only shown again what he was shown before.
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
// reloaded per viewer as before.
type sharedMessages struct {
	mu      sync.Mutex
	entries map[int64]*sharedMessage // by event id
	order   []int64                  // the event ids in entries, oldest first
}

type sharedMessage struct {
	done chan struct{} // closed once m and err are set
	m    *ent.Message
	err  error
}

// message returns the subject of ev for stream sub, or nil when it may not
// be shared with sub (or could not be loaded): the caller then loads it as
// the viewer.
func (c *sharedMessages) message(ctx context.Context, client *ent.Client, sub *realtime.Subscription, ev realtime.Event, id int) *ent.Message {
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
	if e.err != nil || eventlog.ConversationTopic(e.m.ConversationID) != ev.Topic {
		return nil
	}
	return e.m
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

// recheckGather is how long a session recheck waits for others to join it.
const recheckGather = 2 * time.Millisecond

// sessionRechecks gathers the session rechecks of all the streams of this
// instance: those that fall due within recheckGather of each other, as they
// do when one group message reaches every member at once, are answered by
// one query (auth.StillSignedInMany) instead of one each. Each stream still
// rechecks at most every authRecheck, with the same answers as before.
type sessionRechecks struct {
	mu      sync.Mutex
	pending map[*viewer.Viewer][]chan error // nil: no batch is gathering
}

// stillSignedIn rechecks v's session with the next batch. Its error is
// auth.StillSignedIn's; see auth.SignedOut.
func (r *Resolver) stillSignedIn(ctx context.Context, v *viewer.Viewer) error {
	answer := make(chan error, 1) // never blocks the batch, even if ctx is done
	b := &r.rechecks
	b.mu.Lock()
	if b.pending == nil {
		b.pending = make(map[*viewer.Viewer][]chan error)
		time.AfterFunc(recheckGather, r.recheckBatch)
	}
	b.pending[v] = append(b.pending[v], answer)
	b.mu.Unlock()
	select {
	case err := <-answer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recheckBatch answers the rechecks gathered so far.
func (r *Resolver) recheckBatch() {
	b := &r.rechecks
	b.mu.Lock()
	pending := b.pending
	b.pending = nil
	b.mu.Unlock()
	viewers := slices.Collect(maps.Keys(pending))
	answers, err := r.Auth.StillSignedInMany(context.Background(), viewers)
	if err != nil {
		r.Log.Warn("live: session recheck failed; the streams go on and recheck at their next event",
			"streams", len(viewers), "err", err)
	}
	for i, v := range viewers {
		for _, answer := range pending[v] {
			if err != nil {
				answer <- err
			} else {
				answer <- answers[i]
			}
		}
	}
}
