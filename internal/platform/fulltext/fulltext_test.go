package fulltext

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTokenize: CJK runs become their pairs and a tail, other words are
// folded and English ones stemmed.
func TestTokenize(t *testing.T) {
	d := Tokenize("二叉树的遍历, Running RUNS run! Ｑ３ café 好")
	require.Equal(t, []string{"二叉", "叉树", "树的", "的遍", "遍历", "run", "run", "run", "q3", "café", "好"}, d.Main)
	require.Equal(t, []string{"历"}, d.Tail)
	require.True(t, Tokenize("!? …").Empty())
	require.Equal(t, `'二叉':1 '叉树':2 'it''s':3 '树':5 `, Doc{Main: []string{"二叉", "叉树", "it's"}, Tail: []string{"树"}}.vector())
}

// TestParse: a query tokenizes like a text, a lone CJK character is a
// prefix, and the SQL forms quote every token.
func TestParse(t *testing.T) {
	q := Parse("二叉树 running 树")
	require.Equal(t, []Term{{Token: "二叉"}, {Token: "叉树"}, {Token: "run"}, {Token: "树", Prefix: true}}, q.Terms)
	require.Equal(t, `'二叉' & '叉树' & 'run' & '树':*`, q.tsquery("&"))
	require.Equal(t, `"二叉" + "叉树" + "run" + "树"*`, q.fts5("+"))
	require.Equal(t, `'a''b' <-> '\\'`, Query{Terms: []Term{{Token: "a'b"}, {Token: `\`}}}.tsquery("<->"))
	require.Equal(t, `"a""b"`, Query{Terms: []Term{{Token: `a"b`}}}.fts5("AND"))
	require.Empty(t, Parse("  ...  ").Terms)
}

// TestSnippet: matches are marked, the rest escaped, a long text cut
// around the first match.
func TestSnippet(t *testing.T) {
	require.Equal(t, "<mark>二叉树</mark>的<mark>遍</mark>历", Snippet("二叉树的遍历", Parse("二叉树 遍")))
	require.Equal(t, `a &lt;b&gt; <mark>Running</mark> &#34;x&#34;`, Snippet(`a <b> Running "x"`, Parse("runs")))
	require.Equal(t, "no match", Snippet("no match", Parse("other")))
}
