package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
)

// TestRegisterErrors covers every S1-03 reason of registration.
func TestRegisterErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newServer(t, b)
		s.register("taken", map[string]any{"phone": "13800000001", "email": "taken@example.com"})
		cases := []struct {
			name         string
			in           map[string]any
			code, reason string
			field        string
		}{
			{"empty username", map[string]any{"username": "", "password": "password1"}, "BAD_USER_INPUT", "USERNAME_REQUIRED", "input.username"},
			{"short username", map[string]any{"username": "ab", "password": "password1"}, "BAD_USER_INPUT", "USERNAME_LENGTH", "input.username"},
			{"long username", map[string]any{"username": strings.Repeat("a", 33), "password": "password1"}, "BAD_USER_INPUT", "USERNAME_LENGTH", "input.username"},
			{"illegal username", map[string]any{"username": "1bob", "password": "password1"}, "BAD_USER_INPUT", "USERNAME_ILLEGAL", "input.username"},
			{"illegal characters", map[string]any{"username": "bob@x", "password": "password1"}, "BAD_USER_INPUT", "USERNAME_ILLEGAL", "input.username"},
			{"empty password", map[string]any{"username": "bob", "password": ""}, "BAD_USER_INPUT", "PASSWORD_REQUIRED", "input.password"},
			{"short password", map[string]any{"username": "bob", "password": "short"}, "BAD_USER_INPUT", "PASSWORD_TOO_SHORT", "input.password"},
			{"long password", map[string]any{"username": "bob", "password": strings.Repeat("p", 73)}, "BAD_USER_INPUT", "PASSWORD_TOO_LONG", "input.password"},
			{"phone format", map[string]any{"username": "bob", "password": "password1", "phone": "138-0000"}, "BAD_USER_INPUT", "PHONE_INVALID", "input.phone"},
			{"phone length", map[string]any{"username": "bob", "password": "password1", "phone": "123"}, "BAD_USER_INPUT", "PHONE_LENGTH", "input.phone"},
			{"email", map[string]any{"username": "bob", "password": "password1", "email": "not-an-email"}, "BAD_USER_INPUT", "EMAIL_INVALID", "input.email"},
			{"nickname too long", map[string]any{"username": "bob", "password": "password1", "nickname": strings.Repeat("猫", 65)}, "BAD_USER_INPUT", "TOO_LONG", "input.nickname"},
			{"username taken", map[string]any{"username": "Taken", "password": "password1"}, "CONFLICT", "USERNAME_TAKEN", "input.username"},
			{"phone taken", map[string]any{"username": "bob", "password": "password1", "phone": "13800000001"}, "CONFLICT", "PHONE_TAKEN", "input.phone"},
			{"email taken", map[string]any{"username": "bob", "password": "password1", "email": "TAKEN@example.com"}, "CONFLICT", "EMAIL_TAKEN", "input.email"},
		}
		for _, c := range cases {
			r := s.do("", registerMutation, map[string]any{"in": c.in})
			require.Equal(t, c.code, r.code(), c.name)
			require.Equal(t, c.reason, r.reason(), c.name)
			require.Equal(t, c.field, r.ext("field"), c.name)
		}
		// Nothing half-written: bob does not exist after all those failures.
		require.Equal(t, "WRONG_PASSWORD", s.do("", loginMutation, login("bob", "password1")).reason())
	})
}

const loginMutation = `mutation($in: LoginInput!) { login(input: $in) { accessToken refreshToken user { id username } } }`

func login(name, pw string) map[string]any {
	return map[string]any{"in": map[string]any{"login": name, "password": pw}}
}

// TestLogin covers S1-01 and S4-08: sign in by username, email or phone;
// wrong password; already signed in; me.
func TestLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newServer(t, b)
		alice := s.register("alice", map[string]any{"phone": "+8613800000002", "email": "alice@example.com", "nickname": "爱丽丝"})
		for _, key := range []string{"alice", "ALICE", "alice@example.com", "+8613800000002"} {
			var out struct{ Login struct{ AccessToken string } }
			s.ok("", loginMutation, login(key, "password1"), &out)
			var me struct {
				Me struct{ Username, Nickname, Email, Phone string }
			}
			s.ok(out.Login.AccessToken, `{ me { username nickname email phone } }`, nil, &me)
			require.Equal(t, "alice", me.Me.Username)
			require.Equal(t, "爱丽丝", me.Me.Nickname)
			require.Equal(t, "alice@example.com", me.Me.Email)
			require.Equal(t, "+8613800000002", me.Me.Phone)
		}
		r := s.do("", loginMutation, login("alice", "wrong-password"))
		require.Equal(t, "UNAUTHENTICATED", r.code())
		require.Equal(t, "WRONG_PASSWORD", r.reason())
		require.Equal(t, "WRONG_PASSWORD", s.do("", loginMutation, login("nobody", "password1")).reason(), "an unknown user looks like a wrong password")
		require.Equal(t, "USER_REQUIRED", s.do("", loginMutation, login("", "password1")).reason())
		require.Equal(t, "PASSWORD_REQUIRED", s.do("", loginMutation, login("alice", "")).reason())
		require.Equal(t, "ALREADY_SIGNED_IN", s.do(alice.Token, loginMutation, login("alice", "password1")).reason())

		var anon struct{ Me *struct{ ID string } }
		s.ok("", `{ me { id } }`, nil, &anon)
		require.Nil(t, anon.Me)
	})
}

