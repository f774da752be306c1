// Package verify sends and checks SMS verification codes. Codes are six digits, stored only as an HMAC, expire after
// a few minutes and allow a bounded number of attempts; resends wait out a
// cooldown, and each phone and each client address may ask for a bounded
// number per hour. The counts live in the database, so the limits hold
// across server instances.
package verify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/predicate"
	"github.com/parley-im/parley/ent/verificationcode"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/txn"
)

// Reasons of the code rules.
const (
	ReasonCodeInvalid     = "CODE_INVALID"
	ReasonCodeExpired     = "CODE_EXPIRED"
	ReasonCodeAttempts    = "CODE_TOO_MANY_ATTEMPTS"
	ReasonResendTooSoon   = "RESEND_TOO_SOON"
	ReasonTooManyCodes    = "TOO_MANY_CODES"
	ReasonCodeUnavailable = "CODE_UNAVAILABLE"
	ReasonCodeRequired    = "CODE_REQUIRED"
)

// Purpose is what a code may be used for.
type Purpose = verificationcode.Purpose

// The purposes a code is sent for.
const (
	Register = verificationcode.PurposeRegister
	Forget   = verificationcode.PurposeForget
	Reset    = verificationcode.PurposeReset
	Login    = verificationcode.PurposeLogin
)

// Sender delivers a code to a phone: an SMS gateway in production.
type Sender interface {
	Send(ctx context.Context, phone, code string, purpose Purpose) error
}

// Options tune the rules; zero values take the defaults.
type Options struct {
	TTL              time.Duration // how long a code works (5 minutes)
	MaxAttempts      int           // wrong guesses before a code dies (5)
	Cooldown         time.Duration // between two codes to one phone (60 s)
	PerPhoneHourly   int           // codes per phone per hour (5)
	PerAddressHourly int           // codes per client address per hour (20)
}

func (o Options) withDefaults() Options {
	if o.TTL == 0 {
		o.TTL = 5 * time.Minute
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.Cooldown == 0 {
		o.Cooldown = time.Minute
	}
	if o.PerPhoneHourly == 0 {
		o.PerPhoneHourly = 5
	}
	if o.PerAddressHourly == 0 {
		o.PerAddressHourly = 20
	}
	return o
}

// Service issues and checks codes.
type Service struct {
	client *ent.Client
	sender Sender
	key    []byte
	opts   Options
}

// NewService returns the code service; key (the server secret) keys the
// HMAC codes are stored as, so a database dump does not reveal them.
func NewService(client *ent.Client, sender Sender, key []byte, o Options) *Service {
	return &Service{client: client, sender: sender, key: key, opts: o.withDefaults()}
}

// Issued tells the client when the code dies and when it may ask again.
type Issued struct {
	ExpiresAt, ResendAfter time.Time
}

// Send issues a code for phone and hands it to the sender, in the request's
// transaction when there is one (a failed send leaves no usable code). The
// caller has already decided that the phone may receive a code for purpose,
// and gives it in E.164 form (auth.NormalizePhone): codes, cooldowns and
// counts are keyed by the exact string, so one number must be one key.
func (s *Service) Send(ctx context.Context, phone string, purpose Purpose, ip string) (*Issued, error) {
	sys := viewer.SystemContext(ctx)
	db := s.db(ctx)
	now := time.Now()
	last, err := db.VerificationCode.Query().
		Where(verificationcode.Phone(phone), verificationcode.PurposeEQ(purpose)).
		Order(ent.Desc(verificationcode.FieldCreatedAt)).First(sys)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("verify: last code: %w", err)
	}
	if last != nil && now.Before(last.CreatedAt.Add(s.opts.Cooldown)) {
		wait := last.CreatedAt.Add(s.opts.Cooldown).Sub(now)
		return nil, apperr.Limited(ReasonResendTooSoon, "input.phone", wait,
			"wait %d s before asking for another code", apperr.RetrySeconds(wait))
	}
	if err := s.hourly(sys, db, now, verificationcode.Phone(phone), s.opts.PerPhoneHourly, "input.phone", "for this phone"); err != nil {
		return nil, err
	}
	if ip != "" {
		if err := s.hourly(sys, db, now, verificationcode.IP(ip), s.opts.PerAddressHourly, "", "from this address"); err != nil {
			return nil, err
		}
	}
	code := newCode()
	err = db.VerificationCode.Create().SetPhone(phone).SetPurpose(purpose).
		SetCodeHash(s.hash(phone, purpose, code)).SetExpiresAt(now.Add(s.opts.TTL)).
		SetIP(ip).SetCreatedAt(now).Exec(sys)
	if err != nil {
		return nil, fmt.Errorf("verify: store code: %w", err)
	}
	if err := s.sender.Send(ctx, phone, code, purpose); err != nil {
		e := apperr.New(apperr.Internal, ReasonCodeUnavailable, "", "the code could not be sent: try again later")
		e.Err = err
		return nil, e
	}
	return &Issued{ExpiresAt: now.Add(s.opts.TTL), ResendAfter: now.Add(s.opts.Cooldown)}, nil
}

