package social_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/social"
)

func TestInitial(t *testing.T) {
	for name, want := range map[string]string{
		"猫猫": "M", "小老鼠": "X", "alice": "A", "Bob": "B", "  zed": "Z",
		"123": "#", "😀 smile": "#", "": "#", "Élodie": "#", "张三": "Z",
	} {
		require.Equal(t, want, social.Initial(name), name)
	}
}

func TestSortKey(t *testing.T) {
	require.Equal(t, "maomao", social.SortKey("猫猫"))
	require.Equal(t, "alice", social.SortKey("Alice"))
	require.Less(t, social.SortKey("阿里巴巴"), social.SortKey("Bob"), "Chinese names sort among Latin ones by pinyin")
}