// TestSessions covers logout, refresh, refresh-token replay and disabling.
func TestSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newServer(t, b)
		alice := s.register("alice", nil)

		// Refresh rotates; the old refresh token is a replay that ends the session.
		var out struct {
			RefreshToken struct{ AccessToken, RefreshToken string }
		}
		s.ok("", `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }`, map[string]any{"r": alice.Refresh}, &out)
		s.ok(out.RefreshToken.AccessToken, `{ me { id } }`, nil, nil)
		r := s.do("", `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, map[string]any{"r": alice.Refresh})
		require.Equal(t, "SESSION_REVOKED", r.reason())
		r = s.do(out.RefreshToken.AccessToken, `{ me { id } }`, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Equal(t, "SESSION_REVOKED", r.reason())

		// An access token is not a refresh token, and garbage is refused.
		require.Equal(t, "TOKEN_INVALID", s.do("", `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, map[string]any{"r": alice.Token}).reason())
		require.Equal(t, "TOKEN_INVALID", s.do("not.a.token", `{ me { id } }`, nil).reason())
		// alg: none is refused.
		none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwic2lkIjoxLCJ0eXAiOiJhY2Nlc3MifQ."
		require.Equal(t, "TOKEN_INVALID", s.do(none, `{ me { id } }`, nil).reason())

		// Logout ends this session only.
		var second struct{ Login struct{ AccessToken string } }
		s.ok("", loginMutation, login("alice", "password1"), &second)
		third := s.do("", loginMutation, login("alice", "password1"))
		require.Empty(t, third.Errors)
		s.ok(second.Login.AccessToken, `mutation { logout }`, nil, nil)
		require.Equal(t, "SESSION_REVOKED", s.do(second.Login.AccessToken, `{ me { id } }`, nil).reason())
		require.Equal(t, "SIGN_IN_REQUIRED", s.do("", `mutation { logout }`, nil).reason())

		// A disabled account cannot sign in, and its tokens stop working.
		bob := s.register("bob", nil)
		ctx := viewer.SystemContext(context.Background())
		require.NoError(t, s.app.Client.User.Update().Where(user.Username("bob")).
			SetAccountState(user.AccountStateDisabled).Exec(ctx))
		require.Equal(t, "ACCOUNT_DISABLED", s.do(bob.Token, `{ me { id } }`, nil).reason())
		require.Equal(t, "ACCOUNT_DISABLED", s.do("", loginMutation, login("bob", "password1")).reason())
	})
}

// TestLoginRateLimit: repeated failures on one account are throttled.
func TestLoginRateLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig(t, b.url(t))
		cfg.LoginBurst = 3
		s := start(t, cfg)
		s.register("alice", nil)
		for i := 0; i < 3; i++ {
			require.Equal(t, "WRONG_PASSWORD", s.do("", loginMutation, login("alice", "nope-nope")).reason())
		}
		r := s.do("", loginMutation, login("alice", "password1"))
		require.Equal(t, "RATE_LIMITED", r.code())
		require.Equal(t, "TOO_MANY_ATTEMPTS", r.reason())
	})
}

// TestErrorsClipEchoedInput: an error message quotes at most a short prefix
// of what the client sent (apperr.Clip: 64 characters and "…"), so a
// hostile client cannot have a huge input reflected back.
func TestErrorsClipEchoedInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newServer(t, b)
		alice := s.register("alice", nil)
		huge := strings.Repeat("界", 200_000) + "@example.com" // 600 KB, under the body limit
		want := `email "` + strings.Repeat("界", 64) + `…" is not a valid address`

		short := func(r response) string {
			t.Helper()
			require.NotEmpty(t, r.Errors)
			msg := r.Errors[0].Message
			require.LessOrEqual(t, len(msg), 300, "a message of %d bytes: %.100q…", len(msg), msg)
			return msg
		}

		r := s.do("", registerMutation, map[string]any{"in": map[string]any{"username": "bob", "password": "password1", "email": huge}})
		require.Equal(t, "EMAIL_INVALID", r.reason())
		require.Equal(t, want, short(r))

		r = s.do(alice.Token, `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { id } }`, map[string]any{"in": map[string]any{"email": huge}})
		require.Equal(t, "EMAIL_INVALID", r.reason())
		require.Equal(t, want, short(r))

		// A short input is quoted whole, as before.
		r = s.do("", registerMutation, map[string]any{"in": map[string]any{"username": "bob", "password": "password1", "email": "not-an-email"}})
		require.Equal(t, `email "not-an-email" is not a valid address`, r.Errors[0].Message)

		// An ID argument is input too.
		r = s.do(alice.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": strings.Repeat("9x", 100_000)})
		require.Equal(t, "BAD_USER_INPUT", r.code(), "%+v", r.Errors)
		require.Equal(t, `"`+strings.Repeat("9x", 32)+`…" is not a valid id`, short(r))
	})
}
