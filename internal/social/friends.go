package social

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/notice"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/auth"
	noticesvc "github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/settings"
)

// Target names the user an application is for: by id, or by username,
// email or phone.
type Target struct {
	UserID int
	Login  string
}

// Apply asks target to be the viewer's friend. The
// target receives a notice live. Applying again while the first application
// is pending renews it (new postscript, unread again) instead of stacking a
// second one; applying to someone who already applied to me makes us
// friends at once.
func (s *Service) Apply(ctx context.Context, t Target, postscript string) (*ent.Notice, error) {
	me := viewer.UserID(ctx)
	db, err := tx(ctx)
	if err != nil {
		return nil, err
	}
	postscript = strings.TrimSpace(postscript)
	if utf8.RuneCountInString(postscript) > noticesvc.PostscriptMax {
		return nil, apperr.Input(apperr.ReasonTooLong, "input.postscript", "postscript is longer than %d characters", noticesvc.PostscriptMax)
	}
	if err := s.settings.Require(ctx, settings.AddFriend); err != nil {
		return nil, err
	}
	to, err := s.findTarget(ctx, db, t)
	if err != nil {
		return nil, err
	}
	if err := s.checkBefriend(ctx, db, me, to); err != nil {
		return nil, err
	}
	// The other side asked first: this application answers it.
	if theirs, err := s.notices.Pending(ctx, notice.TypeFriendApply, to.ID, me); err != nil {
		return nil, err
	} else if theirs != nil {
		if _, err := s.accept(ctx, db, theirs); err != nil {
			return nil, err
		}
		return theirs, nil
	}
	return s.notices.Push(ctx, noticesvc.Spec{
		Type: notice.TypeFriendApply, From: me, To: to.ID, Postscript: postscript, Request: true,
	})
}

func (s *Service) findTarget(ctx context.Context, db *ent.Client, t Target) (*ent.User, error) {
	q := db.User.Query().Where(user.AccountStateNEQ(user.AccountStateDeleted))
	login := strings.TrimSpace(t.Login)
	switch {
	case t.UserID != 0:
		q.Where(user.ID(t.UserID))
	case login != "":
		match := []predicate.User{user.UsernameEqualFold(login), user.Email(strings.ToLower(login))}
		if phone, err := auth.NormalizePhone(login, s.phoneRegion, ""); err == nil {
			match = append(match, user.Phone(phone))
		}
		q.Where(user.Or(match...))
	default:
		return nil, apperr.Input(apperr.ReasonUserRequired, "input.userId", "give userId or login")
	}
	u, err := q.Only(ctx)
	if ent.IsNotFound(err) || ent.IsNotSingular(err) {
		return nil, userNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("social: find user: %w", err)
	}
	return u, nil
}

// checkBefriend applies the rules every new friendship obeys.
func (s *Service) checkBefriend(ctx context.Context, db *ent.Client, me int, to *ent.User) error {
	switch {
	case to.ID == me:
		return apperr.Input(ReasonSelfFriend, "input.userId", "you cannot befriend yourself")
	case to.AccountState != user.AccountStateNormal:
		return apperr.Deny(ReasonUserDisabled, "this account is disabled")
	}
	friends, err := s.AreFriends(ctx, me, to.ID)
	if err != nil {
		return err
	}
	if friends {
		return apperr.New(apperr.Conflict, ReasonAlreadyFriends, "input.userId", "you are already friends")
	}
	return nil
}

// AreFriends reports whether a and b are friends. It reads as the system: a
// rule (an invitation, a stranger-chat check) may ask about people the
// viewer cannot see the rows of.
func (s *Service) AreFriends(ctx context.Context, a, b int) (bool, error) {
	ok, err := s.read(ctx).Friendship.Query().
		Where(friendship.UserID(a), friendship.FriendID(b)).Exist(viewer.SystemContext(ctx))
	if err != nil {
		return false, fmt.Errorf("social: are friends: %w", err)
	}
	return ok, nil
}

// application loads a friend application the viewer received.
func (s *Service) application(ctx context.Context, db *ent.Client, id int) (*ent.Notice, error) {
	n, err := db.Notice.Get(ctx, id)
	if n, err = apperr.Found(n, err, "friend application", "social: load application"); err != nil {
		return nil, err
	}
	switch {
	case n.ToID != viewer.UserID(ctx):
		return nil, apperr.Missing("friend application")
	case n.Type != notice.TypeFriendApply:
		return nil, apperr.Input(ReasonNotApplication, "id", "this notice is not a friend application")
	}
	return n, nil
}

// Accept agrees to a friend application the viewer received: both sides
// become friends, the applicant gets a notice.
func (s *Service) Accept(ctx context.Context, noticeID int) (*ent.Friendship, error) {
	db, n, err := s.received(ctx, noticeID)
	if err != nil {
		return nil, err
	}
	return s.accept(ctx, db, n)
}

