package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/graph/push"
	"github.com/parley-im/parley/graph/scalar"
	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/realtime"
)

const (
	// KindStreamClosed is the kind of the last event of a stream the server
	// ends; its reason says why, and its cursor is where to resume.
	KindStreamClosed = "stream.closed"
)

// Reasons a server ends a stream, sent on its last event (LiveEvent.reason).
const (
	ReasonSlowConsumer = "SLOW_CONSUMER"  // resume from the cursor
	ReasonShutdown     = "SHUTDOWN"       // resume from the cursor
	ReasonResumeTooOld = "RESUME_TOO_OLD" // refetch
	ReasonForbidden    = "FORBIDDEN"      // the viewer may no longer follow the stream
	// ReasonSignedOut and ReasonAccountDisabled: the session the stream's
	// connection acts for has ended (auth.Live); the connection closes too.
	ReasonSignedOut       = auth.EndSignedOut
	ReasonAccountDisabled = auth.EndAccountDisabled
	// ReasonError: the server could not read what it had to send (its
	// database unreachable, a replay or an event's node failing to load).
	// The cursor is that of the last event handled before the failure, so
	// resuming from it sends the event again.
	ReasonError = "ERROR"
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
	// subscribing). A denial (an *apperr.Error, not found, a privacy
	// denial) ends the stream with FORBIDDEN, e.g. when the viewer is no
	// longer a member of the project he watches; any other error (the
	// database unreachable) ends it with ERROR, before the event.
	Guard func(ctx context.Context) error
	// Follow, when set, is told every event before filtering, so that the
	// stream can add topics (presence of a new friend). Joins and leaves of
	// conversations need none: the hub applies them (realtime.Event.Join
	// and Leave).
	Follow func(ctx context.Context, sub *realtime.Subscription, ev realtime.Event, p eventlog.Payload)
}

// events streams the viewer's events: a replay from the resume cursor, then
// live ones. Each event's node is reloaded as the viewer, so privacy decides
// delivery event by event: a member who was removed stops receiving at once.
// New messages are the exception: they are loaded once for all the streams
// that hold their conversation's topic (sharedMessages, which says why that
// is the same decision). The conversations the viewer joins and leaves are
// followed by the hub, in log order: member.joined and member.left on his
// user topic carry the conversation's topic as their join and leave
// (messaging.Join, messaging.Leave).
func (r *Resolver) events(ctx context.Context, after *string) (<-chan *LiveEvent, error) {
	return r.Subscribe(ctx, after, Stream{
		Topics: func(ctx context.Context, uid int) ([]string, error) {
			return messaging.Topics(ctx, r.Client, uid)
		},
	})
}

