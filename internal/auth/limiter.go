package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/throttle"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/ratelimit"
)

// Guard limits password guesses: sign-in, changePassword's old password
// and deleteAccount's password all spend from the same budgets, so that no
// door takes more guesses than another. Following the OWASP Authentication
// Cheat Sheet, a stranger must not be able to lock the owner out, so the
// budgets are
//
//   - per account and address: the tight one (5, then one a minute), which
//     stops one client guessing one account and leaves the owner, who signs
//     in from elsewhere, untouched;
//   - per address, across accounts (20, then one every 30 s), against one
//     client spraying a few passwords over many accounts;
//   - per account, from every address (100, then one every 30 s): the slow
//     backstop against guesses spread over many addresses. One address
//     alone refills it faster than it can drain it, so only a distributed
//     attack of about 20 addresses or more locks the owner out, and only
//     while it keeps guessing.
//
// The account budgets are kept in the database (Throttle rows, one
// conditional UPDATE per attempt), so they hold across server instances:
// however many instances a client spreads its guesses over, an account gets
// the same number. The address budget is per process (ratelimit.Buckets): it
// refuses a flood before any database work, and N instances give one
// address N times the budget, which the account budgets still bound.
//
// An account is a user id once the login names one, else the normalised
// login (misses are limited too, and "Bob" and "bob" share a budget). A
// correct password gives its attempts back, so signing in often is never
// throttled; only wrong guesses use the budgets up.
type Guard struct {
	client  *ent.Client
	address *ratelimit.Buckets
	pair    dbBucket
	account dbBucket

	mu    sync.Mutex
	swept time.Time // when this process last deleted full buckets
}

// GuardOptions set the budgets: a burst, refilled one per interval. Zero
// values take the defaults above.
type GuardOptions struct {
	PairBurst, AddressBurst, AccountBurst int
	PairEvery, AddressEvery, AccountEvery time.Duration
}

func (o GuardOptions) withDefaults() GuardOptions {
	def := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	every := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PairBurst, 5)
	def(&o.AddressBurst, 20)
	def(&o.AccountBurst, 100)
	every(&o.PairEvery, time.Minute)
	every(&o.AddressEvery, 30*time.Second)
	every(&o.AccountEvery, 30*time.Second)
	return o
}

// NewGuard returns the password-guess limits, counted in client's database.
func NewGuard(client *ent.Client, o GuardOptions) *Guard {
	o = o.withDefaults()
	return &Guard{
		client:  client,
		address: ratelimit.NewBuckets(o.AddressBurst, o.AddressEvery),
		pair:    dbBucket{burst: o.PairBurst, every: o.PairEvery},
		account: dbBucket{burst: o.AccountBurst, every: o.AccountEvery},
	}
}

// Attempt is one password guess that the budgets allowed.
type Attempt struct {
	g             *Guard
	ip            string
	pair, account string // the Throttle keys spent, once For has run
}

// Begin spends one guess from the address budget. It needs no database,
// so callers run it before looking the account up.
func (g *Guard) Begin(ip string) (*Attempt, error) {
	if ok, retry := g.address.Take("ip:"+ip, 1); !ok {
		return nil, tooManyAttempts(retry)
	}
	return &Attempt{g: g, ip: ip}, nil
}

// UserAccount names a user's account for For.
func UserAccount(id int) string { return "user:" + strconv.Itoa(id) }

// LoginAccount names the account of a login that matches no user: the
// login as sign-in compares it, trimmed and in lower case.
func LoginAccount(login string) string {
	return "login:" + strings.ToLower(strings.TrimSpace(login))
}

// For spends the guess from the budgets of account (UserAccount or
// LoginAccount): per account and address, then per account. It writes with
// the root client, outside any request transaction, so that the guess
// counts although the request fails.
func (a *Attempt) For(ctx context.Context, account string) error {
	pair, acct := throttleKey("pair", account, a.ip), throttleKey("account", account)
	ok, retry, err := a.g.pair.take(ctx, a.g, pair)
	if err != nil || !ok {
		return refusal(ok, retry, err)
	}
	ok, retry, err = a.g.account.take(ctx, a.g, acct)
	if err != nil || !ok {
		// The guess is not made: give the pair's attempt back.
		a.g.pair.refund(ctx, a.g, pair)
		return refusal(ok, retry, err)
	}
	a.pair, a.account = pair, acct
	return nil
}

