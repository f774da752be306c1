package room

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	entroom "github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/internal/messaging"
)

// Depart lets the viewer go from every room before his account is
// deleted: the rooms he owns are deleted, with the
// room.deleted event their watchers expect; he leaves the others, which
// tells their watchers too.
func (s *Service) Depart(ctx context.Context) error {
	db, me, err := messaging.SignedInWriter(ctx)
	if err != nil {
		return err
	}
	owned, err := db.Room.Query().Where(entroom.OwnerID(me)).IDs(ctx)
	if err != nil {
		return fmt.Errorf("room: depart: %w", err)
	}
	for _, id := range owned {
		if err := s.Delete(ctx, id); err != nil {
			return err
		}
	}
	joined, err := db.Room.Query().Where(entroom.HasConversationWith(
		conversation.HasMembersWith(conversationmember.UserID(me)),
	)).IDs(ctx)
	if err != nil {
		return fmt.Errorf("room: depart: %w", err)
	}
	for _, id := range joined {
		if _, err := s.Leave(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
