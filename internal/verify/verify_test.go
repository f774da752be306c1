package verify_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/verificationcode"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/platform/txn"
	"github.com/parley-im/parley/internal/verify"
)

// phone is the number the tests send codes to, in E.164 form as Send
// requires.
const phone = "+8613800000000"

// requireReason asserts that err is the apperr of code and reason, and
// returns it.
func requireReason(t *testing.T, err error, code apperr.Code, reason string) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	require.True(t, ok, "not an apperr: %v", err)
	require.Equal(t, code, e.Code, e.Message)
	require.Equal(t, reason, e.Reason, e.Message)
	return e
}

// newService returns a code service on c that records the codes it sends.
func newService(c *ent.Client, o verify.Options) (*verify.Service, *verify.Recorder) {
	rec := &verify.Recorder{}
	return verify.NewService(c, rec, []byte("secret"), o), rec
}

// sent sends a code for purpose to phone, which must work.
func sent(t *testing.T, s *verify.Service, purpose verify.Purpose) {
	t.Helper()
	_, err := s.Send(context.Background(), phone, purpose, "")
	require.NoError(t, err)
}

// TestCheck: the code sent works once, for its phone and purpose only; a
// wrong code is refused, and so is the right one once used.
func TestCheck(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s, rec := newService(c, verify.Options{})
		ctx := context.Background()
		before := time.Now()
		issued, err := s.Send(ctx, phone, verify.Register, "10.0.0.1")
		require.NoError(t, err)
		require.WithinDuration(t, before.Add(5*time.Minute), issued.ExpiresAt, 5*time.Second, "codes live 5 minutes")
		require.WithinDuration(t, before.Add(time.Minute), issued.ResendAfter, 5*time.Second, "resends wait a minute")
		code := rec.Last(phone)
		require.Len(t, code, 6)
		require.Equal(t, strings.Trim(code, "0123456789"), "", "six digits")

		requireReason(t, s.Check(ctx, phone, verify.Login, code), apperr.BadUserInput, verify.ReasonCodeInvalid)
		requireReason(t, s.Check(ctx, "+8613800000001", verify.Register, code), apperr.BadUserInput, verify.ReasonCodeInvalid)
		requireReason(t, s.Check(ctx, phone, verify.Register, wrong(code)), apperr.BadUserInput, verify.ReasonCodeInvalid)
		require.NoError(t, s.Check(ctx, phone, verify.Register, code))
		requireReason(t, s.Check(ctx, phone, verify.Register, code), apperr.BadUserInput, verify.ReasonCodeInvalid)

		// Nothing sent: the same refusal as a wrong code.
		requireReason(t, s.Check(ctx, phone, verify.Forget, "123456"), apperr.BadUserInput, verify.ReasonCodeInvalid)
	})
}

// wrong returns a six-digit code other than code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// TestStoredAsHMAC: the database holds neither the code nor its plain
// hash, and a service with another key does not accept it.
func TestStoredAsHMAC(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s, rec := newService(c, verify.Options{})
		ctx := context.Background()
		sent(t, s, verify.Register)
		code := rec.Last(phone)
		row := c.VerificationCode.Query().OnlyX(sys)
		require.NotContains(t, row.CodeHash, code)
		require.Len(t, row.CodeHash, 64, "an HMAC-SHA256, hex-encoded")

		other := verify.NewService(c, rec, []byte("another secret"), verify.Options{})
		requireReason(t, other.Check(ctx, phone, verify.Register, code), apperr.BadUserInput, verify.ReasonCodeInvalid)
		require.NoError(t, s.Check(ctx, phone, verify.Register, code))
	})
}

