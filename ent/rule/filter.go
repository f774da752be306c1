package rule

import (
	"context"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/privacy"
	"github.com/parley-im/parley/ent/viewer"
)

// viewerFilter is a policy rule that narrows, for the viewer uid, the
// queries of one entity (Q) by onQuery and its updates and deletes (M) by
// onChange, with the entity's typed predicates, where FilterBy has only
// entql's. Creates pass to the next rule.
type viewerFilter[Q ent.Query, M ent.Mutation] struct {
	onQuery  func(q Q, uid int)
	onChange func(m M, uid int)
}

func (f viewerFilter[Q, M]) EvalQuery(ctx context.Context, q ent.Query) error {
	typed, ok := q.(Q)
	if !ok {
		return privacy.Denyf("unexpected query type %T", q)
	}
	f.onQuery(typed, viewer.UserID(ctx))
	return privacy.Skip
}

func (f viewerFilter[Q, M]) EvalMutation(ctx context.Context, m ent.Mutation) error {
	typed, ok := m.(M)
	if !ok {
		return privacy.Denyf("unexpected mutation type %T", m)
	}
	if !typed.Op().Is(ent.OpCreate) {
		f.onChange(typed, viewer.UserID(ctx))
	}
	return privacy.Skip
}