// received opens the mutation's transaction and loads the friend
// application noticeID that the viewer received, for Accept and Refuse.
func (s *Service) received(ctx context.Context, noticeID int) (*ent.Client, *ent.Notice, error) {
	db, err := tx(ctx)
	if err != nil {
		return nil, nil, err
	}
	n, err := s.application(ctx, db, noticeID)
	return db, n, err
}

func (s *Service) accept(ctx context.Context, db *ent.Client, n *ent.Notice) (*ent.Friendship, error) {
	me := viewer.UserID(ctx)
	from, err := db.User.Get(ctx, *n.FromID)
	if err != nil {
		return nil, fmt.Errorf("social: load applicant: %w", err)
	}
	if from.AccountState != user.AccountStateNormal {
		return nil, apperr.Deny(ReasonUserDisabled, "this account is disabled")
	}
	if _, err := s.notices.Settle(ctx, n, notice.OperationAgreed); err != nil {
		return nil, err
	}
	mine, err := s.befriend(ctx, db, me, from.ID)
	if err != nil {
		return nil, err
	}
	_, err = s.notices.Push(ctx, noticesvc.Spec{Type: notice.TypeFriendAccepted, From: me, To: from.ID})
	return mine, err
}

// Refuse declines a friend application the viewer received; the
// applicant sees its state change.
func (s *Service) Refuse(ctx context.Context, noticeID int) (*ent.Notice, error) {
	_, n, err := s.received(ctx, noticeID)
	if err != nil {
		return nil, err
	}
	return s.notices.Settle(ctx, n, notice.OperationRefused)
}

// AddDirect makes a and b friends without an application (admins:
// the Friendship policy lets only them create rows without consent). Both
// get a notice.
func (s *Service) AddDirect(ctx context.Context, a, b int) (*ent.Friendship, error) {
	db, err := tx(ctx)
	if err != nil {
		return nil, err
	}
	if v := viewer.FromContext(ctx); v == nil || !v.Admin {
		return nil, apperr.Deny(apperr.ReasonNotAllowed, "only admins add friends directly")
	}
	ua, err := s.findTarget(ctx, db, Target{UserID: a})
	if err != nil {
		return nil, err
	}
	ub, err := s.findTarget(ctx, db, Target{UserID: b})
	if err != nil {
		return nil, err
	}
	if err := s.checkBefriend(ctx, db, ua.ID, ub); err != nil {
		return nil, err
	}
	side, err := s.befriend(ctx, db, ua.ID, ub.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range [][2]int{{ua.ID, ub.ID}, {ub.ID, ua.ID}} {
		if _, err := s.notices.Push(ctx, noticesvc.Spec{Type: notice.TypeFriendAdded, To: p[0], Data: map[string]any{"userId": p[1]}}); err != nil {
			return nil, err
		}
	}
	return side, nil
}

// befriend writes both rows of a friendship and tells both users; it
// returns a's row. The Friendship policy admits the rows only with the other
// side's consent (an agreed application) or an admin.
func (s *Service) befriend(ctx context.Context, db *ent.Client, a, b int) (*ent.Friendship, error) {
	rows := make([]*ent.Friendship, 0, 2)
	for _, p := range [][2]int{{a, b}, {b, a}} {
		f, err := db.Friendship.Create().SetUserID(p[0]).SetFriendID(p[1]).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("social: befriend: %w", err)
		}
		rows = append(rows, f)
	}
	if err := s.resort(ctx, db, friendship.IDIn(rows[0].ID, rows[1].ID)); err != nil {
		return nil, err
	}
	err := s.log.Append(ctx,
		eventlog.Record{Topic: eventlog.UserTopic(a), Kind: KindFriendAdded, Actor: viewer.UserID(ctx), Subject: rows[0].ID, Data: map[string]int{"userId": b}},
		eventlog.Record{Topic: eventlog.UserTopic(b), Kind: KindFriendAdded, Actor: viewer.UserID(ctx), Subject: rows[1].ID, Data: map[string]int{"userId": a}},
	)
	return rows[0], err
}

// FriendPatch changes the viewer's side of a friendship.
type FriendPatch struct {
	Remark *string
	Pinned *bool
}

// UpdateFriend sets the viewer's remark for and pin of a friend. The
// other side does not see it.
func (s *Service) UpdateFriend(ctx context.Context, friendID int, p FriendPatch) (*ent.Friendship, error) {
	db, err := tx(ctx)
	if err != nil {
		return nil, err
	}
	if p.Remark != nil {
		r := strings.TrimSpace(*p.Remark)
		if utf8.RuneCountInString(r) > RemarkMax {
			return nil, apperr.Input(apperr.ReasonTooLong, "input.remark", "remark is longer than %d characters", RemarkMax)
		}
		p.Remark = &r
	}
	me := viewer.UserID(ctx)
	f, err := db.Friendship.Query().Where(friendship.UserID(me), friendship.FriendID(friendID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, ReasonNotFriends, "userId", "this user is not your friend")
	} else if err != nil {
		return nil, fmt.Errorf("social: load friendship: %w", err)
	}
	f, err = f.Update().SetNillableRemark(p.Remark).SetNillablePinned(p.Pinned).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: update friendship: %w", err)
	}
	if err := s.resort(ctx, db, friendship.ID(f.ID)); err != nil {
		return nil, err
	}
	return f, s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.UserTopic(me), Kind: KindFriendUpdated, Actor: me, Subject: f.ID, Data: map[string]int{"userId": friendID},
	})
}

