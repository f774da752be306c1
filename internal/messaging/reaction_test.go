package messaging_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/messaging"
)

// TestValidEmoji: a reaction is one emoji, with its modifiers, flags and
// keycaps; text, several emoji and bare symbols are not.
func TestValidEmoji(t *testing.T) {
	for _, e := range []string{"👍", "❤️", "😂", "👍🏽", "👨‍👩‍👧‍👦", "🇨🇳", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "1️⃣", "#️⃣", "🎉", "🙏", "✅", "🏳️‍🌈", "👩🏻‍💻"} {
		require.True(t, messaging.ValidEmoji(e), "%q is an emoji", e)
	}
	for _, e := range []string{"", "a", "+1", "中", "👍👍", "👍 ", " 👍", "1", "#", "\u200d", "\ufe0f", "\u20e3", "1\u20e3x", ":thumbsup:", "\xff", "👍\u0301"} {
		require.False(t, messaging.ValidEmoji(e), "%q is no emoji", e)
	}
}
