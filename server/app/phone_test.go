package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/server/app"
	"github.com/parley-im/parley/server/apptest"
)

// phoneForms are ways of writing the CN mobile +8613912345588: national,
// E.164, with the international prefix, and with separators.
var phoneForms = []string{
	"13912345588", "+8613912345588", "008613912345588", "0086 139-1234-5588",
	"+86 139-1234-5588", "139 1234 5588", "(139) 1234.5588",
}

// TestPhoneForms: a phone is one account however it is written. It is
// stored in E.164 form; a second registration in another form is
// PHONE_TAKEN; every form signs in to the account, finds it in
// searchUsers, names it in applyFriend and is refused by updateProfile
// for someone else; invalid numbers are PHONE_INVALID everywhere.
func TestPhoneForms(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		pat := s.Register("pat", map[string]any{"phone": "13912345588"})
		var me struct{ Me struct{ ID, Phone string } }
		s.OK(pat.Token, `{ me { id phone } }`, nil, &me)
		require.Equal(t, "+8613912345588", me.Me.Phone, "stored in E.164 form")

		for i, form := range phoneForms[1:] {
			in := map[string]any{"username": "other" + string(rune('a'+i)), "password": "password1", "phone": form}
			r := s.Fails("", apptest.RegisterMutation, input(in), "CONFLICT", "PHONE_TAKEN")
			require.Equal(t, "input.phone", r.Ext("field"), form)
		}

		for _, form := range phoneForms {
			signedIn := s.Login(form, apptest.Password)
			require.Equal(t, pat.ID, signedIn.ID, form)
		}
		// A wrong password is one account's guess whichever form names it.
		require.Equal(t, "WRONG_PASSWORD", s.Do("", apptest.LoginMutation, apptest.LoginVars("0086 139 1234 5588", "guess-guess")).Reason())

		stranger := s.Register("stranger", map[string]any{"phone": "+86 139 1234 5001"})
		const search = `query($q: String!) { searchUsers(query: $q, first: 10) { edges { node { id } } } }`
		for _, form := range phoneForms {
			var res struct {
				SearchUsers struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			s.OK(stranger.Token, search, map[string]any{"q": form}, &res)
			require.Len(t, res.SearchUsers.Edges, 1, form)
			require.Equal(t, pat.ID, res.SearchUsers.Edges[0].Node.ID, form)
		}

		const apply = `mutation($in: ApplyFriendInput!) { applyFriend(input: $in) { id } }`
		s.OK(stranger.Token, apply, input(map[string]any{"login": "0086 (139) 1234-5588"}), nil)

		const update = `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { id } }`
		s.Fails(stranger.Token, update, input(map[string]any{"phone": "+86 139.1234.5588"}), "CONFLICT", "PHONE_TAKEN")
		s.OK(stranger.Token, update, input(map[string]any{"phone": "0086 139 1234 5002"}), nil)
		s.OK(stranger.Token, `{ me { id phone } }`, nil, &me)
		require.Equal(t, "+8613912345002", me.Me.Phone, "updateProfile stores E.164 too")
		require.Equal(t, stranger.ID, s.Login("13912345002", apptest.Password).ID)
		// Giving one's own number in another form changes nothing.
		s.OK(stranger.Token, update, input(map[string]any{"phone": "139-1234-5002"}), nil)

		for _, bad := range []string{"12345", "+86 123", "phone", "13912345588x", "1-800-FLOWERS", "+15550001"} {
			in := map[string]any{"username": "badphone", "password": "password1", "phone": bad}
			r := s.Fails("", apptest.RegisterMutation, input(in), "BAD_USER_INPUT", "PHONE_INVALID")
			require.Equal(t, "input.phone", r.Ext("field"), bad)
			s.Fails(stranger.Token, update, input(map[string]any{"phone": bad}), "BAD_USER_INPUT", "PHONE_INVALID")
			s.Fails("", `mutation($p: String!) { sendVerificationCode(input: {phone: $p, purpose: register}) { expiresAt } }`,
				map[string]any{"p": bad}, "BAD_USER_INPUT", "PHONE_INVALID")
		}
		s.Fails("", apptest.RegisterMutation, input(map[string]any{"username": "badphone", "password": "password1", "phone": " "}),
			"BAD_USER_INPUT", "PHONE_REQUIRED")
	})
}

// TestPhoneFormsOfCodes: an SMS code is sent to the E.164 form and is
// checked under it, so a code asked for with one form of the phone resets
// the password with another, and the cooldown is the number's whatever
// its form.
func TestPhoneFormsOfCodes(t *testing.T) {
	eachKit(t, socialKit, func(t *testing.T, s *socialServer) {
		s.Register("pat", map[string]any{"phone": "+8613912345588"})
		const send = `mutation($p: String!, $purpose: VerificationPurpose!) { sendVerificationCode(input: {phone: $p, purpose: $purpose}) { expiresAt } }`
		s.OK("", send, map[string]any{"p": "139 1234 5588", "purpose": "forget"}, nil)
		code := s.codes.Last("+8613912345588")
		require.NotEmpty(t, code, "the SMS goes to the E.164 number")
		s.Fails("", send, map[string]any{"p": "008613912345588", "purpose": "forget"}, "RATE_LIMITED", "RESEND_TOO_SOON")
		s.Fails("", send, map[string]any{"p": "0086 139 1234 5588", "purpose": "register"}, "CONFLICT", "PHONE_TAKEN")

		const reset = `mutation($in: ResetPasswordInput!) { resetPassword(input: $in) }`
		s.OK("", reset, input(map[string]any{"phone": "+86 139-1234-5588", "code": code, "username": "pat", "newPassword": "password5"}), nil)
		patNow := s.Login("13912345588", "password5")
		var me struct{ Me struct{ Phone string } }
		s.OK(patNow.Token, `{ me { phone } }`, nil, &me)
		require.Equal(t, "+8613912345588", me.Me.Phone)
		s.Fails("", reset, input(map[string]any{"phone": "+86 123", "code": code, "username": "pat", "newPassword": "password6"}),
			"BAD_USER_INPUT", "PHONE_INVALID")

		// Registering with a code: asked for in one form, used in another.
		s.OK("", send, map[string]any{"p": "(139) 1234-5003", "purpose": "register"}, nil)
		in := map[string]any{"username": "newbie", "password": "password1", "phone": "+86 13912345003", "code": s.codes.Last("+8613912345003")}
		s.OK("", apptest.RegisterMutation, input(in), nil)
	})
}

// TestPhoneRegion: the default region is a setting; a national number is
// read in it, and a number with its country code is the same whatever the
// region.
func TestPhoneRegion(t *testing.T) {
	eachConfigured(t, func(c *app.Config) { c.PhoneRegion = "US" }, func(t *testing.T, s *server) {
		sam := s.Register("sam", map[string]any{"phone": "(202) 555-0143"})
		var me struct{ Me struct{ Phone string } }
		s.OK(sam.Token, `{ me { phone } }`, nil, &me)
		require.Equal(t, "+12025550143", me.Me.Phone)
		require.Equal(t, sam.ID, s.Login("+1 202 555 0143", apptest.Password).ID)
		require.Equal(t, sam.ID, s.Login("011 1 202 555 0143", apptest.Password).ID)
		s.Register("lily", map[string]any{"phone": "+86 139 1234 5588"})
		s.Fails("", apptest.RegisterMutation, input(map[string]any{"username": "wei", "password": "password1", "phone": "13912345588"}),
			"BAD_USER_INPUT", "PHONE_INVALID")
	})
}
