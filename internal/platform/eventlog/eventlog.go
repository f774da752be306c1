// Package eventlog writes and reads the event log (ent's Event table), the
// source of truth for everything pushed to subscribers. Domain code appends
// an event inside the transaction of the change it describes; once that
// transaction commits, the hub is told the new head, and every server
// instance tails the log from the database.
package eventlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/realtime"
)

// Topics are the streams subscriptions listen to.
func UserTopic(id int) string         { return fmt.Sprintf("user:%d", id) }
func ConversationTopic(id int) string { return fmt.Sprintf("conversation:%d", id) }
func RoomTopic(id int) string         { return fmt.Sprintf("room:%d", id) }
func ProjectTopic(id int) string      { return fmt.Sprintf("project:%d", id) }
func PresenceTopic(id int) string     { return fmt.Sprintf("presence:%d", id) }

// Record is an event to append.
type Record struct {
	Topic   string
	Kind    string
	Actor   int // the user who acted, 0 for the system
	Subject int // the id of the node the event is about (a message, a notice...)
	Data    any // small extra data, JSON-encoded
	// Join makes the subscribers of Topic join this topic from this event
	// on (realtime.Event.Join): "you joined conversation 9".
	Join string
	// Leave makes the subscribers of Topic leave this topic from this event
	// on (realtime.Event.Leave): "you left conversation 9".
	Leave string
}

// Payload is the JSON payload of a stored event, as realtime delivers it.
type Payload struct {
	Actor   int             `json:"actor,omitempty"`
	Subject int             `json:"subject,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Notifier is told the log's new head after a commit (the realtime hub).
type Notifier interface {
	Notify(ctx context.Context, head int64) error
}

// Log appends to and reads from the event log.
type Log struct {
	client   *ent.Client
	postgres bool
	notifier Notifier
	source   realtime.Source
}

// New returns the event log of client. Appends take no lock, so on
// PostgreSQL concurrent transactions commit their events out of id order;
// the log's Source hands the hub only ids no in-flight transaction can still
// precede (pgSource). Append events last in a transaction anyway: until it
// commits, its events hold back the delivery of later ones.
func New(client *ent.Client, postgres bool, n Notifier) *Log {
	l := &Log{client: client, postgres: postgres, notifier: n, source: source{client}}
	if postgres {
		l.source = &pgSource{source: source{client}}
	}
	return l
}

// SetNotifier wires the hub in once it exists (the hub reads this log).
func (l *Log) SetNotifier(n Notifier) { l.notifier = n }

// ErrNoTransaction is returned by Append outside a transaction: an event
// must commit together with its change, or not at all.
var ErrNoTransaction = errors.New("eventlog: append needs a transaction in the context")

// Append writes events in the transaction of ctx and notifies the hub after
// it commits.
func (l *Log) Append(ctx context.Context, records ...Record) error {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		return ErrNoTransaction
	}
	if len(records) == 0 {
		return nil
	}
	sys := viewer.SystemContext(ctx)
	if l.postgres && len(records) == 1 {
		return l.appendOne(sys, tx, records[0])
	}
	if l.postgres {
		// Shared, so appenders do not wait for each other; held before the
		// ids are drawn, so that a reader seeing a gap in the ids can list
		// the transactions that may still fill it (pgSource).
		if _, err := tx.ExecContext(sys, "SELECT pg_advisory_xact_lock_shared($1)", appendLockKey); err != nil {
			return fmt.Errorf("eventlog: lock: %w", err)
		}
	}
	builders := make([]*ent.EventCreate, len(records))
	for i, r := range records {
		payload, err := encode(r)
		if err != nil {
			return err
		}
		b := tx.Event.Create().SetTopic(r.Topic).SetKind(r.Kind).SetPayload(payload)
		if r.Actor != 0 {
			b.SetActorID(r.Actor)
		}
		if r.Subject != 0 {
			b.SetSubjectID(r.Subject)
		}
		if r.Join != "" {
			b.SetJoinTopic(r.Join)
		}
		if r.Leave != "" {
			b.SetLeaveTopic(r.Leave)
		}
		builders[i] = b
	}
	created, err := tx.Event.CreateBulk(builders...).Save(sys)
	if err != nil {
		return fmt.Errorf("eventlog: append: %w", err)
	}
	l.notifyOnCommit(tx, int64(created[len(created)-1].ID))
	return nil
}

// appendOneQuery appends one event on PostgreSQL in one statement: the
// MATERIALIZED CTE takes the shared append lock (pgSource) before the row,
// and with it the id, is drawn, as the separate SELECT did before it.
var appendOneQuery = `WITH appender AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared($1))
INSERT INTO ` + event.Table + ` (` + event.FieldTopic + `, ` + event.FieldKind + `, ` + event.FieldActorID + `, ` + event.FieldSubjectID + `, ` +
	event.FieldPayload + `, ` + event.FieldJoinTopic + `, ` + event.FieldLeaveTopic + `, ` + event.FieldCreatedAt + `)
