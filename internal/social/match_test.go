package social_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/social"
)

func TestNameMatches(t *testing.T) {
	for _, c := range []struct {
		query string
		names []string
		want  bool
	}{
		{"", []string{"anyone"}, true},
		{"zs", []string{"张三"}, true},
		{"zhangs", []string{"张三"}, true},
		{"张", []string{"张三"}, true},
		{"ls", []string{"张三"}, false},
		{"zxm", []string{"曾小明"}, true},
		{"zengx", []string{"曾小明"}, true},
		{"cxm", []string{"曾小明"}, false},
		{"zs", []string{"长孙无忌"}, true},
		{"as", []string{"Alice Smith"}, true},
		{"ALI", []string{"Alice Smith"}, true},
		{"emile", []string{"Émile"}, true},
		{"alice smith", []string{"Alice Smith"}, true},
		{"bob", []string{"", "bobby", "Robert"}, true},
		{"bob", []string{"Alice"}, false},
	} {
		require.Equal(t, c.want, social.NameMatches(c.query, c.names...), "%q in %q", c.query, c.names)
	}
}
