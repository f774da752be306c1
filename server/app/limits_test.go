package app_test

// Tests of the rate limits (password guesses, registration, SMS codes,
// writes) and of the cap on mutation fields, through the real HTTP handler
// on every backend. Clients are told apart by address: from connects from
// another loopback address (127.0.0.2, …), which Linux routes to the
// server like 127.0.0.1.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// parallel sends n requests at once, request i built by vars(i), and
// counts the reasons of their first errors ("" for a success).
func (s *server) parallel(n int, token, query string, vars func(i int) map[string]any) map[string]int {
	s.T.Helper()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
		errs   []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := s.Post(context.Background(), token, query, vars(i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			counts[r.Reason()]++
		}()
	}
	close(start)
	wg.Wait()
	require.Empty(s.T, errs)
	return counts
}

// aliased is a mutation of n copies of field, aliased f0, f1, ….
func aliased(n int, field string) string {
	var b strings.Builder
	b.WriteString("mutation {")
	for i := range n {
		fmt.Fprintf(&b, " f%d: %s", i, field)
	}
	b.WriteString(" }")
	return b.String()
}

// reasons counts the reasons of r's errors.
func reasons(r response) map[string]int {
	out := map[string]int{}
	for _, e := range r.Errors {
		reason, _ := e.Extensions["reason"].(string)
		out[reason]++
	}
	return out
}

// requireRetryAfter checks that every error of r with reason is
// RATE_LIMITED and carries extensions.retryAfter, a whole number of
// seconds between 1 and most.
func requireRetryAfter(t *testing.T, r response, reason string, most int) {
	t.Helper()
	seen := 0
	for _, e := range r.Errors {
		if e.Extensions["reason"] != reason {
			continue
		}
		seen++
		require.Equal(t, "RATE_LIMITED", e.Extensions["code"], "%+v", e)
		after, ok := e.Extensions["retryAfter"].(float64)
		require.True(t, ok, "no retryAfter in %+v", e)
		require.Equal(t, float64(int(after)), after, "retryAfter is whole seconds")
		require.GreaterOrEqual(t, after, 1.0)
		require.LessOrEqual(t, after, float64(most))
	}
	require.NotZero(t, seen, "no %s error in %+v", reason, r.Errors)
}

// TestPasswordGuessesRateLimited: changePassword's old password and
// deleteAccount's password are guesses like a sign-in, from the same
// budget, counted one by one however many aliases a request holds; a
// correct password gives its attempt back.
func TestPasswordGuessesRateLimited(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.LoginBurst = 3 }, func(t *testing.T, s *server) {

		alice := s.Register("alice", nil)
		r := s.Do(alice.Token, aliased(10, `changePassword(input: {oldPassword: "guess-guess", newPassword: "password2"}) { accessToken }`), nil)
		require.Equal(t, map[string]int{"WRONG_PASSWORD": 3, "TOO_MANY_ATTEMPTS": 7}, reasons(r), "%+v", r.Errors)
		requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 60)
		// The budget is sign-in's: now even the right password waits, at
		// every door.
		r = s.Do(alice.Token, `mutation { deleteAccount(password: "password1") }`, nil)
		requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 60)
		r = s.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "password1"))
		requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 60)
		s.OK(alice.Token, `{ me { id } }`, nil, nil) // nothing was deleted or changed

		bob := s.Register("bob", nil)
		r = s.Do(bob.Token, aliased(5, `deleteAccount(password: "guess-guess")`), nil)
		require.Equal(t, map[string]int{"WRONG_PASSWORD": 3, "TOO_MANY_ATTEMPTS": 2}, reasons(r), "%+v", r.Errors)
		requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 60)
		r = s.Do("", apptest.LoginMutation, apptest.LoginVars("bob", "password1"))
		require.Equal(t, "TOO_MANY_ATTEMPTS", r.Reason())

		// Right passwords do not wear the budget out: carol signs in and
		// changes her password more often than the burst.
		s.Register("carol", nil)
		for range 5 {
			s.OK("", apptest.LoginMutation, apptest.LoginVars("carol", "password1"), nil)
		}
		var in struct{ Login struct{ AccessToken string } }
		s.OK("", apptest.LoginMutation, apptest.LoginVars("carol", "password1"), &in)
		token, pw := in.Login.AccessToken, "password1"
		for i := range 4 {
			next := fmt.Sprintf("password-%d", i)
			var out struct{ ChangePassword struct{ AccessToken string } }
			s.OK(token, `mutation($old: String!, $new: String!) { changePassword(input: {oldPassword: $old, newPassword: $new}) { accessToken } }`,
				map[string]any{"old": pw, "new": next}, &out)
			token, pw = out.ChangePassword.AccessToken, next
		}
		// Two wrong guesses and a right one leave room for two more wrong.
		for range 2 {
			require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars("carol", "wrong-wrong")).Reason())
		}
		s.OK("", apptest.LoginMutation, apptest.LoginVars("carol", pw), nil)
		require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars("carol", "wrong-wrong")).Reason())
		require.Equal(t, "TOO_MANY_ATTEMPTS", s.Do("", apptest.LoginMutation, apptest.LoginVars("carol", "wrong-wrong")).Reason())
	})
}

