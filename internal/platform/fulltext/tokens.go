// Package fulltext is the full-text index of messages on both databases:
// the tokens a text is indexed and searched by (computed in Go, the same on
// PostgreSQL and SQLite), the index tables (a tsvector column with a GIN
// index on PostgreSQL, an FTS5 table on SQLite), writing a text's tokens
// there, the SQL that matches and ranks a query, and the highlighted
// snippet of a match.
//
// Tokens are computed here rather than by the databases' own parsers
// because neither parser splits Chinese: PostgreSQL's default parser makes
// a run of Han characters one word and FTS5's unicode61 does the same, so
// "二叉" would never find "二叉树的遍历". Here a run of CJK characters
// becomes its overlapping pairs (二叉 叉树 树的 的遍 遍历), so any two
// adjacent characters of the text find it, plus its last character alone,
// so that a single character finds it too (by prefix). Other words are
// folded (NFKC, lower case) and English ones stemmed by the Snowball
// (Porter2) stemmer, so "running" finds "run" and "runs". Both databases
// then store and match these tokens verbatim: PostgreSQL through a tsvector
// built from them (no parser, no dictionary), FTS5 through a table of
// space-separated tokens that unicode61 splits at the spaces only.
package fulltext

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// wordMax bounds a token in characters; longer words are cut (nobody
// searches for them whole, and a tsvector lexeme has a size limit).
const wordMax = 64

// cjk reports whether r is written without spaces between words: Han,
// kana and Hangul, indexed by pairs.
func cjk(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// wordRune reports whether r belongs to a word of a spaced script.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// span is a piece of a (folded) text and where it stands in the original,
// in runes of the folded text.
type span struct {
	start, end int // rune offsets in the folded text, end exclusive
}

// piece is a run of a text: a word, or a run of CJK characters.
type piece struct {
	text  []rune
	cjk   bool
	start int // rune offset of text[0] in the folded text
}

// fold normalizes text for indexing: NFKC (full-width letters and digits
// become plain ones, compatibility ideographs their unified forms) and
// lower case.
func fold(text string) []rune {
	return []rune(strings.ToLower(norm.NFKC.String(text)))
}

// pieces splits folded runes into words and CJK runs.
func pieces(rs []rune) []piece {
	var out []piece
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case cjk(r):
			j := i
			for j < len(rs) && cjk(rs[j]) {
				j++
			}
			out = append(out, piece{text: rs[i:j], cjk: true, start: i})
			i = j
		case wordRune(r):
			j := i
			for j < len(rs) && wordRune(rs[j]) && !cjk(rs[j]) {
				j++
			}
			out = append(out, piece{text: rs[i:j], start: i})
			i = j
		default:
			i++
		}
	}
	return out
}

// stem returns the index form of a word: English words (ASCII letters)
// stemmed, other words as they are, at most wordMax characters.
func stem(w []rune) string {
	if len(w) > wordMax {
		w = w[:wordMax]
	}
	s := string(w)
	ascii := true
	for _, r := range w {
		if r < 'a' || r > 'z' {
			ascii = false
			break
		}
	}
	if ascii && len(w) > 2 {
		return english.Stem(s, true)
	}
	return s
}

// Doc is a text's index tokens: Main in order (a phrase is adjacent tokens
// here) and Tail, the last character of each CJK run of two or more, which
// lets a single character find the run's end.
type Doc struct {
	Main []string
	Tail []string
}

// Empty reports whether the text had nothing to index.
func (d Doc) Empty() bool { return len(d.Main) == 0 && len(d.Tail) == 0 }

// Tokenize returns the index tokens of text.
func Tokenize(text string) Doc {
	var d Doc
	for _, p := range pieces(fold(text)) {
		if !p.cjk {
			d.Main = append(d.Main, stem(p.text))
			continue
		}
		if len(p.text) == 1 {
			d.Main = append(d.Main, string(p.text))
			continue
		}
		for i := 0; i+1 < len(p.text); i++ {
			d.Main = append(d.Main, string(p.text[i:i+2]))
		}
		d.Tail = append(d.Tail, string(p.text[len(p.text)-1]))
	}
	return d
}

// Term is one token of a query: matched exactly, or as a prefix (a single
// CJK character, which finds the pairs it starts and a run's last
// character).
type Term struct {
	Token  string
	Prefix bool
}

// Query is a parsed search: every term must match; the terms in order
// make its phrase.
type Query struct {
	Terms []Term
}

// Limits of a query.
const (
	// QueryMax bounds a query in characters.
	QueryMax = 100
	// TermsMax bounds the tokens a query makes (a long Chinese query makes
	// one per character).
	TermsMax = 32
)

// Parse tokenizes a query the way Tokenize does a text, so a query matches
// a text when its tokens are among the text's. It returns an empty Query
// when the text has nothing to search by.
func Parse(q string) Query {
	var out Query
	for _, p := range pieces(fold(q)) {
		switch {
		case !p.cjk:
			out.Terms = append(out.Terms, Term{Token: stem(p.text)})
		case len(p.text) == 1:
			out.Terms = append(out.Terms, Term{Token: string(p.text), Prefix: true})
		default:
			for i := 0; i+1 < len(p.text); i++ {
				out.Terms = append(out.Terms, Term{Token: string(p.text[i : i+2])})
			}
		}
	}
	return out
}

// Len is the number of characters of q, as QueryMax counts them.
func Len(q string) int { return utf8.RuneCountInString(q) }
