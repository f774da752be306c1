// Package auth signs users up and in: registration rules (seed 001's error
// list), password hashing, sessions, access and refresh tokens, sign-in rate
// limits, and turning a bearer token into the request's viewer.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect/sql"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/session"
	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/ratelimit"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/settings"
	"github.com/parley-im/parley/internal/verify"
)

// Limits of the account fields, documented in the schema.
const (
	UsernameMin = 3
	UsernameMax = 32
	PasswordMin = 8
	PasswordMax = 72 // bcrypt ignores bytes past 72
	NicknameMax = 64
)

var usernameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// Service is the account service.
type Service struct {
	client     *ent.Client
	settings   *settings.Service
	codes      *verify.Service
	events     *eventlog.Log
	live       liveSessions // live.go: the sessions this instance's connections act for
	tokens     *Tokens
	bcryptCost int
	guard      *Guard
	// accounts bounds account creation, which hashes a password: per
	// address for registration, per creator for accounts made by a
	// signed-in user. Per process (see ratelimit.Buckets).
	accounts  *ratelimit.Buckets
	dummyHash []byte
	// phoneRegion is the region of phone numbers written without a
	// country code (NormalizePhone).
	phoneRegion string
	// reuse is the refresh token reuse interval (Options.RefreshReuse).
	reuse time.Duration
	// cache answers Authenticate for sessions read recently
	// (sessioncache.go); it caches once WatchSessions follows the ends of
	// sessions, for cacheTTL.
	cache    sessionCache
	cacheTTL time.Duration
}

// Options configure a Service.
type Options struct {
	// BcryptCost is bcrypt's work factor; tests lower it to bcrypt.MinCost.
	BcryptCost int
	// Guesses are the budgets of password guesses (see Guard).
	Guesses GuardOptions
	// AccountsPerHour is how many accounts one address may register, or
	// one user create, per hour, all at once if need be; zero or less is
	// no limit.
	AccountsPerHour int
	// Settings gate registration (the register and register_captcha
	// switches); Codes checks SMS codes. Both optional in unit tests.
	Settings *settings.Service
	Codes    *verify.Service
	// Events records the ends of sessions for every instance's live
	// connections (live.go); optional in unit tests.
	Events *eventlog.Log
	// PhoneRegion is the region of phone numbers written without a
	// country code; empty is DefaultPhoneRegion.
	PhoneRegion string
	// RefreshReuse is how long after a refresh the refresh token it used
	// is still answered (see Refresh): two tabs of one browser that
	// refresh at once both keep the session. Zero answers no replay.
	RefreshReuse time.Duration
	// SessionCacheTTL is how long Authenticate answers a session it read
	// from memory (sessioncache.go) once WatchSessions follows the ends of
	// sessions; zero or less reads the session on every request.
	SessionCacheTTL time.Duration
}

// NewService returns the account service.
func NewService(client *ent.Client, tokens *Tokens, o Options) *Service {
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	var accounts *ratelimit.Buckets
	if o.AccountsPerHour > 0 {
		accounts = ratelimit.NewBuckets(o.AccountsPerHour, time.Hour/time.Duration(o.AccountsPerHour))
	}
	if o.PhoneRegion == "" {
		o.PhoneRegion = DefaultPhoneRegion
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("timing-equaliser"), o.BcryptCost)
	return &Service{
		client: client, tokens: tokens, bcryptCost: o.BcryptCost,
		settings: o.Settings, codes: o.Codes, events: o.Events,
		guard:       NewGuard(client, o.Guesses),
		accounts:    accounts,
		dummyHash:   dummy,
		phoneRegion: o.PhoneRegion,
		reuse:       o.RefreshReuse,
		cacheTTL:    o.SessionCacheTTL,
	}
}

// PhoneRegion is the region of phone numbers written without a country
// code, for other domain code that takes phones (profiles, search).
func (s *Service) PhoneRegion() string { return s.phoneRegion }

// Tokens returns the token signer.
func (s *Service) Tokens() *Tokens { return s.tokens }