// TestSignInLimitPerAccount: the budget is the account's, whichever of
// username, email and phone the guesses name it by; a login that matches
// no account is limited by its normalised form.
func TestSignInLimitPerAccount(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.LoginBurst = 3 }, func(t *testing.T, s *server) {
		s.Register("alice", map[string]any{"email": "alice@example.com", "phone": "+8613800000042"})

		for _, key := range []string{"alice", "Alice@Example.com", "+8613800000042"} {
			require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars(key, "guess-guess")).Reason(), key)
		}
		for _, key := range []string{"ALICE", "alice@example.com", "+8613800000042"} {
			r := s.Do("", apptest.LoginMutation, apptest.LoginVars(key, "password1"))
			requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 60)
		}

		for _, key := range []string{"nobody", " Nobody ", "NOBODY"} {
			require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars(key, "guess-guess")).Reason(), key)
		}
		r := s.Do("", apptest.LoginMutation, apptest.LoginVars("noBody", "guess-guess"))
		requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 60)
		// Another unknown login has its own budget.
		require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars("somebody", "guess-guess")).Reason())
	})
}

// TestSignInLockOut: a stranger guessing from his address exhausts only
// his own budget for the account, and the owner signs in from his; only
// the per-account backstop, which takes guesses from many addresses to
// drain, stops everyone; and one address spraying many accounts is
// limited by its address budget.
func TestSignInLockOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		cfg := apptest.Config(t, b.URL(t))
		cfg.LoginBurst = 3
		cfg.LoginAccountBurst = 5
		cfg.LoginAddressBurst = 6
		s := start(t, cfg)
		s.Register("alice", nil)
		owner, stranger := s.from("127.0.0.1"), s.from("127.0.0.2")

		for i := range 6 {
			r := stranger.Do("", apptest.LoginMutation, apptest.LoginVars("alice", fmt.Sprintf("guess-%d", i)))
			if i < 3 {
				require.Equal(t, "WRONG_PASSWORD", r.Reason())
			} else {
				requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 60)
			}
		}
		owner.OK("", apptest.LoginMutation, apptest.LoginVars("alice", "password1"), nil)
		require.Equal(t, "WRONG_PASSWORD", owner.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "typo-typo")).Reason())
		owner.OK("", apptest.LoginMutation, apptest.LoginVars("alice", "password1"), nil)

		// Wrong guesses so far: 3 from the stranger, 1 from the owner. A
		// third address spends the fifth, and the backstop then refuses
		// every address, the owner's too, for a while (30 s a guess).
		require.Equal(t, "WRONG_PASSWORD", s.from("127.0.0.3").Do("", apptest.LoginMutation, apptest.LoginVars("alice", "guess-x")).Reason())
		r := s.from("127.0.0.4").Do("", apptest.LoginMutation, apptest.LoginVars("alice", "guess-y"))
		requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 30)
		r = owner.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "password1"))
		requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 30)

		// One address, many accounts: six guesses, then the address waits.
		sprayer := s.from("127.0.0.5")
		for i := range 6 {
			require.Equal(t, "WRONG_PASSWORD", sprayer.Do("", apptest.LoginMutation, apptest.LoginVars(fmt.Sprintf("user%d", i), "password1")).Reason())
		}
		r = sprayer.Do("", apptest.LoginMutation, apptest.LoginVars("user9", "password1"))
		requireRetryAfter(t, r, "TOO_MANY_ATTEMPTS", 30)
	})
}

