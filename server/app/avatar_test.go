package app_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
)

const (
	avUpdate = `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { avatar } }`
	avCreate = `mutation($in: CreateUserInput!) { createUser(input: $in) { username avatar } }`
)

// TestProfileAvatars: a user's avatar is an avatar file he uploaded here,
// named by id or by its public URL, or an image on an allowed host. Another
// user's private file URL (which would hand its signed token to everyone who
// sees the profile), another user's avatar, an image that is not an avatar
// and any other external URL are refused, on updateProfile and createUser.
func TestProfileAvatars(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		s := newSocialServer(t, b, func(c *app.Config) {
			c.AvatarHosts = []string{"cdn.example.com", "*.img.example.org"}
		})
		alice := s.Register("alice", nil)
		bob := s.Register("bob", nil)
		s.befriend(alice, bob)

		// Bob sends alice a private image: the URL she reads carries a token
		// signed for her.
		img := s.upload(bob.Token, "image", "secret.png", filestest.PNG(8, 8))
		require.Contains(t, img.URL, "?t=")
		msg := s.sendIn(bob, map[string]any{"to": alice.ID, "parts": []map[string]any{{"category": "image", "fileId": img.ID}}})
		var seen struct {
			Node struct{ Parts []struct{ URL string } }
		}
		s.OK(alice.Token, `query($id: ID!) { node(id: $id) { ... on Message { parts { url } } } }`, map[string]any{"id": msg.ID}, &seen)
		foreignPrivate := seen.Node.Parts[0].URL
		require.Contains(t, foreignPrivate, "?t=")

		mine := s.upload(alice.Token, "avatar", "me.png", filestest.PNG(9, 9))
		require.NotContains(t, mine.URL, "?t=", "avatars are public")
		myImage := s.upload(alice.Token, "image", "photo.png", filestest.PNG(10, 10))
		bobs := s.upload(bob.Token, "avatar", "bob.png", filestest.PNG(11, 11))

		for _, tc := range []struct {
			name                string
			in                  map[string]any
			code, reason, field string
		}{
			{"another user's private file URL", map[string]any{"avatar": foreignPrivate}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"its owner's own URL of it", map[string]any{"avatar": img.URL}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"my image, not an avatar", map[string]any{"avatar": myImage.URL}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"another user's avatar URL", map[string]any{"avatar": bobs.URL}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"no such file", map[string]any{"avatar": "/files/4294967999/x.png"}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"not a file path", map[string]any{"avatar": "/graphql"}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"external host", map[string]any{"avatar": "https://tracker.example.net/pixel.gif"}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"allowed host's lookalike", map[string]any{"avatar": "https://cdn.example.com.evil.net/a.png"}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"credentials in the URL", map[string]any{"avatar": "https://user:pw@cdn.example.com/a.png"}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"not http", map[string]any{"avatar": "javascript:alert(1)"}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"protocol-relative", map[string]any{"avatar": "//cdn.example.com/a.png"}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"too long", map[string]any{"avatar": "https://cdn.example.com/" + strings.Repeat("a", 1024)}, "BAD_USER_INPUT", "TOO_LONG", "input.avatar"},
			{"another user's avatar id", map[string]any{"avatarFileId": bobs.ID}, "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
			{"another user's private file id", map[string]any{"avatarFileId": img.ID}, "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
			{"my image's id", map[string]any{"avatarFileId": myImage.ID}, "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
			{"both forms", map[string]any{"avatarFileId": mine.ID, "avatar": mine.URL}, "BAD_USER_INPUT", "INVALID", "input.avatarFileId"},
			{"empty", map[string]any{"avatar": ""}, "BAD_USER_INPUT", "AVATAR_REQUIRED", "input.avatar"},
			{"blank", map[string]any{"avatar": "  "}, "BAD_USER_INPUT", "AVATAR_REQUIRED", "input.avatar"},
			{"null and an id", map[string]any{"avatar": nil, "avatarFileId": mine.ID}, "BAD_USER_INPUT", "INVALID", "input.avatar"},
		} {
			r := s.Do(alice.Token, avUpdate, map[string]any{"in": tc.in})
			require.Equal(t, tc.code, r.Code(), "%s: %+v", tc.name, r.Errors)
			require.Equal(t, tc.reason, r.Reason(), tc.name)
			require.Equal(t, tc.field, r.Ext("field"), tc.name)
		}
		var me struct{ Me struct{ Avatar string } }
		s.OK(alice.Token, `{ me { avatar } }`, nil, &me)
		require.Empty(t, me.Me.Avatar, "nothing refused was stored")

		var out struct{ UpdateProfile struct{ Avatar string } }
		avatar := func(in map[string]any) string {
			t.Helper()
			s.OK(alice.Token, avUpdate, map[string]any{"in": in}, &out)
			return out.UpdateProfile.Avatar
		}
		// My own avatar, by id and by URL, is stored as its public URL.
		require.Equal(t, mine.URL, avatar(map[string]any{"avatarFileId": mine.ID}))
		require.Equal(t, mine.URL, avatar(map[string]any{"nickname": "Al"}), "an absent avatar stays")
		require.Equal(t, "", avatar(map[string]any{"avatar": nil}), "null removes it")
		require.Equal(t, mine.URL, avatar(map[string]any{"avatar": mine.URL}))
		require.Equal(t, mine.URL, avatar(map[string]any{"avatar": mine.URL + "?t=whatever"}), "kept in its canonical form")
		// Allowed hosts.
		require.Equal(t, "https://cdn.example.com/a.png", avatar(map[string]any{"avatar": "https://cdn.example.com/a.png"}))
		require.Equal(t, "https://x.img.example.org/b.png", avatar(map[string]any{"avatar": "https://x.img.example.org/b.png"}))
		// The avatar is public: a stranger reads it without a token.
		require.Equal(t, mine.URL, avatar(map[string]any{"avatarFileId": mine.ID}))
		res, _ := s.Get(mine.URL, "", nil)
		require.Equal(t, 200, res.StatusCode)

		// createUser (an admin's new account) follows the same rule.
		s.admin(alice)
		for _, tc := range []struct {
			name                string
			in                  map[string]any
			code, reason, field string
		}{
			{"another user's private file URL", map[string]any{"avatar": foreignPrivate}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"external host", map[string]any{"avatar": "https://tracker.example.net/pixel.gif"}, "BAD_USER_INPUT", "AVATAR_INVALID", "input.avatar"},
			{"another user's avatar id", map[string]any{"avatarFileId": bobs.ID}, "BAD_USER_INPUT", "FILE_INVALID", "input.avatarFileId"},
		} {
			tc.in["username"], tc.in["password"] = "newbie", "password1"
			r := s.Do(alice.Token, avCreate, map[string]any{"in": tc.in})
			require.Equal(t, tc.code, r.Code(), "createUser %s: %+v", tc.name, r.Errors)
			require.Equal(t, tc.reason, r.Reason(), tc.name)
			require.Equal(t, tc.field, r.Ext("field"), tc.name)
		}
		var created struct {
			CreateUser struct{ Username, Avatar string }
		}
		s.OK(alice.Token, avCreate, map[string]any{"in": map[string]any{"username": "newbie", "password": "password1", "avatarFileId": mine.ID}}, &created)
		require.Equal(t, mine.URL, created.CreateUser.Avatar)
		s.OK(alice.Token, avCreate, map[string]any{"in": map[string]any{"username": "newbie2", "password": "password1", "avatar": "https://cdn.example.com/n.png"}}, &created)
		require.Equal(t, "https://cdn.example.com/n.png", created.CreateUser.Avatar)
	})
}

// TestAvatarHostsDefault: without PARLEY_AVATAR_HOSTS no external URL is an
// avatar.
func TestAvatarHostsDefault(t *testing.T) {
	eachServer(t, func(t *testing.T, s *server) {
		alice := s.Register("alice", nil)
		for _, u := range []string{"https://cdn.example.com/a.png", "http://example.com/a.png"} {
			r := s.Do(alice.Token, avUpdate, map[string]any{"in": map[string]any{"avatar": u}})
			require.Equal(t, "AVATAR_INVALID", r.Reason(), "%s: %+v", u, r.Errors)
			require.Equal(t, "input.avatar", r.Ext("field"))
		}
	})
}