// db returns the transaction's client when ctx carries one (GraphQL
// mutations run in one through entgql.Transactioner), else the base client.
func (s *Service) db(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

// Registration is what a new account needs.
type Registration struct {
	Username, Password       string
	Email, Phone             *string
	Nickname, Sign, Location string
	// Code is the SMS code sent to Phone for registering; required
	// when the register_captcha setting is on.
	Code string
}

// Session is a signed-in device: its tokens and user.
type Session struct {
	AccessToken, RefreshToken string
	ExpiresAt                 time.Time
	User                      *ent.User
}

// Client identifies where a request comes from, for sessions and limits.
type Client struct{ IP, UserAgent string }

// Register creates an account and signs it in. Like Login, it refuses a
// request that already carries a valid token (ALREADY_SIGNED_IN): the
// client would otherwise switch to the new account while the session it
// holds stays open, unseen. A signed-in admin creates accounts with
// createUser.
func (s *Service) Register(ctx context.Context, r Registration, from Client) (*Session, error) {
	if err := notSignedIn(ctx); err != nil {
		return nil, err
	}
	if err := ValidateRegistration(&r, s.phoneRegion); err != nil {
		return nil, err
	}
	if s.settings != nil {
		if err := s.settings.Require(ctx, settings.Register); err != nil {
			return nil, err
		}
		captcha, err := s.settings.Enabled(ctx, settings.RegisterCaptcha)
		if err != nil {
			return nil, err
		}
		if captcha && (r.Phone == nil || r.Code == "") {
			return nil, apperr.Input(verify.ReasonCodeRequired, "input.code", "registration needs a phone and the SMS code sent to it")
		}
	}
	if err := s.spendAccount("ip:" + from.IP); err != nil {
		return nil, err
	}
	if r.Code != "" {
		if r.Phone == nil {
			return nil, apperr.Input(apperr.ReasonPhoneRequired, "input.phone", "the code was sent to a phone: give it")
		}
		// Checked before the transaction: a wrong code must count even
		// though the registration fails.
		if err := s.codes.Check(ctx, *r.Phone, verify.Register, r.Code); err != nil {
			return nil, err
		}
	}
	var out *Session
	err := txn.Run(ctx, s.client, func(ctx context.Context) error {
		var err error
		out, err = s.register(ctx, r, from)
		return err
	})
	return out, err
}

func (s *Service) register(ctx context.Context, r Registration, from Client) (*Session, error) {
	sys := viewer.SystemContext(ctx)
	create, err := s.newAccount(ctx, s.db(ctx), r)
	if err != nil {
		return nil, err
	}
	u, err := create.Save(sys)
	if ent.IsConstraintError(err) {
		// A concurrent registration won the name (the check above saw none).
		return nil, apperr.New(apperr.Conflict, apperr.ReasonUsernameTaken, "input.username", "username, email or phone was just taken: try again")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: register: %w", err)
	}
	return s.openSession(ctx, u, from)
}

// newAccount checks that r's username, email and phone are free, hashes its
// password and returns the user row to create, for register and
// CreateAccount alike. The nickname defaults to the username.
func (s *Service) newAccount(ctx context.Context, db *ent.Client, r Registration) (*ent.UserCreate, error) {
	if err := s.checkTaken(viewer.SystemContext(ctx), db, r.Username, r.Email, r.Phone); err != nil {
		return nil, err
	}
	hash, err := s.hash(r.Password)
	if err != nil {
		return nil, err
	}
	nickname := r.Nickname
	if nickname == "" {
		nickname = r.Username
	}
	return db.User.Create().
		SetUsername(r.Username).SetNickname(nickname).SetPasswordHash(string(hash)).
		SetNillableEmail(r.Email).SetNillablePhone(r.Phone).
		SetSign(r.Sign).SetLocation(r.Location).SetPublicID(randomPublicID()), nil
}

// spendAccount takes one account creation from key's budget. Each
// register or createUser field spends, so aliases in one request count one
// by one, before the password is hashed.
func (s *Service) spendAccount(key string) error {
	if ok, retry := s.accounts.Take(key, 1); !ok {
		return apperr.Limited(apperr.ReasonTooManyAccounts, "", retry,
			"too many accounts created: wait %d s and try again", apperr.RetrySeconds(retry))
	}
	return nil
}

// CreateAccount creates an account for someone else without signing it in:
// an admin's new user, or a member's sub-user (parentID). It runs as the
// viewer, so the User policy decides whether he may. The creator's budget
// of account creations is spent after validation.
func (s *Service) CreateAccount(ctx context.Context, r Registration, avatar string, parentID int) (*ent.User, error) {
	if err := ValidateRegistration(&r, s.phoneRegion); err != nil {
		return nil, err
	}
	if err := s.spendAccount("user:" + strconv.Itoa(viewer.UserID(ctx))); err != nil {
		return nil, err
	}
	create, err := s.newAccount(ctx, s.db(ctx), r)
	if err != nil {
		return nil, err
	}
	create.SetAvatar(avatar)
	if parentID != 0 {
		create.SetParentID(parentID)
	}
	u, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: create account: %w", err)
	}
	return u, nil
}

