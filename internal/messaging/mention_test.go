package messaging_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/internal/messaging"
)

// TestShouldNotify: ALL notifies every message, MENTIONS only those that
// mention the member, NONE nothing; never his own message nor a
// membership he left.
func TestShouldNotify(t *testing.T) {
	sender, other := 1, 2
	msg := &ent.Message{SenderID: &sender}
	system := &ent.Message{}
	member := func(level conversationmember.NotificationLevel, active bool) *ent.ConversationMember {
		return &ent.ConversationMember{UserID: other, Active: active, NotificationLevel: level}
	}
	for _, c := range []struct {
		name      string
		member    *ent.ConversationMember
		msg       *ent.Message
		mentioned bool
		want      bool
	}{
		{"all, plain message", member(conversationmember.NotificationLevelALL, true), msg, false, true},
		{"all, system message", member(conversationmember.NotificationLevelALL, true), system, false, true},
		{"all, mention", member(conversationmember.NotificationLevelALL, true), msg, true, true},
		{"mentions, plain message", member(conversationmember.NotificationLevelMENTIONS, true), msg, false, false},
		{"mentions, mention", member(conversationmember.NotificationLevelMENTIONS, true), msg, true, true},
		{"none, plain message", member(conversationmember.NotificationLevelNONE, true), msg, false, false},
		{"none, mention", member(conversationmember.NotificationLevelNONE, true), msg, true, false},
		{"left", member(conversationmember.NotificationLevelALL, false), msg, true, false},
		{"own message", &ent.ConversationMember{UserID: sender, Active: true, NotificationLevel: conversationmember.NotificationLevelALL}, msg, true, false},
		{"no member", nil, msg, true, false},
	} {
		require.Equal(t, c.want, messaging.ShouldNotify(c.member, c.msg, c.mentioned), c.name)
	}
}
