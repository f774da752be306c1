package txn_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/setting"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/platform/txn"
)

// keys returns the keys of the settings stored, as root (outside any
// transaction) sees them.
func keys(t *testing.T, root *ent.Client) []string {
	t.Helper()
	ks, err := root.Setting.Query().Order(setting.ByKey()).Select(setting.FieldKey).Strings(viewer.SystemContext(context.Background()))
	require.NoError(t, err)
	return ks
}

// write stores a setting named key through the client of ctx.
func write(ctx context.Context, key string) error {
	return ent.FromContext(ctx).Setting.Create().SetKey(key).Exec(ctx)
}

// TestRun: Run commits what fn wrote when fn succeeds, rolls all of it back
// and returns fn's error when it fails, and inside a transaction runs fn in
// that transaction, which then decides alone.
func TestRun(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		root := dbtest.Open(t, b).Client
		ctx := viewer.SystemContext(context.Background())

		require.NoError(t, txn.Run(ctx, root, func(ctx context.Context) error {
			require.NotNil(t, ent.TxFromContext(ctx), "fn runs in a transaction")
			require.NoError(t, write(ctx, "one"))
			return write(ctx, "two")
		}))
		require.Equal(t, []string{"one", "two"}, keys(t, root), "committed")

		failed := errors.New("fn failed")
		err := txn.Run(ctx, root, func(ctx context.Context) error {
			require.NoError(t, write(ctx, "three"))
			return failed
		})
		require.ErrorIs(t, err, failed)
		require.Equal(t, []string{"one", "two"}, keys(t, root), "rolled back")

		// Nested: the inner Run uses the outer transaction, so the outer
		// failure takes the inner write with it.
		err = txn.Run(ctx, root, func(outer context.Context) error {
			require.NoError(t, txn.Run(outer, root, func(inner context.Context) error {
				require.Same(t, ent.TxFromContext(outer), ent.TxFromContext(inner), "the same transaction")
				return write(inner, "four")
			}))
			return failed
		})
		require.ErrorIs(t, err, failed)
		require.Equal(t, []string{"one", "two"}, keys(t, root), "the inner write rolled back with the outer transaction")
	})
}

// TestWriter: outside a transaction Writer refuses with ErrNone; inside one
// it returns the transaction's client, whose writes commit or roll back with
// the transaction.
func TestWriter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		root := dbtest.Open(t, b).Client
		ctx := viewer.SystemContext(context.Background())

		c, err := txn.Writer(ent.NewContext(ctx, root))
		require.ErrorIs(t, err, txn.ErrNone, "a client in the context is no transaction")
		require.Nil(t, c)

		failed := errors.New("fn failed")
		err = txn.Run(ctx, root, func(ctx context.Context) error {
			w, err := txn.Writer(ctx)
			require.NoError(t, err)
			require.Same(t, ent.FromContext(ctx), w)
			require.NoError(t, w.Setting.Create().SetKey("kept").Exec(ctx))
			return nil
		})
		require.NoError(t, err)
		err = txn.Run(ctx, root, func(ctx context.Context) error {
			w, err := txn.Writer(ctx)
			require.NoError(t, err)
			require.NoError(t, w.Setting.Create().SetKey("dropped").Exec(ctx))
			return failed
		})
		require.ErrorIs(t, err, failed)
		require.Equal(t, []string{"kept"}, keys(t, root))
	})
}

// TestReader: outside a transaction Reader is root; inside one it is the
// transaction's client, which reads the transaction's own writes.
func TestReader(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		root := dbtest.Open(t, b).Client
		ctx := viewer.SystemContext(context.Background())
		require.Same(t, root, txn.Reader(ctx, root))

		require.NoError(t, txn.Run(ctx, root, func(ctx context.Context) error {
			r := txn.Reader(ctx, root)
			require.Same(t, ent.FromContext(ctx), r)
			require.NotSame(t, root, r)
			require.NoError(t, write(ctx, "mine"))
			n, err := r.Setting.Query().Where(setting.Key("mine")).Count(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n, "the transaction reads its own write")
			return nil
		}))
	})
}
