package graph

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/graph/apperr"
	"github.com/parley-im/parley/graph/auth"
	"github.com/parley-im/parley/graph/eventlog"
	"github.com/parley-im/parley/graph/messaging"
	"github.com/parley-im/parley/graph/realtime"
	"github.com/parley-im/parley/graph/social"
)

// Reasons a server ends a stream, sent on its last event.
const (
	KindStreamClosed = "stream.closed"
	authRecheck      = 2 * time.Second
)

// Stream describes one subscription field over the hub: which topics it
// listens to, which kinds it keeps and what must stay true while it runs.
// Every subscription of the API is a Stream, so replay, resume, per-event
// authorization and shutdown work the same way everywhere.
type Stream struct {
	// Topics returns the topics to listen to for viewer uid.
	Topics func(ctx context.Context, uid int) ([]string, error)
	// Keep filters events by kind; nil keeps every kind.
	Keep func(kind string) bool
	// Guard is checked before each event is delivered (and when
	// subscribing); an error ends the stream, e.g. when the viewer is no
	// longer a member of the project he watches.
	Guard func(ctx context.Context) error
	// Follow, when set, is told every event before filtering, so that the
	// stream can add topics (presence of a new friend).
	Follow func(ctx context.Context, sub *realtime.Subscription, ev realtime.Event, p eventlog.Payload)
}

// events streams the viewer's events: a replay from the resume cursor, then
// live ones. Each event's node is reloaded as the viewer, so privacy decides
// delivery event by event: a member who was removed stops receiving at once.
// New messages are the exception: they are loaded once for all the streams
// that hold their conversation's topic (sharedMessages, which says why that
// is the same decision).
func (r *Resolver) events(ctx context.Context, after *string) (<-chan *LiveEvent, error) {
	uid := viewer.UserID(ctx)
	return r.Subscribe(ctx, after, Stream{
		Topics: func(ctx context.Context, uid int) ([]string, error) {
			return messaging.Topics(ctx, r.Client, uid)
		},
		// Leaving a conversation drops its topic (joins add theirs in the
		// hub, in log order); privacy would filter its events anyway.
		Follow: func(_ context.Context, sub *realtime.Subscription, ev realtime.Event, p eventlog.Payload) {
			if ev.Kind == messaging.KindMemberLeft && ev.Topic == eventlog.UserTopic(uid) {
				sub.RemoveTopic(eventlog.ConversationTopic(p.Subject))
			}
		},
	})
}

// Subscribe starts the stream s for the signed-in viewer from the resume
// cursor after (nil: live events only).
func (r *Resolver) Subscribe(ctx context.Context, after *string, s Stream) (<-chan *LiveEvent, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.UserID == 0 {
		return nil, apperr.SignIn()
	}
	cursor, err := parseCursor(after)
	if err != nil {
		return nil, err
	}
	if s.Guard != nil {
		if err := s.Guard(ctx); err != nil {
			return nil, err
		}
	}
	if cursor == 0 {
		// Live only: start at the committed head, so that nothing committed
		// before the subscription is delivered as if it were new.
		if cursor, err = r.Events.Head(ctx); err != nil {
			return nil, err
		}
	}
	topics, err := s.Topics(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	sub, err := r.Hub.Subscribe(ctx, topics, cursor)
	if err != nil {
		return nil, err
	}
	out := make(chan *LiveEvent)
	r.streams.Add(1)
	go r.pump(ctx, v, s, sub, out)
	return out, nil
}

func (r *Resolver) pump(ctx context.Context, v *viewer.Viewer, s Stream, sub *realtime.Subscription, out chan<- *LiveEvent) {
	defer r.streams.Done()
	defer close(out)
	defer sub.Close()
	checked := time.Now()
	var last int64
	for ev := range sub.C() {
		if time.Since(checked) > authRecheck {
			err := r.stillSignedIn(ctx, v)
			if auth.SignedOut(err) {
				return // session revoked or account disabled: the stream ends
			}
			if err == nil {
				checked = time.Now()
			}
			// Any other error (the database unreachable for a moment; it is
			// logged) says nothing about the viewer: the stream goes on, and
			// the next event rechecks.
		}
		if ev.Kind == social.KindAccountDeleted && ev.Topic == eventlog.UserTopic(v.UserID) {
			// His sessions went with his account: the next event's recheck
			// ends the stream. This also keeps sharedMessages right, as the
			// deletion leaves his direct conversations without a member.left.
			checked = time.Time{}
		}
		if ev.ID != 0 {
			last = ev.ID
		}
		p, err := eventlog.Decode(ev)
		if err != nil {
			r.Log.ErrorContext(ctx, "undecodable event", "id", ev.ID, "err", err)
			continue
		}
		if s.Follow != nil {
			s.Follow(ctx, sub, ev, p)
		}
		if s.Keep != nil && !s.Keep(ev.Kind) {
			continue
		}
		if s.Guard != nil {
			if err := s.Guard(ctx); err != nil {
				reason := "FORBIDDEN"
				select {
				case out <- &LiveEvent{Cursor: strconv.FormatInt(last, 10), Kind: KindStreamClosed, Reason: &reason}:
				case <-ctx.Done():
				}
				return
			}
		}
		live := r.present(ctx, sub, ev, p, s.Guard != nil)
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
// may not see its subject. Deletions (kinds ending in ".deleted") are
// delivered without a node: the subject is gone, and the stream's topics and
// guard already decided that the viewer may know.
//
// On a guarded stream (one conversation, one project) the guard has already
// decided that the viewer may follow the topic, so an event whose node is
// gone by the time it is delivered (created, then deleted at once) still
// arrives, with a null node: the client's replica stays in step.
func (r *Resolver) present(ctx context.Context, sub *realtime.Subscription, ev realtime.Event, p eventlog.Payload, guarded bool) *LiveEvent {
	live := &LiveEvent{Cursor: strconv.FormatInt(ev.ID, 10), Kind: ev.Kind}
	if p.Subject != 0 {
		live.SubjectID = &p.Subject
	}
	if len(p.Data) > 0 {
		if err := json.Unmarshal(p.Data, &live.Data); err != nil {
			r.Log.ErrorContext(ctx, "undecodable event data", "id", ev.ID, "err", err)
		}
	}
	if strings.HasSuffix(ev.Kind, ".deleted") || p.Subject == 0 {
		return live
	}
	node, err := r.load(ctx, sub, ev, p)
	switch {
	case err == nil:
		live.Node = node
	case ev.Kind == messaging.KindMemberLeft || guarded:
		// The member who left can no longer see the conversation; he is
		// still told, by its id.
	default:
		return nil // not found for this viewer: privacy filtered it out
	}
	return live
}

// load returns the subject of ev as the viewer sees it: a new message from
// sharedMessages when it may be shared with sub, anything else reloaded as
// the viewer.
func (r *Resolver) load(ctx context.Context, sub *realtime.Subscription, ev realtime.Event, p eventlog.Payload) (ent.Noder, error) {
	if m := r.shared.message(ctx, r.Client, sub, ev, p.Subject); m != nil {
		return m, nil
	}
	return r.Client.Noder(ctx, p.Subject)
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
