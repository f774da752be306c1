package social_test

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/parley-im/parley/internal/social"
)

// FuzzInitial: the contact-book letter of any name is A to Z or #.
func FuzzInitial(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		got := social.Initial(name)
		if got == "#" {
			return
		}
		if len(got) != 1 || got[0] < 'A' || got[0] > 'Z' {
			t.Fatalf("Initial(%q) = %q", name, got)
		}
	})
}

// FuzzSortKey: the sort key of any name is valid UTF-8 when the name is,
// has no Chinese character left that pinyin knows, is bounded (pinyin
// syllables are at most 6 letters), and is idempotent.
func FuzzSortKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		key := social.SortKey(name)
		if !utf8.ValidString(name) {
			return
		}
		if !utf8.ValidString(key) {
			t.Fatalf("SortKey(%q) = %q: invalid UTF-8", name, key)
		}
		if limit := 6*utf8.RuneCountInString(name) + 3*len(name); len(key) > limit {
			t.Fatalf("SortKey(%q) is %d bytes", name, len(key))
		}
		for _, r := range key {
			if unicode.Is(unicode.Han, r) && social.SortKey(string(r)) != string(r) {
				t.Fatalf("SortKey(%q) = %q keeps %q", name, key, r)
			}
		}
		if again := social.SortKey(key); again != key {
			t.Fatalf("SortKey not idempotent: %q -> %q -> %q", name, key, again)
		}
	})
}
