package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent/user"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// TestRegisterErrors covers every reason registration refuses with.
func TestRegisterErrors(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		s.Register("taken", map[string]any{"phone": "13800000001", "email": "taken@example.com"})
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
			{"phone too short", map[string]any{"username": "bob", "password": "password1", "phone": "123"}, "BAD_USER_INPUT", "PHONE_INVALID", "input.phone"},
			{"phone not a number", map[string]any{"username": "bob", "password": "password1", "phone": "+86 139 1234 558"}, "BAD_USER_INPUT", "PHONE_INVALID", "input.phone"},
			{"phone blank", map[string]any{"username": "bob", "password": "password1", "phone": " "}, "BAD_USER_INPUT", "PHONE_REQUIRED", "input.phone"},
			{"email", map[string]any{"username": "bob", "password": "password1", "email": "not-an-email"}, "BAD_USER_INPUT", "EMAIL_INVALID", "input.email"},
			{"nickname too long", map[string]any{"username": "bob", "password": "password1", "nickname": strings.Repeat("猫", 65)}, "BAD_USER_INPUT", "TOO_LONG", "input.nickname"},
			{"username taken", map[string]any{"username": "Taken", "password": "password1"}, "CONFLICT", "USERNAME_TAKEN", "input.username"},
			{"phone taken", map[string]any{"username": "bob", "password": "password1", "phone": "13800000001"}, "CONFLICT", "PHONE_TAKEN", "input.phone"},
			{"phone taken in another form", map[string]any{"username": "bob", "password": "password1", "phone": "+86 138-0000-0001"}, "CONFLICT", "PHONE_TAKEN", "input.phone"},
			{"email taken", map[string]any{"username": "bob", "password": "password1", "email": "TAKEN@example.com"}, "CONFLICT", "EMAIL_TAKEN", "input.email"},
		}
		for _, c := range cases {
			r := s.Do("", apptest.RegisterMutation, map[string]any{"in": c.in})
			require.Equal(t, c.code, r.Code(), c.name)
			require.Equal(t, c.reason, r.Reason(), c.name)
			require.Equal(t, c.field, r.Ext("field"), c.name)
		}
		// Nothing half-written: bob does not exist after all those failures.
		require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars("bob", "password1")).Reason())
	})
}

// TestLogin: sign in by username, email or phone;
// wrong password; already signed in; me.
func TestLogin(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", map[string]any{"phone": "+8613800000002", "email": "alice@example.com", "nickname": "爱丽丝"})
		for _, key := range []string{"alice", "ALICE", "alice@example.com", "+8613800000002"} {
			var out struct{ Login struct{ AccessToken string } }
			s.OK("", apptest.LoginMutation, apptest.LoginVars(key, "password1"), &out)
			var me struct {
				Me struct{ Username, Nickname, Email, Phone string }
			}
			s.OK(out.Login.AccessToken, `{ me { username nickname email phone } }`, nil, &me)
			require.Equal(t, "alice", me.Me.Username)
			require.Equal(t, "爱丽丝", me.Me.Nickname)
			require.Equal(t, "alice@example.com", me.Me.Email)
			require.Equal(t, "+8613800000002", me.Me.Phone)
		}
		r := s.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "wrong-password"))
		require.Equal(t, "UNAUTHENTICATED", r.Code())
		require.Equal(t, "WRONG_PASSWORD", r.Reason())
		require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars("nobody", "password1")).Reason(), "an unknown user looks like a wrong password")
		require.Equal(t, "USER_REQUIRED", s.Do("", apptest.LoginMutation, apptest.LoginVars("", "password1")).Reason())
		require.Equal(t, "PASSWORD_REQUIRED", s.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "")).Reason())
		require.Equal(t, "ALREADY_SIGNED_IN", s.Do(alice.Token, apptest.LoginMutation, apptest.LoginVars("alice", "password1")).Reason())

		var anon struct{ Me *struct{ ID string } }
		s.OK("", `{ me { id } }`, nil, &anon)
		require.Nil(t, anon.Me)
	})
}

