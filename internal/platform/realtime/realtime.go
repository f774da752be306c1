// Package realtime is the event backbone of the chat server's GraphQL
// subscriptions.
//
// The database is the source of truth: every event is a row in an append-only
// event log, committed in the same transaction as the change it describes. A
// [Bus] only wakes [Hub]s up ("the log head moved"); a hub then tails the log
// through a [Source] and fans the events out to its subscriptions. Because the
// bus carries no data that is not also in the log, a lost notification costs at
// most one poll interval of latency, never an event.
package realtime

import (
	"context"
	"encoding/json"
	"errors"
)

// Errors reported by this package. A subscription's Err tells the client what
// to do next: resume from its cursor (ErrSlowConsumer, ErrHubClosed) or
// refetch (ErrResumeTooOld; Subscribe's ErrCursorUnknown).
var (
	// ErrSlowConsumer ends a subscription whose queue filled up, so that one
	// slow client never holds back the hub or other subscribers.
	ErrSlowConsumer = errors.New("realtime: slow consumer")
	// ErrResumeTooOld ends a subscription whose resume cursor is so far behind
	// that replaying would exceed HubOptions.MaxReplay; the client refetches.
	ErrResumeTooOld = errors.New("realtime: resume cursor too old")
	// ErrCursorUnknown refuses a resume cursor beyond the log's committed
	// head: it comes from another log (a restored database, another
	// deployment), and waiting for it would be silent forever; the client
	// refetches and subscribes again without it.
	ErrCursorUnknown = errors.New("realtime: resume cursor beyond the log's head")
	// ErrHubClosed ends subscriptions when their hub stops running.
	ErrHubClosed = errors.New("realtime: hub closed")
	// ErrBusClosed is returned when publishing on, or running a hub over, a
	// closed bus.
	ErrBusClosed = errors.New("realtime: bus closed")
	// ErrPayloadTooLarge rejects a signal that PostgreSQL NOTIFY cannot carry.
	ErrPayloadTooLarge = errors.New("realtime: payload too large")
)

// Event is one committed row of the event log (or an ephemeral event with ID
// 0, never stored: typing indicators, presence pings). It is what
// subscriptions deliver.
type Event struct {
	ID      int64
	Topic   string          // e.g. "conversation:42", "user:7", "room:3", "project:9"
	Kind    string          // e.g. "message.created"
	Payload json.RawMessage // small
	// Join, when set, is a topic that every subscription receiving this
	// event also subscribes to, from this event on: a user's stream carries
	// "you joined conversation 9" and from then on conversation 9's events.
	// The hub applies it in log order, so nothing after it is missed.
	Join string `json:",omitempty"`
	// Leave, when set, is a topic that every subscription receiving this
	// event stops listening to, from this event on: a user's stream carries
	// "you left conversation 9" and nothing more of conversation 9 after it.
	// The hub applies it in log order too, so that a leave followed at once
	// by a join of the same topic leaves the topic held, whenever the
	// consumer gets to either event.
	Leave string `json:",omitempty"`
}

// Source reads the committed event log. It is implemented elsewhere on ent
// (SQLite and PostgreSQL) so that this package stays storage-agnostic.
//
// Event IDs are global and strictly increasing. Writers may commit them out
// of order; After hides that: once it has returned id N, it never returns an
// id < N. The hub relies on this to tail without gaps.
type Source interface {
	// Head returns the highest committed event id, 0 when empty.
	Head(ctx context.Context) (int64, error)
	// After returns up to limit events with ID > after, in ID order (all
	// topics). Used by the hub to tail.
	After(ctx context.Context, after int64, limit int) ([]Event, error)
	// Replay returns up to limit events with after < ID <= upto whose Topic
	// is in topics, in ID order.
	Replay(ctx context.Context, topics []string, after, upto int64, limit int) ([]Event, error)
}

// Settler is implemented by a Source whose After may stop short of the
// visible head, at an id an in-flight transaction may still commit: the hub
// then asks again soon instead of at its next poll, because a transaction
// that rolled back sends no wake-up.
type Settler interface {
	Unsettled() bool
}

// Signal is what travels over a Bus: either "the log head is now at least
// Head" or an ephemeral event. Head -1 means "you may have missed something:
// re-poll", sent after a bus lost its connection.
type Signal struct {
	Head      int64  `json:"h,omitempty"`
	Ephemeral *Event `json:"e,omitempty"`
}

// Bus carries signals between server processes, so that a write on one
// instance wakes the hubs of all instances.
type Bus interface {
	Publish(ctx context.Context, s Signal) error
	Signals() <-chan Signal // closed by Close
	Healthy() bool          // false while a PostgreSQL listener is disconnected (for /readyz)
	Close() error
}