// ValidateRegistration applies the account field rules, normalising r: its
// phone becomes the E.164 form, read in region when it has no country code.
func ValidateRegistration(r *Registration, region string) error {
	r.Username = strings.TrimSpace(r.Username)
	if err := ValidateUsername(r.Username, "input.username"); err != nil {
		return err
	}
	if err := ValidatePassword(r.Password, "input.password"); err != nil {
		return err
	}
	if r.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*r.Email))
		if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e || len(e) > 254 {
			return apperr.Input(apperr.ReasonEmailInvalid, "input.email", "email %q is not a valid address", apperr.Clip(e))
		}
		r.Email = &e
	}
	if r.Phone != nil {
		p, err := NormalizePhone(*r.Phone, region, "input.phone")
		if err != nil {
			return err
		}
		r.Phone = &p
	}
	switch {
	case utf8.RuneCountInString(r.Nickname) > NicknameMax:
		return apperr.Input(apperr.ReasonTooLong, "input.nickname", "nickname is longer than %d characters", NicknameMax)
	case utf8.RuneCountInString(r.Sign) > 256:
		return apperr.Input(apperr.ReasonTooLong, "input.sign", "sign is longer than 256 characters")
	case utf8.RuneCountInString(r.Location) > 128:
		return apperr.Input(apperr.ReasonTooLong, "input.location", "location is longer than 128 characters")
	}
	return nil
}

// ValidateUsername checks a username: a letter, then letters, digits or
// underscores. It can never look like a phone number or an email, so the
// three sign-in keys never collide.
func ValidateUsername(name, field string) error {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return apperr.Input(apperr.ReasonUsernameRequired, field, "username is required")
	case n < UsernameMin || n > UsernameMax:
		return apperr.Input(apperr.ReasonUsernameLength, field, "username must be %d to %d characters", UsernameMin, UsernameMax)
	case !usernameRE.MatchString(name):
		return apperr.Input(apperr.ReasonUsernameIllegal, field, "username must start with a letter and hold only letters, digits and underscores")
	}
	return nil
}

// ValidatePassword checks a new password's length.
func ValidatePassword(pw, field string) error {
	switch n := len(pw); {
	case n == 0:
		return apperr.Input(apperr.ReasonPasswordRequired, field, "password is required")
	case utf8.RuneCountInString(pw) < PasswordMin:
		return apperr.Input(apperr.ReasonPasswordTooShort, field, "password must be at least %d characters", PasswordMin)
	case n > PasswordMax:
		return apperr.Input(apperr.ReasonPasswordTooLong, field, "password must be at most %d bytes", PasswordMax)
	}
	return nil
}

func (s *Service) checkTaken(ctx context.Context, db *ent.Client, username string, email, phone *string) error {
	if ok, err := db.User.Query().Where(user.UsernameEqualFold(username)).Exist(ctx); err != nil {
		return err
	} else if ok {
		return apperr.New(apperr.Conflict, apperr.ReasonUsernameTaken, "input.username", "username %q is taken", apperr.Clip(username))
	}
	if phone != nil {
		if ok, err := db.User.Query().Where(user.Phone(*phone)).Exist(ctx); err != nil {
			return err
		} else if ok {
			return apperr.New(apperr.Conflict, apperr.ReasonPhoneTaken, "input.phone", "phone is already registered")
		}
	}
	if email != nil {
		if ok, err := db.User.Query().Where(user.Email(*email)).Exist(ctx); err != nil {
			return err
		} else if ok {
			return apperr.New(apperr.Conflict, apperr.ReasonEmailTaken, "input.email", "email is already registered")
		}
	}
	return nil
}

func (s *Service) hash(pw string) ([]byte, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.bcryptCost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	return h, nil
}

// HashPassword hashes a password with the service's cost, for other domain
// code that sets passwords (sub-users, password changes).
func (s *Service) HashPassword(pw string) (string, error) {
	h, err := s.hash(pw)
	return string(h), err
}

// CheckPassword reports whether pw matches u's hash.
func CheckPassword(u *ent.User, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) == nil
}

func randomPublicID() int64 {
	n, _ := rand.Int(rand.Reader, big.NewInt(90_000_000))
	return 10_000_000 + n.Int64()
}

