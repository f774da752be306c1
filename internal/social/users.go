package social

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"entgo.io/contrib/entgql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/friendship"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
)

// User returns a user by id or username, or nil when there is none; deleted
// accounts read as missing.
func (s *Service) User(ctx context.Context, id int, username string) (*ent.User, error) {
	q := s.read(ctx).User.Query().Where(user.AccountStateNEQ(user.AccountStateDeleted))
	switch {
	case id != 0 && username != "":
		return nil, apperr.Input(apperr.ReasonInvalid, "id", "give id or username, not both")
	case id != 0:
		q.Where(user.ID(id))
	case username != "":
		q.Where(user.UsernameEqualFold(strings.TrimSpace(username)))
	default:
		return nil, apperr.Input(apperr.ReasonUserRequired, "id", "give id or username")
	}
	u, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}

// Users returns users by id in the order asked, nil where none exists.
func (s *Service) Users(ctx context.Context, ids []int) ([]*ent.User, error) {
	if len(ids) > UsersMax {
		return nil, apperr.Input(ReasonTooManyIDs, "ids", "at most %d ids", UsersMax)
	}
	found, err := s.read(ctx).User.Query().
		Where(user.IDIn(ids...), user.AccountStateNEQ(user.AccountStateDeleted)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: users: %w", err)
	}
	byID := make(map[int]*ent.User, len(found))
	for _, u := range found {
		byID[u.ID] = u
	}
	out := make([]*ent.User, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}

// Search finds users by a part of their username or nickname, or by their
// exact phone or email. Contact fields stay hidden from strangers
// (the User type's email and phone resolvers), so exact matching reveals
// only that an account uses them, as every sign-in form does.
func (s *Service) Search(ctx context.Context, query string, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.UserConnection, error) {
	query, err := apperr.SearchQuery(query, true)
	if err != nil {
		return nil, err
	}
	match := []predicate.User{
		user.UsernameContainsFold(query), user.NicknameContainsFold(query), user.Email(strings.ToLower(query)),
	}
	if phone, err := auth.NormalizePhone(query, s.phoneRegion, ""); err == nil {
		match = append(match, user.Phone(phone)) // however the number is written
	}
	return s.read(ctx).User.Query().Where(
		user.AccountStateNEQ(user.AccountStateDeleted), user.Or(match...),
	).Paginate(ctx, after, first, before, last,
		ent.WithUserOrder(&ent.UserOrder{Direction: entgql.OrderDirectionAsc, Field: ent.UserOrderFieldUsername}))
}

// Profile is a change of the viewer's own profile; nil fields stay.
// AvatarFileID names an avatar the viewer uploaded; Avatar is the older
// form, a URL (see avatar); ClearAvatar removes the avatar.
type Profile struct {
	Username, Nickname, Avatar, Sign, Location, Email, Phone *string
	AvatarFileID                                             *int
	ClearAvatar                                              bool
	Sex                                                      *user.Sex
}

// UpdateProfile changes the viewer's profile.
// A new username follows the registration rules and must be free; the old
// one is released at once (sessions are keyed by id, so nobody is signed
// out). Friends are told through user.updated.
func (s *Service) UpdateProfile(ctx context.Context, p Profile) (*ent.User, error) {
	db, err := tx(ctx)
	if err != nil {
		return nil, err
	}
	me := viewer.UserID(ctx)
	if me == 0 {
		return nil, apperr.SignIn()
	}
	sys := viewer.SystemContext(ctx)
	upd := db.User.UpdateOneID(me)
	if p.Username != nil {
		name := strings.TrimSpace(*p.Username)
		if err := auth.ValidateUsername(name, "input.username"); err != nil {
			return nil, err
		}
		taken, err := db.User.Query().Where(user.UsernameEqualFold(name), user.IDNEQ(me)).Exist(sys)
		if err != nil {
			return nil, fmt.Errorf("social: check username: %w", err)
		}
		if taken {
			return nil, apperr.New(apperr.Conflict, apperr.ReasonUsernameTaken, "input.username", "username %q is taken", apperr.Clip(name))
		}
		upd.SetUsername(name)
	}
	for _, f := range []struct {
		v     *string
		field string
		max   int
		set   func(string) *ent.UserUpdateOne
	}{
		{p.Nickname, "nickname", auth.NicknameMax, upd.SetNickname},
		{p.Sign, "sign", 256, upd.SetSign},
		{p.Location, "location", 128, upd.SetLocation},
	} {
		if f.v == nil {
			continue
		}
		v := strings.TrimSpace(*f.v)
		if utf8.RuneCountInString(v) > f.max {
			return nil, apperr.Input(apperr.ReasonTooLong, "input."+f.field, "%s is longer than %d characters", f.field, f.max)
		}
		f.set(v)
	}
	switch {
	case p.ClearAvatar && (p.Avatar != nil || p.AvatarFileID != nil):
		return nil, apperr.Input(apperr.ReasonInvalid, "input.avatar", "remove the avatar or set one, not both")
	case p.ClearAvatar:
		upd.SetAvatar("")
	case p.Avatar != nil && strings.TrimSpace(*p.Avatar) == "" && p.AvatarFileID == nil:
		return nil, apperr.Input(apperr.ReasonAvatarRequired, "input.avatar", "avatar is empty: give one, or null to remove it")
	case p.Avatar != nil || p.AvatarFileID != nil:
		avatar, err := s.avatar(ctx, deref(p.Avatar), p.AvatarFileID)
		if err != nil {
			return nil, err
		}
		upd.SetAvatar(avatar)
	}
	if p.Sex != nil {
		if err := user.SexValidator(*p.Sex); err != nil {
			return nil, apperr.Input(apperr.ReasonInvalid, "input.sex", "sex is not a known value")
		}
		upd.SetSex(*p.Sex)
	}
	if p.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*p.Email))
		if e == "" {
			upd.ClearEmail()
		} else {
			if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e || len(e) > 254 {
				return nil, apperr.Input(apperr.ReasonEmailInvalid, "input.email", "email %q is not a valid address", apperr.Clip(e))
			}
			if taken, err := db.User.Query().Where(user.Email(e), user.IDNEQ(me)).Exist(sys); err != nil {
				return nil, fmt.Errorf("social: check email: %w", err)
			} else if taken {
				return nil, apperr.New(apperr.Conflict, apperr.ReasonEmailTaken, "input.email", "email is already registered")
			}
			upd.SetEmail(e)
		}
	}
	if p.Phone != nil {
		if strings.TrimSpace(*p.Phone) == "" {
			upd.ClearPhone()
		} else {
			ph, err := auth.NormalizePhone(*p.Phone, s.phoneRegion, "input.phone")
			if err != nil {
				return nil, err
			}
			if taken, err := db.User.Query().Where(user.Phone(ph), user.IDNEQ(me)).Exist(sys); err != nil {
				return nil, fmt.Errorf("social: check phone: %w", err)
			} else if taken {
				return nil, apperr.New(apperr.Conflict, apperr.ReasonPhoneTaken, "input.phone", "phone is already registered")
			}
			upd.SetPhone(ph)
		}
	}
	u, err := upd.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: update profile: %w", err)
	}
	if p.Nickname != nil || p.Username != nil {
		// His friends who gave him no remark file him by these names.
		if err := s.resort(ctx, db, friendship.FriendID(me), friendship.Remark("")); err != nil {
			return nil, err
		}
	}
	return u, s.log.Append(ctx, eventlog.Record{Topic: eventlog.UserTopic(me), Kind: KindUserUpdated, Actor: me, Subject: me})
}

