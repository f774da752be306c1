package settings_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/schematype"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/internal/settings"
)

func TestMaskWords(t *testing.T) {
	words := []string{"darn", "坏蛋", "Heck"}
	for in, want := range map[string]string{
		"well DARN it":   "well **** it",
		"你这个坏蛋！":         "你这个**！",
		"heckheck":       "********",
		"nothing to see": "nothing to see",
		"":               "",
		"darning needle": "****ing needle",
	} {
		require.Equal(t, want, settings.MaskWords(in, words), in)
	}
	require.Equal(t, "same", settings.MaskWords("same", nil))
}

// FuzzMaskWords checks the dirty-word mask on any text and word: it never
// panics, keeps the text's length in characters, only ever replaces
// characters by '*', is idempotent, and leaves no dirty word behind,
// case-insensitively ("İ" and "ǅ" included: Go lower-cases rune by rune).
func FuzzMaskWords(f *testing.F) {
	f.Fuzz(func(t *testing.T, text, word, word2 string) {
		words := []string{word, word2}
		out := settings.MaskWords(text, words)
		if !utf8.ValidString(text) {
			return // GraphQL strings are valid UTF-8; nothing more is promised
		}
		if !utf8.ValidString(out) {
			t.Fatalf("MaskWords(%q, %q) = %q: invalid UTF-8", text, words, out)
		}
		in, got := []rune(text), []rune(out)
		if len(in) != len(got) {
			t.Fatalf("MaskWords(%q, %q) = %q: %d characters, want %d", text, words, out, len(got), len(in))
		}
		for i := range in {
			if got[i] != in[i] && got[i] != '*' {
				t.Fatalf("MaskWords(%q, %q) = %q: character %d changed to %q", text, words, out, i, got[i])
			}
		}
		if again := settings.MaskWords(out, words); again != out && !strings.ContainsRune(word+word2, '*') {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, out, again)
		}
		lower := strings.ToLower(out)
		for _, w := range words {
			lw := strings.ToLower(w)
			if lw == "" || strings.ContainsRune(lw, '*') || !utf8.ValidString(w) {
				continue // a word holding '*' can match what the mask wrote
			}
			if strings.Contains(lower, lw) {
				t.Fatalf("MaskWords(%q, %q) = %q still holds %q", text, words, out, w)
			}
		}
	})
}

// TestMaskHook: with the hook on the client, what people write for others
// is stored masked, on create and on update, whoever writes it; words of
// the list in other fields (a username) stay.
func TestMaskHook(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		s := settings.NewService(c)
		c.Use(s.MaskHook())
		words := []string{"bad", "傻瓜"}
		_, err := s.Update(sys, settings.Patch{DirtyWords: words})
		require.NoError(t, err)

		u := c.User.Create().SetUsername("badger").SetNickname("Bad boy").SetSign("你是傻瓜").SetPasswordHash("x").SetPublicID(1001).SaveX(sys)
		require.Equal(t, "badger", u.Username, "identifiers are not prose")
		require.Equal(t, "*** boy", u.Nickname)
		require.Equal(t, "你是**", u.Sign)
		u = u.Update().SetLocation("Badlands").SaveX(sys)
		require.Equal(t, "***lands", u.Location)
		c.User.Update().SetNickname("so bad").ExecX(sys)
		require.Equal(t, "so ***", c.User.GetX(sys, u.ID).Nickname, "bulk updates too")

		parts := settings.MaskPartsForTest([]schematype.MessagePart{
			{Category: "text", Content: "bad news"},
			{Category: "link", Content: "a bad link", URL: "https://example.com/bad"},
			{Category: "file", Name: "bad.pdf", FileID: 7},
		}, words)
		require.Equal(t, []schematype.MessagePart{
			{Category: "text", Content: "*** news"},
			{Category: "link", Content: "a *** link", URL: "https://example.com/bad"},
			{Category: "file", Name: "***.pdf", FileID: 7},
		}, parts)
	})
}