// Login signs in by username, email or phone and password. Each call is
// one guess from the budgets of Guard, aliases included. It runs outside
// the request transaction (server/app skips the Transactioner for it), so
// that its guesses count although the request fails.
func (s *Service) Login(ctx context.Context, login, password, code string, from Client) (*Session, error) {
	if err := notSignedIn(ctx); err != nil {
		return nil, err
	}
	login = strings.TrimSpace(login)
	switch {
	case login == "":
		return nil, apperr.Input(apperr.ReasonUserRequired, "input.login", "username, email or phone is required")
	case password == "":
		return nil, apperr.Input(apperr.ReasonPasswordRequired, "input.password", "password is required")
	case len(login) > 254 || len(password) > PasswordMax:
		return nil, apperr.Input(apperr.ReasonTooLong, "input", "login or password is too long")
	}
	attempt, err := s.guard.Begin(from.IP)
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	key := login
	match := []predicate.User{user.UsernameEqualFold(login), user.Email(strings.ToLower(login))}
	if phone, err := NormalizePhone(login, s.phoneRegion, ""); err == nil {
		// Every way of writing the number is the same login, and the
		// same budget when it names no account.
		key = phone
		match = append(match, user.Phone(phone))
	}
	u, err := s.db(ctx).User.Query().Where(user.Or(match...)).Only(sys)
	switch {
	case ent.IsNotFound(err):
		if err := attempt.For(ctx, LoginAccount(key)); err != nil {
			return nil, err
		}
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password)) // same time as a miss
		return nil, wrongPassword()
	case err != nil:
		return nil, fmt.Errorf("auth: login: %w", err)
	}
	if err := attempt.For(ctx, UserAccount(u.ID)); err != nil {
		return nil, err
	}
	if !CheckPassword(u, password) {
		return nil, wrongPassword()
	}
	attempt.Succeeded(ctx)
	if u.AccountState != user.AccountStateNormal {
		return nil, disabled()
	}
	if err := s.loginCode(ctx, u, code); err != nil {
		return nil, err
	}
	return s.openSession(ctx, u, from)
}

// loginCode applies the sign-in captcha: when settings.LoginCaptcha is on,
// an account with a phone signs in with the SMS code of purpose login sent
// to it as well as his password. An account without a phone has nowhere to
// receive one and signs in with his password, so that switching the
// captcha on locks no one out (an admin without a phone included).
func (s *Service) loginCode(ctx context.Context, u *ent.User, code string) error {
	if s.settings == nil || u.Phone == nil || *u.Phone == "" {
		return nil
	}
	on, err := s.settings.Enabled(ctx, settings.LoginCaptcha)
	switch {
	case err != nil:
		return err
	case !on:
		return nil
	case strings.TrimSpace(code) == "":
		return apperr.Input(verify.ReasonCodeRequired, "input.code", "sign-in needs the SMS code sent to your phone")
	}
	return s.codes.Check(ctx, *u.Phone, verify.Login, strings.TrimSpace(code))
}

// notSignedIn refuses a sign-in or a registration made with a valid token
// attached (the request's viewer).
func notSignedIn(ctx context.Context) error {
	if v := viewer.FromContext(ctx); v != nil && v.UserID != 0 {
		return apperr.New(apperr.Conflict, apperr.ReasonAlreadySignedIn, "", "already signed in: sign out first, or send this without the token")
	}
	return nil
}

func wrongPassword() error {
	return apperr.New(apperr.Unauthenticated, apperr.ReasonWrongPassword, "input.password", "wrong username or password")
}

func disabled() error {
	return apperr.New(apperr.Forbidden, apperr.ReasonAccountDisabled, "", "this account is disabled")
}

func (s *Service) openSession(ctx context.Context, u *ent.User, from Client) (*Session, error) {
	sess, err := s.db(ctx).Session.Create().
		SetUserID(u.ID).SetExpiresAt(time.Now().Add(s.tokens.RefreshTTL)).
		SetIP(truncate(from.IP, 64)).SetUserAgent(truncate(from.UserAgent, 256)).
		Save(viewer.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("auth: open session: %w", err)
	}
	return s.issue(u, sess)
}

func (s *Service) issue(u *ent.User, sess *ent.Session) (*Session, error) {
	access, exp, err := s.tokens.issue(Claims{UserID: u.ID, SessionID: sess.ID, Kind: kindAccess})
	if err != nil {
		return nil, err
	}
	refresh, _, err := s.tokens.issue(Claims{UserID: u.ID, SessionID: sess.ID, Kind: kindRefresh, Generation: sess.RefreshGeneration})
	if err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: refresh, ExpiresAt: exp, User: u}, nil
}