// hourFrees is how long until the oldest of the past hour's codes that
// match which is an hour old, which frees a place in that hourly count:
// the refusal's retryAfter.
// hourly is an hourly budget of codes: the codes sent in the last hour
// that match which (one phone's, one address's) stay under limit, else
// TOO_MANY_CODES on field, with the wait until the oldest of them ages out.
func (s *Service) hourly(ctx context.Context, db *ent.Client, now time.Time, which predicate.VerificationCode, limit int, field, from string) error {
	n, err := db.VerificationCode.Query().Where(which, verificationcode.CreatedAtGT(now.Add(-time.Hour))).Count(ctx)
	if err != nil {
		return fmt.Errorf("verify: count codes: %w", err)
	}
	if n < limit {
		return nil
	}
	wait := s.hourFrees(ctx, db, now, which)
	return apperr.Limited(ReasonTooManyCodes, field, wait, "too many codes %s: try again in %d s", from, apperr.RetrySeconds(wait))
}

func (s *Service) hourFrees(ctx context.Context, db *ent.Client, now time.Time, which predicate.VerificationCode) time.Duration {
	oldest, err := db.VerificationCode.Query().
		Where(which, verificationcode.CreatedAtGT(now.Add(-time.Hour))).
		Order(ent.Asc(verificationcode.FieldCreatedAt)).First(ctx)
	if err != nil {
		return time.Minute // only the hint is lost
	}
	return oldest.CreatedAt.Add(time.Hour).Sub(now)
}

// Check consumes the latest code sent to phone for purpose if code matches.
// Every check spends one of the code's attempts first, with one conditional
// UPDATE (attempts = attempts + 1 WHERE attempts < max), and compares the
// code only if that UPDATE took a row: concurrent guesses, on any instance,
// cannot be checked more than MaxAttempts times. The right code on the last
// attempt still works; a wrong one there leaves the code dead. It writes with the
// root client, outside any request transaction, so that a wrong guess is
// counted even though the request fails: callers run it before opening the
// transaction of the change it allows.
func (s *Service) Check(ctx context.Context, phone string, purpose Purpose, code string) error {
	sys := viewer.SystemContext(ctx)
	last, err := s.client.VerificationCode.Query().
		Where(verificationcode.Phone(phone), verificationcode.PurposeEQ(purpose)).
		Order(ent.Desc(verificationcode.FieldCreatedAt)).First(sys)
	switch {
	case ent.IsNotFound(err):
		return apperr.Input(ReasonCodeInvalid, "input.code", "the code is wrong: ask for a new one")
	case err != nil:
		return fmt.Errorf("verify: find code: %w", err)
	case last.ConsumedAt != nil:
		return apperr.Input(ReasonCodeInvalid, "input.code", "the code was already used: ask for a new one")
	case time.Now().After(last.ExpiresAt):
		return apperr.Input(ReasonCodeExpired, "input.code", "the code expired: ask for a new one")
	}
	n, err := s.client.VerificationCode.Update().
		Where(verificationcode.ID(last.ID), verificationcode.AttemptsLT(s.opts.MaxAttempts)).
		AddAttempts(1).Save(sys)
	if err != nil {
		return fmt.Errorf("verify: count attempt: %w", err)
	}
	if n == 0 {
		return apperr.New(apperr.RateLimited, ReasonCodeAttempts, "input.code", "too many wrong codes: ask for a new one")
	}
	if !hmac.Equal([]byte(last.CodeHash), []byte(s.hash(phone, purpose, code))) {
		return apperr.Input(ReasonCodeInvalid, "input.code", "the code is wrong")
	}
	// Consume with a condition, so that two racing requests cannot both use it.
	n, err = s.client.VerificationCode.Update().
		Where(verificationcode.ID(last.ID), verificationcode.ConsumedAtIsNil()).
		SetConsumedAt(time.Now()).Save(sys)
	if err != nil {
		return fmt.Errorf("verify: consume code: %w", err)
	}
	if n == 0 {
		return apperr.Input(ReasonCodeInvalid, "input.code", "the code was already used: ask for a new one")
	}
	return nil
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

func (s *Service) hash(phone string, purpose Purpose, code string) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\x00%s\x00%s", phone, purpose, code)
	return hex.EncodeToString(m.Sum(nil))
}

func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// Pretend returns what Send returns without sending anything, for requests
// that must not reveal that no account uses a phone.
func (s *Service) Pretend() *Issued {
	now := time.Now()
	return &Issued{ExpiresAt: now.Add(s.opts.TTL), ResendAfter: now.Add(s.opts.Cooldown)}
}
