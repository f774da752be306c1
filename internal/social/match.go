package social

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"
)

// NameMatches is the one rule of finding a person by what a picker shows
// (an @-mention list, a member search): query, without case or accents,
// is part of one of names, of its pinyin (张三 → zhangsan) or of its
// initials (张三 → zs, Alice Smith → as), a Chinese surname read as a
// surname (曾小明 → zxm). An empty query matches everyone.
func NameMatches(query string, names ...string) bool {
	q := strings.ToLower(foldLatin(strings.Join(strings.Fields(query), "")))
	if q == "" {
		return true
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		full, initials := readings(n)
		plain := strings.ToLower(foldLatin(strings.Join(strings.Fields(n), "")))
		if strings.Contains(plain, q) || strings.Contains(full, q) || strings.Contains(initials, q) {
			return true
		}
	}
	return false
}

// readings returns a name's pinyin without spaces and its initials: the
// first letter of each Chinese character's reading and of each word of
// other letters, lower-cased and without accents.
func readings(name string) (full, initials string) {
	name = strings.TrimSpace(name)
	var f, i strings.Builder
	if py, n := surname(name); n > 0 {
		f.WriteString(py)
		i.WriteByte(py[0])
		if _, first := utf8.DecodeRuneInString(name); first < n { // a compound surname: its second character's own initial
			if second := pinyin.LazyPinyin(name[first:n], pinyin.NewArgs()); len(second) > 0 && second[0] != "" {
				i.WriteByte(second[0][0])
			}
		}
		name = name[n:]
	}
	inWord := false
	for _, r := range foldLatin(name) {
		switch {
		case unicode.Is(unicode.Han, r):
			inWord = false
			if py := pinyin.LazyPinyin(string(r), pinyin.NewArgs()); len(py) > 0 && py[0] != "" {
				f.WriteString(py[0])
				i.WriteByte(py[0][0])
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			l := unicode.ToLower(r)
			f.WriteRune(l)
			if !inWord {
				i.WriteRune(l)
			}
			inWord = true
		default:
			inWord = false
		}
	}
	return f.String(), i.String()
}
