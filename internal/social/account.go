package social

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/ent/cannedreply"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/project"
	"github.com/parley-im/parley/ent/projectinvite"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/auth"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
)

// KindAccountDeleted tells a deleted user's devices and friends.
const KindAccountDeleted = "user.deleted"

// Departure is another domain's way of letting a user go before his
// account is deleted (the group, room, annotation and messaging services
// implement it).
type Departure interface {
	Depart(ctx context.Context) error
}

// LetGoWith registers, once at construction, what DeleteAccount runs: the
// account service that checks the password and ends the sessions, and the
// departures of the domains above this one, in the order they run. The
// domains that build on social register here rather than being handed in
// at each call, so that a lower layer never reaches up for them.
func (s *Service) LetGoWith(accounts *auth.Service, departures ...Departure) {
	s.accounts, s.departures = accounts, departures
}

// DeleteAccount deletes the viewer's account in one transaction:
//
//   - the departures go first, as the user: rooms he owns are deleted with
//     their messages and memberships (seed 003: "rooms he owns go too";
//     watchers get room.deleted) and he leaves the others; each group he
//     owns passes to its longest-standing manager, else its longest-standing
//     member, one he is alone in is dissolved, and he leaves them all;
//   - projects he owns are deleted with everything in them, their pending
//     invites cancelled; he leaves the projects of others (the annotation
//     service's departure, members told as for a deletion by hand);
//   - his messages everywhere are erased for everyone (content gone,
//     deleted_at set) but keep their place, so conversations keep their
//     numbering, and every device converges on the events of messaging's
//     departure (messaging.Service.Depart, which must be among the
//     departures; it goes last, after the groups and rooms that take their
//     messages with them);
//   - his friendships, notices, canned replies, settings rows and sessions
//     go (the recipients of notices he sent get notice.deleted); he leaves
//     every group and conversation;
//   - the user row stays as an anonymous husk (account state deleted,
//     username freed, contact fields and password cleared), so that old
//     messages still have a sender and ids are never reused.
//
// The password is checked first, outside the transaction, as a guess from
// the sign-in budgets (auth.Service.VerifyPassword), so that a wrong one is
// counted although the request fails; the deletion then runs in its own
// transaction (server/app skips the Transactioner for deleteAccount).
func (s *Service) DeleteAccount(ctx context.Context, password string, from auth.Client) error {
	accounts, departures := s.accounts, s.departures
	if accounts == nil {
		return fmt.Errorf("social: delete account: no account service (LetGoWith)")
	}
	me := viewer.UserID(ctx)
	if me == 0 {
		return apperr.SignIn()
	}
	sys := viewer.SystemContext(ctx)
	u, err := s.client.User.Get(sys, me)
	if err != nil {
		return fmt.Errorf("social: load account: %w", err)
	}
	if password == "" {
		return apperr.Input(apperr.ReasonPasswordRequired, "password", "confirm with your password")
	}
	if err := accounts.VerifyPassword(ctx, u, password, "password", from); err != nil {
		return err
	}
	return txn.Run(ctx, s.client, func(ctx context.Context) error {
		return s.deleteAccount(ctx, accounts, departures)
	})
}

// deleteAccount is DeleteAccount's work once the password is confirmed, in
// the transaction.
func (s *Service) deleteAccount(ctx context.Context, accounts *auth.Service, departures []Departure) error {
	db, err := tx(ctx)
	if err != nil {
		return err
	}
	me := viewer.UserID(ctx)
	sys := viewer.SystemContext(ctx)
	// First the domains that have their own way of letting a member go
	// (groups hand over, rooms close), acting as the user, so that everyone
	// concerned gets the events and notices they would get otherwise.
	for _, d := range departures {
		if err := d.Depart(ctx); err != nil {
			return fmt.Errorf("social: delete account: %w", err)
		}
	}
	// The cleanup below crosses other people's rows (their groups, their
	// friendships), which the account owner has every right to leave: it
	// runs as the system once the password confirmed the owner.
	steps := []struct {
		name string
		run  func() error
	}{
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
				records = append(records, friendDeleted(f, me, me))
			}
			return s.log.Append(ctx, records...)
		}},
		{"notices", func() error {
			// What he sent others leaves their inboxes: each is told.
			sent, err := db.Notice.Query().Where(notice.FromID(me), notice.ToIDNEQ(me)).All(sys)
			if err != nil {
				return err
			}
			if _, err := db.Notice.Delete().Where(notice.Or(notice.ToID(me), notice.FromID(me))).Exec(sys); err != nil {
				return err
			}
			records := make([]eventlog.Record, len(sent))
			for i, n := range sent {
				records[i] = eventlog.Record{Topic: eventlog.UserTopic(n.ToID), Kind: noticesvc.KindDeleted, Actor: me, Subject: n.ID}
			}
			return s.log.Append(ctx, records...)
		}},
		{"canned replies", func() error {
			_, err := db.CannedReply.Delete().Where(cannedreply.OwnerID(me)).Exec(sys)
			return err
		}},
		{"sessions", func() error { return accounts.RevokeAll(ctx, me, auth.EndSignedOut) }},
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
