package annotation

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/platform/apperr"
)

// TestNameKey: the one comparison of names, for uniqueness and filters.
func TestNameKey(t *testing.T) {
	for in, want := range map[string]string{
		"Tree":            "tree",
		"  TREE  ":        "tree",
		"ｔｒｅｅ":            "tree", // full width
		"Binary   \tTree": "binary tree",
		"Straße":          "strasse", // full case folding
		"ΣΊΣΥΦΟΣ":         "σίσυφοσ",
		"二叉树":             "二叉树",
		"":                "",
	} {
		require.Equal(t, want, NameKey(in), in)
	}
}

// TestSymbolSize: min(60, 20 + 8·√degree), one decimal.
func TestSymbolSize(t *testing.T) {
	for degree, want := range map[int]float64{0: 20, 1: 28, 2: 31.3, 3: 33.9, 4: 36, 9: 44, 25: 60, 1000: 60} {
		require.Equal(t, want, SymbolSize(degree), "degree %d", degree)
	}
}

// TestLiteral: N-Triples string escapes.
func TestLiteral(t *testing.T) {
	require.Equal(t, `"a \"b\" \\ c\n\u0001 树"`, literal("a \"b\" \\ c\n\x01 树"))
}

// TestParseImport: the accepted shapes, and what fails the whole import.
func TestParseImport(t *testing.T) {
	entities, relations, err := parseImport(`[{"name": "a", "label": "PER"}, {"name": "r", "source": "a", "target": {"name": "b", "label": "ORG"}}]`)
	require.NoError(t, err)
	require.Len(t, entities, 1)
	require.Len(t, relations, 1)
	require.Equal(t, 1, relations[0].index)
	require.Equal(t, importEnd{Name: "a"}, *relations[0].Source)
	require.Equal(t, importEnd{Name: "b", Label: "ORG"}, *relations[0].Target)

	entities, relations, err = parseImport(`{"entities": [{"name": "a"}], "relations": [{"type": "r", "source": "a", "target": "b"}]}`)
	require.NoError(t, err)
	require.Equal(t, "a", entities[0].Name)
	require.Equal(t, "r", relations[0].Type)
	require.Zero(t, relations[0].index)

	for _, bad := range []string{"", "nope", `"string"`, `[1, 2]`, `{"entities": 3}`, `[{"name": "a"}`} {
		_, _, err := parseImport(bad)
		require.ErrorContains(t, err, "not an export", bad)
	}
}

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