// TestSessions covers logout, refresh, refresh-token replay and disabling.
func TestSessions(t *testing.T) {
	// Without a reuse interval (TestRefreshReuseInterval has one).
	eachConfigured(t, func(c *app.Config) { c.RefreshReuse = 0 }, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)

		// Refresh rotates; the old refresh token is a replay that ends the session.
		var out struct {
			RefreshToken struct{ AccessToken, RefreshToken string }
		}
		s.OK("", `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }`, map[string]any{"r": alice.Refresh}, &out)
		s.OK(out.RefreshToken.AccessToken, `{ me { id } }`, nil, nil)
		r := s.Do("", `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, map[string]any{"r": alice.Refresh})
		require.Equal(t, "SESSION_REVOKED", r.Reason())
		r = s.Do(out.RefreshToken.AccessToken, `{ me { id } }`, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Equal(t, "SESSION_REVOKED", r.Reason())

		// An access token is not a refresh token, and garbage is refused.
		require.Equal(t, "TOKEN_INVALID", s.Do("", `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, map[string]any{"r": alice.Token}).Reason())
		require.Equal(t, "TOKEN_INVALID", s.Do("not.a.token", `{ me { id } }`, nil).Reason())
		// alg: none is refused.
		none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwic2lkIjoxLCJ0eXAiOiJhY2Nlc3MifQ."
		require.Equal(t, "TOKEN_INVALID", s.Do(none, `{ me { id } }`, nil).Reason())

		// Logout ends this session only.
		var second struct{ Login struct{ AccessToken string } }
		s.OK("", apptest.LoginMutation, apptest.LoginVars("alice", "password1"), &second)
		third := s.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "password1"))
		require.Empty(t, third.Errors)
		s.OK(second.Login.AccessToken, `mutation { logout }`, nil, nil)
		require.Equal(t, "SESSION_REVOKED", s.Do(second.Login.AccessToken, `{ me { id } }`, nil).Reason())
		require.Equal(t, "SIGN_IN_REQUIRED", s.Do("", `mutation { logout }`, nil).Reason())

		// A disabled account cannot sign in, and its tokens stop working.
		bob := s.Register("bob", nil)
		ctx := viewer.SystemContext(context.Background())
		require.NoError(t, s.App.Client.User.Update().Where(user.Username("bob")).
			SetAccountState(user.AccountStateDisabled).Exec(ctx))
		require.Equal(t, "ACCOUNT_DISABLED", s.Do(bob.Token, `{ me { id } }`, nil).Reason())
		require.Equal(t, "ACCOUNT_DISABLED", s.Do("", apptest.LoginMutation, apptest.LoginVars("bob", "password1")).Reason())
	})
}

// TestLoginRateLimit: repeated failures on one account are throttled.
func TestLoginRateLimit(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.LoginBurst = 3 }, func(t *testing.T, s *server) {
		s.Register("alice", nil)
		for i := 0; i < 3; i++ {
			require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "nope-nope")).Reason())
		}
		r := s.Do("", apptest.LoginMutation, apptest.LoginVars("alice", "password1"))
		require.Equal(t, "RATE_LIMITED", r.Code())
		require.Equal(t, "TOO_MANY_ATTEMPTS", r.Reason())
	})
}

