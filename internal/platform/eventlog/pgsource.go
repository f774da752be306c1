package eventlog

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/parley-im/parley/internal/platform/realtime"
)

// appendLockKey is the advisory lock every appending transaction holds in
// shared mode from before it draws an event id until it ends. Shared holders
// do not wait for each other, so appends still commit in parallel (and share
// WAL flushes); the lock only lets a reader list the appenders in flight.
const appendLockKey int64 = 0x5061726c6579 // "Parley"

// holdersQuery lists the transactions holding the append lock, as
// pg_locks shows a bigint advisory key: high and low halves, objsubid 1.
const holdersQuery = `SELECT virtualtransaction FROM pg_locks
WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid = $1 AND objid = $2 AND objsubid = 1 AND granted`

// pgSource tails the log on PostgreSQL, where appends take no exclusive
// lock, so event ids become visible out of order: a transaction that drew id
// 10 may commit after the one that drew id 11. Handing 11 to the hub first
// would lose 10 for good, since the hub tails by id > position.
//
// So After hands out only a settled prefix: ids up to the first gap, and a
// gap once it is final. A missing id below a visible one was drawn before the
// read that shows the gap, by a transaction that took the append lock before
// drawing it, so that transaction holds the lock when the holders are listed
// right after the read (or has ended: committed, then it is visible to the
// next read, or rolled back). Once none of the listed holders is left, the
// ids still missing will never appear. Only appenders are waited for, not
// every transaction of the cluster, so a long unrelated write never holds
// delivery back.
//
// The hub calls After from one goroutine; mu only keeps a misuse harmless.
type pgSource struct {
	source

	mu        sync.Mutex
	settled   int64    // every id <= settled is final: visible now or never
	gapUpto   int64    // the last id of the gap being waited on, 0 for none
	gapHeld   []string // the appenders (virtual transaction ids) it waits for
	unsettled bool     // the last After stopped at a gap
}

// After returns the settled events after after, in id order.
func (s *pgSource) After(ctx context.Context, after int64, limit int) ([]realtime.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for attempt := 0; ; attempt++ {
		// Before the read, so that an appender that ended before this check
		// is visible to the read if it committed.
		if s.gapUpto != 0 {
			var left []string
			if len(s.gapHeld) > 0 { // none listed: final already
				if left, err = s.holders(ctx, s.gapHeld); err != nil {
					return nil, err
				}
			}
			if len(left) == 0 {
				s.settled = max(s.settled, s.gapUpto)
				s.gapUpto, s.gapHeld = 0, nil
			}
		}
		rows, err := s.read(ctx, after, limit)
		if err != nil {
			return nil, err
		}
		gap := s.firstGap(after, rows)
		if gap == len(rows) {
			s.unsettled = false
			return rows, nil
		}
		if s.gapUpto == 0 {
			// Listed after the read: every appender that drew a missing id
			// is among them, or has ended.
			held, err := s.holders(ctx, nil)
			if err != nil {
				return nil, err
			}
			s.gapUpto, s.gapHeld = rows[gap].ID-1, held
			if len(held) == 0 && attempt == 0 {
				continue // settles at once; read again to see late commits
			}
		}
		s.unsettled = true
		return rows[:gap], nil
	}
}

// firstGap returns the index of the first row after a missing id that is
// not yet final, len(rows) if there is none.
func (s *pgSource) firstGap(after int64, rows []realtime.Event) int {
	next := after + 1
	for i, ev := range rows {
		if ev.ID > next && ev.ID-1 > s.settled {
			return i
		}
		next = ev.ID + 1
	}
	return len(rows)
}

// Unsettled reports whether the last After stopped at a gap that an
// in-flight transaction may still fill (realtime.Settler).
func (s *pgSource) Unsettled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsettled
}

// Head returns the highest visible id once the appenders in flight when it
// was read have ended: the hub starts there, and an id below it committed
// later would be behind the hub for good. An appender still open after
// headWait is left behind.
func (s *pgSource) Head(ctx context.Context) (int64, error) {
	head, err := s.source.Head(ctx)
	if err != nil {
		return 0, err
	}
	held, err := s.holders(ctx, nil)
	deadline := time.Now().Add(headWait)
	for wait := time.Millisecond; err == nil && len(held) > 0 && time.Now().Before(deadline); wait = min(2*wait, 100*time.Millisecond) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
		held, err = s.holders(ctx, held)
	}
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.settled = max(s.settled, head)
	s.mu.Unlock()
	return head, nil
}

// headWait bounds how long Head waits for appenders in flight.
const headWait = 10 * time.Second

// holders returns the transactions holding the append lock now; with among,
// only those among it.
func (s *pgSource) holders(ctx context.Context, among []string) ([]string, error) {
	query, args := holdersQuery, []any{appendLockKey >> 32, appendLockKey & 0xffffffff}
	if among != nil {
		query += " AND virtualtransaction = ANY($3)"
		args = append(args, pq.Array(among))
	}
	rows, err := s.client.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("eventlog: appenders: %w", err)
	}
	defer rows.Close()
	var held []string
	for rows.Next() {
		var vxid string
		if err := rows.Scan(&vxid); err != nil {
			return nil, fmt.Errorf("eventlog: appenders: %w", err)
		}
		held = append(held, vxid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("eventlog: appenders: %w", err)
	}
	return held, nil
}

func (s *pgSource) read(ctx context.Context, after int64, limit int) ([]realtime.Event, error) {
	rows, err := s.client.QueryContext(ctx,
		`SELECT id, topic, kind, payload, join_topic, leave_topic FROM events WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("eventlog: tail: %w", err)
	}
	defer rows.Close()
	var out []realtime.Event
	for rows.Next() {
		var (
			ev          realtime.Event
			join, leave sql.NullString
		)
		if err := rows.Scan(&ev.ID, &ev.Topic, &ev.Kind, &ev.Payload, &join, &leave); err != nil {
			return nil, fmt.Errorf("eventlog: tail: %w", err)
		}
		ev.Join, ev.Leave = join.String, leave.String
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("eventlog: tail: %w", err)
	}
	return out, nil
}

var _ realtime.Settler = (*pgSource)(nil)
