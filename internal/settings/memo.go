package settings

import (
	"context"
	"slices"
	"sync"

	"github.com/parley-im/parley/ent"
)

// memo holds the settings read in each open transaction, so that a request
// that checks several toggles and masks its text (sendMessage) reads the
// table once. An entry lives as long as its transaction: it is dropped when
// the transaction commits or rolls back, and by Update, whose writes change
// what the transaction reads. It is shared by every Service, so an Update
// through one is seen by the others.
var memo = struct {
	sync.Mutex
	m map[*ent.Tx]*Settings
}{m: make(map[*ent.Tx]*Settings)}

// memoTx returns the transaction whose reads ctx's settings reads go
// through, or nil: only a read made on the transaction's own client may be
// memoised under it.
func memoTx(ctx context.Context) *ent.Tx {
	tx := ent.TxFromContext(ctx)
	if tx == nil || ent.FromContext(ctx) != tx.Client() {
		return nil
	}
	return tx
}

// recall returns a copy of the settings memoised for tx.
func recall(tx *ent.Tx) (*Settings, bool) {
	memo.Lock()
	defer memo.Unlock()
	set, ok := memo.m[tx]
	if !ok {
		return nil, false
	}
	return set.clone(), true
}

// remember memoises set for tx until tx ends. The caller keeps set.
func remember(tx *ent.Tx, set *Settings) {
	memo.Lock()
	_, known := memo.m[tx]
	memo.m[tx] = set.clone()
	memo.Unlock()
	if known {
		return // its hooks are in place
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			defer forgetTx(tx)
			return next.Commit(ctx, tx)
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			defer forgetTx(tx)
			return next.Rollback(ctx, tx)
		})
	})
}

// forget drops what was memoised for ctx's transaction, if anything.
func forget(ctx context.Context) {
	if tx := ent.TxFromContext(ctx); tx != nil {
		forgetTx(tx)
	}
}

// forgetTx forgets the settings remembered for tx once it ends.
func forgetTx(tx *ent.Tx) {
	memo.Lock()
	defer memo.Unlock()
	delete(memo.m, tx)
}

// clone returns a copy that shares nothing mutable with s: callers may
// change what Get returns.
func (s *Settings) clone() *Settings {
	c := *s
	c.DirtyWords = slices.Clone(s.DirtyWords)
	return &c
}