SELECT $2::text, $3::text, $4::bigint, $5::bigint, $6::bytea, $7::text, $8::text, $9::timestamptz FROM appender
RETURNING ` + event.FieldID

// appendOne appends one record on PostgreSQL (appendOneQuery): a send's
// event, one round trip instead of the lock's and the insert's.
func (l *Log) appendOne(ctx context.Context, tx *ent.Tx, r Record) error {
	payload, err := encode(r)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, appendOneQuery, appendLockKey, r.Topic, r.Kind,
		nullID(r.Actor), nullID(r.Subject), payload, nullText(r.Join), nullText(r.Leave), time.Now())
	if err != nil {
		return fmt.Errorf("eventlog: append: %w", err)
	}
	defer rows.Close()
	var id int64
	if !rows.Next() {
		return fmt.Errorf("eventlog: append: no id returned: %w", rows.Err())
	}
	if err := rows.Scan(&id); err != nil {
		return fmt.Errorf("eventlog: append: %w", err)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("eventlog: append: %w", err)
	}
	l.notifyOnCommit(tx, id)
	return nil
}

func nullID(id int) sql.NullInt64 { return sql.NullInt64{Int64: int64(id), Valid: id != 0} }

func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// notifyOnCommit tells the notifier the new head once tx commits.
func (l *Log) notifyOnCommit(tx *ent.Tx, head int64) {
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			if l.notifier != nil {
				// The commit stands even if the wake-up is lost: hubs also poll.
				_ = l.notifier.Notify(context.WithoutCancel(ctx), head)
			}
			return nil
		})
	})
}

func encode(r Record) ([]byte, error) {
	p := Payload{Actor: r.Actor, Subject: r.Subject}
	if r.Data != nil {
		data, err := json.Marshal(r.Data)
		if err != nil {
			return nil, fmt.Errorf("eventlog: encode %s: %w", r.Kind, err)
		}
		p.Data = data
	}
	return json.Marshal(p)
}

// Source returns the log as the realtime hub reads it; it is stateful on
// PostgreSQL, so every caller gets the same one.
func (l *Log) Source() realtime.Source { return l.source }

type source struct{ client *ent.Client }

func (s source) Head(ctx context.Context) (int64, error) {
	ids, err := s.client.Event.Query().Order(ent.Desc(event.FieldID)).Limit(1).IDs(viewer.SystemContext(ctx))
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return int64(ids[0]), nil
}

func (s source) After(ctx context.Context, after int64, limit int) ([]realtime.Event, error) {
	rows, err := s.client.Event.Query().
		Where(event.IDGT(int(after))).
		Order(ent.Asc(event.FieldID)).Limit(limit).All(viewer.SystemContext(ctx))
	return toEvents(rows), err
}

func (s source) Replay(ctx context.Context, topics []string, after, upto int64, limit int) ([]realtime.Event, error) {
	rows, err := s.client.Event.Query().
		Where(event.IDGT(int(after)), event.IDLTE(int(upto)), event.TopicIn(topics...)).
		Order(ent.Asc(event.FieldID)).Limit(limit).All(viewer.SystemContext(ctx))
	return toEvents(rows), err
}

func toEvents(rows []*ent.Event) []realtime.Event {
	out := make([]realtime.Event, len(rows))
	for i, r := range rows {
		out[i] = realtime.Event{ID: int64(r.ID), Topic: r.Topic, Kind: r.Kind, Payload: r.Payload, Join: r.JoinTopic, Leave: r.LeaveTopic}
	}
	return out
}

// Decode returns the payload of a delivered event.
func Decode(e realtime.Event) (Payload, error) {
	var p Payload
	if len(e.Payload) == 0 {
		return p, nil
	}
	err := json.Unmarshal(e.Payload, &p)
	return p, err
}