// TestSignInLimitsAcrossInstances: two instances on one database share the
// account budgets, so spreading guesses over instances gains nothing.
func TestSignInLimitsAcrossInstances(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		url := b.URL(t)
		cfg := apptest.Config(t, url)
		cfg.LoginBurst = 3
		one := start(t, cfg)
		cfg2 := cfg
		cfg2.UploadDir = t.TempDir() // cfg2 shares cfg's DataDir: SQLite's file
		two := start(t, cfg2)

		one.Register("alice", nil)
		require.Equal(t, "WRONG_PASSWORD", one.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "guess-1")).Reason())
		require.Equal(t, "WRONG_PASSWORD", two.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "guess-2")).Reason())
		require.Equal(t, "WRONG_PASSWORD", one.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "guess-3")).Reason())
		requireRetryAfter(t, two.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "password1")), "TOO_MANY_ATTEMPTS", 60)
		requireRetryAfter(t, one.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "password1")), "TOO_MANY_ATTEMPTS", 60)
	})
}

// TestSignInLimitUnderConcurrency: thirty guesses at once, at an account
// never guessed before (its row is created by the race) and at one that
// is, check the password exactly as often as the budget allows.
func TestSignInLimitUnderConcurrency(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.LoginBurst = 5 }, func(t *testing.T, s *server) {
		s.Register("alice", nil)
		guess := func(i int) map[string]any { return apptest.LoginVars("alice", fmt.Sprintf("guess-%d", i)) }
		require.Equal(t, map[string]int{"WRONG_PASSWORD": 5, "TOO_MANY_ATTEMPTS": 25}, s.parallel(30, "", apptest.LoginMutation, guess))

		s.Register("bob", nil)
		require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars("bob", "guess-guess")).Reason())
		require.Equal(t, map[string]int{"WRONG_PASSWORD": 4, "TOO_MANY_ATTEMPTS": 26}, s.parallel(30, "", apptest.LoginMutation, func(i int) map[string]any {
			return apptest.LoginVars("bob", fmt.Sprintf("guess-%d", i))
		}))
	})
}

// TestSMSCodeAttemptsUnderConcurrency: sixty wrong codes at once are
// checked five times at most, on any backend; the right code then fails
// too. The right code on the last attempt still works.
func TestSMSCodeAttemptsUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := newSocialServer(t, b, func(c *app.Config) { c.Codes.Cooldown = time.Millisecond })
		const phone = "+8613800000077"
		s.Register("pat", map[string]any{"phone": phone})
		const send = `mutation($p: String!) { sendVerificationCode(input: {phone: $p, purpose: forget}) { expiresAt } }`
		const reset = `mutation($in: ResetPasswordInput!) { resetPassword(input: $in) }`
		in := func(code string) map[string]any {
			return map[string]any{"in": map[string]any{"phone": phone, "code": code, "username": "pat", "newPassword": "password5"}}
		}

		s.OK("", send, map[string]any{"p": phone}, nil)
		code := s.codes.Last(phone)
		counts := s.parallel(60, "", reset, func(i int) map[string]any {
			return in(fmt.Sprintf("%06d", (intID(code)+1+i)%1000000))
		})
		require.Equal(t, map[string]int{"CODE_INVALID": 5, "CODE_TOO_MANY_ATTEMPTS": 55}, counts)
		require.Equal(t, "CODE_TOO_MANY_ATTEMPTS", s.Do("", reset, in(code)).Reason())

		s.OK("", send, map[string]any{"p": phone}, nil)
		code = s.codes.Last(phone)
		for i := range 4 {
			require.Equal(t, "CODE_INVALID", s.Do("", reset, in(fmt.Sprintf("%06d", (intID(code)+1+i)%1000000))).Reason())
		}
		s.OK("", reset, in(code), nil)
		s.OK("", apptest.LoginMutation, apptest.LoginVars("pat", "password5"), nil)
	})
}