// Logout revokes the viewer's session: its access and refresh tokens stop
// working at once, on every server instance, and so do its live
// connections.
func (s *Service) Logout(ctx context.Context) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.SessionID == 0 {
		return apperr.SignIn()
	}
	return txn.Run(ctx, s.client, func(ctx context.Context) error {
		err := s.db(ctx).Session.UpdateOneID(v.SessionID).SetRevokedAt(time.Now()).Exec(ctx)
		if err != nil {
			return fmt.Errorf("auth: logout: %w", err)
		}
		return s.announce(ctx, KindSessionEnded, SessionChange{User: v.UserID, Sessions: []int{v.SessionID}, Reason: EndSignedOut})
	})
}

// RevokeAll revokes every open session of a user, and ends their live
// connections with reason (EndSignedOut after a password change or an
// account deletion, EndAccountDisabled when an admin disables him).
func (s *Service) RevokeAll(ctx context.Context, userID int, reason string) error {
	return txn.Run(ctx, s.client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		db := s.db(ctx)
		ids, err := db.Session.Query().Where(session.UserID(userID), session.RevokedAtIsNil()).IDs(sys)
		if err != nil {
			return fmt.Errorf("auth: revoke sessions: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := db.Session.Update().Where(session.IDIn(ids...)).SetRevokedAt(time.Now()).Save(sys); err != nil {
			return fmt.Errorf("auth: revoke sessions: %w", err)
		}
		return s.announce(ctx, KindSessionEnded, SessionChange{User: userID, Sessions: ids, Reason: reason})
	})
}

// Refresh trades a refresh token for a new pair. Each refresh token works
// once: presenting an older one means it was stolen, so the session ends.
// It runs outside the request transaction (see server/app) so that this
// revocation stands although the request fails; the generation bump is one
// conditional UPDATE, so two racing refreshes cannot both win.
//
// The one exception is the reuse interval (Options.RefreshReuse, like
// Auth0's rotation reuse interval): the refresh token that was just used,
// presented again within that time of its use, is answered with a pair of
// the session's current generation, the one its first use was answered
// with, and the session is left as it is. Two tabs that refresh at once
// thus both stay signed in. The session is not forked: only one generation
// is ever valid, whichever tab spends it first moves the session on, and
// any older token, or the last one after the interval, still ends the
// session. The interval runs from the rotation (the session's updated_at,
// which only a refresh and a revocation change), and answering a replay
// does not extend it.
func (s *Service) Refresh(ctx context.Context, raw string) (*Session, error) {
	c, err := s.tokens.Verify(raw, kindRefresh)
	if err != nil {
		return nil, tokenError(err)
	}
	sys := viewer.SystemContext(ctx)
	sess, err := s.client.Session.Query().Where(session.ID(c.SessionID)).WithUser().Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("auth: refresh: %w", err)
	}
	if err := sessionUsable(sess); err != nil {
		return nil, err
	}
	n, err := s.client.Session.Update().
		Where(session.ID(sess.ID), session.RefreshGeneration(c.Generation), session.RevokedAtIsNil()).
		AddRefreshGeneration(1).SetExpiresAt(time.Now().Add(s.tokens.RefreshTTL)).Save(sys)
	if err != nil {
		return nil, fmt.Errorf("auth: refresh: %w", err)
	}
	if n == 1 {
		sess.RefreshGeneration = c.Generation + 1
		return s.issue(sess.Edges.User, sess)
	}
	// A replay, or a refresh that lost the race to another use of the same
	// token: read the session as the winner left it.
	cur, err := s.client.Session.Query().Where(session.ID(sess.ID)).WithUser().Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("auth: refresh: %w", err)
	}
	if err := sessionUsable(cur); err != nil {
		return nil, err
	}
	if cur.RefreshGeneration == c.Generation+1 && time.Since(cur.UpdatedAt) <= s.reuse {
		return s.issue(cur.Edges.User, cur)
	}
	err = txn.Run(ctx, s.client, func(ctx context.Context) error {
		if err := s.db(ctx).Session.UpdateOne(sess).SetRevokedAt(time.Now()).Exec(sys); err != nil {
			return fmt.Errorf("auth: revoke replayed session: %w", err)
		}
		return s.announce(ctx, KindSessionEnded, SessionChange{User: sess.UserID, Sessions: []int{sess.ID}, Reason: EndSignedOut})
	})
	if err != nil {
		return nil, err
	}
	return nil, apperr.New(apperr.Unauthenticated, apperr.ReasonSessionRevoked, "", "refresh token was already used: sign in again")
}