// TestAttempts: each check spends an attempt; the right code on the last
// attempt still works, and once the attempts are spent even the right code
// is refused.
func TestAttempts(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s, rec := newService(c, verify.Options{MaxAttempts: 3, Cooldown: time.Nanosecond})
		ctx := context.Background()

		sent(t, s, verify.Register)
		code := rec.Last(phone)
		for range 2 {
			requireReason(t, s.Check(ctx, phone, verify.Register, wrong(code)), apperr.BadUserInput, verify.ReasonCodeInvalid)
		}
		require.NoError(t, s.Check(ctx, phone, verify.Register, code), "the right code on the last attempt")

		sent(t, s, verify.Login)
		code = rec.Last(phone)
		for range 3 {
			requireReason(t, s.Check(ctx, phone, verify.Login, wrong(code)), apperr.BadUserInput, verify.ReasonCodeInvalid)
		}
		requireReason(t, s.Check(ctx, phone, verify.Login, code), apperr.RateLimited, verify.ReasonCodeAttempts)
		require.Equal(t, 3, c.VerificationCode.Query().Where(verificationcode.PurposeEQ(verify.Login)).OnlyX(sys).Attempts)

		// A new code starts with all its attempts.
		time.Sleep(time.Millisecond)
		sent(t, s, verify.Login)
		require.NoError(t, s.Check(ctx, phone, verify.Login, rec.Last(phone)))
	})
}

// TestConcurrentGuesses: guesses racing on one code are checked at most
// MaxAttempts times, the rest refused as too many, on every backend.
func TestConcurrentGuesses(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s, rec := newService(c, verify.Options{MaxAttempts: 4})
		ctx := context.Background()
		sent(t, s, verify.Register)
		guess := wrong(rec.Last(phone))

		const n = 12
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = s.Check(ctx, phone, verify.Register, guess) })
		}
		wg.Wait()
		reasons := map[string]int{}
		for _, err := range errs {
			e, ok := apperr.As(err)
			require.True(t, ok, "not an apperr: %v", err)
			reasons[e.Reason]++
		}
		require.Equal(t, map[string]int{verify.ReasonCodeInvalid: 4, verify.ReasonCodeAttempts: n - 4}, reasons)
		require.Equal(t, 4, c.VerificationCode.Query().OnlyX(sys).Attempts)
	})
}

// TestExpiry: a code is refused as expired once its TTL has passed, the
// right code too.
func TestExpiry(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s, rec := newService(c, verify.Options{TTL: 50 * time.Millisecond})
		ctx := context.Background()
		sent(t, s, verify.Reset)
		time.Sleep(100 * time.Millisecond)
		requireReason(t, s.Check(ctx, phone, verify.Reset, rec.Last(phone)), apperr.BadUserInput, verify.ReasonCodeExpired)
		require.Zero(t, c.VerificationCode.Query().OnlyX(sys).Attempts, "an expired code spends no attempt")
	})
}

// TestCooldown: a second code for the same phone and purpose waits out the
// cooldown, and the refusal says how long, at least a second; another
// purpose does not wait; after the cooldown the new code replaces the old
// one.
func TestCooldown(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s, rec := newService(c, verify.Options{Cooldown: 300 * time.Millisecond})
		ctx := context.Background()
		sent(t, s, verify.Register)
		first := rec.Last(phone)

		_, err := s.Send(ctx, phone, verify.Register, "")
		e := requireReason(t, err, apperr.RateLimited, verify.ReasonResendTooSoon)
		require.Equal(t, time.Second, e.RetryAfter, "the wait left, but never under a second")
		require.Equal(t, "input.phone", e.Field)
		require.Equal(t, first, rec.Last(phone), "nothing was sent")

		_, err = s.Send(ctx, phone, verify.Forget, "")
		require.NoError(t, err, "the cooldown is per purpose")

		time.Sleep(350 * time.Millisecond)
		sent(t, s, verify.Register)
		second := rec.Last(phone)
		if second != first {
			requireReason(t, s.Check(ctx, phone, verify.Register, first), apperr.BadUserInput, verify.ReasonCodeInvalid)
		}
		require.NoError(t, s.Check(ctx, phone, verify.Register, second))

		// With the default cooldown, the hint is the minute's remainder.
		d, _ := newService(c, verify.Options{})
		const other = "+8613800000002"
		_, err = d.Send(ctx, other, verify.Register, "")
		require.NoError(t, err)
		_, err = d.Send(ctx, other, verify.Register, "")
		e = requireReason(t, err, apperr.RateLimited, verify.ReasonResendTooSoon)
		require.Greater(t, e.RetryAfter, 55*time.Second)
		require.LessOrEqual(t, e.RetryAfter, time.Minute)
	})
}

