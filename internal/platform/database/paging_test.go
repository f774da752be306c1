package database_test

import (
	"context"
	"testing"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

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
