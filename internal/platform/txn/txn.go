// Package txn runs domain work in one ent transaction, the way
// entgql.Transactioner runs every mutation. A few mutations skip the
// Transactioner because part of their work must commit even when the
// request fails (a counted wrong SMS code, a detected refresh-token replay);
// they do that part first and the rest inside Run.
package txn

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-im/parley/ent"
)

// Run calls fn with ctx carrying a new transaction (ent.FromContext and
// ent.TxFromContext see it), commits when fn succeeds and rolls back
// otherwise. Inside an existing transaction it simply calls fn.
func Run(ctx context.Context, client *ent.Client, fn func(ctx context.Context) error) error {
	if ent.TxFromContext(ctx) != nil {
		return fn(ctx)
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("txn: begin: %w", err)
	}
	tctx := ent.NewContext(ent.NewTxContext(ctx, tx), tx.Client())
	if err := fn(tctx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("txn: commit: %w", err)
	}
	return nil
}

// ErrNone is the error of a write that must commit together with others (a
// change and its events) but was called outside a transaction: a bug of
// the caller, never of the client.
var ErrNone = errors.New("txn: needs a transaction")

// Writer returns the client of the transaction of ctx, for the domain
// writes that must commit together with their events, or ErrNone outside
// one. GraphQL mutations run in one (entgql.Transactioner); the few that
// skip it open their own with Run.
func Writer(ctx context.Context) (*ent.Client, error) {
	if ent.TxFromContext(ctx) == nil {
		return nil, ErrNone
	}
	return ent.FromContext(ctx), nil
}

// Reader returns the client reads go through: the transaction's inside
// one, so that a mutation reads its own writes, else root.
func Reader(ctx context.Context, root *ent.Client) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return root
}
