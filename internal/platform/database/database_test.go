package database_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/database"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// TestOpen: Open reaches and migrates either backend, says which it is,
// hands the trace every statement, and opens a migrated database again.
// SQLite lives in the data directory with foreign keys on and WAL.
func TestOpen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		url, dir := b.URL(t), filepath.Join(t.TempDir(), "data")
		var statements atomic.Int64
		db, err := database.Open(ctx, url, dir, func(context.Context, ...any) { statements.Add(1) })
		require.NoError(t, err)
		t.Cleanup(func() { db.Client.Close() })
		require.Equal(t, b.Postgres(), db.Postgres)
		require.NoError(t, db.SQL.PingContext(ctx))

		sys := viewer.SystemContext(ctx)
		before := statements.Load()
		require.NoError(t, db.Client.Setting.Create().SetKey("k").SetValue("v").Exec(sys))
		require.Greater(t, statements.Load(), before, "the trace sees the statements")
		n, err := db.Client.Setting.Query().Count(sys)
		require.NoError(t, err)
		require.Equal(t, 1, n, "migrated: the tables are there")

		if b.Postgres() {
			_, err := os.Stat(dir)
			require.ErrorIs(t, err, os.ErrNotExist, "PostgreSQL needs no data directory")
		} else {
			require.FileExists(t, filepath.Join(dir, "parley.db"))
			var fk int
			var mode string
			require.NoError(t, db.SQL.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
			require.NoError(t, db.SQL.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
			require.Equal(t, 1, fk)
			require.Equal(t, "wal", mode)
		}

		// Opening the migrated database again keeps its rows.
		again, err := database.Open(ctx, url, dir, nil)
		require.NoError(t, err)
		t.Cleanup(func() { again.Client.Close() })
		n, err = again.Client.Setting.Query().Count(sys)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})
}

// TestOpenPostgresqlScheme: postgresql:// names PostgreSQL as postgres://
// does.
func TestOpenPostgresqlScheme(t *testing.T) {
	for _, b := range dbtest.Backends() {
		if !b.Postgres() {
			continue
		}
		url := "postgresql://" + strings.TrimPrefix(b.URL(t), "postgres://")
		db, err := database.Open(context.Background(), url, t.TempDir(), nil)
		require.NoError(t, err)
		require.True(t, db.Postgres)
		db.Client.Close()
	}
}

// TestOpenRefusesOtherURLs: a URL that is neither empty (SQLite) nor
// PostgreSQL's is refused before anything is opened or created.
func TestOpenRefusesOtherURLs(t *testing.T) {
	for _, url := range []string{
		"mysql://root@localhost/parley",
		"sqlite:///var/lib/parley.db",
		"file:parley.db",
		"parley.db",
		"postgres:/missing-slashes",
		" postgres://leading-space",
	} {
		dir := filepath.Join(t.TempDir(), "data")
		db, err := database.Open(context.Background(), url, dir, nil)
		require.Error(t, err, url)
		require.Nil(t, db)
		require.Contains(t, err.Error(), "must be a postgres:// URL", url)
		_, err = os.Stat(dir)
		require.ErrorIs(t, err, os.ErrNotExist, "%s: no data directory made", url)
	}
}

// TestKeysetPagesOnTime: paging a connection ordered by a time column one
// row at a time, forwards and backwards, yields every row exactly once on
// every backend, also when rows share the instant (the id breaks the tie).
// SQLite once stored times with Go's monotonic clock reading, so the cursor's
// own row compared greater than the cursor and came back forever.
func TestKeysetPagesOnTime(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, ctx context.Context) {
		same := time.Now()
		var want []int
		for i := range 5 {
			at := time.Now()
			if i >= 3 {
				at = same
			}
			u := c.User.Create().SetUsername(string(rune('a'+i)) + "pager").SetPasswordHash("x").
				SetPublicID(int64(7000 + i)).SetCreatedAt(at).SaveX(ctx)
			want = append(want, u.ID)
		}
		order := ent.WithUserOrder(&ent.UserOrder{Direction: entgql.OrderDirectionAsc, Field: ent.UserOrderFieldCreatedAt})
		one := 1
		page := func(after, before *entgql.Cursor[int], first, last *int) *ent.UserConnection {
			conn, err := c.User.Query().Paginate(ctx, after, first, before, last, order)
			require.NoError(t, err)
			return conn
		}
		var forward []int
		for conn := page(nil, nil, &one, nil); len(conn.Edges) > 0 && len(forward) <= len(want); {
			forward = append(forward, conn.Edges[0].Node.ID)
			if !conn.PageInfo.HasNextPage {
				break
			}
			conn = page(conn.PageInfo.EndCursor, nil, &one, nil)
		}
		var backward []int
		for conn := page(nil, nil, nil, &one); len(conn.Edges) > 0 && len(backward) <= len(want); {
			backward = append([]int{conn.Edges[0].Node.ID}, backward...)
			if !conn.PageInfo.HasPreviousPage {
				break
			}
			conn = page(nil, conn.PageInfo.StartCursor, nil, &one)
		}
		require.ElementsMatch(t, want, forward, "forward pages")
		require.Equal(t, forward, backward, "backward pages, the same order")
	})
}
