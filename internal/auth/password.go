package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/settings"
	"github.com/parley-im/parley/internal/verify"
)

// ReasonPasswordUnchanged refuses a new password equal to the current one.
const ReasonPasswordUnchanged = "PASSWORD_UNCHANGED"

// PasswordChange is a change of the viewer's password: with the current
// password, or with an SMS code (purpose reset) sent to his phone.
type PasswordChange struct {
	OldPassword, Code, NewPassword string
}

// ChangePassword sets the viewer's new password, ends every session of his
// (a stolen device stops working) and opens a new one for this device. The
// code, if any, is checked before the transaction so a wrong one counts.
func (s *Service) ChangePassword(ctx context.Context, c PasswordChange, from Client) (*Session, error) {
	uid := viewer.UserID(ctx)
	if uid == 0 {
		return nil, apperr.SignIn()
	}
	if err := ValidatePassword(c.NewPassword, "input.newPassword"); err != nil {
		return nil, err
	}
	u, err := s.client.User.Get(viewer.SystemContext(ctx), uid)
	if err != nil {
		return nil, fmt.Errorf("auth: change password: %w", err)
	}
	switch {
	case c.OldPassword != "":
		if err := s.VerifyPassword(ctx, u, c.OldPassword, "input.oldPassword", from); err != nil {
			return nil, err
		}
	case c.Code != "":
		if u.Phone == nil {
			return nil, apperr.Input(apperr.ReasonPhoneRequired, "input.code", "your account has no phone to send a code to: use the current password")
		}
		if err := s.codes.Check(ctx, *u.Phone, verify.Reset, c.Code); err != nil {
			return nil, err
		}
	default:
		return nil, apperr.Input(apperr.ReasonRequired, "input.oldPassword", "give the current password or an SMS code")
	}
	return s.setPassword(ctx, u, c.NewPassword, from)
}

// VerifyPassword checks pw, the password of u that a signed-in request
// confirms a change with (changePassword, deleteAccount). It is a guess
// like a sign-in, from the same budgets (Guard): a stolen session must not
// give unlimited guesses at the password. A wrong pw is BAD_USER_INPUT
// WRONG_PASSWORD at field; too many are RATE_LIMITED TOO_MANY_ATTEMPTS.
// It writes the count with the root client, so call it outside the
// request transaction.
func (s *Service) VerifyPassword(ctx context.Context, u *ent.User, pw, field string, from Client) error {
	ok, err := s.guard.Guess(ctx, UserAccount(u.ID), from.IP, func() bool { return CheckPassword(u, pw) })
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Input(apperr.ReasonWrongPassword, field, "the password is wrong")
	}
	return nil
}

// ResetPassword sets a forgotten password: the account is named by
// username and must have phone, which received a code of purpose forget.
// Every session ends; the user then signs in.
func (s *Service) ResetPassword(ctx context.Context, phone, code, username, newPassword string) error {
	phone, err := NormalizePhone(phone, s.phoneRegion, "input.phone")
	if err != nil {
		return err
	}
	if code == "" {
		return apperr.Input(apperr.ReasonRequired, "input.code", "the SMS code is required")
	}
	if err := ValidatePassword(newPassword, "input.newPassword"); err != nil {
		return err
	}
	// The account is found before the code is checked: a mistyped
	// username must not use up the code.
	u, err := s.client.User.Query().
		Where(user.UsernameEqualFold(strings.TrimSpace(username)), user.Phone(phone), user.AccountStateNEQ(user.AccountStateDeleted)).
		Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return apperr.Input(apperr.ReasonInvalid, "input.username", "no account has this username and phone")
	} else if err != nil {
		return fmt.Errorf("auth: reset password: %w", err)
	}
	if err := s.codes.Check(ctx, phone, verify.Forget, code); err != nil {
		return err
	}
	_, err = s.setPassword(ctx, u, newPassword, Client{})
	return err
}

// setPassword stores a new password, revokes every session and, when from
// is a real client, opens a new session for it.
func (s *Service) setPassword(ctx context.Context, u *ent.User, pw string, from Client) (*Session, error) {
	if CheckPassword(u, pw) {
		return nil, apperr.Input(ReasonPasswordUnchanged, "input.newPassword", "the new password must differ from the current one")
	}
	hash, err := s.hash(pw)
	if err != nil {
		return nil, err
	}
	var out *Session
	err = txn.Run(ctx, s.client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		if err := s.db(ctx).User.UpdateOneID(u.ID).SetPasswordHash(string(hash)).Exec(sys); err != nil {
			return fmt.Errorf("auth: set password: %w", err)
		}
		if err := s.RevokeAll(ctx, u.ID, EndSignedOut); err != nil {
			return err
		}
		if from == (Client{}) {
			return nil
		}
		out, err = s.openSession(ctx, u, from)
		return err
	})
	return out, err
}

// SendCode sends an SMS code for purpose after the purpose's own rule:
// register needs registration switched on and a phone nobody uses, reset the
// signed-in user's own phone, login the sign-in captcha switched on. For
// forget and login, a phone without an account gets the same answer and no
// SMS, so the form cannot be used to find out who is registered. The code
// is sent to, and kept under, the phone's E.164 form (NormalizePhone), so it
// checks however the phone is written when it is used.
func (s *Service) SendCode(ctx context.Context, phone string, purpose verify.Purpose, from Client) (*verify.Issued, error) {
	phone, err := NormalizePhone(phone, s.phoneRegion, "input.phone")
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	owner, err := s.db(ctx).User.Query().
		Where(user.Phone(phone), user.AccountStateNEQ(user.AccountStateDeleted)).Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("auth: send code: %w", err)
	}
	switch purpose {
	case verify.Register:
		if err := s.require(ctx, settings.Register); err != nil {
			return nil, err
		}
		if owner != nil {
			return nil, apperr.New(apperr.Conflict, apperr.ReasonPhoneTaken, "input.phone", "phone is already registered")
		}
	case verify.Reset:
		uid := viewer.UserID(ctx)
		if uid == 0 {
			return nil, apperr.SignIn()
		}
		if owner == nil || owner.ID != uid {
			return nil, apperr.Input(ReasonPhoneMismatch, "input.phone", "this is not the phone of your account")
		}
	case verify.Forget:
		if owner == nil {
			return s.codes.Pretend(), nil
		}
	case verify.Login:
		if err := s.require(ctx, settings.LoginCaptcha); err != nil {
			return nil, err
		}
		if owner == nil {
			return s.codes.Pretend(), nil
		}
	default:
		return nil, apperr.Input(apperr.ReasonInvalid, "input.purpose", "unknown purpose")
	}
	return s.codes.Send(ctx, phone, purpose, from.IP)
}

// ReasonPhoneMismatch refuses a reset code for a phone that is not the
// viewer's.
const ReasonPhoneMismatch = "PHONE_MISMATCH"

// require is settings.Require, for a service built without settings (some
// tests), where every switch is on.
func (s *Service) require(ctx context.Context, t settings.Toggle) error {
	if s.settings == nil {
		return nil
	}
	return s.settings.Require(ctx, t)
}
