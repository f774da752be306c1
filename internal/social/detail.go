package social

import (
	"context"

	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/internal/settings"
)

// ShowsDetail is the one rule of who reads a person's profile details (his
// sign, sex, location and friend count) beyond the name and avatar that
// every message and member list shows: everyone while the member-detail
// switch is on; with it off, only those who see his contact fields
// (rule.CanSeeContact: himself, his friends, admins), so that members of a
// group or room cannot look each other up.
func (s *Service) ShowsDetail(ctx context.Context, userID int) (bool, error) {
	on, err := s.settings.Enabled(ctx, settings.MemberDetail)
	if err != nil || on {
		return on, err
	}
	return rule.CanSeeContact(ctx, s.read(ctx), userID)
}