// Subscribe starts the stream s for the signed-in viewer from the resume
// cursor after (nil: live events only). A stream lasts as long as the
// session of its connection (auth.Live), which the transport checked when
// the operation started.
//
// When the transport drives producers (a push.Op in ctx), the stream is
// driven (drive): the resolver must return the channel as it is. One that
// reads it itself (presence) passes push.Detach(ctx).
func (r *Resolver) Subscribe(ctx context.Context, after *string, s Stream) (<-chan *LiveEvent, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.UserID == 0 {
		return nil, apperr.SignIn()
	}
	live := auth.LiveFromContext(ctx)
	if live == nil {
		return nil, errors.New("live: a stream needs the live session of its connection")
	}
	if err := live.Err(); err != nil {
		return nil, err
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
	if errors.Is(err, realtime.ErrCursorUnknown) {
		return nil, apperr.Input(apperr.ReasonCursorUnknown, "after", "after is not an event of this server's log: refetch, then subscribe without it")
	}
	if err != nil {
		return nil, err
	}
	r.streams.Add(1)
	if op := push.FromContext(ctx); op != nil {
		return r.drive(ctx, op, live, s, sub, cursor), nil
	}
	out := make(chan *LiveEvent)
	go r.pump(ctx, live, s, sub, cursor, out)
	return out, nil
}

// pump presents the events of sub to the viewer, from a goroutine of its
// own, for a transport that does not drive streams (drive). last starts at
// the cursor the stream started from, so that a stream ended before its
// first event still tells the client where to resume.
//
// The stream ends, with the reason, as soon as the session of its
// connection ends. Every instance marks the session ended when its hub
// passes the session's end in the log, before any later event reaches a
// subscription (the committing instance even sooner), so no event committed
// after the end is presented, and the replay of a resume is no exception.
func (r *Resolver) pump(ctx context.Context, live *auth.Live, s Stream, sub *realtime.Subscription, last int64, out chan<- *LiveEvent) {
	defer r.streams.Done()
	defer close(out)
	defer sub.Close()
	for {
		var ev realtime.Event
		var open bool
		select {
		case <-live.Done():
			closeStream(ctx, out, last, live.Reason())
			return
		case ev, open = <-sub.C():
		}
		next, end := r.next(ctx, live, s, sub, ev, open, &last)
		if next != nil {
			select {
			case out <- next:
			case <-ctx.Done():
				return
			}
		}
		if end {
			return
		}
	}
}

// stepEvents is how many events a driven stream handles per step; its
// channel holds them and the stream's last event.
const stepEvents = 16

// drive runs the stream as the transport's driven producer (package
// push): no goroutine waits for its events. The hub's subscription and the
// end of the session wake the operation, and each step presents the events
// queued by then, as pump would, into a channel with room for all of them.
func (r *Resolver) drive(ctx context.Context, op *push.Op, live *auth.Live, s Stream, sub *realtime.Subscription, last int64) <-chan *LiveEvent {
	out := make(chan *LiveEvent, stepEvents+1)
	stopLive := context.AfterFunc(live.Ended(), op.Wake)
	ended := false
	finish := func() (int, bool) {
		ended = true
		stopLive()
		sub.Close()
		close(out)
		r.streams.Done()
		return len(out), true
	}
	op.Drive(func() (int, bool) {
		if ended {
			return 0, true
		}
		for len(out) < stepEvents {
			if live.Err() != nil {
				out <- closeEvent(last, live.Reason())
				return finish()
			}
			var ev realtime.Event
			var open bool
			select {
			case ev, open = <-sub.C():
			default:
				return len(out), false
			}
			next, end := r.next(ctx, live, s, sub, ev, open, &last)
			if next != nil {
				out <- next
			}
			if end {
				return finish()
			}
		}
		op.Wake() // more may be queued: after this step's are delivered
		return len(out), false
	})
	sub.Notify(op.Wake)
	return out
}

// next handles one receive from sub (open false: C closed) for the stream
// at cursor *last: it returns what to send the client, if anything, and
// whether the stream ends with it.
func (r *Resolver) next(ctx context.Context, live *auth.Live, s Stream, sub *realtime.Subscription, ev realtime.Event, open bool, last *int64) (*LiveEvent, bool) {
	if !open {
		if reason := closeReason(sub.Err()); reason != "" {
			return closeEvent(*last, reason), true
		}
		return nil, true
	}
	if live.Err() != nil { // ended while ev waited: the end comes first
		return closeEvent(*last, live.Reason()), true
	}
	before := *last // where to resume if ev cannot be presented now
	if ev.ID != 0 {
		*last = ev.ID
	}
	p, err := eventlog.Decode(ev)
	if err != nil {
		r.Log.ErrorContext(ctx, "undecodable event", "id", ev.ID, "err", err)
		return nil, false
	}
	if s.Follow != nil {
		s.Follow(ctx, sub, ev, p)
	}
	if s.Keep != nil && !s.Keep(ev.Kind) {
		return nil, false
	}
	if s.Guard != nil {
		if err := s.Guard(ctx); err != nil {
			switch {
			case ctx.Err() != nil:
				return nil, true
			case hidden(err):
				return closeEvent(*last, ReasonForbidden), true
			default:
				r.Log.ErrorContext(ctx, "live: stream guard failed; the stream ends for the client to resume", "id", ev.ID, "err", err)
				return closeEvent(before, ReasonError), true
			}
		}
	}
	presented, err := r.present(ctx, sub, ev, p, s.Guard != nil)
	if err != nil {
		// Skipping the event would lose it for good: the stream ends
		// before it instead, and the client's resume sends it again.
		if ctx.Err() != nil {
			return nil, true
		}
		r.Log.ErrorContext(ctx, "live: loading an event failed; the stream ends for the client to resume", "id", ev.ID, "kind", ev.Kind, "err", err)
		return closeEvent(before, ReasonError), true
	}
	return presented, false
}

// closeEvent is the last event of a stream the server ends.
func closeEvent(cursor int64, reason string) *LiveEvent {
	return &LiveEvent{Cursor: strconv.FormatInt(cursor, 10), Kind: LiveKind(KindStreamClosed), Reason: &reason}
}

// closeStream sends the last event of a stream the server ends.
func closeStream(ctx context.Context, out chan<- *LiveEvent, cursor int64, reason string) {
	select {
	case out <- closeEvent(cursor, reason):
	case <-ctx.Done():
	}
}

// hidden reports whether err, from loading something as the viewer, means
// that he may not see it: it does not exist (for him: privacy filters rows
// out), a privacy rule denied it, or the domain said so (*apperr.Error).
// Any other error (the database unreachable) says nothing about the viewer.
// An invalid selection of the subscriber's own (a negative first on an
// edge) counts as hidden too: it would fail alike on every retry.
func hidden(err error) bool {
	var gqlErr *gqlerror.Error
	_, app := apperr.As(err)
	return app || ent.IsNotFound(err) || errors.Is(err, privacy.Deny) || errors.As(err, &gqlErr)
}

// present turns a stored event into what the viewer receives, or nil when he
// may not see its subject (hidden). Any other failure to load the subject
// is returned: the event must not be skipped. Deletions (kinds ending in ".deleted") are
// delivered without a node: the subject is gone, and the stream's topics and
// guard already decided that the viewer may know.
//
// On a guarded stream (one conversation, one project) the guard has already
// decided that the viewer may follow the topic, so an event whose node is
// gone by the time it is delivered (created, then deleted at once) still
// arrives, with a null node: the client's replica stays in step.
func (r *Resolver) present(ctx context.Context, sub *realtime.Subscription, ev realtime.Event, p eventlog.Payload, guarded bool) (*LiveEvent, error) {
	live := &LiveEvent{Cursor: strconv.FormatInt(ev.ID, 10), Kind: LiveKind(ev.Kind)}
	if !live.Kind.IsValid() {
		r.Log.ErrorContext(ctx, "live: an event kind has no LiveEventKind value; add it to the schema", "id", ev.ID, "kind", ev.Kind)
	}
	if p.Subject != 0 {
		live.SubjectID = &p.Subject
	}
	if len(p.Data) > 0 {
		data, err := presentData(p.Data)
		if err != nil {
			r.Log.ErrorContext(ctx, "undecodable event data", "id", ev.ID, "err", err)
		}
		live.Data = data
	}
	if strings.HasSuffix(ev.Kind, ".deleted") || p.Subject == 0 {
		return live, nil
	}
	node, err := r.load(ctx, sub, ev, p)
	switch {
	case err == nil:
		live.Node = node
	case !hidden(err):
		return nil, err
	case ev.Kind == messaging.KindMemberLeft || guarded:
		// The member who left can no longer see the conversation; he is
		// still told, by its id.
	default:
		return nil, nil // not found for this viewer: privacy filtered it out
	}
	return live, nil
}

// load returns the subject of ev as the viewer sees it: a new message from
// sharedMessages when it may be shared with sub, anything else reloaded as
// the viewer.
func (r *Resolver) load(ctx context.Context, sub *realtime.Subscription, ev realtime.Event, p eventlog.Payload) (ent.Noder, error) {
	if m := r.shared.message(ctx, r.Client, sub, ev, p.Subject, viewer.UserID(ctx)); m != nil {
		return m, nil
	}
	return r.Client.Noder(ctx, p.Subject)
}

// presentData decodes an event's data as the client receives it: every id
// in it a global id string (scalar.GlobalID), like the ids of nodes. Domain
// code writes ids as the numbers it holds, and the log keeps them so; the
// ids are the values of the keys named id or ending in Id (one id) or Ids
// (a list of them), at any depth. Other numbers (a seq, a count) stay
// numbers, exactly as stored.
func presentData(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil {
		return nil, err
	}
	globalIDs(data)
	return data, nil
}

// globalIDs rewrites in place the ids of v, a decoded JSON value, as global
// id strings; see presentData.
func globalIDs(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch {
			case k == "id" || strings.HasSuffix(k, "Id"):
				v[k] = globalID(x)
			case strings.HasSuffix(k, "Ids"):
				if list, ok := x.([]any); ok {
					for i := range list {
						list[i] = globalID(list[i])
					}
				}
			default:
				globalIDs(x)
			}
		}
	case []any:
		for _, x := range v {
			globalIDs(x)
		}
	}
}

// globalID returns x, an id of event data, as a global id string; anything
// but an integer (an id written as a string already, a null) is kept.
func globalID(x any) any {
	if n, ok := x.(json.Number); ok {
		if id, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return scalar.GlobalID(int(id))
		}
	}
	return x
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
		return ReasonSlowConsumer
	case errors.Is(err, realtime.ErrResumeTooOld):
		return ReasonResumeTooOld
	case errors.Is(err, realtime.ErrHubClosed):
		return ReasonShutdown
	}
	return ReasonError // the replay could not read the log
}
