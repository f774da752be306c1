package fulltext

import (
	"html"
	"strings"
)

// Highlight marks of a snippet: the snippet is HTML text, everything else
// escaped, so a web client can insert it as HTML and any client can split
// it at the marks (then unescape &amp; &lt; &gt; &#34; &#39;).
const (
	MarkOpen  = "<mark>"
	MarkClose = "</mark>"
)

// snippetMax bounds a snippet in characters (marks and escapes aside), and
// snippetLead is how much text it keeps before the first match.
const (
	snippetMax  = 96
	snippetLead = 24
)

// Snippet returns the part of text around q's first match, HTML-escaped,
// with every matching word or pair of characters between MarkOpen and
// MarkClose, and "…" where it was cut. A text with no match gives its
// beginning.
func Snippet(text string, q Query) string {
	rs := []rune(text)
	marked := make([]bool, len(rs))
	exact, prefix := map[string]bool{}, map[string]bool{}
	for _, t := range q.Terms {
		if t.Prefix {
			prefix[t.Token] = true
		} else {
			exact[t.Token] = true
		}
	}
	first := -1
	mark := func(from, to int) {
		for i := from; i < to; i++ {
			marked[i] = true
		}
		if first < 0 || from < first {
			first = from
		}
	}
	for _, p := range pieces(rs) {
		f := fold(string(p.text))
		if !p.cjk {
			if exact[stem(f)] {
				mark(p.start, p.start+len(p.text))
			}
			continue
		}
		if len(f) != len(p.text) { // folding changed the run's length: match it whole
			if cover(f, exact, prefix) {
				mark(p.start, p.start+len(p.text))
			}
			continue
		}
		for i := range f {
			if prefix[string(f[i])] {
				mark(p.start+i, p.start+i+1)
			}
			if i+1 < len(f) && exact[string(f[i:i+2])] {
				mark(p.start+i, p.start+i+2)
			}
		}
	}
	start := 0
	if first > snippetLead {
		start = first - snippetLead
	}
	end := min(len(rs), start+snippetMax)
	if end-start < snippetMax { // near the end: show more before
		start = max(0, end-snippetMax)
	}
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	in := false
	for i := start; i < end; i++ {
		if marked[i] != in {
			if in = marked[i]; in {
				b.WriteString(MarkOpen)
			} else {
				b.WriteString(MarkClose)
			}
		}
		b.WriteString(html.EscapeString(string(rs[i])))
	}
	if in {
		b.WriteString(MarkClose)
	}
	if end < len(rs) {
		b.WriteString("…")
	}
	return b.String()
}

// cover reports whether a folded CJK run holds one of the terms.
func cover(f []rune, exact, prefix map[string]bool) bool {
	for i := range f {
		if prefix[string(f[i])] || (i+1 < len(f) && exact[string(f[i:i+2])]) {
			return true
		}
	}
	return false
}
