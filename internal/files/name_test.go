package files

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("长", 100) + ".tar.gz" // 300 bytes of stem
	for _, c := range []struct{ in, want string }{
		{"photo.png", "photo.png"},
		{"  报告 2024.pdf  ", "报告 2024.pdf"},
		{`C:\Users\me\photo.png`, "photo.png"},
		{"../../etc/passwd", "passwd"},
		{"dir/", ""},
		{"..", ""},
		{" . ", ""},
		{"a\x00b\nc\td.txt", "abcd.txt"},
		{"invoice\u202Egpj.exe", "invoicegpj.exe"}, // right-to-left override
		{"\xff\xfebad\xc0.txt", "bad.txt"},
		{"\uFEFFbom.txt", "bom.txt"},
		{".bashrc", ".bashrc"},
		{long, strings.Repeat("长", 84) + ".gz"}, // 252 + 3 bytes
	} {
		got := SanitizeName(c.in)
		require.Equal(t, c.want, got, "SanitizeName(%q)", c.in)
		require.Equal(t, got, SanitizeName(got), "idempotent on %q", c.in)
	}
	require.Len(t, SanitizeName(strings.Repeat("a", 1000)), MaxNameBytes)
}

// FuzzSanitizeName checks the sanitizer's promises on any input: valid UTF-8,
// bounded, one path element, no control or bidi characters, not a dot name,
// and idempotent.
func FuzzSanitizeName(f *testing.F) {
	for _, seed := range []string{
		"photo.png", "../../etc/passwd", `C:\x\y.doc`, "a\x00b", "\u202Eexe.jpg", "中文名字.txt",
		"\xff\xfe", " . ", strings.Repeat("é", 200) + ".jpeg", "a.b.c.d", "name.with.a.very.long.extension",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeName(in)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q from %q", out, in)
		}
		if len(out) > MaxNameBytes {
			t.Fatalf("%d bytes from %q", len(out), in)
		}
		if strings.ContainsAny(out, `/\`) {
			t.Fatalf("path separator in %q from %q", out, in)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError {
				t.Fatalf("rune %U in %q from %q", r, out, in)
			}
		}
		if out != "" && strings.Trim(out, ".") == "" {
			t.Fatalf("dot name %q from %q", out, in)
		}
		if out != strings.TrimSpace(out) {
			t.Fatalf("untrimmed %q from %q", out, in)
		}
		if again := SanitizeName(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}
