package settings

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	_ "github.com/parley-im/parley/ent/runtime"
	"github.com/parley-im/parley/ent/viewer"
	_ "github.com/parley-im/parley/internal/platform/database" // registers the sqlite3 driver
)

var settingsRead = regexp.MustCompile("(?i)SELECT .* FROM [`\"]settings[`\"]")

// memoClient returns a client on a fresh SQLite database and a counter of
// the statements that read the settings table.
func memoClient(t *testing.T) (*ent.Client, *atomic.Int64) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "s.db")+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	var reads atomic.Int64
	drv := dialect.DebugWithContext(entsql.OpenDB(dialect.SQLite, db), func(_ context.Context, v ...any) {
		if settingsRead.MatchString(fmt.Sprint(v...)) {
			reads.Add(1)
		}
	})
	client := ent.NewClient(ent.Driver(drv))
	t.Cleanup(func() { client.Close() })
	require.NoError(t, client.Schema.Create(viewer.SystemContext(context.Background())))
	return client, &reads
}

// inTx opens a transaction and returns a context that carries it, as
// entgql.Transactioner and graph/txn make them.
func inTx(t *testing.T, client *ent.Client) (context.Context, *ent.Tx) {
	t.Helper()
	ctx := viewer.SystemContext(context.Background())
	tx, err := client.Tx(ctx)
	require.NoError(t, err)
	return ent.NewContext(ent.NewTxContext(ctx, tx), tx.Client()), tx
}

func memoSize() int {
	memo.Lock()
	defer memo.Unlock()
	return len(memo.m)
}

func TestGetReadsOncePerTransaction(t *testing.T) {
	client, reads := memoClient(t)
	s := NewService(client)
	sys := viewer.SystemContext(context.Background())
	_, err := s.Update(sys, Patch{DirtyWords: []string{"darn"}})
	require.NoError(t, err)

	ctx, tx := inTx(t, client)
	reads.Store(0)
	require.NoError(t, s.Require(ctx, PrivateChat))
	on, err := s.Enabled(ctx, StrangerChat)
	require.NoError(t, err)
	assert.True(t, on)
	masked, err := s.Mask(ctx, "darn it")
	require.NoError(t, err)
	assert.Equal(t, "**** it", masked)
	assert.EqualValues(t, 1, reads.Load(), "one read for the whole transaction")

	// What Get returns is the caller's: changing it changes nothing else.
	got, err := s.Get(ctx)
	require.NoError(t, err)
	got.DirtyWords[0], got.PrivateChat = "changed", false
	again, err := s.Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"darn"}, again.DirtyWords)
	assert.True(t, again.PrivateChat)
	assert.EqualValues(t, 1, reads.Load())

	require.NoError(t, tx.Commit())
	assert.Zero(t, memoSize(), "dropped on commit")

	// Outside a transaction every call reads.
	for range 2 {
		_, err := s.Get(sys)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, reads.Load())
}

// TestUpdateInTransactionRefreshesTheMemo: an update in the same
// transaction is seen by the reads after it, through any Service, also when
// it fails half-way; and other transactions are not affected by the memo.
func TestUpdateInTransactionRefreshesTheMemo(t *testing.T) {
	client, reads := memoClient(t)
	s, other := NewService(client), NewService(client) // graph/files has its own
	ctx, tx := inTx(t, client)
	require.NoError(t, s.Require(ctx, Voice))

	off, on := false, true
	updated, err := s.Update(ctx, Patch{Voice: &off})
	require.NoError(t, err)
	assert.False(t, updated.Voice)
	assert.Error(t, s.Require(ctx, Voice))
	assert.Error(t, other.Require(ctx, Voice))

	// Another transaction reads its own snapshot, not this memo.
	ctx2, tx2 := inTx(t, client)
	before := reads.Load()
	require.NoError(t, s.Require(ctx2, Voice), "not committed yet")
	assert.Equal(t, before+1, reads.Load())
	require.NoError(t, tx2.Rollback())

	// A failed update has still written its toggles in this transaction.
	_, err = other.Update(ctx, Patch{Voice: &on, DirtyWords: []string{"a\nb"}})
	require.Error(t, err)
	require.NoError(t, s.Require(ctx, Voice))

	require.NoError(t, tx.Rollback())
	assert.Zero(t, memoSize(), "dropped on rollback")
	sys := viewer.SystemContext(context.Background())
	require.NoError(t, s.Require(sys, Voice), "rolled back")
}

// TestGetOnAnotherClientIsNotMemoised: a context that carries a transaction
// but reads through another client is not memoised under the transaction.
func TestGetOnAnotherClientIsNotMemoised(t *testing.T) {
	client, reads := memoClient(t)
	s := NewService(client)
	_, tx := inTx(t, client)
	defer tx.Rollback()
	ctx := ent.NewContext(ent.NewTxContext(viewer.SystemContext(context.Background()), tx), client)
	reads.Store(0)
	for range 2 {
		_, err := s.Get(ctx)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, reads.Load())
	assert.Zero(t, memoSize())
}
