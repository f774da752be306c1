package graph

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/annotation"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/notice"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/social"
)

// streamedKinds are the kinds of every event a LiveEvent may carry. The
// sessions topic's kinds (auth) reach no stream, and presence has its own
// event type.
var streamedKinds = []string{
	messaging.KindMessageCreated, messaging.KindMessageRevoked, messaging.KindMessageDeleted,
	messaging.KindMemberJoined, messaging.KindMemberLeft, messaging.KindRead, messaging.KindDelivered,
	messaging.KindTyping, messaging.KindMessagesDeleted, messaging.KindMessageEdited, messaging.KindMessageReacted,
	messaging.KindThreadUpdated, messaging.KindThreadRead,
	social.KindFriendAdded, social.KindFriendUpdated, social.KindFriendDeleted, social.KindUserUpdated,
	social.KindAccountDeleted,
	notice.KindCreated, notice.KindUpdated, notice.KindDeleted,
	group.KindUpdated, group.KindMemberUpdated, group.KindDeleted,
	room.KindJoined, room.KindLeft, room.KindOnline, room.KindUpdated, room.KindDeleted,
	annotation.KindProjectCreated, annotation.KindProjectRenamed, annotation.KindProjectDeleted,
	annotation.KindProjectImported, annotation.KindMemberCreated, annotation.KindMemberUpdated,
	annotation.KindMemberDeleted, annotation.KindInviteCreated, annotation.KindInviteUpdated,
	annotation.KindTextCreated, annotation.KindTextRenamed, annotation.KindTextDeleted,
	annotation.KindEntityCreated, annotation.KindEntityRenamed, annotation.KindEntityRelabelled,
	annotation.KindEntityDeleted, annotation.KindMentionCreated, annotation.KindMentionDeleted,
	annotation.KindRelationTypeCreated, annotation.KindRelationTypeRenamed, annotation.KindRelationTypeDeleted,
	annotation.KindRelationCreated, annotation.KindRelationRetyped, annotation.KindRelationDeleted,
	KindStreamClosed,
}

// TestLiveKinds: every kind a stream sends is a value of LiveEventKind, and
// every value is the kind of some event, so the enum is neither short nor
// stale.
func TestLiveKinds(t *testing.T) {
	seen := map[LiveEventKind]bool{}
	for _, kind := range streamedKinds {
		k := LiveKind(kind)
		require.True(t, k.IsValid(), "%s (%s) is no LiveEventKind", kind, k)
		seen[k] = true
	}
	for _, k := range AllLiveEventKind {
		require.True(t, seen[k], "LiveEventKind %s is the kind of no event", k)
	}
	require.Equal(t, LiveEventKindMessageCreated, LiveKind("message.created"))
	require.Equal(t, LiveEventKindProjectMemberDeleted, LiveKind("project_member.deleted"))
}