// TestResendCarriesRetryAfter: a code asked for again too soon says when
// to ask.
func TestResendCarriesRetryAfter(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		const send = `mutation($p: String!) { sendVerificationCode(input: {phone: $p, purpose: register}) { expiresAt } }`
		s.OK("", send, map[string]any{"p": "+8613800000078"}, nil)
		requireRetryAfter(t, s.Do("", send, map[string]any{"p": "+8613800000078"}), "RESEND_TOO_SOON", 60)
	})
}

// TestRegistrationLimit: one address registers a bounded number of
// accounts, whether the registrations come in parallel or aliased in one
// request; another address has its own budget, and a user creating
// accounts (createUser) has his.
func TestRegistrationLimit(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.RegistrationsPerHour = 5 }, func(t *testing.T, s *server) {

		counts := s.parallel(40, "", apptest.RegisterMutation, func(i int) map[string]any {
			return map[string]any{"in": map[string]any{"username": fmt.Sprintf("user%d", i), "password": "password1"}}
		})
		require.Equal(t, map[string]int{"": 5, "TOO_MANY_ACCOUNTS": 35}, counts)
		r := s.Do("", apptest.RegisterMutation, map[string]any{"in": map[string]any{"username": "late", "password": "password1"}})
		requireRetryAfter(t, r, "TOO_MANY_ACCOUNTS", 12*60)
		// Invalid input is refused before it spends anything.
		r = s.Do("", apptest.RegisterMutation, map[string]any{"in": map[string]any{"username": "x", "password": "password1"}})
		require.Equal(t, "USERNAME_LENGTH", r.Reason())

		other := s.from("127.0.0.2")
		r = other.Do("", aliased(8, `register(input: {username: "u", password: "password1"}) { accessToken }`), nil)
		require.Equal(t, map[string]int{"USERNAME_LENGTH": 8}, reasons(r))
		var fields []string
		for i := range 8 {
			fields = append(fields, fmt.Sprintf(`r%d: register(input: {username: "alias%d", password: "password1"}) { accessToken }`, i, i))
		}
		r = other.Do("", "mutation { "+strings.Join(fields, " ")+" }", nil)
		require.Equal(t, map[string]int{"TOO_MANY_ACCOUNTS": 3}, reasons(r), "%+v", r.Errors)
		requireRetryAfter(t, r, "TOO_MANY_ACCOUNTS", 12*60)

		// A user's createUser spends from his own budget, not his
		// address's.
		admin := s.from("127.0.0.3")
		root := admin.Register("root", nil)
		s.admin(root)
		const create = `mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`
		for i := range 5 {
			admin.OK(root.Token, create, map[string]any{"in": map[string]any{"username": fmt.Sprintf("staff%d", i), "password": "password1"}}, nil)
		}
		r = admin.Do(root.Token, create, map[string]any{"in": map[string]any{"username": "staff5", "password": "password1"}})
		requireRetryAfter(t, r, "TOO_MANY_ACCOUNTS", 12*60)
		admin.Register("another", nil)
	})
}