// DeleteFriend ends a friendship on both sides. The
// other side is not sent a notice (as in common IM apps), but both users'
// streams carry friend.deleted so that every device drops the contact.
func (s *Service) DeleteFriend(ctx context.Context, friendID int) error {
	db, err := tx(ctx)
	if err != nil {
		return err
	}
	me := viewer.UserID(ctx)
	n, err := db.Friendship.Delete().Where(friendship.Or(
		friendship.And(friendship.UserID(me), friendship.FriendID(friendID)),
		friendship.And(friendship.UserID(friendID), friendship.FriendID(me)),
	)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("social: delete friendship: %w", err)
	}
	if n == 0 {
		return apperr.New(apperr.NotFound, ReasonNotFriends, "userId", "this user is not your friend")
	}
	return s.log.Append(ctx,
		friendDeleted(me, me, friendID),
		friendDeleted(friendID, me, me),
	)
}

// friendDeleted is the friend.deleted event on to's stream, acted by actor,
// telling that to and the user former are no longer friends. Its subject is
// the former friend, the user a client drops from its contacts (both
// friendship rows are gone), and its data names him too.
func friendDeleted(to, actor, former int) eventlog.Record {
	return eventlog.Record{
		Topic: eventlog.UserTopic(to), Kind: KindFriendDeleted, Actor: actor, Subject: former,
		Data: map[string]int{"userId": former},
	}
}

// UnhandledApplications counts the friend applications waiting for uid.
func (s *Service) UnhandledApplications(ctx context.Context, uid int) (int, error) {
	n, err := s.read(ctx).Notice.Query().Where(
		notice.ToID(uid), notice.TypeEQ(notice.TypeFriendApply), notice.OperationEQ(notice.OperationNotOperated),
	).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("social: count applications: %w", err)
	}
	return n, nil
}

// friendSortKey is the stored order of a friendship row (its sort_key):
// pinned rows first, then by the name the friend shows (DisplayName) as the
// contact book sorts it (SortKey). The name is hex-encoded: PostgreSQL
// compares text by the database's collation, which may put "bob smith"
// after "bobby" or ignore case, so the pages would disagree with the
// contact book; hex digits order alike under every collation, and in the
// order of the bytes they encode.
func friendSortKey(pinned bool, remark string, friend *ent.User) string {
	pin := "1"
	if pinned {
		pin = "0"
	}
	return pin + hex.EncodeToString([]byte(SortKey(DisplayName(friend, remark))))
}

// resort recomputes the sort_key of the friendship rows where selects,
// from each row's pin and remark and its friend's names. It is the one
// place the order is written: every change of one of those (a new
// friendship, a remark or pin, a nickname or username) calls it in the
// change's transaction, so that the friends connection never pages in a
// stale order. It reads and writes as the system: a user's new nickname
// reorders his friends' rows, which are theirs.
func (s *Service) resort(ctx context.Context, db *ent.Client, where ...predicate.Friendship) error {
	sys := viewer.SystemContext(ctx)
	rows, err := db.Friendship.Query().Where(where...).WithFriend().All(sys)
	if err != nil {
		return fmt.Errorf("social: load friendships to sort: %w", err)
	}
	// Rows of one friend with the same remark and pin share their key, so
	// that a nickname change writes once per (remark, pin), not per row.
	type same struct {
		friend int
		remark string
		pinned bool
	}
	keys := map[same]string{}
	for _, f := range rows {
		if f.Edges.Friend == nil {
			continue
		}
		if key := friendSortKey(f.Pinned, f.Remark, f.Edges.Friend); key != f.SortKey {
			keys[same{f.FriendID, f.Remark, f.Pinned}] = key
		}
	}
	for g, key := range keys {
		err := db.Friendship.Update().Where(friendship.And(where...),
			friendship.FriendID(g.friend), friendship.Remark(g.remark), friendship.Pinned(g.pinned),
		).SetSortKey(key).Exec(sys)
		if err != nil {
			return fmt.Errorf("social: sort friendships: %w", err)
		}
	}
	return nil
}

// SortFriendships computes the order of the friendship rows that have none
// yet: those written before the column existed. The server runs it once at
// start; it has nothing to do after that.
func (s *Service) SortFriendships(ctx context.Context) error {
	ctx = viewer.SystemContext(ctx)
	return txn.Run(ctx, s.client, func(ctx context.Context) error {
		return s.resort(ctx, ent.FromContext(ctx), friendship.SortKey(""))
	})
}
