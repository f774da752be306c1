package settings_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/settings"
)

func TestMaskWords(t *testing.T) {
	words := []string{"darn", "坏蛋", "Heck"}
	for in, want := range map[string]string{
		"well DARN it":   "well **** it",
		"你这个坏蛋！":         "你这个**！",
		"heckheck":       "********",
		"nothing to see": "nothing to see",
		"":               "",
		"darning needle": "****ing needle",
	} {
		require.Equal(t, want, settings.MaskWords(in, words), in)
	}
	require.Equal(t, "same", settings.MaskWords("same", nil))
}
