package group

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/internal/messaging"
)

// Depart lets the viewer go from every group before his account is
// deleted: each group he owns passes to its longest-standing manager, else
// its longest-standing member, through Transfer; one he is alone in is
// dissolved; then he leaves them all. Members see the same events as for a
// hand-over and a departure made by hand.
func (s *Service) Depart(ctx context.Context) error {
	db, me, err := messaging.SignedInWriter(ctx)
	if err != nil {
		return err
	}
	mine, err := db.GroupMember.Query().Where(groupmember.UserID(me)).All(ctx)
	if err != nil {
		return fmt.Errorf("group: depart: %w", err)
	}
	for _, m := range mine {
		if m.Role == groupmember.RoleOwner {
			heir, err := db.GroupMember.Query().
				Where(groupmember.GroupID(m.GroupID), groupmember.UserIDNEQ(me)).
				Order(ent.Asc(groupmember.FieldCreatedAt), ent.Asc(groupmember.FieldID)).All(ctx)
			if err != nil {
				return fmt.Errorf("group: depart: %w", err)
			}
			if len(heir) == 0 {
				if err := s.Dissolve(ctx, m.GroupID); err != nil {
					return err
				}
				continue
			}
			next := heir[0]
			for _, h := range heir {
				if h.Role == groupmember.RoleManager {
					next = h
					break
				}
			}
			if _, err := s.Transfer(ctx, m.GroupID, next.UserID); err != nil {
				return err
			}
		}
		if err := s.Leave(ctx, m.GroupID); err != nil {
			return err
		}
	}
	return nil
}
