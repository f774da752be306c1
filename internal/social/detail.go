package social

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/internal/settings"
)

// ShowsDetails is the one rule of who reads a person's profile details (his
// sign, sex, location and friend count) beyond the name and avatar that
// every message and member list shows: everyone while the member-detail
// switch is on; with it off, only those who see his contact fields (as
// rule.SeesContacts says: himself, his friends, admins), so that members of a
// group or room cannot look each other up. It answers for many users at
// once, by user id: the switch is read once and, when it is off, the
// viewer's friends among them in one query, so that a list of people costs
// a fixed number of queries.
func (s *Service) ShowsDetails(ctx context.Context, userIDs []int) (map[int]bool, error) {
	on, err := s.settings.Enabled(ctx, settings.MemberDetail)
	if err != nil {
		return nil, err
	}
	if on {
		out := make(map[int]bool, len(userIDs))
		for _, id := range userIDs {
			out[id] = true
		}
		return out, nil
	}
	out, err := rule.SeesContacts(ctx, s.read(ctx), userIDs)
	if err != nil {
		return nil, fmt.Errorf("social: details shown: %w", err)
	}
	return out, nil
}
