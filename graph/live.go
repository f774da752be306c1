package graph

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/graph/apperr"
	"github.com/parley-im/parley/graph/eventlog"
	"github.com/parley-im/parley/graph/messaging"
	"github.com/parley-im/parley/graph/realtime"
)

// Reasons a server ends a stream, sent on its last event.
const (
	KindStreamClosed = "stream.closed"
	authRecheck      = 2 * time.Second
)

// events streams the viewer's events: a replay from the resume cursor, then
// live ones. Each event's node is reloaded as the viewer, so privacy decides
// delivery event by event: a member who was removed stops receiving at once.
func (r *Resolver) events(ctx context.Context, after *string) (<-chan *LiveEvent, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.UserID == 0 {
		return nil, apperr.SignIn()
	}
	cursor, err := parseCursor(after)
	if err != nil {
		return nil, err
	}
	if cursor == 0 {
		// Live only: start at the committed head, so that nothing committed
		// before the subscription is delivered as if it were new.
		if cursor, err = r.Events.Head(ctx); err != nil {
			return nil, err
		}
	}
	topics, err := messaging.Topics(ctx, r.Client, v.UserID)
	if err != nil {
		return nil, err
	}
	sub, err := r.Hub.Subscribe(ctx, topics, cursor)
	if err != nil {
		return nil, err
	}
	out := make(chan *LiveEvent)
	r.streams.Add(1)
	go r.pump(ctx, v, sub, out)
	return out, nil
}

func (r *Resolver) pump(ctx context.Context, v *viewer.Viewer, sub *realtime.Subscription, out chan<- *LiveEvent) {
	defer r.streams.Done()
	defer close(out)
	defer sub.Close()
	checked := time.Now()
	var last int64
	for ev := range sub.C() {
		if time.Since(checked) > authRecheck {
			if err := r.Auth.StillSignedIn(ctx, v); err != nil {
				return // session revoked or account disabled: the stream ends
			}
			checked = time.Now()
		}
		live := r.present(ctx, v, sub, ev)
		if ev.ID != 0 {
			last = ev.ID
		}
		if live == nil {
			continue
		}
		select {
		case out <- live:
		case <-ctx.Done():
			return
		}
	}
	if reason := closeReason(sub.Err()); reason != "" {
		select {
		case out <- &LiveEvent{Cursor: strconv.FormatInt(last, 10), Kind: KindStreamClosed, Reason: &reason}:
		case <-ctx.Done():
		}
	}
}

// present turns a stored event into what the viewer receives, or nil when he
// may not see its subject.
func (r *Resolver) present(ctx context.Context, v *viewer.Viewer, sub *realtime.Subscription, ev realtime.Event) *LiveEvent {
	p, err := eventlog.Decode(ev)
	if err != nil {
		r.Log.ErrorContext(ctx, "undecodable event", "id", ev.ID, "err", err)
		return nil
	}
	var node ent.Noder
	switch ev.Kind {
	case messaging.KindMemberJoined:
		node, err = r.Client.Conversation.Get(ctx, p.Subject)
	case messaging.KindMessageCreated:
		node, err = r.Client.Message.Get(ctx, p.Subject)
	default:
		if p.Subject != 0 {
			node, err = r.Client.Noder(ctx, p.Subject)
		}
	}
	if err != nil {
		return nil // not found for this viewer: privacy filtered it out
	}
	return &LiveEvent{Cursor: strconv.FormatInt(ev.ID, 10), Kind: ev.Kind, Node: node}
}

func parseCursor(after *string) (int64, error) {
	if after == nil || *after == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(*after, 10, 64)
	if err != nil || n < 0 {
		return 0, apperr.Input(apperr.ReasonInvalid, "after", "after is not a cursor of this stream")
	}
	return n, nil
}

func closeReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, realtime.ErrSlowConsumer):
		return "SLOW_CONSUMER"
	case errors.Is(err, realtime.ErrResumeTooOld):
		return "RESUME_TOO_OLD"
	case errors.Is(err, realtime.ErrHubClosed):
		return "SHUTDOWN"
	}
	return "ERROR"
}