// AvatarMax is the longest avatar URL, in characters.
const AvatarMax = 1024

// avatar checks the avatar of a profile or a new account and returns the
// URL to store: the avatar the viewer uploaded with id fileID, or else the
// URL raw, which the files service accepts only when it is empty (no
// avatar), the public URL of an avatar the viewer uploaded here, or an image
// on an allowed host (AVATAR_INVALID otherwise). A URL is never taken on
// trust: another user's private file URL would hand its signed token to
// every viewer of the profile, and an arbitrary external image would track
// them.
func (s *Service) avatar(ctx context.Context, raw string, fileID *int) (string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case fileID != nil && raw != "":
		return "", apperr.Input(apperr.ReasonInvalid, "input.avatarFileId", "give avatarFileId or avatar, not both")
	case fileID != nil:
		return s.avatars.Avatar(ctx, *fileID, "input.avatarFileId")
	case utf8.RuneCountInString(raw) > AvatarMax:
		return "", apperr.Input(apperr.ReasonTooLong, "input.avatar", "avatar is longer than %d characters", AvatarMax)
	}
	return s.avatars.AvatarURL(ctx, raw, "input.avatar")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// AdminPatch is what admins change on any account.
type AdminPatch struct {
	AccountState *user.AccountState
	IsMember     *bool
}