// TestHourlyLimits: a phone gets a bounded number of codes an hour, of
// every purpose together, and so does a client address over every phone;
// the refusal's retryAfter is when the oldest of the hour's codes frees a
// place. Codes without an address count only for their phone.
func TestHourlyLimits(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s, _ := newService(c, verify.Options{Cooldown: time.Nanosecond, PerPhoneHourly: 2, PerAddressHourly: 3})
		ctx := context.Background()
		send := func(phone string, p verify.Purpose, ip string) error {
			time.Sleep(time.Millisecond) // past the cooldown
			_, err := s.Send(ctx, phone, p, ip)
			return err
		}
		require.NoError(t, send(phone, verify.Register, ""))
		require.NoError(t, send(phone, verify.Login, ""))
		e := requireReason(t, send(phone, verify.Forget, ""), apperr.RateLimited, verify.ReasonTooManyCodes)
		require.Equal(t, "input.phone", e.Field)
		require.Greater(t, e.RetryAfter, 59*time.Minute)
		require.LessOrEqual(t, e.RetryAfter, time.Hour)

		const ip = "10.0.0.9"
		require.NoError(t, send("+8613800000011", verify.Register, ip))
		require.NoError(t, send("+8613800000012", verify.Register, ip))
		require.NoError(t, send("+8613800000013", verify.Register, ip))
		e = requireReason(t, send("+8613800000014", verify.Register, ip), apperr.RateLimited, verify.ReasonTooManyCodes)
		require.Empty(t, e.Field, "the address is no input field")
		require.Greater(t, e.RetryAfter, 59*time.Minute)
		require.NoError(t, send("+8613800000014", verify.Register, "10.0.0.10"), "another address")
		require.NoError(t, send("+8613800000015", verify.Register, ""), "no address")
	})
}

// failingSender fails every send, as a gateway that is down.
type failingSender struct{}

// Send fails.
func (failingSender) Send(context.Context, string, string, verify.Purpose) error {
	return errors.New("gateway down")
}

// TestSendFails: when the sender fails, Send says the code is unavailable,
// and in the request's transaction, rolled back, it leaves no code behind:
// neither a usable one nor one that counts toward the limits.
func TestSendFails(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s := verify.NewService(c, failingSender{}, []byte("secret"), verify.Options{})
		err := txn.Run(context.Background(), c, func(ctx context.Context) error {
			_, err := s.Send(ctx, phone, verify.Register, "10.0.0.1")
			return err
		})
		e := requireReason(t, err, apperr.Internal, verify.ReasonCodeUnavailable)
		require.ErrorContains(t, e.Err, "gateway down", "the cause is kept for the logs")
		require.Zero(t, c.VerificationCode.Query().CountX(sys))

		ok, rec := newService(c, verify.Options{})
		_, err = ok.Send(context.Background(), phone, verify.Register, "10.0.0.1")
		require.NoError(t, err, "no cooldown left by the failed send")
		require.NoError(t, ok.Check(context.Background(), phone, verify.Register, rec.Last(phone)))
	})
}

// TestPretend: Pretend answers as Send would, from the same options, and
// stores and sends nothing.
func TestPretend(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s, rec := newService(c, verify.Options{TTL: 2 * time.Minute, Cooldown: 30 * time.Second})
		issued := s.Pretend()
		require.WithinDuration(t, time.Now().Add(2*time.Minute), issued.ExpiresAt, 5*time.Second)
		require.WithinDuration(t, time.Now().Add(30*time.Second), issued.ResendAfter, 5*time.Second)
		require.Zero(t, c.VerificationCode.Query().CountX(sys))
		require.Empty(t, rec.Last(phone))
	})
}