// Authenticate turns an access token into the viewer it stands for. It
// answers from the instance's session cache when the session was read
// there recently (sessioncache.go), and otherwise reads the session and its
// user in one statement: revocation and disabling take effect on every
// instance as soon as its hub passes the event that records them, and
// within the cache's TTL at the latest.
func (s *Service) Authenticate(ctx context.Context, raw string) (*viewer.Viewer, error) {
	c, err := s.tokens.Verify(raw, kindAccess)
	if err != nil {
		return nil, tokenError(err)
	}
	now := time.Now()
	if v, ok := s.cache.get(c.SessionID, now); ok {
		return &v, nil
	}
	gen := s.cache.begin()
	row, err := s.readLiveSession(ctx, c.SessionID, now)
	switch {
	case err != nil:
		return nil, err
	case row == nil:
		return nil, sessionEnded()
	case row.AccountState != user.AccountStateNormal:
		return nil, disabled()
	}
	v := viewer.Viewer{UserID: row.UserID, SessionID: c.SessionID, Admin: row.Role == user.RoleAdmin}
	s.cache.put(gen, v, now, row.ExpiresAt)
	return &v, nil
}

// liveSession is what Authenticate reads of a live session: its user, what
// the viewer needs of him, and when the session expires.
type liveSession struct {
	UserID       int               `sql:"user_id"`
	ExpiresAt    time.Time         `sql:"expires_at"`
	Role         user.Role         `sql:"role"`
	AccountState user.AccountState `sql:"account_state"`
}

// readLiveSession reads session sid with its user in one statement, if the
// session is neither revoked nor expired at now (sessionLive); nil when it
// is not.
func (s *Service) readLiveSession(ctx context.Context, sid int, now time.Time) (*liveSession, error) {
	var rows []liveSession
	err := s.client.Session.Query().
		Where(session.ID(sid), sessionLive(now)).
		Modify(func(sel *sql.Selector) {
			u := sql.Table(user.Table)
			sel.Join(u).On(sel.C(session.FieldUserID), u.C(user.FieldID))
			sel.Select(sel.C(session.FieldUserID), sel.C(session.FieldExpiresAt), u.C(user.FieldRole), u.C(user.FieldAccountState))
		}).
		Scan(viewer.SystemContext(ctx), &rows)
	if err != nil {
		return nil, fmt.Errorf("auth: authenticate: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// viewerOf is the viewer a usable session stands for.
func viewerOf(sess *ent.Session) *viewer.Viewer {
	return &viewer.Viewer{UserID: sess.UserID, SessionID: sess.ID, Admin: sess.Edges.User.Role == user.RoleAdmin}
}

// sessionLive selects the sessions that are neither revoked nor expired at
// now: the first half of sessionUsable, as SQL, for the one-statement
// check of every request. The two must change together.
func sessionLive(now time.Time) predicate.Session {
	return session.And(session.RevokedAtIsNil(), session.ExpiresAtGT(now))
}

// sessionUsable is the rule of a session one may act for, on a loaded row
// with its user: live (sessionLive) and of an account in good standing.
func sessionUsable(sess *ent.Session) error {
	switch {
	case sess == nil || sess.RevokedAt != nil || time.Now().After(sess.ExpiresAt):
		return sessionEnded()
	case sess.Edges.User.AccountState != user.AccountStateNormal:
		return disabled()
	}
	return nil
}

func tokenError(err error) error {
	if errors.Is(err, errExpired) {
		return apperr.New(apperr.Unauthenticated, apperr.ReasonTokenExpired, "", "token expired: refresh it")
	}
	return apperr.New(apperr.Unauthenticated, apperr.ReasonTokenInvalid, "", "token is invalid")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// SignedOut reports whether err, from checking a session, says that the
// viewer may no longer act: his session ended (SESSION_REVOKED) or his
// account is disabled (ACCOUNT_DISABLED). Any other error is a failure to find out, such as the database being unreachable
// for a moment, and must not be taken for a sign-out.
func SignedOut(err error) bool {
	e, ok := apperr.As(err)
	return ok && (e.Reason == apperr.ReasonSessionRevoked || e.Reason == apperr.ReasonAccountDisabled)
}
