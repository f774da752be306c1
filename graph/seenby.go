package graph

import (
	"context"
	"errors"

	"github.com/vikstrous/dataloadgen"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/internal/messaging"
)

// receipt returns m's receipts (messaging.Receipts) through the request's
// loader, so that a page of messages asking for read, delivered and
// readCount runs one statement for all of them; without a loader
// (subscriptions) it asks for m alone.
func (r *Resolver) receipt(ctx context.Context, m *ent.Message) (messaging.Receipt, error) {
	ls, _ := ctx.Value(loadersKey{}).(*loaders)
	if ls == nil {
		rs, err := r.Messaging.Receipts(ctx, []*ent.Message{m})
		return rs[m], err
	}
	rc, err := ls.receipts.Load(ctx, m)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return messaging.Receipt{}, nil
	}
	return rc, err
}