// TestErrorsClipEchoedInput: an error message quotes at most a short prefix
// of what the client sent (apperr.Clip: 64 characters and "…"), so a
// hostile client cannot have a huge input reflected back.
func TestErrorsClipEchoedInput(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		huge := strings.Repeat("界", 200_000) + "@example.com" // 600 KB, under the body limit
		want := `email "` + strings.Repeat("界", 64) + `…" is not a valid address`

		short := func(r response) string {
			t.Helper()
			require.NotEmpty(t, r.Errors)
			msg := r.Errors[0].Message
			require.LessOrEqual(t, len(msg), 300, "a message of %d bytes: %.100q…", len(msg), msg)
			return msg
		}

		r := s.Do("", apptest.RegisterMutation, map[string]any{"in": map[string]any{"username": "bob", "password": "password1", "email": huge}})
		require.Equal(t, "EMAIL_INVALID", r.Reason())
		require.Equal(t, want, short(r))

		r = s.Do(alice.Token, `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { id } }`, map[string]any{"in": map[string]any{"email": huge}})
		require.Equal(t, "EMAIL_INVALID", r.Reason())
		require.Equal(t, want, short(r))

		// A short input is quoted whole, as before.
		r = s.Do("", apptest.RegisterMutation, map[string]any{"in": map[string]any{"username": "bob", "password": "password1", "email": "not-an-email"}})
		require.Equal(t, `email "not-an-email" is not a valid address`, r.Errors[0].Message)

		// An ID argument is input too.
		r = s.Do(alice.Token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": strings.Repeat("9x", 100_000)})
		require.Equal(t, "BAD_USER_INPUT", r.Code(), "%+v", r.Errors)
		require.Equal(t, `"`+strings.Repeat("9x", 32)+`…" is not a valid id`, short(r))
	})
}

// TestAuthPayloadShowsOwnContact: the user of a register, login or refresh
// payload is the one who just proved who he is, so he sees his own email
// and phone there although the request carried no token; nobody else's
// contact fields show through a payload.
func TestAuthPayloadShowsOwnContact(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		const fields = `accessToken refreshToken user { id email phone }`
		type payload struct {
			AccessToken, RefreshToken string
			User                      struct {
				ID           string
				Email, Phone *string
			}
		}
		own := func(p payload) {
			t.Helper()
			require.NotNil(t, p.User.Email, "email")
			require.Equal(t, "alice@example.com", *p.User.Email)
			require.NotNil(t, p.User.Phone, "phone")
			require.Equal(t, "+8613800000009", *p.User.Phone)
		}
		var reg struct{ Register payload }
		s.OK("", `mutation($in: RegisterInput!) { register(input: $in) { `+fields+` } }`, map[string]any{"in": map[string]any{
			"username": "alice", "password": "password1", "email": "alice@example.com", "phone": "+8613800000009",
		}}, &reg)
		own(reg.Register)
		var login struct{ Login payload }
		s.OK("", `mutation($in: LoginInput!) { login(input: $in) { `+fields+` } }`, apptest.LoginVars("alice", "password1"), &login)
		own(login.Login)
		var refresh struct{ RefreshToken payload }
		s.OK("", `mutation($r: String!) { refreshToken(refreshToken: $r) { `+fields+` } }`, map[string]any{"r": login.Login.RefreshToken}, &refresh)
		own(refresh.RefreshToken)

		// Anywhere else, a stranger's contact stays hidden.
		bob := s.Register("bob", map[string]any{"email": "bob@example.com"})
		var stranger struct{ User struct{ Email *string } }
		s.OK(login.Login.AccessToken, `query($id: ID!) { user(id: $id) { email } }`, map[string]any{"id": bob.ID}, &stranger)
		require.Nil(t, stranger.User.Email)
	})
}

// TestRegisterProfile: the profile fields registration takes are kept.
func TestRegisterProfile(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		u := s.Register("dora", map[string]any{"nickname": "朵拉", "sign": "explorer", "location": "Shanghai", "phone": "13800000009"})
		var me struct {
			Me struct {
				Username, Nickname, Sign, Location, Phone string
				PublicID                                  int
			}
		}
		s.OK(u.Token, `{ me { username nickname sign location phone publicID } }`, nil, &me)
		require.Equal(t, "朵拉", me.Me.Nickname)
		require.Equal(t, "explorer", me.Me.Sign)
		require.Equal(t, "Shanghai", me.Me.Location)
		require.Equal(t, "+8613800000009", me.Me.Phone, "stored in E.164 form")
		require.Greater(t, me.Me.PublicID, 9_999_999)
	})
}
