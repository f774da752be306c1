package files

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a stored file name.
const (
	// MaxNameBytes is the longest name kept, in bytes (the column's size).
	MaxNameBytes = 255
	// maxExtBytes is the longest extension truncation keeps whole.
	maxExtBytes = 16
)

// SanitizeName returns the client's file name fit to store and to send back
// in a Content-Disposition header: only its last path element (clients send
// "C:\Users\me\photo.png" and attackers "../../etc/passwd"), without control
// characters, bidirectional overrides (which disguise "gpj.exe" as
// "exe.jpg") or invalid UTF-8, trimmed, and at most MaxNameBytes long with
// its extension kept. It returns "" when nothing usable is left. The name is
// shown to people only: storage keys come from the content's hash.
//
// SanitizeName is idempotent: a sanitized name comes back unchanged.
func SanitizeName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError || r == '\uFEFF' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(truncate(strings.TrimSpace(name)))
	if strings.Trim(name, ".") == "" {
		return ""
	}
	return name
}

// truncate cuts name to MaxNameBytes at a rune boundary, keeping a short
// extension whole.
func truncate(name string) string {
	if len(name) <= MaxNameBytes {
		return name
	}
	stem, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtBytes {
		stem, ext = name[:i], name[i:]
	}
	cut := MaxNameBytes - len(ext)
	for cut > 0 && !utf8.RuneStart(stem[cut]) {
		cut--
	}
	return stem[:cut] + ext
}