// TestMutationFieldCap: a mutation holds at most MaxMutationFields
// top-level fields (10 by default), counting aliases and the fields that
// fragments spread; over that, nothing runs and the error says why.
// Queries are not capped.
func TestMutationFieldCap(t *testing.T) {
	eachKit(t, newAnnKit, func(t *testing.T, k annKit) {
		alice := k.Register("alice", nil)
		p := k.id(alice.Token, annCreateProject, map[string]any{"name": "capped"})
		addText := `addText(input: {projectId: $p, name: "t", content: $c}) { id }`
		text := strings.Repeat("字", 100_000)
		vars := map[string]any{"p": p, "c": text}
		many := func(n int) string {
			q := aliased(n, addText)
			return strings.Replace(q, "mutation {", "mutation($p: ID!, $c: String!) {", 1)
		}

		r := k.Do(alice.Token, many(11), vars)
		require.Len(t, r.Errors, 1)
		require.Equal(t, "BAD_USER_INPUT", r.Code())
		require.Equal(t, "TOO_MANY_MUTATIONS", r.Reason())
		require.Equal(t, float64(10), r.Errors[0].Extensions["limit"])
		require.Equal(t, float64(11), r.Errors[0].Extensions["actual"])
		require.Empty(t, r.Data, "refused before execution: no data entry")

		// Fragments count once per spread: 2 × 6 = 12.
		frag := `mutation($p: ID!, $c: String!) { ...six ...six } fragment six on Mutation { a: ` + addText + ` b: ` + addText +
			` c: ` + addText + ` d: ` + addText + ` e: ` + addText + ` f: ` + addText + ` }`
		r = k.Do(alice.Token, frag, vars)
		require.Equal(t, "TOO_MANY_MUTATIONS", r.Reason())
		require.Equal(t, float64(12), r.Errors[0].Extensions["actual"])

		var texts struct{ Texts struct{ TotalCount int } }
		k.OK(alice.Token, `query($p: ID!) { texts(projectId: $p) { totalCount } }`, map[string]any{"p": p}, &texts)
		require.Zero(t, texts.Texts.TotalCount, "a refused operation runs no resolver")

		k.OK(alice.Token, many(10), vars, nil)
		k.OK(alice.Token, `query($p: ID!) { texts(projectId: $p) { totalCount } }`, map[string]any{"p": p}, &texts)
		require.Equal(t, 10, texts.Texts.TotalCount)
		k.OK(alice.Token, strings.Replace(aliased(30, "me { id }"), "mutation", "query", 1), nil, nil)
	})
}

// TestMutationFieldCapSetting: the cap is a setting.
func TestMutationFieldCapSetting(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.MaxMutationFields = 2 }, func(t *testing.T, s *server) {
		r := s.Do("", aliased(3, "logout"), nil)
		require.Equal(t, "TOO_MANY_MUTATIONS", r.Reason())
		require.Equal(t, float64(2), r.Errors[0].Extensions["limit"])
		require.Equal(t, "SIGN_IN_REQUIRED", s.Do("", aliased(2, "logout"), nil).Reason())
	})
}

