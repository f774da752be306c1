package schema

import (
	"context"
	"fmt"

	"entgo.io/ent"

	gen "github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/hook"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/viewer"
)

// Hooks of the Friendship: ending a friendship uses up the consent it was
// made with, so that rule.IsConsentedFriendship, which admits a pair on an
// agreed application, does not admit it again after either side ended it.
func (Friendship) Hooks() []ent.Hook {
	return []ent.Hook{hook.On(consumeConsent, ent.OpDelete|ent.OpDeleteOne)}
}

// consumeConsent marks the agreed friend applications between the two sides
// of every friendship a delete removes as cancelled, in the delete's
// transaction.
func consumeConsent(next ent.Mutator) ent.Mutator {
	return hook.FriendshipFunc(func(ctx context.Context, m *gen.FriendshipMutation) (ent.Value, error) {
		sys := viewer.SystemContext(ctx)
		ids, err := m.IDs(sys)
		if err != nil {
			return nil, fmt.Errorf("friendship: ended pairs: %w", err)
		}
		rows, err := m.Client().Friendship.Query().Where(friendship.IDIn(ids...)).All(sys)
		if err != nil {
			return nil, fmt.Errorf("friendship: ended pairs: %w", err)
		}
		v, err := next.Mutate(ctx, m)
		if err != nil || len(rows) == 0 {
			return v, err
		}
		pairs := make([]*endedPair, 0, len(rows))
		for _, r := range rows {
			pairs = append(pairs, &endedPair{r.UserID, r.FriendID})
		}
		for _, p := range pairs {
			err := m.Client().Notice.Update().Where(
				notice.TypeEQ(notice.TypeFriendApply), notice.OperationEQ(notice.OperationAgreed),
				notice.Or(
					notice.And(notice.FromID(p.a), notice.ToID(p.b)),
					notice.And(notice.FromID(p.b), notice.ToID(p.a)),
				),
			).SetOperation(notice.OperationCancelled).Exec(sys)
			if err != nil {
				return nil, fmt.Errorf("friendship: use up consent: %w", err)
			}
		}
		return v, nil
	})
}

// endedPair is the two sides of an ended friendship.
type endedPair struct{ a, b int }