// AdminUpdate changes another user's account state or membership. Disabling
// ends his sessions at once; he cannot sign in, add friends or send messages
// until enabled. The User policy lets only admins (and the user himself)
// write a user; changing one's own state is refused here so that an admin
// cannot lock himself out.
func (s *Service) AdminUpdate(ctx context.Context, id int, p AdminPatch, revoke func(ctx context.Context, userID int, reason string) error) (*ent.User, error) {
	db, err := tx(ctx)
	if err != nil {
		return nil, err
	}
	v := viewer.FromContext(ctx)
	switch {
	case v == nil || v.UserID == 0:
		return nil, apperr.SignIn()
	case !v.Admin:
		return nil, apperr.Deny(apperr.ReasonNotAllowed, "only admins change accounts")
	case id == v.UserID:
		return nil, apperr.Deny(ReasonCannotSelf, "admins cannot change their own account state")
	}
	u, err := db.User.Query().Where(user.ID(id), user.AccountStateNEQ(user.AccountStateDeleted)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, userNotFound()
	} else if err != nil {
		return nil, fmt.Errorf("social: load user: %w", err)
	}
	upd := u.Update().SetNillableIsMember(p.IsMember)
	if p.AccountState != nil {
		if *p.AccountState == user.AccountStateDeleted {
			return nil, apperr.Input(apperr.ReasonInvalid, "input.accountState", "accounts are deleted by their owner")
		}
		upd.SetAccountState(*p.AccountState)
		if *p.AccountState == user.AccountStateDisabled {
			if err := revoke(ctx, id, auth.EndAccountDisabled); err != nil {
				return nil, err
			}
		}
	}
	u, err = upd.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: update user: %w", err)
	}
	return u, s.log.Append(ctx, eventlog.Record{Topic: eventlog.UserTopic(id), Kind: KindUserUpdated, Actor: v.UserID, Subject: id})
}

// CreateUser opens an account for someone else: admins create
// ordinary accounts, members create sub-users of their own (at most
// SubUsersMax). Everyone else is refused with MEMBERS_ONLY. The User policy
// admits a create only from an admin or with the viewer as parent.
//
// The avatar follows the profile's rule (avatar): an avatar the creator
// uploaded, by id (avatarFileID) or by its URL, or an image on an allowed
// host.
func (s *Service) CreateUser(ctx context.Context, r auth.Registration, avatarURL string, avatarFileID *int, accounts *auth.Service) (*ent.User, error) {
	db, err := tx(ctx)
	if err != nil {
		return nil, err
	}
	v := viewer.FromContext(ctx)
	if v == nil || v.UserID == 0 {
		return nil, apperr.SignIn()
	}
	avatar, err := s.avatar(ctx, avatarURL, avatarFileID)
	if err != nil {
		return nil, err
	}
	parent := 0
	if !v.Admin {
		me, err := db.User.Get(ctx, v.UserID)
		if err != nil {
			return nil, fmt.Errorf("social: load viewer: %w", err)
		}
		if !me.IsMember {
			return nil, apperr.Deny(ReasonMembersOnly, "only members create sub-users")
		}
		count, err := db.User.Query().Where(user.ParentID(me.ID)).Count(ctx)
		if err != nil {
			return nil, fmt.Errorf("social: count sub-users: %w", err)
		}
		if count >= SubUsersMax {
			return nil, apperr.Deny(ReasonSubUserLimit, "a member has at most %d sub-users", SubUsersMax)
		}
		parent = me.ID
	}
	return accounts.CreateAccount(ctx, r, avatar, parent)
}