// TestWriteBudgets: each user sends, adds texts and creates annotation
// objects at a bounded rate; over it, RATE_LIMITED TOO_MANY_WRITES with
// retryAfter. Each aliased field spends, a retried send spends nothing,
// and an import spends one per item, at once.
func TestWriteBudgets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		k := annKit{newServer(t, b, func(c *app.Config) { c.MessagesPerMinute, c.TextsPerMinute, c.EntitiesPerMinute = 3, 2, 4 })}
		alice, bob := k.Register("alice", nil), k.Register("bob", nil)

		var sent struct{ SendMessage struct{ ID string } }
		k.OK(alice.Token, apptest.SendMessageMutation, map[string]any{"to": bob.ID, "text": "x", "cid": "c-1"}, &sent)
		r := k.Do(alice.Token, aliased(3, fmt.Sprintf(`sendMessage(input: {to: %q, text: "more"}) { id }`, bob.ID)), nil)
		require.Equal(t, map[string]int{"TOO_MANY_WRITES": 1}, reasons(r), "%+v", r.Errors)
		requireRetryAfter(t, r, "TOO_MANY_WRITES", 20)
		r = k.Do(alice.Token, `mutation($in: SendInput!) { send(input: $in) { id } }`, map[string]any{"in": map[string]any{"to": bob.ID, "text": "again"}})
		requireRetryAfter(t, r, "TOO_MANY_WRITES", 20)
		// A retry returns what was sent, and bob's budget is his own.
		var retried struct{ SendMessage struct{ ID string } }
		k.OK(alice.Token, apptest.SendMessageMutation, map[string]any{"to": bob.ID, "text": "x", "cid": "c-1"}, &retried)
		require.Equal(t, sent.SendMessage.ID, retried.SendMessage.ID)
		k.Send(bob, alice, "reply")

		p := k.id(alice.Token, annCreateProject, map[string]any{"name": "budget"})
		k.OK(alice.Token, annAddText, map[string]any{"p": p, "name": "a", "content": "abc"}, nil)
		k.OK(alice.Token, annAddText, map[string]any{"p": p, "name": "b", "content": "abc"}, nil)
		r = k.Fails(alice.Token, annAddText, map[string]any{"p": p, "name": "c", "content": "abc"}, "RATE_LIMITED", "TOO_MANY_WRITES")
		requireRetryAfter(t, r, "TOO_MANY_WRITES", 30)

		e1 := k.id(alice.Token, annAddEntity, map[string]any{"p": p, "name": "e1", "label": "L"})
		e2 := k.id(alice.Token, annAddEntity, map[string]any{"p": p, "name": "e2", "label": "L"})
		typ := k.id(alice.Token, annAddType, map[string]any{"p": p, "name": "knows"})
		k.id(alice.Token, annAddRelation, map[string]any{"type": typ, "s": e1, "t": e2})
		r = k.Fails(alice.Token, annAddEntity, map[string]any{"p": p, "name": "e3"}, "RATE_LIMITED", "TOO_MANY_WRITES")
		requireRetryAfter(t, r, "TOO_MANY_WRITES", 15)
		k.Fails(alice.Token, annImport, map[string]any{"p": p, "data": `[{"name": "e4"}]`}, "RATE_LIMITED", "TOO_MANY_WRITES")

		// Bob's budget is full: an import larger than it passes, and leaves
		// him in debt.
		q := k.id(bob.Token, annCreateProject, map[string]any{"name": "bulk"})
		k.OK(bob.Token, annImport, map[string]any{"p": q, "data": `[{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}, {"name": "e"}, {"name": "f"}]`}, nil)
		r = k.Fails(bob.Token, annAddEntity, map[string]any{"p": q, "name": "g"}, "RATE_LIMITED", "TOO_MANY_WRITES")
		requireRetryAfter(t, r, "TOO_MANY_WRITES", 60)
	})
}

// TestQueryLimits: depth, cost and token limits refuse a request with a
// code, and the server keeps serving.
func TestQueryLimits(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		u := s.Register("fred", nil)
		costly := `query($id: ID!) { node(id: $id) { ... on Message { conversation { messages(first: 100) { edges { node { conversation { messages(first: 100) { edges { node { conversation { members(first: 100) { totalCount } } } } } } } } } } } } }`
		r := s.Do(u.Token, costly, map[string]any{"id": u.ID})
		require.Equal(t, "QUERY_TOO_COMPLEX", r.Code())
		require.Equal(t, "COST_LIMIT", r.Reason())

		deep := `{ me { id } node(id: 1) { ... on Message { conversation { messages { edges { node { conversation { messages { edges { node { conversation { messages { edges { node { id } } } } } } } } } } } } } } }`
		r = s.Do(u.Token, deep, nil)
		require.Equal(t, "QUERY_TOO_COMPLEX", r.Code())
		require.Equal(t, "DEPTH_LIMIT", r.Reason())

		huge := "{ " + strings.Repeat("me { id } ", 20000) + "}"
		r = s.Do(u.Token, huge, nil)
		require.Equal(t, "GRAPHQL_PARSE_FAILED", r.Code())

		s.OK(u.Token, `{ me { id } }`, nil, nil)
	})
}
