package social

import (
	"context"
	"fmt"
	"slices"

	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/settings"
)

// ShowsDetails is the one rule of who reads a person's profile details (his
// sign, sex, location and friend count) beyond the name and avatar that
// every message and member list shows: everyone while the member-detail
// switch is on; with it off, only those who see his contact fields (as
// rule.CanSeeContact says: himself, his friends, admins), so that members of a
// group or room cannot look each other up. It answers for many users at
// once, by user id: the switch is read once and, when it is off, the
// viewer's friends among them in one query, so that a list of people costs
// a fixed number of queries.
func (s *Service) ShowsDetails(ctx context.Context, userIDs []int) (map[int]bool, error) {
	out := make(map[int]bool, len(userIDs))
	on, err := s.settings.Enabled(ctx, settings.MemberDetail)
	if err != nil {
		return nil, err
	}
	v := viewer.FromContext(ctx)
	if on || (v != nil && (v.System || v.Admin)) {
		for _, id := range userIDs {
			out[id] = true
		}
		return out, nil
	}
	me := viewer.UserID(ctx)
	if me == 0 {
		return out, nil
	}
	friends, err := s.read(ctx).Friendship.Query().
		Where(friendship.UserID(me), friendship.FriendIDIn(userIDs...)).
		Select(friendship.FieldFriendID).All(viewer.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("social: details shown: %w", err)
	}
	for _, f := range friends {
		out[f.FriendID] = true
	}
	out[me] = slices.Contains(userIDs, me)
	return out, nil
}
