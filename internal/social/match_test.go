package social_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/social"
)

// TestNameMatches: the queries each name answers to (its pinyin, initials,
// surname read as a surname, folded case and accents) and those it does not.
func TestNameMatches(t *testing.T) {
	for _, c := range []struct {
		names       []string
		match, miss []string
	}{
		{[]string{"anyone"}, []string{""}, nil},
		{[]string{"张三"}, []string{"zs", "zhangs", "张"}, []string{"ls"}},
		{[]string{"曾小明"}, []string{"zxm", "zengx"}, []string{"cxm"}},
		{[]string{"长孙无忌"}, []string{"zs"}, nil},
		{[]string{"Alice Smith"}, []string{"as", "ALI", "alice smith"}, nil},
		{[]string{"Émile"}, []string{"emile"}, nil},
		{[]string{"", "bobby", "Robert"}, []string{"bob"}, nil},
		{[]string{"Alice"}, nil, []string{"bob"}},
	} {
		for _, q := range c.match {
			require.True(t, social.NameMatches(q, c.names...), "%q in %q", q, c.names)
		}
		for _, q := range c.miss {
			require.False(t, social.NameMatches(q, c.names...), "%q not in %q", q, c.names)
		}
	}
}
