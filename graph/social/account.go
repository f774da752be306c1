package social

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/cannedreply"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/group"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/message"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/projectinvite"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/graph/apperr"
	"github.com/parley-im/parley/graph/auth"
	"github.com/parley-im/parley/graph/eventlog"
)

// KindAccountDeleted tells a deleted user's devices and friends.
const KindAccountDeleted = "user.deleted"

// DeleteAccount deletes the viewer's account in one transaction (S3-08):
//
//   - rooms he owns are deleted with their messages and memberships (seed
//     003: "rooms he owns go too");
//   - projects he owns are deleted with everything in them; he leaves the
//     projects of others;
//   - each group he owns passes to its longest-standing manager, else its
//     longest-standing member; a group with no one left is deleted;
//   - his messages everywhere are erased for everyone (content gone,
//     deleted_at set) but keep their place, so conversations keep their
//     numbering and every device converges;
//   - his friendships, notices, canned replies, settings rows and sessions
//     go; he leaves every group and conversation;
//   - the user row stays as an anonymous husk (account state deleted,
//     username freed, contact fields and password cleared), so that old
//     messages still have a sender and ids are never reused.
func (s *Service) DeleteAccount(ctx context.Context, password string, accounts *auth.Service) error {
	db, err := tx(ctx)
	if err != nil {
		return err
	}
	me := viewer.UserID(ctx)
	if me == 0 {
		return apperr.SignIn()
	}
	sys := viewer.SystemContext(ctx)
	u, err := db.User.Get(sys, me)
	if err != nil {
		return fmt.Errorf("social: load account: %w", err)
	}
	if password == "" {
		return apperr.Input(apperr.ReasonPasswordRequired, "password", "confirm with your password")
	}
	if !auth.CheckPassword(u, password) {
		return apperr.Input(apperr.ReasonWrongPassword, "password", "the password is wrong")
	}
	// The cleanup below crosses other people's rows (their groups, their
	// friendships), which the account owner has every right to leave: it
	// runs as the system once the password confirmed the owner.
	steps := []struct {
		name string
		run  func() error
	}{
		{"rooms", func() error { return s.deleteOwnedRooms(sys, db, me) }},
		{"projects", func() error {
			if _, err := db.Project.Delete().Where(project.OwnerID(me)).Exec(sys); err != nil {
				return err
			}
			if _, err := db.ProjectInvite.Delete().Where(projectinvite.InviteeID(me)).Exec(sys); err != nil {
				return err
			}
			_, err := db.ProjectMember.Delete().Where(projectmember.UserID(me)).Exec(sys)
			return err
		}},
		{"groups", func() error { return s.handOverGroups(sys, db, me) }},
		{"messages", func() error {
			_, err := db.Message.Update().Where(message.SenderID(me), message.DeletedAtIsNil()).
				SetDeletedAt(time.Now()).SetParts([]schematype.MessagePart{}).Save(sys)
			return err
		}},
		{"conversations", func() error {
			_, err := db.ConversationMember.Update().Where(conversationmember.UserID(me)).
				SetActive(false).SetRemoved(true).Save(sys)
			return err
		}},
		{"friendships", func() error {
			friends, err := db.Friendship.Query().Where(friendship.UserID(me)).Select(friendship.FieldFriendID).Ints(sys)
			if err != nil {
				return err
			}
			if _, err := db.Friendship.Delete().Where(friendship.Or(friendship.UserID(me), friendship.FriendID(me))).Exec(sys); err != nil {
				return err
			}
			records := []eventlog.Record{{Topic: eventlog.UserTopic(me), Kind: KindAccountDeleted, Actor: me, Subject: me}}
			for _, f := range friends {
				records = append(records, eventlog.Record{Topic: eventlog.UserTopic(f), Kind: KindFriendDeleted, Actor: me, Data: map[string]int{"userId": me}})
			}
			return s.log.Append(ctx, records...)
		}},
		{"notices", func() error {
			_, err := db.Notice.Delete().Where(notice.Or(notice.ToID(me), notice.FromID(me))).Exec(sys)
			return err
		}},
		{"canned replies", func() error {
			_, err := db.CannedReply.Delete().Where(cannedreply.OwnerID(me)).Exec(sys)
			return err
		}},
		{"sessions", func() error { return accounts.RevokeAll(ctx, me) }},
		{"profile", func() error {
			return db.User.UpdateOneID(me).
				SetUsername(fmt.Sprintf("deleted_%d", me)).SetNickname("").SetAvatar("").SetSign("").SetLocation("").
				ClearEmail().ClearPhone().SetPasswordHash("!").SetAccountState(user.AccountStateDeleted).
				Exec(sys)
		}},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			return fmt.Errorf("social: delete account: %s: %w", step.name, err)
		}
	}
	return nil
}

// deleteOwnedRooms deletes the rooms uid owns; their conversations cascade
// to messages and memberships.
func (s *Service) deleteOwnedRooms(ctx context.Context, db *ent.Client, uid int) error {
	rooms, err := db.Room.Query().Where(room.OwnerID(uid)).All(ctx)
	if err != nil {
		return err
	}
	for _, r := range rooms {
		if err := db.Room.DeleteOne(r).Exec(ctx); err != nil {
			return err
		}
		if err := db.Conversation.DeleteOneID(r.ConversationID).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// handOverGroups passes the groups uid owns to their next manager or member,
// deleting those he is alone in, and takes him out of every group.
func (s *Service) handOverGroups(ctx context.Context, db *ent.Client, uid int) error {
	owned, err := db.Group.Query().Where(group.OwnerID(uid)).All(ctx)
	if err != nil {
		return err
	}
	for _, g := range owned {
		// Roles sort "manager" < "member": managers inherit first.
		heir, err := db.GroupMember.Query().
			Where(groupmember.GroupID(g.ID), groupmember.UserIDNEQ(uid)).
			Order(ent.Asc(groupmember.FieldRole), ent.Asc(groupmember.FieldCreatedAt)).First(ctx)
		switch {
		case ent.IsNotFound(err):
			if err := db.Group.DeleteOne(g).Exec(ctx); err != nil {
				return err
			}
			if err := db.Conversation.DeleteOneID(g.ConversationID).Exec(ctx); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		if err := heir.Update().SetRole(groupmember.RoleOwner).Exec(ctx); err != nil {
			return err
		}
		if err := g.Update().SetOwnerID(heir.UserID).Exec(ctx); err != nil {
			return err
		}
	}
	left, err := db.GroupMember.Query().Where(groupmember.UserID(uid)).Select(groupmember.FieldGroupID).Ints(ctx)
	if err != nil || len(left) == 0 {
		return err
	}
	if _, err := db.GroupMember.Delete().Where(groupmember.UserID(uid)).Exec(ctx); err != nil {
		return err
	}
	return db.Group.Update().Where(group.IDIn(left...)).AddMemberCount(-1).Exec(ctx)
}
