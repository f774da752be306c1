package eventlog_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	_ "github.com/parley-im/parley/ent/runtime"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/realtime"
)

// newLog returns an event log on a fresh PostgreSQL schema, or skips the
// test when TEST_DATABASE_URL is not set.
func newLog(t *testing.T) (*eventlog.Log, *ent.Client) {
	t.Helper()
	dsn := os.Getenv("TEST_DATABASE_URL")
	if dsn == "" {
		t.Skip("TEST_DATABASE_URL not set: the out-of-order commits need PostgreSQL")
	}
	// binary_parameters as the server runs it (server/app/db.go).
	url := dbtest.Schema(t, dsn) + "&binary_parameters=yes"
	client, err := ent.Open("postgres", url)
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	require.NoError(t, client.Schema.Create(context.Background()))
	return eventlog.New(client, true, nil), client
}

// begin opens a transaction and appends one event in it.
func begin(t *testing.T, client *ent.Client, log *eventlog.Log, topic string) *ent.Tx {
	t.Helper()
	tx, err := client.Tx(context.Background())
	require.NoError(t, err)
	ctx := ent.NewTxContext(context.Background(), tx)
	require.NoError(t, log.Append(ctx, eventlog.Record{Topic: topic, Kind: "test"}))
	return tx
}

func ids(evs []realtime.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// TestOutOfOrderCommits: an id committed after a higher one is still handed
// out first, and a gap left by a rollback is skipped once it is final.
func TestOutOfOrderCommits(t *testing.T) {
	log, client := newLog(t)
	ctx := context.Background()
	src := log.Source()
	settler := src.(realtime.Settler)
	head, err := src.Head(ctx)
	require.NoError(t, err)
	require.Zero(t, head)

	// Ids are global (ent's per-type ranges): read the first one back.
	first := begin(t, client, log, "first")
	require.NoError(t, first.Commit())
	// The ids below the first are a gap too, final at once: no appender
	// is in flight.
	evs, err := src.After(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	base := evs[0].ID

	slow := begin(t, client, log, "a") // base+1, open
	require.NoError(t, begin(t, client, log, "b").Commit())

	evs, err = src.After(ctx, base, 100)
	require.NoError(t, err)
	require.Empty(t, evs, "base+2 must wait for base+1's transaction")
	require.True(t, settler.Unsettled())

	require.NoError(t, slow.Commit())
	evs, err = src.After(ctx, base, 100)
	require.NoError(t, err)
	require.Equal(t, []int64{base + 1, base + 2}, ids(evs))
	require.False(t, settler.Unsettled())

	aborted := begin(t, client, log, "c") // base+3, will roll back
	require.NoError(t, begin(t, client, log, "d").Commit())
	evs, err = src.After(ctx, base+2, 100)
	require.NoError(t, err)
	require.Empty(t, evs)
	require.True(t, settler.Unsettled())
	require.NoError(t, aborted.Rollback())
	evs, err = src.After(ctx, base+2, 100)
	require.NoError(t, err)
	require.Equal(t, []int64{base + 4}, ids(evs), "the rolled-back id is skipped")
	require.False(t, settler.Unsettled())

	// A transaction that appends nothing does not hold a gap open, even
	// one that wrote before the gap was seen.
	other, err := client.Tx(ctx)
	require.NoError(t, err)
	_, err = other.ExecContext(ctx, "SELECT pg_current_xact_id()")
	require.NoError(t, err)
	late := begin(t, client, log, "e") // base+5, open
	require.NoError(t, begin(t, client, log, "f").Commit())
	evs, err = src.After(ctx, base+4, 100)
	require.NoError(t, err)
	require.Empty(t, evs)
	require.NoError(t, late.Commit())
	evs, err = src.After(ctx, base+4, 100)
	require.NoError(t, err)
	require.Equal(t, []int64{base + 5, base + 6}, ids(evs))
	require.NoError(t, other.Rollback())
}

// TestConcurrentAppendsTailExactly: writers append concurrently, some roll
// back, while a reader tails: it sees every committed id exactly once, in
// order, and no rolled-back one.
func TestConcurrentAppendsTailExactly(t *testing.T) {
	log, client := newLog(t)
	ctx := context.Background()
	src := log.Source()

	var (
		mu        sync.Mutex
		committed []int64
		wg        sync.WaitGroup
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 40 {
				tx, err := client.Tx(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				txCtx := ent.NewTxContext(ctx, tx)
				if err := log.Append(txCtx, eventlog.Record{Topic: "t", Kind: "test"}); err != nil {
					t.Error(err)
					return
				}
				// currval is the id this session just drew.
				rows, err := tx.QueryContext(txCtx, "SELECT currval(pg_get_serial_sequence('events', 'id'))")
				if err != nil {
					t.Error(err)
					return
				}
				var id int64
				for rows.Next() {
					err = rows.Scan(&id)
				}
				rows.Close()
				if err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
				if rng.IntN(4) == 0 {
					_ = tx.Rollback()
					continue
				}
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				committed = append(committed, id)
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var seen []int64
	var pos int64
	tail := func() {
		evs, err := src.After(ctx, pos, 50)
		require.NoError(t, err)
		for _, e := range evs {
			seen = append(seen, e.ID)
			pos = e.ID
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			tail()
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		tail()
		mu.Lock()
		n := len(committed)
		mu.Unlock()
		if len(seen) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	slices.Sort(committed)
	require.Equal(t, committed, seen, "every committed id once, in order, and nothing else")
}
