package settings_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-im/parley/internal/settings"
)

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
