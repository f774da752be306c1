package ratelimit

import (
	"context"
	"strconv"

	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// Write is a kind of write a user's budget bounds.
type Write int

// The writes with a budget. Each is one place in its domain: messaging's
// send, annotation's addText, and annotation's creation of entities,
// mentions, relation types and relations (imports included).
const (
	Messages Write = iota
	Texts
	Entities
	writes
)

// names of the writes, as the refusal's message says them.
var writeNames = [writes]string{"messages", "texts", "annotation objects"}

// BudgetOptions are the writes allowed per user per minute; zero or less
// is no limit.
type BudgetOptions struct {
	MessagesPerMinute, TextsPerMinute, EntitiesPerMinute int
}

// Budget bounds how fast one user writes, per kind of write, so that a
// client cannot fill the database as fast as it can send (aliases and
// batching make one request many writes). Each domain spends from it in
// the one place its writes of that kind start. The counts are per process:
// the budget protects the instance and its share of the database from a
// flood, and with N instances behind a balancer a user writes up to N
// times as fast, which is still bounded; counting every write in the
// database would add a write to each.
type Budget struct {
	buckets [writes]*Buckets
}

// NewBudget returns the budget of o. A nil *Budget allows everything.
func NewBudget(o BudgetOptions) *Budget {
	return &Budget{buckets: [writes]*Buckets{
		Messages: PerMinute(o.MessagesPerMinute),
		Texts:    PerMinute(o.TextsPerMinute),
		Entities: PerMinute(o.EntitiesPerMinute),
	}}
}

// Spend takes n writes of kind from the viewer's budget, or refuses with
// RATE_LIMITED, reason TOO_MANY_WRITES and extensions.retryAfter. n may
// exceed what is left (a large import): see Buckets.Take. A request
// without a signed-in viewer spends nothing; the domain refuses it anyway.
func (b *Budget) Spend(ctx context.Context, kind Write, n int) error {
	uid := viewer.UserID(ctx)
	if b == nil || uid == 0 || n <= 0 {
		return nil
	}
	ok, retry := b.buckets[kind].Take(strconv.Itoa(uid), n)
	if ok {
		return nil
	}
	return apperr.Limited(apperr.ReasonTooManyWrites, "", retry,
		"too many %s in a minute: wait %d s", writeNames[kind], apperr.RetrySeconds(retry))
}
