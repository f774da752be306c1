package annotation

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// FuzzNameKey: the key names are compared by is valid UTF-8 for valid
// input, trimmed, without runs of white space, and idempotent.
func FuzzNameKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		key := NameKey(name)
		if utf8.ValidString(name) && !utf8.ValidString(key) {
			t.Fatalf("NameKey(%q) = %q: invalid UTF-8", name, key)
		}
		if key != strings.TrimSpace(key) || strings.Contains(key, "  ") {
			t.Fatalf("NameKey(%q) = %q: white space", name, key)
		}
		if again := NameKey(key); again != key {
			t.Fatalf("NameKey not idempotent: %q -> %q -> %q", name, key, again)
		}
	})
}

// FuzzParseImport: importGraph's parser takes any data, never panics, and
// refuses what it cannot read with BAD_USER_INPUT IMPORT_INVALID or
// IMPORT_TOO_LARGE; what it reads is at most importMaxItems items.
func FuzzParseImport(f *testing.F) {
	f.Fuzz(func(t *testing.T, data string) {
		entities, relations, err := parseImport(data)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.BadUserInput || (e.Reason != ReasonImportInvalid && e.Reason != ReasonImportTooLarge) {
				t.Fatalf("parseImport(%q): %v", data, err)
			}
			return
		}
		if len(entities)+len(relations) > ImportMaxItems {
			t.Fatalf("parseImport: %d items", len(entities)+len(relations))
		}
	})
}