// Succeeded gives the attempt back to every budget: the password was
// right, and the owner signing in must never wear his budgets out.
func (a *Attempt) Succeeded(ctx context.Context) {
	a.g.address.Refund("ip:"+a.ip, 1)
	if a.pair != "" {
		a.g.pair.refund(ctx, a.g, a.pair)
		a.g.account.refund(ctx, a.g, a.account)
	}
}

// Guess checks one password guess at account from ip with check, once the
// budgets allow it, and gives the attempt back when check succeeds. It is
// Begin, For and Succeeded for callers that know the account already.
func (g *Guard) Guess(ctx context.Context, account, ip string, check func() bool) (bool, error) {
	a, err := g.Begin(ip)
	if err != nil {
		return false, err
	}
	if err := a.For(ctx, account); err != nil {
		return false, err
	}
	if !check() {
		return false, nil
	}
	a.Succeeded(ctx)
	return true, nil
}

func refusal(ok bool, retry time.Duration, err error) error {
	if err != nil {
		return err
	}
	return tooManyAttempts(retry)
}

func tooManyAttempts(retry time.Duration) error {
	return apperr.Limited(apperr.ReasonTooManyAttempts, "", retry,
		"too many password attempts: wait %d s and try again", apperr.RetrySeconds(retry))
}

// throttleKey hashes the parts of a key, so that the table holds neither
// logins nor addresses and every key has the same length.
func throttleKey(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// dbBucket is a token bucket kept in the Throttle table as GCRA's
// theoretical arrival time (tat): the bucket is full at tat, every attempt
// moves tat one interval later, and an attempt is allowed while tat stays
// within burst-1 intervals of now. The check and the spending are one
// conditional UPDATE, so concurrent attempts, on any instance, cannot
// exceed the budget. Instances' clocks should agree to well within an
// interval.
type dbBucket struct {
	burst int
	every time.Duration
}

// take spends one attempt of key, or reports how long until one is free.
func (b dbBucket) take(ctx context.Context, g *Guard, key string) (bool, time.Duration, error) {
	sys := viewer.SystemContext(ctx)
	every := b.every.Milliseconds()
	for range 3 {
		now := time.Now().UnixMilli()
		limit := now + int64(b.burst-1)*every
		n, err := g.client.Throttle.Update().
			Where(throttle.Key(key), throttle.TatLTE(limit)).
			Modify(func(u *sql.UpdateBuilder) {
				// tat = max(tat, now) + every, portably.
				u.Set(throttle.FieldTat, sql.ExprFunc(func(w *sql.Builder) {
					w.WriteString("CASE WHEN ").Ident(throttle.FieldTat).WriteString(" > ").Arg(now).
						WriteString(" THEN ").Ident(throttle.FieldTat).WriteString(" ELSE ").Arg(now).
						WriteString(" END + ").Arg(every)
				}))
			}).Save(sys)
		if err != nil {
			return false, 0, fmt.Errorf("auth: count attempt: %w", err)
		}
		if n == 1 {
			return true, 0, nil
		}
		row, err := g.client.Throttle.Query().Where(throttle.Key(key)).Only(sys)
		switch {
		case ent.IsNotFound(err):
			g.sweep(ctx, now)
			err := g.client.Throttle.Create().SetKey(key).SetTat(now + every).Exec(sys)
			if err == nil {
				return true, 0, nil
			}
			if !ent.IsConstraintError(err) {
				return false, 0, fmt.Errorf("auth: count attempt: %w", err)
			}
			// Another request created the row first: spend from it.
		case err != nil:
			return false, 0, fmt.Errorf("auth: count attempt: %w", err)
		case row.Tat > limit:
			return false, time.Duration(row.Tat-limit) * time.Millisecond, nil
		}
		// The row changed between the two statements: try again.
	}
	return false, b.every, nil // contended: refuse rather than guess
}

// refund gives one attempt of key back. It is best effort: if the UPDATE
// fails, the attempt stays counted, which errs on the safe side.
func (b dbBucket) refund(ctx context.Context, g *Guard, key string) {
	_ = g.client.Throttle.Update().Where(throttle.Key(key)).
		AddTat(-b.every.Milliseconds()).Exec(viewer.SystemContext(ctx))
}

// sweep deletes full buckets (tat in the past), which mean the same as no
// row, at most once a minute per process, so that keys of guesses long
// past do not pile up.
func (g *Guard) sweep(ctx context.Context, now int64) {
	g.mu.Lock()
	due := time.Since(g.swept) > time.Minute
	if due {
		g.swept = time.Now()
	}
	g.mu.Unlock()
	if due {
		_, _ = g.client.Throttle.Delete().Where(throttle.TatLT(now)).Exec(viewer.SystemContext(ctx))
	}
}
